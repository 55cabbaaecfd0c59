package handlers_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ponte-dev/ponte/events"
	"github.com/ponte-dev/ponte/handlers"
)

// tracedRequest is one request a simulator received, with its W3C Trace Context headers.
type tracedRequest struct {
	target, line            string // "zeev", "POST /api/2/users"
	traceparent, tracestate string
}

// traceLog records the trace headers of the requests the simulators receive (envOptions.wrap).
type traceLog struct {
	mu   sync.Mutex
	reqs []tracedRequest
}

func (l *traceLog) wrap(target string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.reqs = append(l.reqs, tracedRequest{target, r.Method + " " + r.URL.Path, r.Header.Get("traceparent"), r.Header.Get("tracestate")})
		l.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// take returns the requests recorded since the last take.
func (l *traceLog) take() []tracedRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.reqs
	l.reqs = nil
	return out
}

// traceparent is a W3C traceparent of version 00.
func traceparent(traceID, spanID, flags string) string {
	return "00-" + traceID + "-" + spanID + "-" + flags
}

// withTraceContext sets the distributed-tracing extension of ev (an empty value is left out).
func withTraceContext(ev *event.Event, tp, ts string) *event.Event {
	if tp != "" {
		ev.SetExtension("traceparent", tp)
	}
	if ts != "" {
		ev.SetExtension("tracestate", ts)
	}
	return ev
}

// publishAs publishes ev in binary mode, or structured mode when structured.
func (e *env) publishAs(ev *event.Event, structured bool) {
	e.t.Helper()
	if !structured {
		e.publishBinary(ev)
		return
	}
	m, err := events.Encode(ev.Type(), ev, "")
	if err != nil {
		e.t.Fatal(err)
	}
	e.publish(m)
}

// outputTraceContext returns the traceparent and tracestate of an output, from its headers (ce-traceparent,
// ce-tracestate: binary mode), checking that the decoded event's extensions say the same.
func outputTraceContext(t *testing.T, o output) (tp, ts string) {
	t.Helper()
	tp, ts = o.msg.Headers().Get("ce-traceparent"), o.msg.Headers().Get("ce-tracestate")
	ext := o.ev.Extensions()
	if got, _ := ext["traceparent"].(string); got != tp {
		t.Errorf("output %s: extension traceparent %q, header ce-traceparent %q", o.ev.ID(), got, tp)
	}
	if got, _ := ext["tracestate"].(string); got != ts {
		t.Errorf("output %s: extension tracestate %q, header ce-tracestate %q", o.ev.ID(), got, ts)
	}
	return tp, ts
}

const (
	// The input's trace context in the tests (the example of the W3C Trace Context recommendation).
	inTraceID = "0af7651916cd43dd8448eb211c80319c"
	inSpanID  = "b7ad6b7169203331"
	inState   = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
)

