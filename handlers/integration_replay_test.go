package handlers_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ponte-dev/ponte/clients/zeev/zeevsim"
	"github.com/ponte-dev/ponte/events"
	"github.com/ponte-dev/ponte/handlers"
)

// The replay tests dead-letter an event with the real handlers and simulators, fix the cause at the simulator,
// and replay the dead letter as `ponte dlq replay` does, with events.ReplayMessage.

// replayMessage is the replay of the dead letter dl, as `ponte dlq replay` publishes it.
func replayMessage(t *testing.T, dl output) *nats.Msg {
	t.Helper()
	var d events.DeadLetter
	if err := dl.ev.DataAs(&d); err != nil {
		t.Fatal(err)
	}
	m, err := events.ReplayMessage(&d, dl.ev.ID())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// replay publishes the replay of the dead letter dl, as `ponte dlq replay <id>` does.
func (e *env) replay(dl output) *jetstream.PubAck {
	e.t.Helper()
	return e.publish(replayMessage(e.t, dl))
}

// waitReplayResult waits for the result of the replay of event id's dead letter dlID and returns it. Another dead
// letter for the event (the replay refused, or run and failed again) fails the test at once.
func (e *env) waitReplayResult(id, dlID string) (events.Result, output) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var others []string // the replayOf of the event's other results
		for _, o := range forEvent(e.outputs("PONTE_RESULTS"), id) {
			var r events.Result
			if err := o.ev.DataAs(&r); err != nil {
				e.t.Fatal(err)
			}
			if r.ReplayOf == dlID {
				return r, o
			}
			others = append(others, strconv.Quote(r.ReplayOf))
		}
		for _, o := range forEvent(e.outputs("PONTE_DLQ"), id) {
			if o.ev.ID() != dlID {
				var dl events.DeadLetter
				_ = o.ev.DataAs(&dl)
				e.t.Fatalf("the replay of %s was dead-lettered again, as %s: %s: %s", dlID, o.ev.ID(), dl.Reason, dl.Message)
			}
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no result replaying %s for event %s; its results replay %v", dlID, id, others)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const (
	// hiredDanielaInJUR is Daniela's hire with explicit Zeev positions in team JUR, which the fixtures do not
	// have; her Senior roles (3 and 4) come from the TI/ANALISTA profile.
	hiredDanielaInJUR = `{
		"person": {"id": "E-0131", "name": "Daniela Prado Vieira", "username": "daniela.vieira",
		           "email": "daniela.vieira@ponte.dev", "cpf": "048.315.726-08", "registry": "000131"},
		"hireDate": "2026-12-01T08:00:00-03:00", "orgUnit": "TI", "position": "ANALISTA",
		"zeev": {"positions": [{"teamCode": "JUR", "positionCode": "ANALISTA"}]}}`
	// upsertDanielaInJUR is the Zeev upsert of hiredDanielaInJUR: the explicit positions replace.
	upsertDanielaInJUR = `{
		"ifExists": "update", "username": "daniela.vieira", "name": "Daniela Prado Vieira",
		"email": "daniela.vieira@ponte.dev", "identification": "000131", "document": "04831572608",
		"isActive": true, "licenseType": "actor",
		"positions": {"ifExistsUser": "replace", "items": [{"teamCode": "JUR", "positionCode": "ANALISTA"}]},
		"groups": {"ifExistsUser": "append", "items": [{"groupCode": "colaboradores"}]}}`
)

// assertDanielaLinks checks the Senior links a completed hire of Daniela leaves: one per role of the
// TI/ANALISTA profile (roles ... lists the roles linked so far, in order).
func assertDanielaLinks(t *testing.T, e *env, roles ...int) {
	t.Helper()
	var want [][4]any
	for i, role := range roles {
		want = append(want, [4]any{40 + i, role, "2026-12-01T08:00:00-03:00", ""})
	}
	assertLinks(t, e.seniorSim.PersonLinks(131), want...)
}

// TestReplayAfterFixingAMissingZeevTeam hires Daniela into a Zeev team that does not exist: Zeev refuses the
// upsert (400 TeamNotFound), nothing is written anywhere, and the event is dead-lettered as a permanent error of
// Zeev. Once the team is created at Zeev, replaying the dead letter runs the event again, from its first step:
// the Zeev user is created in the team, the Senior roles are linked once, and the result names the dead letter.
// Were the replay not let through, the replay would be dead-lettered again ("not run again") and the test fails
// there. The event is published in each content mode, whose replays carry replayof differently (a ce-replayof
// header, an attribute of the structured body).
func TestReplayAfterFixingAMissingZeevTeam(t *testing.T) {
	for _, structured := range []bool{false, true} {
		t.Run(map[bool]string{false: "binary", true: "structured"}[structured], func(t *testing.T) {
			t.Parallel()
			replayAfterFixingAMissingZeevTeam(t, structured)
		})
	}
}

func replayAfterFixingAMissingZeevTeam(t *testing.T, structured bool) {
	e := startEnv(t, envOptions{})
	ev := inputEvent(handlers.PersonHired, "hired-missing-team", "E-0131", hiredDanielaInJUR)
	if structured {
		m, err := events.Encode(ev.Type(), ev, "")
		if err != nil {
			t.Fatal(err)
		}
		e.publish(m)
	} else {
		e.publishBinary(ev)
	}
	dlOut := e.waitOutput("PONTE_DLQ", ev.ID(), 10*time.Second)
	var dl events.DeadLetter
	if err := dlOut.ev.DataAs(&dl); err != nil {
		t.Fatal(err)
	}
	if dl.Reason != events.ReasonPermanent || dl.Target != "zeev" || dl.Operation != "upsert_user" || dl.Status != 400 ||
		!strings.Contains(dl.Excerpt, "TeamNotFound") {
		t.Errorf("dead letter reason %q target %q operation %q status %d excerpt %q: want %s, zeev, upsert_user, 400, TeamNotFound",
			dl.Reason, dl.Target, dl.Operation, dl.Status, dl.Excerpt, events.ReasonPermanent)
	}
	e.waitSettled()
	if u, ok := e.zeevSim.User("daniela.vieira"); ok {
		t.Errorf("zeev user created by the refused upsert: %+v", u)
	}
	assertCalls(t, "zeev", e.zeevSim.Faults().Requests(), []call{post("/api/2/users", 400, upsertDanielaInJUR)})
	assertCalls(t, "senior", e.seniorSim.Faults().Requests(), nil)
	if links := e.seniorSim.PersonLinks(131); len(links) != 0 {
		t.Errorf("senior links of person 131: %+v, want none", links)
	}

	// The cause fixed: the team is created in Zeev.
	if err := e.zeevSim.AddTeam(zeevsim.Team{ID: 2004, Code: "JUR", Name: "Jurídico", Level: 2, Sign: "JUR", Parent: "DIR",
		Positions: []string{"ANALISTA"}}); err != nil {
		t.Fatal(err)
	}
	e.clearLogs()
	if ack := e.replay(dlOut); ack.Duplicate {
		t.Fatal("the replay was refused as a duplicate")
	}
	res, resOut := e.waitReplayResult(ev.ID(), dlOut.ev.ID())
	if res.EventID != ev.ID() || res.ReplayOf != dlOut.ev.ID() {
		t.Errorf("result of event %q replaying %q, want %q replaying %q", res.EventID, res.ReplayOf, ev.ID(), dlOut.ev.ID())
	}
	assertSteps(t, res.Steps, []events.StepOutcome{
		step("zeev", "upsert_user", "done", "Created", "zeevUserId", 4324),
		step("senior", "find_person", "done", "", "personId", 131),
		step("senior", "add_role", "done", "", "roleId", 3, "personRoleId", 40),
		step("senior", "add_role", "done", "", "roleId", 4, "personRoleId", 41),
	})
	key := strings.TrimPrefix(events.LedgerKey(ev.Source(), ev.ID()), "ev.")
	if got := resOut.msg.Headers().Get(nats.MsgIdHdr); got != "ponte-result-"+key {
		t.Errorf("result Nats-Msg-Id = %q, want the event's result, ponte-result-%s", got, key)
	}
	e.waitSettled()
	u, ok := e.zeevSim.User("daniela.vieira")
	if !ok || u.ID != 4324 || !u.IsActive || !reflect.DeepEqual(u.Positions, []zeevsim.Assignment{{Team: "JUR", Position: "ANALISTA"}}) ||
		!reflect.DeepEqual(u.Groups, []string{"colaboradores"}) {
		t.Errorf("zeev user after the replay = %+v (exists %v), want 4324, active, JUR/ANALISTA, colaboradores", u, ok)
	}
	assertCalls(t, "zeev", e.zeevSim.Faults().Requests(), []call{post("/api/2/users", 200, upsertDanielaInJUR)})
	assertCalls(t, "senior", e.seniorSim.Faults().Requests(), []call{
		login(seniorLogin),
		get("/api/v1/person/search?term=04831572608", 200),
		get("/api/v1/person/131/roles", 200),
		linkDaniela(3, 200),
		linkDaniela(4, 200),
	})
	assertDanielaLinks(t, e, 3, 4)
	if n := len(forEvent(e.outputs("PONTE_DLQ"), ev.ID())); n != 1 {
		t.Errorf("dead letters for the event: %d, want the first one only", n)
	}
	if n := len(forEvent(e.outputs("PONTE_RESULTS"), ev.ID())); n != 1 {
		t.Errorf("results for the event: %d, want 1", n)
	}
}

// roleRefused is the Senior fault of the replay tests: the second POST /person/role (role 4) is answered 400, a
// refusal no retry can cure.
func roleRefused() *nthFault {
	return &nthFault{method: "POST", path: "/api/v1/person/role", nth: 2, status: 400}
}

// replayedHire hires Daniela with Senior refusing her role 4 link (roleRefused): Zeev's upsert and the role 3 link
// are done when the event is dead-lettered. The refusal is a one-off, so the cause is gone; the dead letter is
// replayed and the event, the replay's result and the dead letter returned.
func replayedHire(t *testing.T, e *env, id string) (*event.Event, events.Result, output) {
	t.Helper()
	ev := inputEvent(handlers.PersonHired, id, "E-0131", hiredDaniela)
	e.publishBinary(ev)
	dlOut := e.waitOutput("PONTE_DLQ", ev.ID(), 10*time.Second)
	var dl events.DeadLetter
	if err := dlOut.ev.DataAs(&dl); err != nil {
		t.Fatal(err)
	}
	if dl.Reason != events.ReasonPermanent || dl.Target != "senior" || dl.Status != 400 {
		t.Fatalf("dead letter reason %q target %q status %d: want %s, senior, 400 (%s)", dl.Reason, dl.Target, dl.Status, events.ReasonPermanent, dl.Message)
	}
	e.waitSettled()
	if u, ok := e.zeevSim.User("daniela.vieira"); !ok || u.ID != 4324 {
		t.Fatalf("zeev user before the replay: %+v (exists %v), want 4324: the first step was done", u, ok)
	}
	assertDanielaLinks(t, e, 3)
	if ack := e.replay(dlOut); ack.Duplicate {
		t.Fatal("the replay was refused as a duplicate")
	}
	res, _ := e.waitReplayResult(ev.ID(), dlOut.ev.ID())
	e.waitSettled()
	return ev, res, dlOut
}

// TestReplayOfAlreadyAppliedEffectsMakesNoSecondWrite dead-letters a hire whose Zeev upsert and first Senior link
// were done when Senior refused the second link. The replay runs only what was not done: the Zeev upsert and the
// role 3 link are replayed from the ledger (the Zeev request log holds one upsert across both runs), the role 4
// link is posted once.
func TestReplayOfAlreadyAppliedEffectsMakesNoSecondWrite(t *testing.T) {
	e := startEnv(t, envOptions{seniorFault: roleRefused()})
	ev, res, dlOut := replayedHire(t, e, "hired-role-refused")
	if res.ReplayOf != dlOut.ev.ID() {
		t.Errorf("result replayOf = %q, want %q", res.ReplayOf, dlOut.ev.ID())
	}
	assertSteps(t, res.Steps, []events.StepOutcome{
		step("zeev", "upsert_user", "replayed", "Created", "zeevUserId", 4324),
		step("senior", "find_person", "replayed", "", "personId", 131),
		step("senior", "add_role", "replayed", "", "roleId", 3, "personRoleId", 40),
		step("senior", "add_role", "done", "", "roleId", 4, "personRoleId", 41),
	})
	// Both runs: one Zeev upsert; one POST per link that exists, and the refused one.
	assertCalls(t, "zeev", e.zeevSim.Faults().Requests(), []call{post("/api/2/users", 200, upsertDaniela)})
	assertCalls(t, "senior", e.seniorSim.Faults().Requests(), []call{
		login(seniorLogin),
		get("/api/v1/person/search?term=04831572608", 200),
		get("/api/v1/person/131/roles", 200),
		linkDaniela(3, 200),
		linkDaniela(4, 400),
		// The replay: the links are read again before role 4 is posted.
		get("/api/v1/person/131/roles", 200),
		linkDaniela(4, 200),
	})
	assertDanielaLinks(t, e, 3, 4)
	if n := len(forEvent(e.outputs("PONTE_DLQ"), ev.ID())); n != 1 {
		t.Errorf("dead letters for the event: %d, want the first one only", n)
	}
}

// TestSecondReplayAfterSuccessMakesNoWrite replays a dead letter a second time after its replay completed. Within
// the input stream's duplicate window the second replay has the first one's Nats-Msg-Id, so JetStream refuses
// it: nothing is stored, run or published. Later (a Nats-Msg-Id JetStream no longer knows) the message is stored
// and the ledger answers it without a call, with a result of its own, as any other message carrying a completed
// event gets; its steps all say replayed. It is answered so while the completed replay's claim still lives
// (the claim is not given up at completion) and after it lapsed, as it has once the window is over.
func TestSecondReplayAfterSuccessMakesNoWrite(t *testing.T) {
	tests := []struct {
		name        string
		newMsgID    bool // the second replay has a Nats-Msg-Id JetStream does not know
		claimLapsed bool // the second replay comes after the first replay's claim lapsed
		wantResults int  // the event's results after the second replay
		wantInput   uint64
	}{
		{name: "within the duplicate window", wantResults: 1, wantInput: 2},
		{name: "a new Nats-Msg-Id while the claim lives", newMsgID: true, wantResults: 2, wantInput: 3},
		{name: "after the duplicate window and the claim", newMsgID: true, claimLapsed: true, wantResults: 2, wantInput: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The shortest AckWait (the claim's TTL), so that the claim lapses soon.
			e := startEnv(t, envOptions{seniorFault: roleRefused(), cfg: events.Config{AckWait: time.Second}})
			ev, first, dlOut := replayedHire(t, e, "hired-replayed-twice")
			if tt.claimLapsed {
				e.waitClaimLapsed(ev.Source(), ev.ID())
			}
			zeevLog, seniorLog := e.zeevSim.Faults().Requests(), e.seniorSim.Faults().Requests()
			duplicates := e.metric("ponte_events_processed_total", "type", handlers.PersonHired, "outcome", events.OutcomeDuplicate)

			m := replayMessage(t, dlOut)
			if tt.newMsgID {
				m.Header.Set(nats.MsgIdHdr, "replay-"+dlOut.ev.ID()+"-later")
			}
			if ack := e.publish(m); ack.Duplicate == tt.newMsgID {
				t.Fatalf("second replay: duplicate %v, want %v", ack.Duplicate, !tt.newMsgID)
			}
			e.waitSettled()
			want := duplicates
			if tt.newMsgID {
				want++
			}
			if got := e.metric("ponte_events_processed_total", "type", handlers.PersonHired, "outcome", events.OutcomeDuplicate); got != want {
				t.Errorf("events settled as duplicates: %v, want %v", got, want)
			}

			if got := e.zeevSim.Faults().Requests(); !reflect.DeepEqual(got, zeevLog) {
				t.Errorf("zeev got %d more request(s) for the second replay: %v", len(got)-len(zeevLog), got[len(zeevLog):])
			}
			if got := e.seniorSim.Faults().Requests(); !reflect.DeepEqual(got, seniorLog) {
				t.Errorf("senior got %d more request(s) for the second replay: %v", len(got)-len(seniorLog), got[len(seniorLog):])
			}
			assertDanielaLinks(t, e, 3, 4)
			if n := e.inputCount(); n != tt.wantInput {
				t.Errorf("input stream holds %d messages, want %d", n, tt.wantInput)
			}
			if n := len(forEvent(e.outputs("PONTE_DLQ"), ev.ID())); n != 1 {
				t.Errorf("dead letters for the event: %d, want the first one only", n)
			}
			results := forEvent(e.outputs("PONTE_RESULTS"), ev.ID())
			if len(results) != tt.wantResults {
				t.Fatalf("results for the event: %d, want %d", len(results), tt.wantResults)
			}
			if !tt.newMsgID {
				return
			}
			key := strings.TrimPrefix(events.LedgerKey(ev.Source(), ev.ID()), "ev.")
			if got, want := results[1].msg.Headers().Get(nats.MsgIdHdr), "ponte-result-"+key+"-3"; got != want {
				t.Errorf("second result Nats-Msg-Id = %q, want %q (the result of input message 3)", got, want)
			}
			var again events.Result
			if err := results[1].ev.DataAs(&again); err != nil {
				t.Fatal(err)
			}
			replayed := slices.Clone(first.Steps)
			for i := range replayed {
				replayed[i].Status = events.StatusReplayed
			}
			assertSteps(t, again.Steps, replayed)
			if again.ReplayOf != dlOut.ev.ID() || !again.CompletedAt.Equal(first.CompletedAt) {
				t.Errorf("second result replayOf %q completed %s, want %q and the first replay's completion %s",
					again.ReplayOf, again.CompletedAt, dlOut.ev.ID(), first.CompletedAt)
			}
		})
	}
}

// waitClaimLapsed waits until the ledger holds no claim on the event (source, id): its TTL (AckWait) ran out. The
// claim's key is "claim." and the hash of the event's ledger key (events.claimKey).
func (e *env) waitClaimLapsed(source, id string) {
	e.t.Helper()
	kv, err := e.js.KeyValue(context.Background(), events.Topology{}.WithDefaults().LedgerBucket)
	if err != nil {
		e.t.Fatal(err)
	}
	key := "claim." + strings.TrimPrefix(events.LedgerKey(source, id), "ev.")
	if _, err := kv.Get(context.Background(), key); err != nil {
		e.t.Fatalf("no claim %s on the completed event to wait for (%v): the test no longer shows a lapsed claim", key, err)
	}
	waitFor(e.t, 10*time.Second, "the claim on "+id+" to lapse", func() bool {
		_, err := kv.Get(context.Background(), key)
		return errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted)
	})
}
