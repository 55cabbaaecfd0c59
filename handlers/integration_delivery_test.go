package handlers_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ponte-dev/ponte/clients/fault"
	"github.com/ponte-dev/ponte/events"
	"github.com/ponte-dev/ponte/handlers"
)

// TestRedeliveryMakesNoSecondWrite fails the last step of a person.hired once, so that JetStream redelivers the
// event: the steps done on the first delivery are replayed from the ledger without a call, and the failed one
// runs again without duplicating anything.
func TestRedeliveryMakesNoSecondWrite(t *testing.T) {
	tests := []struct {
		name   string
		fault  nthFault
		senior []call
		last   events.StepOutcome
	}{
		{
			// The second POST /person/role (role 4) gets a 503: nothing was written, it is posted again.
			name:  "retryable status",
			fault: nthFault{method: "POST", path: "/api/v1/person/role", nth: 2, status: 503},
			senior: []call{
				login(seniorLogin),
				get("/api/v1/person/search?term=04831572608", 200),
				get("/api/v1/person/131/roles", 200),
				linkDaniela(3, 200),
				linkDaniela(4, 503),
				// Redelivery: zeev.upsert_user, senior.find_person and senior.add_role.3 are replayed from the
				// ledger; the links are read again before role 4 is posted.
				get("/api/v1/person/131/roles", 200),
				linkDaniela(4, 200),
			},
			last: step("senior", "add_role", "done", "", "roleId", 4, "personRoleId", 41),
		},
		{
			// Senior creates the role 4 link but the answer is lost: the step failed for ponte, not for Senior.
			// The redelivery reads the links before writing, finds link 41 and posts nothing.
			name:  "response lost after the write",
			fault: nthFault{method: "POST", path: "/api/v1/person/role", nth: 2, loseResponse: true},
			senior: []call{
				login(seniorLogin),
				get("/api/v1/person/search?term=04831572608", 200),
				get("/api/v1/person/131/roles", 200),
				linkDaniela(3, 200),
				linkDaniela(4, 200),
				get("/api/v1/person/131/roles", 200),
			},
			last: step("senior", "add_role", "skipped", "already holds the role", "roleId", 4, "personRoleId", 41),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := startEnv(t, envOptions{seniorFault: &tt.fault})
			ev := inputEvent(handlers.PersonHired, "hired-redelivered", "E-0131", hiredDaniela)
			e.publishBinary(ev)
			res := e.waitResult(ev.ID())

			assertSteps(t, res.Steps, []events.StepOutcome{
				step("zeev", "upsert_user", "replayed", "Created", "zeevUserId", 4324),
				step("senior", "find_person", "replayed", "", "personId", 131),
				step("senior", "add_role", "replayed", "", "roleId", 3, "personRoleId", 40),
				tt.last,
			})
			assertCalls(t, "zeev", e.zeevSim.Faults().Requests(), []call{post("/api/2/users", 200, upsertDaniela)})
			assertCalls(t, "senior", e.seniorSim.Faults().Requests(), tt.senior)
			assertCalls(t, "cidades", e.cidSim.Faults().Requests(), nil)
			assertLinks(t, e.seniorSim.PersonLinks(131),
				[4]any{40, 3, "2026-12-01T08:00:00-03:00", ""},
				[4]any{41, 4, "2026-12-01T08:00:00-03:00", ""})
			if n := e.metric("ponte_events_processed_total", "type", handlers.PersonHired, "outcome", events.OutcomeRetry); n != 1 {
				t.Errorf("retries = %v, want 1", n)
			}
		})
	}
}

