package events_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"

	"github.com/ponte-dev/ponte/clients"
	"github.com/ponte-dev/ponte/events"
	"github.com/ponte-dev/ponte/events/eventstest"
)

// runWorker runs a Worker on js until the test ends and waits until it is consuming.
func runWorker(t *testing.T, js jetstream.JetStream, cfg events.Config, routes []events.Route, reg *prometheus.Registry) *events.Worker {
	t.Helper()
	return runWorkerWith(t, js, cfg, routes, nil, nil, reg)
}

// runWorkerWith is runWorker with a validator and breakers.
func runWorkerWith(t *testing.T, js jetstream.JetStream, cfg events.Config, routes []events.Route, v events.Validator, breakers *clients.Breakers, reg *prometheus.Registry) *events.Worker {
	t.Helper()
	if cfg.BackoffBase == 0 {
		cfg.BackoffBase, cfg.BackoffMax = 20*time.Millisecond, 100*time.Millisecond
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	w, err := events.NewWorker(js, events.Topology{Manage: true}, cfg, routes, v,
		events.Options{Logger: slog.New(slog.DiscardHandler), Registerer: reg, Breakers: breakers})
	if err != nil {
		t.Fatal(err)
	}
	eventstest.Run(t, w, true)
	return w
}

// waitResults waits until the results stream holds a message and returns them; why names what the test proves.
func waitResults(t *testing.T, js jetstream.JetStream, why string) []eventstest.Message {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if got := eventstest.Messages(t, js, "PONTE_RESULTS"); len(got) > 0 {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatal("no result: " + why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// connect opens one more connection to the server of nc, as another process would; closed, it does not come back,
// as the connection of a process that died would not.
func connect(t *testing.T, nc *nats.Conn) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	return eventstest.Connect(t, nc.ConnectedUrl(), nats.MaxReconnects(0))
}

// TestDeadLetteredEventNeverRunsAgain is defect 2 of the settlement issue: when the Term after a dead letter is
// lost, the redelivery must be termed again, not run the handler with a fresh budget. The worker's user may not
// publish acknowledgements at all ($JS.ACK.> denied), so every settlement is lost and the message keeps coming.
func TestDeadLetteredEventNeverRunsAgain(t *testing.T) {
	srv, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true,
		Users: []*server.User{{Username: "worker", Password: "pw", Permissions: &server.Permissions{
			Publish: &server.SubjectPermission{Allow: []string{">"}, Deny: []string{"$JS.ACK.>"}},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	_, js := eventstest.Connect(t, srv.ClientURL(), nats.UserInfo("worker", "pw"), nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
	var calls atomic.Int32
	h := events.HandlerFunc(func(ctx context.Context, ev event.Event) error {
		calls.Add(1)
		return &clients.StatusError{Target: "zeev", Operation: "upsert_user", Status: 400}
	})
	reg := prometheus.NewRegistry()
	runWorker(t, js, events.Config{AckWait: time.Second}, []events.Route{{Type: "person.hired", Handler: h}}, reg)
	if _, err := js.PublishMsg(context.Background(), events.EncodeBinary("person.hired", newEvent("person.hired", "bad-1", map[string]string{}), "")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "three deliveries", func() bool {
		return eventstest.Metric(t, reg, "ponte_events_received_total", "type", "person.hired") >= 3
	})
	if n := calls.Load(); n != 1 {
		t.Errorf("the handler ran %d times: a dead-lettered event ran again on redelivery", n)
	}
	if n := len(eventstest.Messages(t, js, "PONTE_DLQ")); n != 1 {
		t.Errorf("%d dead letters, want 1", n)
	}
	if n := len(eventstest.Messages(t, js, "PONTE_RESULTS")); n != 0 {
		t.Errorf("%d results after the dead letter", n)
	}
}

// TestCrashedWorkersEventIsTakenOverWithinSeconds is defect 3 of the settlement issue: a worker that dies in the
// middle of a step (its connection closed, as a SIGKILL does) must not keep the event's claim for minutes. Another
// worker takes the redelivery over soon after the ack wait, and the event gets one result.
func TestCrashedWorkersEventIsTakenOverWithinSeconds(t *testing.T) {
	nc, _ := eventstest.JetStream(t)
	_, js1 := connect(t, nc)
	nc1 := js1.Conn()
	stuck := make(chan struct{})
	t.Cleanup(func() { close(stuck) })
	started := make(chan struct{}, 1)
	h1 := events.HandlerFunc(func(ctx context.Context, ev event.Event) error {
		started <- struct{}{}
		select { // the process dies here
		case <-stuck:
		case <-ctx.Done():
		}
		return ctx.Err()
	})
	cfg := events.Config{AckWait: 2 * time.Second, DrainTimeout: time.Second}
	runWorker(t, js1, cfg, []events.Route{{Type: "person.hired", Handler: h1}}, nil)
	_, js2 := connect(t, nc)
	if _, err := js2.PublishMsg(context.Background(), events.EncodeBinary("person.hired", newEvent("person.hired", "taken-over", map[string]string{}), "")); err != nil {
		t.Fatal(err)
	}
	<-started
	nc1.Close() // SIGKILL: no settlement, no renewal, no release
	crashed := time.Now()

	var ran atomic.Int32
	h2 := events.HandlerFunc(func(ctx context.Context, ev event.Event) error { ran.Add(1); return nil })
	runWorker(t, js2, cfg, []events.Route{{Type: "person.hired", Handler: h2}}, nil)
	deadline := crashed.Add(15 * time.Second)
	for len(eventstest.Messages(t, js2, "PONTE_RESULTS")) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no result %s after the first worker died: its claim outlived it", time.Since(crashed).Round(time.Second))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if took := time.Since(crashed); took > 10*time.Second {
		t.Errorf("taken over after %s, want within a few seconds of the ack wait (%s)", took.Round(time.Millisecond), cfg.AckWait)
	}
	if ran.Load() != 1 {
		t.Errorf("the second worker ran the handler %d times", ran.Load())
	}
	time.Sleep(500 * time.Millisecond) // anything the first worker's stale delivery could still publish
	if n := len(eventstest.Messages(t, js2, "PONTE_RESULTS")); n != 1 {
		t.Errorf("%d result messages, want 1", n)
	}
}

// crashAfterResult is a JetStream whose connection dies right after the first result publish is acknowledged: a
// worker SIGKILLed between its result's PubAck and recording completion.
type crashAfterResult struct {
	jetstream.JetStream
	crashed atomic.Bool
}

func (c *crashAfterResult) PublishMsg(ctx context.Context, m *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	ack, err := c.JetStream.PublishMsg(ctx, m, opts...)
	if err == nil && len(m.Subject) > len(events.ResultPrefix) && m.Subject[:len(events.ResultPrefix)] == events.ResultPrefix && c.crashed.CompareAndSwap(false, true) {
		c.Conn().Close()
	}
	return ack, err
}

// TestOneResultWhateverTheCrashTiming is defect 3's duplicate results: a worker dies after its result is out but
// before completion is recorded, and the redelivery comes after the results stream's duplicate window. The event
// must still have exactly one result message.
func TestOneResultWhateverTheCrashTiming(t *testing.T) {
	nc, _ := eventstest.JetStream(t)
	_, js1 := connect(t, nc)
	crash := &crashAfterResult{JetStream: js1}
	cfg := events.Config{AckWait: time.Second, HandlerTimeout: time.Second}
	h := events.HandlerFunc(func(ctx context.Context, ev event.Event) error { return nil })
	runWorker(t, crash, cfg, []events.Route{{Type: "person.hired", Handler: h}}, nil)

	_, js2 := connect(t, nc)
	ctx := context.Background()
	if _, err := js2.PublishMsg(ctx, events.EncodeBinary("person.hired", newEvent("person.hired", "once", map[string]string{}), "")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first worker to crash", crash.crashed.Load)

	reg := prometheus.NewRegistry()
	runWorker(t, js2, cfg, []events.Route{{Type: "person.hired", Handler: h}}, reg)
	// The shortest duplicate window (set after the worker ensured the topology), so that the redelivery surely
	// comes after it.
	st, err := js2.Stream(ctx, "PONTE_RESULTS")
	if err != nil {
		t.Fatal(err)
	}
	sc := st.CachedInfo().Config
	sc.Duplicates = 100 * time.Millisecond
	if _, err := js2.UpdateStream(ctx, sc); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the redelivery to settle", func() bool {
		return eventstest.Metric(t, reg, "ponte_events_processed_total", "type", "person.hired", "outcome", "success")+
			eventstest.Metric(t, reg, "ponte_events_processed_total", "type", "person.hired", "outcome", "duplicate") >= 1
	})
	if got := eventstest.Messages(t, js2, "PONTE_RESULTS"); len(got) != 1 {
		var ids []string
		for _, m := range got {
			ids = append(ids, fmt.Sprint(m.Msg.Subject(), " ", m.Event.ID()))
		}
		t.Fatalf("%d result messages for one event: %v", len(got), ids)
	}
}

// TestDeletedConsumerIsRebound is defect 4 of the settlement issue: a consumer deleted under a running worker
// makes it not ready until the consumer exists again, and then the worker binds it and consumes again. The worker
// does not manage the topology here, so the consumer comes back only when an operator recreates it.
func TestDeletedConsumerIsRebound(t *testing.T) {
	nc, js := eventstest.JetStream(t)
	ctx := context.Background()
	h := events.HandlerFunc(func(ctx context.Context, ev event.Event) error { return nil })
	routes := []events.Route{{Type: "person.hired", Handler: h}}
	// A first worker creates the topology and its consumers, then stops.
	w0, err := events.NewWorker(js, events.Topology{Manage: true}, events.Config{}, routes, nil, events.Options{})
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w0.Run(wctx) }()
	waitFor(t, "the first worker ready", w0.Ready)
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	_, js2 := connect(t, nc)
	w, err := events.NewWorker(js2, events.Topology{}, events.Config{}, routes, nil, events.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop = context.WithCancel(ctx)
	t.Cleanup(stop)
	go func() { _ = w.Run(wctx) }()
	waitFor(t, "the worker ready", w.Ready)

	const name = "ponte-events"
	c, err := js.Consumer(ctx, "PONTE_EVENTS", name)
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.CachedInfo().Config
	if err := js.DeleteConsumer(ctx, "PONTE_EVENTS", name); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the worker not ready while its consumer is gone", func() bool { return !w.Ready() })
	if _, err := js.CreateConsumer(ctx, "PONTE_EVENTS", cfg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the worker ready again", w.Ready)
	if _, err := js.PublishMsg(ctx, events.EncodeBinary("person.hired", newEvent("person.hired", "after-rebind", map[string]string{}), "")); err != nil {
		t.Fatal(err)
	}
	waitResults(t, js, "the recreated consumer was not bound again")
}

// TestDeletedConsumerIsRecreated: a worker that manages the topology creates a deleted consumer again by itself.
func TestDeletedConsumerIsRecreated(t *testing.T) {
	_, js := eventstest.JetStream(t)
	ctx := context.Background()
	h := events.HandlerFunc(func(ctx context.Context, ev event.Event) error { return nil })
	runWorker(t, js, events.Config{}, []events.Route{{Type: "person.hired", Handler: h}}, nil)
	if err := js.DeleteConsumer(ctx, "PONTE_EVENTS", "ponte-events"); err != nil {
		t.Fatal(err)
	}
	if _, err := js.PublishMsg(ctx, events.EncodeBinary("person.hired", newEvent("person.hired", "after-delete", map[string]string{}), "")); err != nil {
		t.Fatal(err)
	}
	waitResults(t, js, "the deleted consumer was not created again")
}

// TestMaxDeliveriesBecomesADeadLetter is defect 5's safety net: a message that never settles (here: a breaker
// that refuses every call, so no attempt is ever spent) stops being delivered at the consumer's MaxDeliver, and
// the server's MAX_DELIVERIES advisory becomes a dead letter instead of a message silently left behind.
func TestMaxDeliveriesBecomesADeadLetter(t *testing.T) {
	_, js := eventstest.JetStream(t)
	ctx := context.Background()
	var calls atomic.Int32
	h := events.HandlerFunc(func(ctx context.Context, ev event.Event) error {
		calls.Add(1)
		return &clients.OpenError{Target: "zeev", Wait: 10 * time.Millisecond, Err: gobreaker.ErrOpenState}
	})
	runWorker(t, js, events.Config{MaxDeliveries: 3}, []events.Route{{Type: "person.hired", Handler: h}}, nil)
	if _, err := js.PublishMsg(ctx, events.EncodeBinary("person.hired", newEvent("person.hired", "never-settles", map[string]string{}), "")); err != nil {
		t.Fatal(err)
	}
	var dls []eventstest.Message
	waitFor(t, "a dead letter", func() bool { dls = eventstest.Messages(t, js, "PONTE_DLQ"); return len(dls) > 0 })
	var dl events.DeadLetter
	if err := dls[0].Event.DataAs(&dl); err != nil {
		t.Fatal(err)
	}
	if dl.Reason != events.ReasonExhausted || dl.EventID != "never-settles" || !strings.Contains(dl.Message, "worker.maxDeliveries") || dl.Original.Data == "" {
		t.Errorf("dead letter = %+v", dl)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("handler ran %d times, want 3 (MaxDeliver)", n)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(eventstest.Messages(t, js, "PONTE_DLQ")); n != 1 {
		t.Errorf("%d dead letters, want 1", n)
	}
}

// TestOldestUnsettledAge: a message that does not settle shows in ponte_consumer_oldest_unsettled_age_seconds,
// the metric that warns before the input stream ages a message out.
func TestOldestUnsettledAge(t *testing.T) {
	_, js := eventstest.JetStream(t)
	h := events.HandlerFunc(func(ctx context.Context, ev event.Event) error {
		return &clients.OpenError{Target: "zeev", Wait: time.Second, Err: gobreaker.ErrOpenState}
	})
	reg := prometheus.NewRegistry()
	runWorker(t, js, events.Config{}, []events.Route{{Type: "person.hired", Handler: h}}, reg)
	if _, err := js.PublishMsg(context.Background(), events.EncodeBinary("person.hired", newEvent("person.hired", "waits", map[string]string{}), "")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for eventstest.Metric(t, reg, "ponte_consumer_oldest_unsettled_age_seconds", "consumer", "ponte-events") <= 0 {
		if time.Now().After(deadline) {
			t.Fatal("the unsettled message does not show in ponte_consumer_oldest_unsettled_age_seconds")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestOneDeliveryPerMessage is defect 5's double delivery: every message, routed or not, is delivered once, by one
// consumer, whatever its subject; an unknown type is routed in process, not by a second consumer that receives
// every message again.
func TestOneDeliveryPerMessage(t *testing.T) {
	_, js := eventstest.JetStream(t)
	ctx := context.Background()
	h := events.HandlerFunc(func(ctx context.Context, ev event.Event) error { return nil })
	reg := prometheus.NewRegistry()
	runWorker(t, js, events.Config{}, []events.Route{{Type: "person.hired", Handler: h}, {Type: "contract.signed", Handler: h}}, reg)
	for i, typ := range []string{"person.hired", "contract.signed", "person.promoted"} {
		if _, err := js.PublishMsg(ctx, events.EncodeBinary(typ, newEvent(typ, fmt.Sprint("one-", i), map[string]string{}), "")); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "two results and a dead letter", func() bool {
		return len(eventstest.Messages(t, js, "PONTE_RESULTS")) == 2 && len(eventstest.Messages(t, js, "PONTE_DLQ")) == 1
	})
	s, err := js.Stream(ctx, "PONTE_EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	var delivered uint64
	var names []string
	for info := range s.ListConsumers(ctx).Info() {
		delivered += info.Delivered.Consumer
		names = append(names, info.Name)
	}
	if delivered != 3 {
		t.Errorf("3 messages were delivered %d times in all, by the consumers %v", delivered, names)
	}
}

// TestNoMessageAgesOutSilently is defect 5's retention: a message that does not settle before the input stream's
// max age would be dropped by the stream without a trace. ponte dead-letters it (whole, with the reason) once it
// is older than 90% of that age.
func TestNoMessageAgesOutSilently(t *testing.T) {
	_, js := eventstest.JetStream(t)
	ctx := context.Background()
	h := events.HandlerFunc(func(ctx context.Context, ev event.Event) error {
		return &clients.OpenError{Target: "zeev", Wait: 100 * time.Millisecond, Err: gobreaker.ErrOpenState}
	})
	topo := events.Topology{Manage: true, InputMaxAge: 4 * time.Second, DuplicateWindow: time.Second}
	w, err := events.NewWorker(js, topo, events.Config{BackoffBase: 20 * time.Millisecond, BackoffMax: 100 * time.Millisecond},
		[]events.Route{{Type: "person.hired", Handler: h}}, nil, events.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	eventstest.Run(t, w, false)
	published := time.Now()
	if _, err := js.PublishMsg(ctx, events.EncodeBinary("person.hired", newEvent("person.hired", "ages", map[string]string{}), "")); err != nil {
		t.Fatal(err)
	}
	var dls []eventstest.Message
	deadline := time.Now().Add(10 * time.Second)
	for dls = eventstest.Messages(t, js, "PONTE_DLQ"); len(dls) == 0; dls = eventstest.Messages(t, js, "PONTE_DLQ") {
		if time.Now().After(deadline) {
			t.Fatal("the message aged out of the input stream without a dead letter")
		}
		time.Sleep(50 * time.Millisecond)
	}
	var dl events.DeadLetter
	if err := dls[0].Event.DataAs(&dl); err != nil {
		t.Fatal(err)
	}
	if dl.Reason != events.ReasonExhausted || dl.EventID != "ages" || !strings.Contains(dl.Message, "jetstream.inputMaxAge") || dl.Original.Data == "" {
		t.Errorf("dead letter = %+v", dl)
	}
	if since := time.Since(published); since > 4*time.Second {
		t.Errorf("dead-lettered %s after it was published, after the stream's max age", since.Round(time.Millisecond))
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(eventstest.Messages(t, js, "PONTE_DLQ")); n != 1 {
		t.Errorf("%d dead letters, want 1", n)
	}
}

// TestReplayingADeadLetter: a dead-lettered event runs again only when published with the replayof extension
// naming its latest dead letter; then the steps it did before are replayed from the ledger (no second write), the
// rest run, and the result names the dead letter. Published again without it, or with another id, it gets a dead
// letter saying how to replay it.
func TestReplayingADeadLetter(t *testing.T) {
	var broken atomic.Bool
	broken.Store(true)
	h := &twoSteps{fail: func(int32) error {
		if broken.Load() {
			return &clients.StatusError{Target: "senior", Operation: "add_role", Status: 422}
		}
		return nil
	}}
	e := startWorker(t, events.Config{}, []events.Route{{Type: "person.hired", Handler: h}}, nil, nil)
	ev := newEvent("person.hired", "replay-me", map[string]string{})
	e.publish(events.EncodeBinary("person.hired", ev, ""))
	first := e.collect("PONTE_DLQ", 1, 10*time.Second)[0]
	dlID := first.ID()

	// Published again as it was, or with a wrong replayof: not run, a dead letter that says how.
	e.publish(events.EncodeBinary("person.hired", ev, ""))
	wrong := ev.Clone()
	wrong.SetExtension(events.ReplayExtension, "ponte-dlq-not-this-one")
	e.publish(events.EncodeBinary("person.hired", &wrong, ""))
	dls := e.collect("PONTE_DLQ", 3, 10*time.Second)
	for _, d := range dls[1:] {
		var dl events.DeadLetter
		_ = d.DataAs(&dl)
		if !strings.Contains(dl.Message, "does not run it again") || !strings.Contains(dl.Message, dlID) || dl.Latest != dlID {
			t.Errorf("dead letter of a copy: %q, latest %q, want both to name %s", dl.Message, dl.Latest, dlID)
		}
	}
	if h.step2.Load() != 1 {
		t.Fatalf("the copies ran the handler: step 2 ran %d times", h.step2.Load())
	}

	broken.Store(false) // the cause is fixed (the role exists at Senior now)
	replay := ev.Clone()
	replay.SetExtension(events.ReplayExtension, dlID)
	e.publish(events.EncodeBinary("person.hired", &replay, ""))
	res := e.collect("PONTE_RESULTS", 1, 10*time.Second)[0]
	var r events.Result
	if err := res.DataAs(&r); err != nil {
		t.Fatal(err)
	}
	if r.ReplayOf != dlID || len(r.Steps) != 2 || r.Steps[0].Status != events.StatusReplayed || r.Steps[1].Status != events.StatusDone {
		t.Errorf("result = %+v, want replayOf %s, step 1 replayed, step 2 done", r, dlID)
	}
	if h.step1.Load() != 1 || h.step2.Load() != 2 {
		t.Errorf("steps ran %d and %d times, want 1 (no second write) and 2", h.step1.Load(), h.step2.Load())
	}
}

// TestStoppingWorkerHandsThePinOver: the consumer is pinned to one worker; when that worker stops (SIGTERM), it
// releases the pin, and a standby replica takes the events over at once, not after the pin's TTL (ackWait).
func TestStoppingWorkerHandsThePinOver(t *testing.T) {
	nc, js := eventstest.JetStream(t)
	ctx := context.Background()
	cfg := events.Config{AckWait: 30 * time.Second}
	var byA, byB atomic.Int32
	routes := func(n *atomic.Int32) []events.Route {
		return []events.Route{{Type: "person.hired", Handler: events.HandlerFunc(func(ctx context.Context, ev event.Event) error { n.Add(1); return nil })}}
	}
	_, jsA := connect(t, nc)
	a, err := events.NewWorker(jsA, events.Topology{Manage: true}, cfg, routes(&byA), nil, events.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	actx, stopA := context.WithCancel(ctx)
	doneA := make(chan error, 1)
	go func() { doneA <- a.Run(actx) }()
	waitFor(t, "worker A ready", a.Ready)
	publish := func(id string) {
		t.Helper()
		ev := newEvent("person.hired", id, map[string]string{})
		ev.SetSubject(id)
		if _, err := js.PublishMsg(ctx, events.EncodeBinary("person.hired", ev, "")); err != nil {
			t.Fatal(err)
		}
	}
	publish("first")
	waitFor(t, "worker A to take the first event (and the pin)", func() bool { return byA.Load() == 1 })
	_, jsB := connect(t, nc)
	runWorker(t, jsB, cfg, routes(&byB), nil)

	stopA()
	if err := <-doneA; err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	publish("second")
	waitFor(t, "worker B to take the second event", func() bool { return byB.Load() == 1 })
	if took := time.Since(stopped); took > 5*time.Second {
		t.Errorf("the standby took over after %s: the pin was not released (its TTL is %s)", took.Round(time.Millisecond), cfg.AckWait)
	}
}

// TestEntityOrderSurvivesACrash: worker A dies (its connection cut, no goodbye) while it runs an entity's first
// event; the entity's second event is published meanwhile. Worker B, taking the consumer over, gets the second
// at once and the first only once its AckWait ran out: it must still run the first before the second, having
// found the first among the messages A left unsettled. (The chaos harness's kill-between-write-and-settlement
// scenario found contract signatures skipped as stale: their amendments had run first.)
func TestEntityOrderSurvivesACrash(t *testing.T) {
	nc, js := eventstest.JetStream(t)
	ctx := context.Background()
	cfg := events.Config{AckWait: 2 * time.Second}
	running := make(chan struct{}, 1)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	ncA, jsA := connect(t, nc)
	a, err := events.NewWorker(jsA, events.Topology{Manage: true}, cfg, []events.Route{{Type: "person.hired",
		Handler: events.HandlerFunc(func(ctx context.Context, ev event.Event) error {
			running <- struct{}{}
			<-release
			return nil
		})}}, nil, events.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	actx, stopA := context.WithCancel(ctx)
	t.Cleanup(stopA)
	go func() { _ = a.Run(actx) }()
	waitFor(t, "worker A ready", a.Ready)
	publish := func(id string, at time.Time) { publishOfEntity(t, js, "E-1", id, at) }
	base := time.Now().Add(-time.Hour)
	publish("first", base)
	select {
	case <-running:
	case <-time.After(10 * time.Second):
		t.Fatal("worker A did not start the first event")
	}
	ncA.Close() // A dies: no nak, no unpin; its claim and AckWait run out

	var ran runOrder
	_, jsB := connect(t, nc)
	runWorker(t, jsB, cfg, ran.routes(), nil)
	publish("second", base.Add(time.Minute))
	if got := ran.wait(t, 2); !slices.Equal(got, []string{"first", "second"}) {
		t.Errorf("worker B ran %v, want first then second: the entity's order did not survive worker A's death", got)
	}
}

// publishOfEntity publishes a person.hired of entity with id and time at.
func publishOfEntity(t *testing.T, js jetstream.JetStream, entity, id string, at time.Time) {
	t.Helper()
	ev := newEvent("person.hired", id, map[string]string{})
	ev.SetSubject(entity)
	ev.SetTime(at)
	if _, err := js.PublishMsg(context.Background(), events.EncodeBinary("person.hired", ev, "")); err != nil {
		t.Fatal(err)
	}
}

// runOrder records the events a handler ran, in order.
type runOrder struct {
	mu  sync.Mutex
	ids []string
}

func (r *runOrder) routes() []events.Route {
	return []events.Route{{Type: "person.hired", Handler: events.HandlerFunc(func(ctx context.Context, ev event.Event) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.ids = append(r.ids, ev.ID())
		return nil
	})}}
}

// wait waits until n events ran and returns them in the order they ran.
func (r *runOrder) wait(t *testing.T, n int) []string {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d events to run", n), func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.ids) >= n
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ids)
}

// TestEntityOrderSurvivesATakeover: the consumer's previous holder took an entity's first event and kept it alive
// (InProgress) after its last pull, then died; so its pin ran out before the event's AckWait did, and the worker
// taking over got the entity's second event first. It must hold the second until the first came back and ran.
// (The chaos harness's kill scenarios found contract signatures skipped as stale this way: a busy worker pulls
// seldom and renews often, and after a SIGKILL its successor ran their amendments first.)
func TestEntityOrderSurvivesATakeover(t *testing.T) {
	nc, js := eventstest.JetStream(t)
	ctx := context.Background()
	cfg := events.Config{AckWait: 2 * time.Second}
	var ran runOrder
	route := ran.routes()
	// A first worker creates the streams and the consumer, and stops (handing the pin back).
	w0, err := events.NewWorker(js, events.Topology{Manage: true}, cfg, route, nil, events.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx0, stop0 := context.WithCancel(ctx)
	done0 := make(chan error, 1)
	go func() { done0 <- w0.Run(ctx0) }()
	waitFor(t, "the first worker ready", w0.Ready)
	stop0()
	if err := <-done0; err != nil {
		t.Fatal(err)
	}
	publish := func(id string, at time.Time) { publishOfEntity(t, js, "E-1", id, at) }
	base := time.Now().Add(-time.Hour)
	publish("first", base)
	// The previous holder: pinned, takes the first event, renews it for 3s without pulling again, dies.
	ncA, jsA := connect(t, nc)
	cons, err := jsA.Consumer(ctx, "PONTE_EVENTS", "ponte-events")
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second), jetstream.FetchPriorityGroup(events.PriorityGroup))
	if err != nil {
		t.Fatal(err)
	}
	var first jetstream.Msg
	for m := range batch.Messages() {
		first = m
	}
	if first == nil {
		t.Fatalf("the previous holder got no message: %v", batch.Error())
	}
	_, jsB := connect(t, nc)
	runWorker(t, jsB, cfg, route, nil)
	publish("second", base.Add(time.Minute))
	for range 6 {
		_ = first.InProgress()
		time.Sleep(500 * time.Millisecond)
	}
	ncA.Close()
	if got := ran.wait(t, 2); !slices.Equal(got, []string{"first", "second"}) {
		t.Errorf("the worker taking over ran %v, want first then second", got)
	}
}