// TestTraceContextWithoutTracing checks that, with no TracerProvider, the trace context of an input passes
// unchanged to every request the simulators receive and into the result or dead letter, in both modes; that an
// input without one gets none invented; and that a malformed traceparent is ignored (not sent on, with its
// tracestate) while the event is processed as usual.
func TestTraceContextWithoutTracing(t *testing.T) {
	var log traceLog
	e := startEnv(t, envOptions{wrap: log.wrap})
	tests := []struct {
		name       string
		tp, ts     string
		structured bool
		invalid    bool   // the data is invalid: a dead letter, no request
		wantTP     string // what the requests and the output carry; "" for nothing
		wantTS     string
	}{
		{name: "traceparent and tracestate", tp: traceparent(inTraceID, inSpanID, "01"), ts: inState,
			wantTP: traceparent(inTraceID, inSpanID, "01"), wantTS: inState},
		{name: "structured mode", tp: traceparent(inTraceID, "00f067aa0ba902b7", "01"), ts: inState, structured: true,
			wantTP: traceparent(inTraceID, "00f067aa0ba902b7", "01"), wantTS: inState},
		{name: "not sampled, no tracestate", tp: traceparent("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", "00"),
			wantTP: traceparent("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", "00")},
		{name: "none"},
		{name: "upper-case traceparent is malformed", tp: strings.ToUpper(traceparent(inTraceID, inSpanID, "01")), ts: inState},
		{name: "traceparent of another shape", tp: "00-" + inTraceID + "-01", ts: inState},
		{name: "all-zero trace id", tp: traceparent(strings.Repeat("0", 32), inSpanID, "01")},
		{name: "dead letter", tp: traceparent(inTraceID, inSpanID, "01"), ts: inState, invalid: true,
			wantTP: traceparent(inTraceID, inSpanID, "01"), wantTS: inState},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			id := fmt.Sprintf("trace-off-%d", i)
			data := hiredDaniela
			if tc.invalid {
				data = strings.Replace(hiredDaniela, `"orgUnit": "TI",`, "", 1)
			}
			e.publishAs(withTraceContext(inputEvent(handlers.PersonHired, id, "E-0131", data), tc.tp, tc.ts), tc.structured)
			stream := "PONTE_RESULTS"
			if tc.invalid {
				stream = "PONTE_DLQ"
			}
			out := e.waitOutput(stream, id, 10*time.Second)
			if tc.invalid && len(forEvent(e.outputs("PONTE_RESULTS"), id)) > 0 || !tc.invalid && len(forEvent(e.outputs("PONTE_DLQ"), id)) > 0 {
				t.Fatalf("event %s: unexpected output", id)
			}
			reqs := log.take()
			if !tc.invalid && len(reqs) == 0 {
				t.Fatal("the simulators received no request")
			}
			if tc.invalid && len(reqs) > 0 {
				t.Errorf("an invalid event made requests: %v", reqs)
			}
			for _, r := range reqs {
				if r.traceparent != tc.wantTP || r.tracestate != tc.wantTS {
					t.Errorf("%s %s: traceparent %q tracestate %q, want %q and %q", r.target, r.line, r.traceparent, r.tracestate, tc.wantTP, tc.wantTS)
				}
			}
			if tp, ts := outputTraceContext(t, out); tp != tc.wantTP || ts != tc.wantTS {
				t.Errorf("output: traceparent %q tracestate %q, want %q and %q", tp, ts, tc.wantTP, tc.wantTS)
			}
		})
	}

	// The trace context is not part of the event's identity: the first event published again with another one is
	// answered from the ledger (no request, steps replayed, no id_conflict), and the answer carries the new context.
	t.Run("the same event again, with another traceparent", func(t *testing.T) {
		e.t = t
		again := traceparent("1bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", "01")
		e.publishBinary(withTraceContext(inputEvent(handlers.PersonHired, "trace-off-0", "E-0131", hiredDaniela), again, ""))
		var outs []output
		waitFor(t, 10*time.Second, "a second result", func() bool {
			outs = forEvent(e.outputs("PONTE_RESULTS"), "trace-off-0")
			return len(outs) == 2
		})
		if dl := forEvent(e.outputs("PONTE_DLQ"), "trace-off-0"); len(dl) > 0 {
			t.Fatalf("dead-lettered: %s", dl[0].ev.Data())
		}
		var res events.Result
		if err := outs[1].ev.DataAs(&res); err != nil {
			t.Fatal(err)
		}
		if len(res.Steps) == 0 || res.Steps[0].Status != events.StatusReplayed {
			t.Errorf("steps %+v, want replayed", res.Steps)
		}
		if reqs := log.take(); len(reqs) > 0 {
			t.Errorf("requests made: %v", reqs)
		}
		if tp, ts := outputTraceContext(t, outs[1]); tp != again || ts != "" {
			t.Errorf("second result: traceparent %q tracestate %q, want %q and none", tp, ts, again)
		}
		if tp, _ := outputTraceContext(t, outs[0]); tp != traceparent(inTraceID, inSpanID, "01") {
			t.Errorf("first result: traceparent %q, want the first event's", tp)
		}
	})
}

// spanTree is the spans of one trace, by span id.
type spanTree struct {
	t     *testing.T
	spans map[trace.SpanID]sdktrace.ReadOnlySpan
}

