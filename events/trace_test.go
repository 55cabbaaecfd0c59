package events_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ponte-dev/ponte/events"
	"github.com/ponte-dev/ponte/events/eventstest"
)

// TestTraceIDsInLogLines checks that the log line of a delivery carries trace_id and span_id when it has a trace
// context: without spans the input's trace id and span id, with spans those of the delivery's span (also for an
// event that came without one, whose span starts a trace); and none for an event without one and no spans.
func TestTraceIDsInLogLines(t *testing.T) {
	const (
		traceID = "0af7651916cd43dd8448eb211c80319c"
		spanID  = "b7ad6b7169203331"
	)
	for _, tracing := range []bool{false, true} {
		t.Run(map[bool]string{false: "tracing off", true: "tracing on"}[tracing], func(t *testing.T) {
			_, js := eventstest.JetStream(t)
			var logs lockedBuffer
			rec := tracetest.NewSpanRecorder()
			opts := events.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Registerer: prometheus.NewRegistry()}
			if tracing {
				tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
				t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
				opts.TracerProvider = tp
			}
			h := events.HandlerFunc(func(context.Context, event.Event) error { return nil })
			w, err := events.NewWorker(js, events.Topology{Manage: true}, events.Config{}, []events.Route{{Type: "person.hired", Handler: h}}, nil, opts)
			if err != nil {
				t.Fatal(err)
			}
			eventstest.Run(t, w, false)
			e := &env{t: t, js: js}
			with := newEvent("person.hired", "with-trace", map[string]string{})
			with.SetExtension("traceparent", "00-"+traceID+"-"+spanID+"-01")
			without := newEvent("person.hired", "without-trace", map[string]string{})
			without.SetSubject("E2")
			e.publish(events.EncodeBinary("person.hired", with, ""))
			e.publish(events.EncodeBinary("person.hired", without, ""))

			lines := map[string]map[string]any{}
			waitFor(t, "the two log lines", func() bool {
				for _, l := range logs.lines() {
					if l["msg"] == "event processed" {
						lines[l["event_id"].(string)] = l
					}
				}
				return len(lines) == 2
			})
			spans := map[string]trace.SpanContext{}
			if tracing {
				waitFor(t, "the two spans", func() bool {
					for _, s := range rec.Ended() {
						for _, kv := range s.Attributes() {
							if kv.Key == "cloudevents.event_id" {
								spans[kv.Value.AsString()] = s.SpanContext()
							}
						}
					}
					return len(spans) == 2
				})
			}
			for id, l := range lines {
				wantTrace, wantSpan := "", ""
				switch {
				case tracing:
					wantTrace, wantSpan = spans[id].TraceID().String(), spans[id].SpanID().String()
					if id == "with-trace" && wantTrace != traceID {
						t.Errorf("%s: span in trace %s, want the input's %s", id, wantTrace, traceID)
					}
				case id == "with-trace":
					wantTrace, wantSpan = traceID, spanID
				}
				got := func(k string) string { s, _ := l[k].(string); return s }
				if got("trace_id") != wantTrace || got("span_id") != wantSpan {
					t.Errorf("%s: log line %v: want trace_id %q and span_id %q", id, l, wantTrace, wantSpan)
				}
				if _, ok := l["trace_id"]; ok != (wantTrace != "") {
					t.Errorf("%s: log line %v: trace_id present %v, want %v", id, l, ok, wantTrace != "")
				}
			}
		})
	}
}