// TestDuplicatePublishMakesNoSecondWrite publishes the same CloudEvent twice and checks that the second copy
// makes no call at all: a second message gets a result of its own that says "replayed", a copy JetStream
// deduplicates (same Nats-Msg-Id) gets nothing more.
func TestDuplicatePublishMakesNoSecondWrite(t *testing.T) {
	t.Run("binary then structured", func(t *testing.T) {
		t.Parallel()
		e := startEnv(t, envOptions{})
		ev := inputEvent(handlers.PersonHired, "hired-twice", "E-0131", hiredDaniela)
		e.publishBinary(ev)
		first := e.waitResult(ev.ID())
		zeevLog, seniorLog := e.zeevSim.Faults().Requests(), e.seniorSim.Faults().Requests()
		if w := writes(zeevLog); len(w) != 1 {
			t.Fatalf("zeev writes after the first copy: %v", w)
		}
		if w := writes(seniorLog); len(w) != 2 {
			t.Fatalf("senior writes after the first copy: %v", w)
		}

		// The same event again, in structured mode and without Nats-Msg-Id: JetStream stores it, the ledger
		// answers it.
		m, err := events.Encode(ev.Type(), ev, "")
		if err != nil {
			t.Fatal(err)
		}
		if ack := e.publish(m); ack.Duplicate {
			t.Fatal("JetStream deduplicated a message without Nats-Msg-Id")
		}
		waitFor(t, 10*time.Second, "the duplicate to be settled", func() bool {
			return e.metric("ponte_events_processed_total", "type", handlers.PersonHired, "outcome", events.OutcomeDuplicate) == 1
		})
		if got := e.zeevSim.Faults().Requests(); !reflect.DeepEqual(got, zeevLog) {
			t.Errorf("zeev got %d more request(s) for the duplicate: %v", len(got)-len(zeevLog), got[len(zeevLog):])
		}
		if got := e.seniorSim.Faults().Requests(); !reflect.DeepEqual(got, seniorLog) {
			t.Errorf("senior got %d more request(s) for the duplicate: %v", len(got)-len(seniorLog), got[len(seniorLog):])
		}
		assertCalls(t, "cidades", e.cidSim.Faults().Requests(), nil)
		assertLinks(t, e.seniorSim.PersonLinks(131),
			[4]any{40, 3, "2026-12-01T08:00:00-03:00", ""},
			[4]any{41, 4, "2026-12-01T08:00:00-03:00", ""})

		// The copy is a message of its own: it gets its own result, which says that every step was replayed.
		results := forEvent(e.outputs("PONTE_RESULTS"), ev.ID())
		if len(results) != 2 {
			t.Fatalf("results for the event: %d, want one per message", len(results))
		}
		key := strings.TrimPrefix(events.LedgerKey(ev.Source(), ev.ID()), "ev.")
		for i, want := range []string{"ponte-result-" + key, fmt.Sprintf("ponte-result-%s-%d", key, 2)} {
			if got := results[i].msg.Headers().Get(nats.MsgIdHdr); got != want {
				t.Errorf("result %d Nats-Msg-Id = %q, want %q", i, got, want)
			}
		}
		var again events.Result
		if err := results[1].ev.DataAs(&again); err != nil {
			t.Fatal(err)
		}
		replayed := slices.Clone(first.Steps)
		for i := range replayed {
			replayed[i].Status = events.StatusReplayed
		}
		if again.EventID != first.EventID || !again.CompletedAt.Equal(first.CompletedAt) {
			t.Errorf("replayed result = %+v, want the first one's event and completion time %+v", again, first)
		}
		assertSteps(t, again.Steps, replayed)
		if n := e.inputCount(); n != 2 {
			t.Errorf("input stream holds %d messages, want both copies", n)
		}
	})

	t.Run("same Nats-Msg-Id", func(t *testing.T) {
		t.Parallel()
		e := startEnv(t, envOptions{})
		ev := contractEvent(handlers.ContractSigned, "signed-twice", "001001", "12/2026", 2026, signed12)
		if ack := e.publish(events.EncodeBinary(ev.Type(), ev, ev.ID())); ack.Duplicate {
			t.Fatal("first publish reported as duplicate")
		}
		m, err := events.Encode(ev.Type(), ev, ev.ID())
		if err != nil {
			t.Fatal(err)
		}
		if ack := e.publish(m); !ack.Duplicate {
			t.Error("JetStream did not deduplicate the second publish with the same Nats-Msg-Id")
		}
		res := e.waitResult(ev.ID())
		assertSteps(t, res.Steps, []events.StepOutcome{step("cidades", "create_contratacao", "done", "", "contratacaoId", 6)})
		e.waitSettled()
		assertCalls(t, "cidades", e.cidSim.Faults().Requests(), []call{login(cidadesToken), post("/v1/contratacoes", 201, create12)})
		assertCalls(t, "zeev", e.zeevSim.Faults().Requests(), nil)
		assertCalls(t, "senior", e.seniorSim.Faults().Requests(), nil)
		if cs := e.cidSim.Contratacoes("001001"); len(cs) != 3 {
			t.Errorf("contratações of 001001 = %d, want the fixtures' 2 and the new one", len(cs))
		}
		if n := len(forEvent(e.outputs("PONTE_RESULTS"), ev.ID())); n != 1 {
			t.Errorf("results for the event: %d, want 1", n)
		}
		if n := e.inputCount(); n != 1 {
			t.Errorf("input stream holds %d messages, want 1", n)
		}
	})
}

// inputCount returns the number of messages in the input stream.
func (e *env) inputCount() uint64 {
	e.t.Helper()
	s, err := e.js.Stream(context.Background(), "PONTE_EVENTS")
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return info.State.Msgs
}