// endedTrace waits until the span of the delivery of event id has ended, and returns it and the spans of its trace.
func endedTrace(t *testing.T, rec *tracetest.SpanRecorder, id string) (sdktrace.ReadOnlySpan, spanTree) {
	t.Helper()
	var ev sdktrace.ReadOnlySpan
	waitFor(t, 5*time.Second, "the span of event "+id, func() bool {
		for _, s := range rec.Ended() {
			if attr(s, "cloudevents.event_id") == id {
				ev = s
				return true
			}
		}
		return false
	})
	tree := spanTree{t: t, spans: map[trace.SpanID]sdktrace.ReadOnlySpan{}}
	for _, s := range rec.Ended() {
		if s.SpanContext().TraceID() == ev.SpanContext().TraceID() {
			tree.spans[s.SpanContext().SpanID()] = s
		}
	}
	return ev, tree
}

// children returns the spans whose parent is id, in the order they started.
func (tr spanTree) children(id trace.SpanID) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range tr.spans {
		if s.Parent().SpanID() == id {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b sdktrace.ReadOnlySpan) int { return a.StartTime().Compare(b.StartTime()) })
	return out
}

func attr(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}

func names(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name())
	}
	return out
}

// checkTree checks the spans of a delivery: the event span ev (a consumer span), under it one span per step, named
// steps, and under those the client spans of exactly the requests the simulators received, each request's
// traceparent naming its client span; no other span in the trace, but for the client spans of the requests the
// handler makes outside any step (reads, such as the Senior role list), children of the event span, whose
// operations are outside. It returns the step spans.
func (tr spanTree) checkTree(ev sdktrace.ReadOnlySpan, steps, outside []string, reqs []tracedRequest, wantTS string) []sdktrace.ReadOnlySpan {
	t := tr.t
	t.Helper()
	if ev.SpanKind() != trace.SpanKindConsumer {
		t.Errorf("event span %q: kind %v, want consumer", ev.Name(), ev.SpanKind())
	}
	var stepSpans []sdktrace.ReadOnlySpan
	clientSpans := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	var direct []string
	for _, c := range tr.children(ev.SpanContext().SpanID()) {
		if c.SpanKind() == trace.SpanKindClient {
			clientSpans[c.SpanContext().SpanID()] = c
			direct = append(direct, attr(c, "ponte.operation"))
			continue
		}
		stepSpans = append(stepSpans, c)
	}
	if got := names(stepSpans); !slices.Equal(got, steps) {
		t.Errorf("step spans %q, want %q", got, steps)
	}
	if !slices.Equal(direct, outside) {
		t.Errorf("requests outside the steps (client spans under the event span): %q, want %q", direct, outside)
	}
	for _, st := range stepSpans {
		if st.SpanKind() != trace.SpanKindInternal {
			t.Errorf("step span %q: kind %v, want internal", st.Name(), st.SpanKind())
		}
		for _, c := range tr.children(st.SpanContext().SpanID()) {
			if c.SpanKind() != trace.SpanKindClient {
				t.Errorf("span %q under step %q: kind %v, want client", c.Name(), st.Name(), c.SpanKind())
			}
			clientSpans[c.SpanContext().SpanID()] = c
		}
	}
	if n := 1 + len(stepSpans) + len(clientSpans); n != len(tr.spans) {
		t.Errorf("the trace has %d spans, %d of them outside the tree: %q", len(tr.spans), len(tr.spans)-n, names(slices.Collect(func(yield func(sdktrace.ReadOnlySpan) bool) {
			for _, s := range tr.spans {
				if !yield(s) {
					return
				}
			}
		})))
	}
	if len(reqs) != len(clientSpans) {
		t.Errorf("%d requests reached the simulators, %d client spans", len(reqs), len(clientSpans))
	}
	seen := map[trace.SpanID]bool{}
	for _, r := range reqs {
		want := ""
		var sc trace.SpanContext
		for id, c := range clientSpans {
			if !seen[id] && r.traceparent == traceparent(c.SpanContext().TraceID().String(), id.String(), c.SpanContext().TraceFlags().String()) {
				sc = c.SpanContext()
				want = attr(c, "http.request.method")
				break
			}
		}
		if !sc.IsValid() {
			t.Errorf("%s %s: traceparent %q names no client span of the trace", r.target, r.line, r.traceparent)
			continue
		}
		seen[sc.SpanID()] = true
		if method, _, _ := strings.Cut(r.line, " "); method != want {
			t.Errorf("%s %s: its client span is a %s", r.target, r.line, want)
		}
		if c := clientSpans[sc.SpanID()]; attr(c, "ponte.target") != r.target {
			t.Errorf("%s %s: its client span's ponte.target is %q", r.target, r.line, attr(c, "ponte.target"))
		}
		if r.tracestate != wantTS {
			t.Errorf("%s %s: tracestate %q, want %q", r.target, r.line, r.tracestate, wantTS)
		}
	}
	return stepSpans
}

