package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"

	"github.com/ponte-dev/ponte/clients"
	"github.com/ponte-dev/ponte/events"
	"github.com/ponte-dev/ponte/events/eventstest"
)

// TestDLQCommands runs ponte dlq list, show, replay and purge against a real server and worker: two events
// dead-lettered by a permanent error and a message that is not a CloudEvent; the cause is fixed and one of the two
// is replayed (it completes, its first step not repeated); the other message cannot be replayed, and is purged.
func TestDLQCommands(t *testing.T) {
	nc, js := eventstest.JetStream(t)
	url := nc.ConnectedUrl()
	var broken atomic.Bool
	broken.Store(true)
	var step1, step2 atomic.Int32
	h := events.HandlerFunc(func(ctx context.Context, ev event.Event) error {
		if _, err := events.Step(ctx, events.StepSpec{Target: "zeev", Operation: "upsert_user"}, func(context.Context) (events.StepOutcome, error) {
			step1.Add(1)
			return events.Done("zeevUserId", 42), nil
		}); err != nil {
			return err
		}
		_, err := events.Step(ctx, events.StepSpec{Target: "senior", Operation: "add_role"}, func(context.Context) (events.StepOutcome, error) {
			step2.Add(1)
			if broken.Load() {
				return events.StepOutcome{}, &clients.StatusError{Target: "senior", Operation: "add_role", Status: 422, Body: "role 9 does not exist"}
			}
			return events.Done("personRoleId", 7), nil
		})
		return err
	})
	w, err := events.NewWorker(js, events.Topology{Manage: true}, events.Config{}, []events.Route{{Type: "person.hired", Handler: h}}, nil,
		events.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	eventstest.Run(t, w, false)
	ctx := context.Background()
	for i, subject := range []string{"E-1", "E-2"} {
		ev := event.New()
		ev.SetID(fmt.Sprint("hire-", i+1))
		ev.SetSource("urn:example:hr")
		ev.SetType("person.hired")
		ev.SetSubject(subject)
		ev.SetTime(time.Date(2026, 11, 20, 14, 0, i, 0, time.UTC))
		_ = ev.SetData(event.ApplicationJSON, map[string]string{"name": subject})
		if _, err := js.PublishMsg(ctx, events.EncodeBinary("person.hired", &ev, "")); err != nil {
			t.Fatal(err)
		}
	}
	bad := nats.NewMsg("person.hired")
	bad.Data = []byte("not an event, CPF 529.982.247-25")
	if _, err := js.PublishMsg(ctx, bad); err != nil {
		t.Fatal(err)
	}
	dlq := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := run(ctx, append([]string{"dlq", args[0], "--nats", url}, args[1:]...), func(string) string { return "" }, noEnviron, &out, &errOut)
		return out.String(), errOut.String(), err
	}
	eventually(t, "three dead letters", func() bool {
		out, _, err := dlq("list")
		return err == nil && strings.Count(out, "\n") == 3
	})

	out, _, err := dlq("list", "--reason", events.ReasonPermanent)
	if err != nil || strings.Count(out, "\n") != 2 || !strings.Contains(out, "senior 422") || !strings.Contains(out, "E-1") {
		t.Fatalf("list --reason permanent_error: %v\n%s", err, out)
	}
	out, _, err = dlq("list", "--json", "--subject", "E-2")
	var one struct {
		ID, Reason, EventID string
	}
	if err != nil || json.Unmarshal([]byte(out), &one) != nil || one.EventID != "hire-2" || one.Reason != events.ReasonPermanent {
		t.Fatalf("list --json --subject E-2: %v\n%s", err, out)
	}
	out, _, err = dlq("list", "--summary")
	if err != nil || !strings.Contains(out, "2  permanent_error senior") || !strings.Contains(out, "1  not_cloudevent") || !strings.Contains(out, "3  dead letters in all") {
		t.Fatalf("list --summary: %v\n%s", err, out)
	}
	var first struct{ ID string }
	out, _, _ = dlq("list", "--json", "--subject", "E-1")
	if err := json.Unmarshal([]byte(out), &first); err != nil {
		t.Fatal(err)
	}
	out, _, err = dlq("show", first.ID)
	for _, want := range []string{"reason     permanent_error", "senior add_role (HTTP 422)", `"id": "hire-1"`, "role 9 does not exist"} {
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("show: %v: want %q in\n%s", err, want, out)
		}
	}

	var notCE struct{ ID string }
	out, _, _ = dlq("list", "--json", "--reason", events.ReasonNotCloudEvent)
	if err := json.Unmarshal([]byte(out), &notCE); err != nil {
		t.Fatal(err)
	}
	if out, _, err = dlq("show", notCE.ID); err != nil || !strings.Contains(out, "not a CloudEvent") || strings.Contains(out, "529.982.247-25") {
		t.Errorf("show of a message that is no CloudEvent: %v: want its body with the CPF masked:\n%s", err, out)
	}

	out, errOut, err := dlq("replay", "--all", "--dry-run")
	if err != nil || strings.Count(out, "would replay") != 2 || !strings.Contains(out, "skip") || !strings.Contains(errOut, "would replay 2, skipped 1") {
		t.Fatalf("replay --all --dry-run: %v\n%s%s", err, out, errOut)
	}
	if st, err := js.Stream(ctx, "PONTE_EVENTS"); err != nil {
		t.Fatal(err)
	} else if n := st.CachedInfo().State.Msgs; n != 3 {
		t.Fatalf("a dry run published: the input stream holds %d messages, want the 3 first published", n)
	}

	broken.Store(false) // the role exists now
	if out, errOut, err := dlq("replay", first.ID); err != nil || !strings.Contains(out, "replayed "+first.ID) {
		t.Fatalf("replay: %v\n%s%s", err, out, errOut)
	}
	var results []eventstest.Message
	eventually(t, "the replay's result", func() bool {
		results = eventstest.Messages(t, js, "PONTE_RESULTS")
		return len(results) == 1
	})
	var r events.Result
	if err := results[0].Event.DataAs(&r); err != nil || r.EventID != "hire-1" || r.ReplayOf != first.ID || r.Steps[0].Status != events.StatusReplayed {
		t.Fatalf("result of the replay = %+v (%v)", r, err)
	}
	if step1.Load() != 2 {
		t.Errorf("the first step ran %d times for two events, want 2: the replay repeated it", step1.Load())
	}
	// Replayed again, after its effects were applied: the replay has the same Nats-Msg-Id, so the input stream
	// keeps one copy (later than the duplicate window, the ledger answers it without a call).
	if _, _, err := dlq("replay", first.ID); err != nil {
		t.Fatal(err)
	}
	if st, err := js.Stream(ctx, "PONTE_EVENTS"); err != nil || st.CachedInfo().State.Msgs != 4 {
		t.Errorf("input stream after a second replay: %v messages (%v), want 4: the replay was published twice", st.CachedInfo().State.Msgs, err)
	}
	if step1.Load() != 2 || step2.Load() != 3 {
		t.Errorf("steps ran %d and %d times after a second replay, want 2 and 3", step1.Load(), step2.Load())
	}

	if _, _, err := dlq("purge", "--reason", events.ReasonNotCloudEvent); err == nil || !strings.Contains(err.Error(), "--yes") {
		t.Fatalf("purge without --yes: %v", err)
	}
	if _, errOut, err := dlq("purge", "--reason", events.ReasonNotCloudEvent, "--yes"); err != nil || !strings.Contains(errOut, "deleted 1") {
		t.Fatalf("purge --yes: %v %s", err, errOut)
	}
	if out, _, _ := dlq("list"); strings.Count(out, "\n") != 2 || strings.Contains(out, events.ReasonNotCloudEvent) {
		t.Errorf("after the purge:\n%s", out)
	}
	if _, _, err := dlq("show", "ponte-dlq-nope"); err == nil || !strings.Contains(err.Error(), "no dead letter ponte-dlq-nope") {
		t.Errorf("show of an unknown id: %v", err)
	}
	for _, args := range [][]string{{"dlq"}, {"dlq", "explode"}, {"dlq", "replay"}, {"dlq", "show"}, {"dlq", "list", "x"}} {
		var out, errOut bytes.Buffer
		if err := run(ctx, args, func(string) string { return "" }, noEnviron, &out, &errOut); err == nil || !isUsage(err) {
			t.Errorf("ponte %s: %v, want a usage error", strings.Join(args, " "), err)
		}
	}
}

