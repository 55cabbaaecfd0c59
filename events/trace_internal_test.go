package events

import (
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
)

// TestTraceContextOf checks how an event's distributed-tracing extension is read: a valid traceparent (and its
// tracestate) is taken and written back unchanged; anything else is ignored, with its tracestate, and a tracestate
// that does not parse is dropped while its traceparent is kept (the W3C Trace Context's rules).
func TestTraceContextOf(t *testing.T) {
	const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	tests := []struct {
		name           string
		ext            map[string]any
		wantTP, wantTS string // written back by setTraceContext; "" for not valid
	}{
		{name: "none"},
		{name: "traceparent", ext: map[string]any{"traceparent": tp}, wantTP: tp},
		{name: "with tracestate", ext: map[string]any{"traceparent": tp, "tracestate": "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"},
			wantTP: tp, wantTS: "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"},
		{name: "not sampled", ext: map[string]any{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"},
			wantTP: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"},
		{name: "tracestate that does not parse", ext: map[string]any{"traceparent": tp, "tracestate": "not a list"}, wantTP: tp},
		{name: "tracestate alone", ext: map[string]any{"tracestate": "rojo=00f067aa0ba902b7"}},
		{name: "upper case", ext: map[string]any{"traceparent": "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01"}},
		{name: "version ff", ext: map[string]any{"traceparent": "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}},
		{name: "zero span id", ext: map[string]any{"traceparent": "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01"}},
		{name: "extra field in version 00", ext: map[string]any{"traceparent": tp + "-x"}},
		{name: "not a string", ext: map[string]any{"traceparent": 42}},
		{name: "empty", ext: map[string]any{"traceparent": ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := event.New()
			for k, v := range tc.ext {
				in.SetExtension(k, v)
			}
			sc := traceContextOf(&in)
			if sc.IsValid() != (tc.wantTP != "") {
				t.Fatalf("traceContextOf: valid %v, want %v", sc.IsValid(), tc.wantTP != "")
			}
			if sc.IsValid() && !sc.IsRemote() {
				t.Error("the input's span context is not marked remote")
			}
			out := event.New()
			setTraceContext(&out, sc)
			gotTP, _ := out.Extensions()["traceparent"].(string)
			gotTS, _ := out.Extensions()["tracestate"].(string)
			if gotTP != tc.wantTP || gotTS != tc.wantTS {
				t.Errorf("written back: traceparent %q tracestate %q, want %q and %q", gotTP, gotTS, tc.wantTP, tc.wantTS)
			}
			if _, has := out.Extensions()["tracestate"]; has && tc.wantTS == "" {
				t.Error("an empty tracestate was written")
			}
		})
	}
}

// TestTraceContextOfAllocatesNothingWithout checks the cost of reading an event without a traceparent (the common
// case with tracing off): nothing allocated.
func TestTraceContextOfAllocatesNothingWithout(t *testing.T) {
	ev := event.New()
	ev.SetExtension("ug", "001001")
	if n := testing.AllocsPerRun(100, func() { _ = traceContextOf(&ev) }); n != 0 {
		t.Errorf("traceContextOf allocates %v times for an event without traceparent", n)
	}
}