// wantAttrs checks attributes of span s.
func wantAttrs(t *testing.T, s sdktrace.ReadOnlySpan, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := attr(s, k); got != v {
			t.Errorf("span %q: %s = %q, want %q", s.Name(), k, got, v)
		}
	}
}

// TestTraceSpans checks the spans of deliveries with a TracerProvider (the SDK's, with a span recorder): a
// consumer span per event, child of the input's context or the root of a new trace, a span per step under it and
// a client span per request under the steps; the traceparent each simulator received names the client span that
// sent the request; the result carries the event span's context. An input flagged not sampled records nothing and
// still carries its trace on.
func TestTraceSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })
	var log traceLog
	e := startEnv(t, envOptions{wrap: log.wrap, tracerProvider: tp})
	steps := []string{"step zeev.upsert_user", "step senior.find_person", "step senior.add_role", "step senior.add_role"}
	tests := []struct {
		name   string
		tp, ts string
		parent bool // the event span's parent is the input's context
	}{
		{name: "child of the input's context", tp: traceparent(inTraceID, inSpanID, "01"), ts: inState, parent: true},
		{name: "structured mode", tp: traceparent("4bf92f3577b34da6a3ce929d0e0e4736", inSpanID, "01"), parent: true},
		{name: "no traceparent: a new trace"},
		{name: "malformed traceparent: a new trace", tp: "00-" + inTraceID + "-zz", ts: inState},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			id := fmt.Sprintf("trace-on-%d", i)
			e.publishAs(withTraceContext(inputEvent(handlers.PersonHired, id, "E-0131", hiredDaniela), tc.tp, tc.ts), i == 1)
			out := e.waitOutput("PONTE_RESULTS", id, 10*time.Second)
			ev, tree := endedTrace(t, rec, id)
			reqs := log.take()

			wantTS := ""
			if tc.parent {
				wantTS = tc.ts
				if p := ev.Parent(); !p.IsRemote() || p.TraceID().String() != tc.tp[3:35] || p.SpanID().String() != tc.tp[36:52] {
					t.Errorf("event span's parent is %s/%s (remote %v), want the input's %s", p.TraceID(), p.SpanID(), p.IsRemote(), tc.tp)
				}
			} else if ev.Parent().IsValid() {
				t.Errorf("event span has the parent %s, want none (a new trace)", ev.Parent().SpanID())
			}
			if got := ev.SpanContext().TraceState().String(); got != wantTS {
				t.Errorf("event span's tracestate %q, want %q", got, wantTS)
			}
			wantAttrs(t, ev, map[string]string{
				"messaging.system": "nats", "messaging.operation.type": "process", "messaging.destination.name": "person.hired",
				"messaging.consumer.group.name": "ponte-events", "cloudevents.event_id": id, "cloudevents.event_type": "person.hired",
				"cloudevents.event_subject": "E-0131", "cloudevents.event_source": "urn:example:hr", "ponte.outcome": events.OutcomeSuccess,
			})
			if ev.Name() != "process person.hired" || ev.Status().Code != codes.Unset {
				t.Errorf("event span %q, status %v", ev.Name(), ev.Status())
			}
			stepSpans := tree.checkTree(ev, steps, []string{"list_person_roles"}, reqs, wantTS)
			if len(stepSpans) == len(steps) {
				wantAttrs(t, stepSpans[0], map[string]string{"ponte.step.target": "zeev", "ponte.step.operation": "upsert_user", "ponte.step.status": "done"})
			}
			sc := ev.SpanContext()
			if tp, ts := outputTraceContext(t, out); tp != traceparent(sc.TraceID().String(), sc.SpanID().String(), "01") || ts != wantTS {
				t.Errorf("result: traceparent %q tracestate %q, want the event span's %s/%s and %q", tp, ts, sc.TraceID(), sc.SpanID(), wantTS)
			}
		})
	}

	t.Run("not sampled", func(t *testing.T) {
		e.t = t
		const id = "trace-on-unsampled"
		before := len(rec.Started())
		in := traceparent("5bf92f3577b34da6a3ce929d0e0e4736", inSpanID, "00")
		e.publishBinary(withTraceContext(inputEvent(handlers.PersonHired, id, "E-0131", hiredDaniela), in, inState))
		out := e.waitOutput("PONTE_RESULTS", id, 10*time.Second)
		if n := len(rec.Started()) - before; n > 0 {
			t.Errorf("%d spans recorded for an unsampled trace", n)
		}
		check := func(what, tp, ts string) {
			t.Helper()
			if !strings.HasPrefix(tp, "00-5bf92f3577b34da6a3ce929d0e0e4736-") || !strings.HasSuffix(tp, "-00") || tp == in || ts != inState {
				t.Errorf("%s: traceparent %q tracestate %q, want the input's trace, another span, not sampled, and %q", what, tp, ts, inState)
			}
		}
		reqs := log.take()
		if len(reqs) == 0 {
			t.Fatal("no request")
		}
		for _, r := range reqs {
			check(r.target+" "+r.line, r.traceparent, r.tracestate)
		}
		tp, ts := outputTraceContext(t, out)
		check("result", tp, ts)
	})
}

