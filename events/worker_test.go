package events_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ponte-dev/ponte/clients"
	"github.com/ponte-dev/ponte/events"
	"github.com/ponte-dev/ponte/events/eventstest"
	"github.com/ponte-dev/ponte/schemas"
)

// env is an embedded JetStream server and a running Worker.
type env struct {
	t   *testing.T
	nc  *nats.Conn
	js  jetstream.JetStream
	reg *prometheus.Registry
}

func startWorker(t *testing.T, cfg events.Config, routes []events.Route, v events.Validator, breakers *clients.Breakers) *env {
	t.Helper()
	nc, js := eventstest.JetStream(t)
	reg := prometheus.NewRegistry()
	runWorkerWith(t, js, cfg, routes, v, breakers, reg)
	return &env{t: t, nc: nc, js: js, reg: reg}
}

func newEvent(typ, id string, data any) *event.Event {
	ev := event.New()
	ev.SetID(id)
	ev.SetSource("test/hr")
	ev.SetType(typ)
	ev.SetSubject("E1")
	ev.SetTime(time.Now())
	_ = ev.SetData(event.ApplicationJSON, data)
	return &ev
}

func (e *env) publish(m *nats.Msg) {
	e.t.Helper()
	if _, err := e.js.PublishMsg(context.Background(), m); err != nil {
		e.t.Fatal(err)
	}
}