// waitSettled waits until the worker's consumer has nothing pending or unacknowledged.
func (e *env) waitSettled() {
	e.t.Helper()
	name := events.Topology{}.WithDefaults().EventsConsumer()
	waitFor(e.t, 10*time.Second, "consumer "+name+" settled", func() bool {
		c, err := e.js.Consumer(context.Background(), "PONTE_EVENTS", name)
		if err != nil {
			return false
		}
		info, err := c.Info(context.Background())
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	})
}

// TestConcurrentDuplicatesMakeNoSecondWrite publishes two copies of the same CloudEvent back to back, as an
// upstream retrying a publish does, so that both are in flight together.
func TestConcurrentDuplicatesMakeNoSecondWrite(t *testing.T) {
	e := startEnv(t, envOptions{})
	// Slow Zeev down so that the second copy starts before the first one has recorded any step.
	e.zeevSim.Faults().Set(fault.Faults{Latency: fault.Duration(100 * time.Millisecond)})
	ev := inputEvent(handlers.PersonHired, "hired-concurrently", "E-0131", hiredDaniela)
	structured, err := events.Encode(ev.Type(), ev, "")
	if err != nil {
		t.Fatal(err)
	}
	e.publishBinary(ev)
	e.publish(structured)
	e.waitResult(ev.ID())
	e.waitSettled()
	if w := writes(e.zeevSim.Faults().Requests()); len(w) != 1 {
		t.Errorf("zeev writes: %v, want one upsert", w)
	}
	if w := writes(e.seniorSim.Faults().Requests()); len(w) != 2 {
		t.Errorf("senior writes: %v, want one POST per role", w)
	}
	if links := e.seniorSim.PersonLinks(131); len(links) != 2 {
		t.Errorf("senior links of person 131: %+v, want one per role", links)
	}
}

// TestSameIDWithOtherDataIsAConflict publishes an event, then another event under the same source and id: the
// second is not answered with the first one's result but dead-lettered as id_conflict, naming the first event's
// time, and calls nothing. The same event re-serialised (keys in another order, other spacing, 150000 written
// 150000.0) is the same event.
func TestSameIDWithOtherDataIsAConflict(t *testing.T) {
	e := startEnv(t, envOptions{})
	first := contractEvent(handlers.ContractSigned, "signed-reused-id", "001001", "12/2026", 2026, signed12)
	e.publishBinary(first)
	e.waitResult(first.ID())
	e.clearLogs()

	// The same contract, re-serialised by its publisher: same event.
	var v map[string]any
	if err := json.Unmarshal(first.Data(), &v); err != nil {
		t.Fatal(err)
	}
	reserialised, _ := json.MarshalIndent(v, "", "    ")
	reserialised = []byte(strings.Replace(string(reserialised), "150000", "150000.0", 1))
	same := contractEvent(handlers.ContractSigned, first.ID(), "001001", "12/2026", 2026, string(reserialised))
	same.SetTime(first.Time().Add(time.Hour)) // a retry publishes at another time: still the same event
	e.publish(events.EncodeBinary(same.Type(), same, ""))
	waitFor(t, 10*time.Second, "the re-publication to be answered", func() bool {
		return len(forEvent(e.outputs("PONTE_RESULTS"), first.ID())) == 2
	})

	// Another contract under the same id.
	other := contractEvent(handlers.ContractSigned, first.ID(), "001001", "13/2026", 2026, strings.Replace(signed12, "12/2026", "13/2026", 1))
	other.SetTime(first.Time().Add(24 * time.Hour))
	e.publishBinary(other)
	dl := e.waitDeadLetter(first.ID())
	if dl.Reason != events.ReasonIDConflict {
		t.Fatalf("reason %q, want %q: %+v", dl.Reason, events.ReasonIDConflict, dl)
	}
	for _, want := range []string{`event id "signed-reused-id"`, first.Time().Format(time.RFC3339Nano), "new id"} {
		if !strings.Contains(dl.Message, want) {
			t.Errorf("message %q does not say %q", dl.Message, want)
		}
	}
	raw, _ := base64.StdEncoding.DecodeString(dl.Original.Data)
	if string(raw) != string(other.Data()) {
		t.Errorf("the dead letter carries %s, want the conflicting event's data", raw)
	}
	e.waitSettled()
	assertCalls(t, "cidades", e.cidSim.Faults().Requests(), nil)
	if n := len(forEvent(e.outputs("PONTE_RESULTS"), first.ID())); n != 2 {
		t.Errorf("results for the id: %d, want the first event's and its re-publication's", n)
	}
	for _, c := range e.cidSim.Contratacoes("001001") {
		if c.NumeroContrato == "13/2026" {
			t.Errorf("the conflicting contract was registered: %+v", c)
		}
	}
}