// TestTraceDeadLetter checks the spans of an event dead-lettered by a refusal (Senior answers the second role
// link 400): the event span and the failing step and request spans have an error status, the event span says the
// outcome and reason, and the dead letter carries the event span's context.
func TestTraceDeadLetter(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })
	var log traceLog
	e := startEnv(t, envOptions{wrap: log.wrap, tracerProvider: tp, seniorFault: roleRefused()})
	const id = "trace-dead-letter"
	e.publishBinary(withTraceContext(inputEvent(handlers.PersonHired, id, "E-0131", hiredDaniela), traceparent(inTraceID, inSpanID, "01"), inState))
	out := e.waitOutput("PONTE_DLQ", id, 10*time.Second)
	ev, tree := endedTrace(t, rec, id)

	wantAttrs(t, ev, map[string]string{"ponte.outcome": events.OutcomeDeadLetter, "ponte.dead_letter.reason": events.ReasonPermanent})
	if ev.Status().Code != codes.Error || ev.Status().Description == "" {
		t.Errorf("event span status %v, want an error with a description", ev.Status())
	}
	stepSpans := tree.checkTree(ev, []string{"step zeev.upsert_user", "step senior.find_person", "step senior.add_role", "step senior.add_role"},
		[]string{"list_person_roles"}, log.take(), inState)
	if len(stepSpans) == 4 {
		last := stepSpans[3]
		if last.Status().Code != codes.Error {
			t.Errorf("refused step: status %v, want error", last.Status())
		}
		reqs := tree.children(last.SpanContext().SpanID())
		if len(reqs) != 1 || attr(reqs[0], "http.response.status_code") != "400" || reqs[0].Status().Code != codes.Error || attr(reqs[0], "error.type") != "400" {
			for _, r := range reqs {
				t.Errorf("refused request span %q: %v, status %v", r.Name(), r.Attributes(), r.Status())
			}
		}
		if s := stepSpans[2]; s.Status().Code != codes.Unset || !slices.ContainsFunc(s.Attributes(), func(kv attribute.KeyValue) bool {
			return kv.Key == "ponte.step.ids.personRoleId"
		}) {
			t.Errorf("first role step: status %v, attributes %v", s.Status(), s.Attributes())
		}
	}
	sc := ev.SpanContext()
	if tp, ts := outputTraceContext(t, out); tp != traceparent(sc.TraceID().String(), sc.SpanID().String(), "01") || ts != inState {
		t.Errorf("dead letter: traceparent %q tracestate %q, want the event span's %s/%s and %q", tp, ts, sc.TraceID(), sc.SpanID(), inState)
	}
}