// collect returns the structured events on subjects matching filter until n arrived or timeout.
func (e *env) collect(stream string, n int, timeout time.Duration) []event.Event {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var out []event.Event
		for _, m := range eventstest.Messages(e.t, e.js, stream) {
			if m.Msg.Headers().Get(nats.MsgIdHdr) == "" {
				e.t.Fatalf("output without Nats-Msg-Id: %v", m.Msg.Headers())
			}
			out = append(out, *m.Event)
		}
		if len(out) >= n {
			return out
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("stream %s: got %d events, want %d", stream, len(out), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) metric(name string, labels ...string) float64 {
	return eventstest.Metric(e.t, e.reg, name, labels...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// twoSteps is a handler with two recorded steps; fail decides the error of step 2 on each call.
type twoSteps struct {
	step1, step2 atomic.Int32
	fail         func(call int32) error
}

func (h *twoSteps) Handle(ctx context.Context, ev event.Event) error {
	if _, err := events.Step(ctx, events.StepSpec{Target: "zeev", Operation: "upsert_user"}, func(ctx context.Context) (events.StepOutcome, error) {
		h.step1.Add(1)
		return events.Done("zeevUserId", 42), nil
	}); err != nil {
		return err
	}
	_, err := events.Step(ctx, events.StepSpec{Target: "senior", Operation: "add_role"}, func(ctx context.Context) (events.StepOutcome, error) {
		n := h.step2.Add(1)
		if h.fail != nil {
			if err := h.fail(n); err != nil {
				return events.StepOutcome{}, err
			}
		}
		return events.Done("personRoleId", 7), nil
	})
	return err
}

func TestSuccessPublishesResultAndAcks(t *testing.T) {
	h := &twoSteps{}
	e := startWorker(t, events.Config{}, []events.Route{{Type: "person.hired", Handler: h}}, nil, nil)
	e.publish(events.EncodeBinary("person.hired", newEvent("person.hired", "ev-1", map[string]string{"a": "b"}), ""))

	res := e.collect("PONTE_RESULTS", 1, 10*time.Second)[0]
	if res.Type() != "person.hired.processed" || res.Extensions()["causationid"] != "ev-1" || res.Subject() != "E1" {
		t.Fatalf("result attributes: %s", res.String())
	}
	catalog, err := schemas.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := catalog.ValidateOutput("result", res.Data()); err != nil {
		t.Fatalf("result does not match its published schema: %v\n%s", err, res.Data())
	}
	var data events.Result
	if err := res.DataAs(&data); err != nil {
		t.Fatal(err)
	}
	if len(data.Steps) != 2 || data.Steps[0].IDs["zeevUserId"] != 42 || data.Steps[1].IDs["personRoleId"] != 7 ||
		data.Steps[0].Status != events.StatusDone || data.Steps[1].Target != "senior" {
		t.Fatalf("steps = %+v", data.Steps)
	}
	waitFor(t, "success metric", func() bool {
		return e.metric("ponte_events_processed_total", "type", "person.hired", "outcome", "success") == 1
	})
}

func TestDuplicateAndRedeliveryMakeNoSecondCall(t *testing.T) {
	h := &twoSteps{fail: func(n int32) error {
		if n == 1 {
			return errors.New("connection reset") // retryable: step b runs again, step a must not
		}
		return nil
	}}
	e := startWorker(t, events.Config{}, []events.Route{{Type: "person.hired", Handler: h}}, nil, nil)
	ev := newEvent("person.hired", "ev-dup", map[string]string{"a": "b"})
	e.publish(events.EncodeBinary("person.hired", ev, ""))
	e.collect("PONTE_RESULTS", 1, 10*time.Second)
	if h.step1.Load() != 1 || h.step2.Load() != 2 {
		t.Fatalf("after redelivery: step1 ran %d times, step2 %d; want 1 and 2", h.step1.Load(), h.step2.Load())
	}
	// The same CloudEvent published again (structured mode this time, no Nats-Msg-Id): no call; the new message
	// gets its own result, whose steps all say replayed.
	m, _ := events.Encode("person.hired", ev, "")
	e.publish(m)
	waitFor(t, "duplicate outcome", func() bool {
		return e.metric("ponte_events_processed_total", "type", "person.hired", "outcome", "duplicate") == 1
	})
	if h.step1.Load() != 1 || h.step2.Load() != 2 {
		t.Fatalf("duplicate made calls: step1 %d step2 %d", h.step1.Load(), h.step2.Load())
	}
	results := e.collect("PONTE_RESULTS", 2, 5*time.Second)
	if len(results) != 2 {
		t.Fatalf("results = %d, want one per message", len(results))
	}
	var first, again events.Result
	_ = results[0].DataAs(&first)
	_ = results[1].DataAs(&again)
	if first.Steps[0].Status != events.StatusReplayed || first.Steps[1].Status != events.StatusDone {
		t.Errorf("first result's statuses = %+v, want a replayed by the redelivery, b done", first.Steps)
	}
	if again.Steps[0].Status != events.StatusReplayed || again.Steps[1].Status != events.StatusReplayed {
		t.Errorf("second result's statuses = %+v, want both replayed", again.Steps)
	}
}

type validatorFunc func(typ, schema string, data []byte) error

func (f validatorFunc) ValidateDecoded(typ, schema string, data []byte) (any, error) {
	return nil, f(typ, schema, data)
}

type fieldErr struct{ pairs [][2]string }

func (e *fieldErr) Error() string           { return fmt.Sprint(e.pairs) }
func (e *fieldErr) FieldPairs() [][2]string { return e.pairs }

func TestInvalidInputBecomesDeadLetters(t *testing.T) {
	var calls atomic.Int32
	h := events.HandlerFunc(func(context.Context, event.Event) error { calls.Add(1); return nil })
	v := validatorFunc(func(typ, schema string, data []byte) error {
		if strings.Contains(string(data), "bad") {
			return &fieldErr{pairs: [][2]string{{"/person/cpf", "not a valid cpf"}, {"/hireDate", "missing"}}}
		}
		return nil
	})
	e := startWorker(t, events.Config{MaxMessageSize: 1024}, []events.Route{
		{Type: "person.hired", Handler: h},
		{Type: "contract.signed", Handler: h, Extensions: []string{"ug"}},
	}, v, nil)

	notCE := nats.NewMsg("person.hired")
	notCE.Data = []byte("hello")
	notCE.Header.Set("x-trace", "t1")
	e.publish(notCE)
	e.publish(events.EncodeBinary("person.promoted", newEvent("person.promoted", "u1", map[string]string{}), ""))
	e.publish(events.EncodeBinary("person.hired", newEvent("person.moved", "u2", map[string]string{}), ""))
	e.publish(events.EncodeBinary("person.hired", newEvent("person.hired", "s1", map[string]string{"x": "bad"}), ""))
	noSubject := newEvent("contract.signed", "c1", map[string]string{})
	noSubject.SetSubject("")
	e.publish(events.EncodeBinary("contract.signed", noSubject, ""))
	e.publish(events.EncodeBinary("person.hired", newEvent("person.hired", "big", map[string]string{"x": strings.Repeat("z", 2000)}), ""))

	dls := e.collect("PONTE_DLQ", 6, 10*time.Second)
	byReason := map[string]events.DeadLetter{}
	catalog, err := schemas.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range dls {
		if err := catalog.ValidateOutput("deadletter", ev.Data()); err != nil {
			t.Errorf("dead letter does not match its published schema: %v\n%s", err, ev.Data())
		}
		var dl events.DeadLetter
		if err := ev.DataAs(&dl); err != nil {
			t.Fatal(err)
		}
		byReason[dl.Reason+":"+dl.EventID] = dl
	}
	nc := byReason["not_cloudevent:"]
	if raw, _ := base64.StdEncoding.DecodeString(nc.Original.Data); string(raw) != "hello" || nc.Original.Headers["x-trace"][0] != "t1" || nc.Original.Subject != "person.hired" {
		t.Errorf("not_cloudevent dead letter lost the original: %+v", nc.Original)
	}
	if dl, ok := byReason["unknown_type:u1"]; !ok || !strings.Contains(dl.Message, "person.promoted") {
		t.Errorf("unknown type: %+v", byReason)
	}
	if dl, ok := byReason["subject_mismatch:u2"]; !ok || !strings.Contains(dl.Message, "subject") {
		t.Errorf("type/subject mismatch: %+v", dl)
	}
	if dl := byReason["schema_violation:s1"]; len(dl.Errors) != 2 || dl.Errors[0].Field != "/person/cpf" {
		t.Errorf("schema violation errors: %+v", dl.Errors)
	}
	if dl := byReason["schema_violation:c1"]; len(dl.Errors) != 2 || dl.Errors[0].Field != "subject" || dl.Errors[1].Field != "ug" {
		t.Errorf("missing extension: %+v", dl.Errors)
	}
	if _, ok := byReason["too_large:big"]; !ok {
		t.Errorf("too large: %v", byReason)
	}
	if calls.Load() != 0 {
		t.Errorf("handler called %d times for invalid input", calls.Load())
	}
	waitFor(t, "dead letter metric", func() bool {
		return e.metric("ponte_events_dead_letters_total", "type", "person.hired", "reason", "schema_violation") == 1 &&
			e.metric("ponte_events_dead_letters_total", "type", "unrouted", "reason", "unknown_type") == 1
	})
}

func TestPermanentErrorAndExhaustedAttempts(t *testing.T) {
	var mu sync.Mutex
	calls := map[string]int{}
	h := events.HandlerFunc(func(ctx context.Context, ev event.Event) error {
		mu.Lock()
		calls[ev.ID()]++
		mu.Unlock()
		if ev.ID() == "perm" {
			return fmt.Errorf("zeev upsert user: %w", &clients.StatusError{Target: "zeev", Operation: "upsert_user", Status: 400, Body: `{"error":{"code":"TeamNotFound"}}`})
		}
		return &clients.StatusError{Target: "senior", Operation: "add_role", Status: 503}
	})
	e := startWorker(t, events.Config{MaxAttempts: 3}, []events.Route{{Type: "person.hired", Handler: h}}, nil, nil)
	e.publish(events.EncodeBinary("person.hired", newEvent("person.hired", "perm", map[string]string{}), ""))
	e.publish(events.EncodeBinary("person.hired", newEvent("person.hired", "flaky", map[string]string{}), ""))
	dls := e.collect("PONTE_DLQ", 2, 15*time.Second)
	for _, ev := range dls {
		var dl events.DeadLetter
		_ = ev.DataAs(&dl)
		switch dl.EventID {
		case "perm":
			if dl.Reason != events.ReasonPermanent || dl.Status != 400 || dl.Target != "zeev" || !strings.Contains(dl.Excerpt, "TeamNotFound") || dl.Attempts != 1 {
				t.Errorf("permanent: %+v", dl)
			}
		case "flaky":
			if dl.Reason != events.ReasonExhausted || dl.Status != 503 || dl.Attempts != 3 || dl.FirstFailureAt.After(dl.LastFailureAt) {
				t.Errorf("exhausted: %+v", dl)
			}
		}
		if ev.Extensions()["causationid"] != dl.EventID {
			t.Errorf("causationid = %v", ev.Extensions()["causationid"])
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if calls["perm"] != 1 || calls["flaky"] != 3 {
		t.Fatalf("calls = %v, want perm 1, flaky 3", calls)
	}
}

func TestOpenBreakerDelaysWithoutSpendingAttempts(t *testing.T) {
	breakers := clients.NewBreakers(clients.BreakerSettings{ConsecutiveFailures: 1, OpenTimeout: 300 * time.Millisecond}, nil)
	key := clients.BreakerKey{Target: "zeev"}
	var calls atomic.Int32
	var down atomic.Bool
	down.Store(true)
	h := events.HandlerFunc(func(ctx context.Context, ev event.Event) error {
		return breakers.Execute(ctx, key, func() error {
			calls.Add(1)
			if down.Load() {
				return &clients.StatusError{Target: "zeev", Status: 503}
			}
			return nil
		})
	})
	e := startWorker(t, events.Config{MaxAttempts: 2}, []events.Route{{Type: "person.hired", Handler: h, Targets: []string{"zeev"}}}, nil, breakers)
	for i := range 5 {
		ev := newEvent("person.hired", fmt.Sprint("b", i), map[string]string{})
		ev.SetSubject(fmt.Sprint("E", i)) // five entities: none waits behind another
		e.publish(events.EncodeBinary("person.hired", ev, ""))
	}
	// The first call fails and opens the breaker; the events wait; the outage lasts several open periods.
	waitFor(t, "events paused", func() bool { return e.metric("ponte_events_paused", "type", "person.hired") == 1 })
	// Calls are counted over the same window as the outage's length: from here. The calls before (the first
	// failure, and a probe when the pause was seen late on a loaded machine) are not the outage's.
	start, before := time.Now(), calls.Load()
	time.Sleep(time.Second)
	down.Store(false)
	during, outage := calls.Load()-before, time.Since(start)
	results := e.collect("PONTE_RESULTS", 5, 15*time.Second)
	if len(results) != 5 {
		t.Fatalf("results = %d", len(results))
	}
	if n := e.metric("ponte_events_dead_letters_total", "type", "person.hired", "reason", "attempts_exhausted"); n != 0 {
		t.Fatalf("an outage dead-lettered %v events", n)
	}
	// One real call (a probe) per open period at most while down (plus one at the window's edge): far fewer than
	// 5 events × retries.
	if most := 1 + int32(outage/(300*time.Millisecond)); during > most {
		t.Errorf("calls during a %s outage = %d, want at most %d: the breaker did not hold traffic back", outage.Round(time.Millisecond), during, most)
	}
	_ = testutil.ToFloat64
}

// TestOutputPublishFailureDelaysNeverDrops removes the result and dead-letter streams, so that publishing them
// fails, and checks that the input is delayed (not acked, not dropped) and settles once the streams are back,
// without running the handler's finished steps again.
func TestOutputPublishFailureDelaysNeverDrops(t *testing.T) {
	h := &twoSteps{}
	e := startWorker(t, events.Config{}, []events.Route{{Type: "person.hired", Handler: h}}, nil, nil)
	ctx := context.Background()
	for _, s := range []string{"PONTE_RESULTS", "PONTE_DLQ"} {
		if err := e.js.DeleteStream(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	e.publish(events.EncodeBinary("person.hired", newEvent("person.hired", "ok-1", map[string]string{}), ""))
	bad := nats.NewMsg("person.hired")
	bad.Data = []byte("not an event")
	e.publish(bad)
	waitFor(t, "failed settlements", func() bool {
		return e.metric("ponte_events_processed_total", "type", "person.hired", "outcome", "error") >= 4
	})
	if e.metric("ponte_events_processed_total", "type", "person.hired", "outcome", "success") != 0 {
		t.Fatal("acked without a result")
	}
	if _, err := (events.Topology{Manage: true}.WithDefaults()).Ensure(ctx, e.js); err != nil {
		t.Fatal(err)
	}
	if got := e.collect("PONTE_RESULTS", 1, 10*time.Second); got[0].Extensions()["causationid"] != "ok-1" {
		t.Fatalf("result = %v", got[0])
	}
	if got := e.collect("PONTE_DLQ", 1, 10*time.Second); len(got) != 1 {
		t.Fatalf("dead letters = %d", len(got))
	}
	if h.step1.Load() != 1 || h.step2.Load() != 1 {
		t.Errorf("steps re-ran while the result could not be published: %d, %d", h.step1.Load(), h.step2.Load())
	}
}

// TestLongHandlerIsKeptAlive: a handler running past AckWait is not redelivered meanwhile, because the worker
// sends InProgress.
func TestLongHandlerIsKeptAlive(t *testing.T) {
	h := events.HandlerFunc(func(ctx context.Context, ev event.Event) error {
		time.Sleep(1600 * time.Millisecond)
		return nil
	})
	e := startWorker(t, events.Config{AckWait: time.Second}, []events.Route{{Type: "person.hired", Handler: h}}, nil, nil)
	e.publish(events.EncodeBinary("person.hired", newEvent("person.hired", "slow", map[string]string{}), ""))
	e.collect("PONTE_RESULTS", 1, 10*time.Second)
	time.Sleep(200 * time.Millisecond)
	if n := e.metric("ponte_events_received_total", "type", "person.hired"); n != 1 {
		t.Fatalf("the message was delivered %v times: the handler was not kept alive past ack wait", n)
	}
}

// defaultServer is eventstest.JetStream, checked to have nats-server's default max_payload (1 MiB) as production
// runs it: the limit the tests of large messages are about.
func defaultServer(t *testing.T) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, js := eventstest.JetStream(t)
	if nc.MaxPayload() != 1<<20 {
		t.Fatalf("max_payload %d, want the default 1 MiB", nc.MaxPayload())
	}
	return nc, js
}

// TestLargeMessagesAtTheDefaultMaxPayload publishes messages close to the server's default max_payload: each ends
// as exactly one dead letter that fits (the body left out, an excerpt and the stream sequence kept), instead of a
// dead letter too large to publish and a message retried forever.
func TestLargeMessagesAtTheDefaultMaxPayload(t *testing.T) {
	_, js := defaultServer(t)
	var calls atomic.Int32
	h := events.HandlerFunc(func(context.Context, event.Event) error { calls.Add(1); return nil })
	reg := prometheus.NewRegistry()
	w, err := events.NewWorker(js, events.Topology{Manage: true}, events.Config{MaxMessageSize: 720 << 10},
		[]events.Route{{Type: "person.hired", Handler: h}}, nil, events.Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "worker ready", w.Ready)
	e := &env{t: t, js: js, reg: reg}

	// 800 KiB: over the limit. Its body in base64 alone would exceed max_payload.
	big := events.EncodeBinary("person.hired", newEvent("person.hired", "big-1", map[string]string{"x": strings.Repeat("z", 800<<10)}), "")
	// 720 KiB, at the limit but not a CloudEvent, with 60 KiB of headers: whole, its dead letter does not fit.
	odd := nats.NewMsg("person.hired")
	odd.Data = []byte(strings.Repeat("a", 720<<10))
	for i := range 15 {
		odd.Header.Set(fmt.Sprintf("x-h%02d", i), strings.Repeat("h", 4<<10))
	}
	odd.Header.Set("ce-id", "odd-1")
	e.publish(big)
	e.publish(odd)

	dls := e.collect("PONTE_DLQ", 2, 10*time.Second)
	byID := map[string]events.DeadLetter{}
	for _, ev := range dls {
		var dl events.DeadLetter
		if err := ev.DataAs(&dl); err != nil {
			t.Fatal(err)
		}
		byID[dl.EventID] = dl
	}
	for _, tt := range []struct {
		id, reason string
		msg        *nats.Msg
	}{{"big-1", events.ReasonTooLarge, big}, {"odd-1", events.ReasonNotCloudEvent, odd}} {
		dl, ok := byID[tt.id]
		if !ok {
			t.Errorf("no dead letter for %s: %v", tt.id, byID)
			continue
		}
		o := dl.Original
		raw, _ := base64.StdEncoding.DecodeString(o.Excerpt)
		if dl.Reason != tt.reason || o.Data != "" || !o.Truncated || len(raw) != events.ExcerptSize || o.Size != len(tt.msg.Data) ||
			o.Stream != "PONTE_EVENTS" || o.Sequence == 0 {
			t.Errorf("%s: reason %s, data %d chars, truncated %v, excerpt %d bytes, size %d, at %s/%d", tt.id, dl.Reason,
				len(o.Data), o.Truncated, len(raw), o.Size, o.Stream, o.Sequence)
		}
	}
	waitFor(t, "both messages settled", func() bool {
		return e.metric("ponte_events_processed_total", "type", "person.hired", "outcome", events.OutcomeDeadLetter) == 2
	})
	if n := e.metric("ponte_events_processed_total", "type", "person.hired", "outcome", events.OutcomeError); n != 0 {
		t.Errorf("%v settlements failed (a dead letter that did not fit)", n)
	}
	if calls.Load() != 0 {
		t.Errorf("the handler ran %d times", calls.Load())
	}
}

// TestMaxMessageSizeMustLeaveRoomForTheDeadLetter checks that a size limit whose dead letter cannot fit in the
// server's max_payload stops the worker at start, naming the key and the largest value that fits.
func TestMaxMessageSizeMustLeaveRoomForTheDeadLetter(t *testing.T) {
	_, js := defaultServer(t)
	h := events.HandlerFunc(func(context.Context, event.Event) error { return nil })
	w, err := events.NewWorker(js, events.Topology{Manage: true}, events.Config{MaxMessageSize: 800 << 10},
		[]events.Route{{Type: "person.hired", Handler: h}}, nil, events.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = w.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "worker.maxMessageSize: 819200 bytes") || !strings.Contains(err.Error(), "at most 737280") {
		t.Fatalf("Run = %v, want an error naming worker.maxMessageSize and the largest value that fits", err)
	}
}

// lockedBuffer is a bytes.Buffer safe for the worker's goroutines and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// TestDeadLetterLogLine checks the log line of a dead letter: it carries the event id even when the envelope does
// not decode, and no empty target or status for an event that never met a target; on stop one line says why and
// how many events are in flight.
func TestDeadLetterLogLine(t *testing.T) {
	_, js := eventstest.JetStream(t)
	var logs lockedBuffer
	h := events.HandlerFunc(func(context.Context, event.Event) error { return nil })
	w, err := events.NewWorker(js, events.Topology{Manage: true}, events.Config{}, []events.Route{{Type: "person.hired", Handler: h}}, nil,
		events.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	waitFor(t, "worker ready", w.Ready)
	e := &env{t: t, js: js}
	m := events.EncodeBinary("person.hired", newEvent("person.hired", "bad-time-1", map[string]string{}), "")
	m.Header.Set("ce-time", "yesterday")
	e.publish(m)
	e.collect("PONTE_DLQ", 1, 10*time.Second)

	var line map[string]any
	waitFor(t, "the dead-letter log line", func() bool {
		for _, l := range logs.lines() {
			if l["msg"] == "event dead-lettered" {
				line = l
				return true
			}
		}
		return false
	})
	if line["event_id"] != "bad-time-1" || line["reason"] != events.ReasonNotCloudEvent {
		t.Errorf("log line %v: want event_id bad-time-1 and reason not_cloudevent", line)
	}
	for _, k := range []string{"target", "operation", "status"} {
		if _, ok := line[k]; ok {
			t.Errorf("log line has %s = %v for an event that met no target", k, line[k])
		}
	}

	cancel(errors.New("received signal terminated"))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var stop map[string]any
	for _, l := range logs.lines() {
		if strings.HasPrefix(fmt.Sprint(l["msg"]), "stopping") {
			stop = l
		}
	}
	// The dead letter was logged; its delivery may still be finishing its bookkeeping when the stop begins.
	if n, ok := stop["in_flight"].(float64); stop == nil || stop["cause"] != "received signal terminated" || !ok || n > 1 {
		t.Errorf("stop line %v: want the cause and the number of events in flight", stop)
	}
}

// TestQueuedEventIsKeptAlive: an event waiting behind a slow one of its entity is not redelivered meanwhile: the
// worker sends InProgress for it too.
func TestQueuedEventIsKeptAlive(t *testing.T) {
	h := events.HandlerFunc(func(ctx context.Context, ev event.Event) error {
		if ev.ID() == "slow" {
			time.Sleep(1600 * time.Millisecond)
		}
		return nil
	})
	e := startWorker(t, events.Config{AckWait: time.Second}, []events.Route{{Type: "person.hired", Handler: h}}, nil, nil)
	e.publish(events.EncodeBinary("person.hired", newEvent("person.hired", "slow", map[string]string{}), ""))
	e.publish(events.EncodeBinary("person.hired", newEvent("person.hired", "queued", map[string]string{}), "")) // same entity E1
	e.collect("PONTE_RESULTS", 2, 10*time.Second)
	if n := e.metric("ponte_events_received_total", "type", "person.hired"); n != 2 {
		t.Fatalf("2 messages were delivered %v times: the one queued behind the slow one was not kept alive", n)
	}
}

// TestEventWaitingForASlotIsKeptAlive: an event of another entity, fetched while every slot runs a slow event,
// is not redelivered while it waits for a slot (the chaos harness's slow-API scenario found this: with the APIs
// taking seconds per call, the events waiting for one of the 32 slots outlived AckWait and ran twice).
func TestEventWaitingForASlotIsKeptAlive(t *testing.T) {
	h := events.HandlerFunc(func(ctx context.Context, ev event.Event) error {
		if ev.ID() == "slow" {
			time.Sleep(1600 * time.Millisecond)
		}
		return nil
	})
	e := startWorker(t, events.Config{AckWait: time.Second, Concurrency: 1}, []events.Route{{Type: "person.hired", Handler: h}}, nil, nil)
	e.publish(events.EncodeBinary("person.hired", newEvent("person.hired", "slow", map[string]string{}), ""))
	other := newEvent("person.hired", "waiting", map[string]string{})
	other.SetSubject("E2")
	e.publish(events.EncodeBinary("person.hired", other, ""))
	e.collect("PONTE_RESULTS", 2, 10*time.Second)
	if n := e.metric("ponte_events_received_total", "type", "person.hired"); n != 2 {
		t.Fatalf("2 messages were delivered %v times: the one waiting for a free slot was not kept alive", n)
	}
}

// TestNoMessageWaitsUnattended: with every slot taken by slow events, the messages fetched behind them are all
// kept alive until they run; none sits in a client-side buffer past AckWait (the chaos harness's slow-API
// scenario: nats.go's Messages iterator prefetched messages beyond the dispatcher's room, and pulled more while
// they waited, so the server redelivered them and they ran twice).
func TestNoMessageWaitsUnattended(t *testing.T) {
	h := events.HandlerFunc(func(ctx context.Context, ev event.Event) error {
		if strings.HasPrefix(ev.ID(), "slow") {
			time.Sleep(2500 * time.Millisecond)
		} else {
			time.Sleep(300 * time.Millisecond)
		}
		return nil
	})
	const concurrency, slow, behind = 4, 4, 16
	e := startWorker(t, events.Config{AckWait: time.Second, Concurrency: concurrency}, []events.Route{{Type: "person.hired", Handler: h}}, nil, nil)
	for i := range slow + behind {
		id := fmt.Sprint("behind-", i)
		if i < slow {
			id = fmt.Sprint("slow-", i)
		}
		ev := newEvent("person.hired", id, map[string]string{})
		ev.SetSubject("E-" + id)
		e.publish(events.EncodeBinary("person.hired", ev, ""))
	}
	e.collect("PONTE_RESULTS", slow+behind, 20*time.Second)
	time.Sleep(time.Second) // a redelivery would arrive within AckWait
	if n := e.metric("ponte_events_received_total", "type", "person.hired"); n != slow+behind {
		t.Fatalf("%d messages were delivered %v times: some waited behind the slow ones without being kept alive", slow+behind, n)
	}
}