func isUsage(err error) bool {
	_, ok := err.(*usageError)
	return ok
}

// TestReplayAllReplaysEachEventOnce: an event whose cause is not fixed yet is dead-lettered again by every
// replay. `dlq replay --all` then replays only its latest dead letter: the older ones, and the dead letters that
// answered a replay of an older one, are skipped, naming the one to replay. Before, each run after the duplicate
// window replayed them all, and the event's dead letters doubled with every run.
func TestReplayAllReplaysEachEventOnce(t *testing.T) {
	nc, js := eventstest.JetStream(t)
	url := nc.ConnectedUrl()
	h := events.HandlerFunc(func(ctx context.Context, ev event.Event) error {
		_, err := events.Step(ctx, events.StepSpec{Target: "senior", Operation: "add_role"}, func(context.Context) (events.StepOutcome, error) {
			return events.StepOutcome{}, &clients.StatusError{Target: "senior", Operation: "add_role", Status: 422, Body: "role 9 does not exist"}
		})
		return err
	})
	w, err := events.NewWorker(js, events.Topology{Manage: true, DuplicateWindow: 100 * time.Millisecond}, events.Config{},
		[]events.Route{{Type: "person.hired", Handler: h}}, nil, events.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	eventstest.Run(t, w, false)
	ctx := context.Background()
	ev := event.New()
	ev.SetID("hire-1")
	ev.SetSource("urn:example:hr")
	ev.SetType("person.hired")
	ev.SetSubject("E-1")
	ev.SetTime(time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC))
	_ = ev.SetData(event.ApplicationJSON, map[string]string{"name": "E-1"})
	if _, err := js.PublishMsg(ctx, events.EncodeBinary("person.hired", &ev, "")); err != nil {
		t.Fatal(err)
	}
	dlq := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := run(ctx, append([]string{"dlq", args[0], "--nats", url}, args[1:]...), func(string) string { return "" }, noEnviron, &out, &errOut)
		return out.String(), errOut.String(), err
	}
	count := func() int {
		out, _, err := dlq("list")
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(out, "\n")
	}
	eventually(t, "the first dead letter", func() bool { return count() == 1 })
	for run, want := range []int{2, 3, 4} {
		time.Sleep(200 * time.Millisecond) // past the duplicate window, as an on-call run minutes later is
		out, errOut, err := dlq("replay", "--all")
		if err != nil || !strings.Contains(errOut, "replayed 1,") {
			t.Fatalf("replay --all, run %d: %v\n%s%s", run+1, err, out, errOut)
		}
		eventually(t, fmt.Sprintf("%d dead letters after run %d", want, run+1), func() bool { return count() >= want })
		time.Sleep(300 * time.Millisecond) // a replay of an older dead letter would have answered by now
		if n := count(); n != want {
			t.Fatalf("after replay --all run %d: %d dead letters, want %d (one per run): %s", run+1, n, want, out)
		}
		if run > 0 && !strings.Contains(out, "a newer dead letter") {
			t.Errorf("run %d does not say why the older dead letters were skipped:\n%s", run+1, out)
		}
	}
}
