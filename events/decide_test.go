package events

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/ponte-dev/ponte/clients"
)

// TestDecide is the table of settlement decisions: every action and every class of outcome, decided without
// NATS or HTTP.
func TestDecide(t *testing.T) {
	p := policy{maxAttempts: 3, backoffBase: time.Second, backoffMax: 10 * time.Second}
	retryable := &StepError{Target: "senior", Operation: "add_role", Err: &clients.StatusError{Target: "senior", Status: 503}}
	throttled := &StepError{Target: "cidades", Operation: "create", Err: &clients.StatusError{Target: "cidades", Status: 429, Retry: 7 * time.Second}}
	permanent := &StepError{Target: "zeev", Operation: "upsert_user", Err: &clients.StatusError{Target: "zeev", Status: 400}}
	refused := &StepError{Target: "zeev", Operation: "upsert_user", Err: &clients.OpenError{Target: "zeev", Wait: 3 * time.Second, Err: gobreaker.ErrOpenState}}
	outage := &StepError{Target: "zeev", Operation: "upsert_user", Err: &clients.OutageError{Key: clients.BreakerKey{Target: "zeev"}, Wait: 2 * time.Second,
		Err: &clients.StatusError{Target: "zeev", Status: 503}}}
	noAnswer := &StepError{Target: "zeev", Operation: "upsert_user", Err: &clients.OutageError{Key: clients.BreakerKey{Target: "zeev"},
		Err: &clients.TransportError{Target: "zeev", Err: errors.New("connection refused")}}}
	config := &ConfigError{Key: "cidades.ugs.001009", Target: "cidades", Err: errors.New("no key for UG 001009")}
	ran := func(err error, attempts int) facts {
		return facts{found: fresh, ran: true, err: err, rec: Record{Attempts: attempts}, delivered: uint64(attempts + 1)}
	}
	tests := []struct {
		name string
		f    facts
		want action
	}{
		{"admission refused", facts{rejected: &rejection{reason: ReasonSchemaViolation, message: "m"}},
			action{verb: doDeadLetter, outcome: OutcomeDeadLetter, rej: rejection{reason: ReasonSchemaViolation, message: "m"}}},
		{"behind an earlier event of its entity", facts{heldBack: 1500 * time.Millisecond, delivered: 4},
			action{verb: doDelay, outcome: OutcomeDelayed, delay: 1500 * time.Millisecond}},
		{"a breaker its route needs is open: no claim, no call", facts{paused: 20 * time.Second},
			action{verb: doDelay, outcome: OutcomeDelayed, delay: 20 * time.Second}},
		{"a breaker open, about to half-open", facts{paused: time.Millisecond},
			action{verb: doDelay, outcome: OutcomeDelayed, delay: time.Second}},
		{"a breaker open for the 40th delivery: the backoff", facts{paused: 3 * time.Second, delivered: 40},
			action{verb: doDelay, outcome: OutcomeDelayed, delay: 10 * time.Second}},
		{"a newer event of the entity was applied", facts{found: fresh, stale: true},
			action{verb: doComplete, outcome: OutcomeStale}},
		{"ledger unreadable", facts{ledgerErr: errors.New("timeout"), delivered: 3},
			action{verb: doDelay, outcome: OutcomeError, delay: 4 * time.Second}},
		{"same id, other data", facts{found: conflict},
			action{verb: doDeadLetter, outcome: OutcomeDeadLetter, rej: rejection{reason: ReasonIDConflict}}},
		{"completed, this message again", facts{found: completed, sameMessage: true},
			action{verb: doRepublish, outcome: OutcomeDuplicate}},
		{"completed, another message", facts{found: completed},
			action{verb: doReplay, outcome: OutcomeDuplicate}},
		{"dead-lettered, this message again (Term lost)", facts{found: deadLettered, sameMessage: true},
			action{verb: doDeadLetterAgain, outcome: OutcomeDeadLetter}},
		{"dead-lettered, another message", facts{found: deadLettered},
			action{verb: doDeadLetterAgain, outcome: OutcomeDeadLetter}},
		{"busy, claim lives long: the backoff", facts{found: busy, busyFor: 25 * time.Second, delivered: 2},
			action{verb: doDelay, outcome: OutcomeDelayed, delay: 2 * time.Second}},
		{"busy, claim about to lapse: its remaining life", facts{found: busy, busyFor: 300 * time.Millisecond, delivered: 5},
			action{verb: doDelay, outcome: OutcomeDelayed, delay: 300*time.Millisecond + busyMargin}},
		{"the server stopped delivering it (MaxDeliver)", facts{found: fresh, exceeded: &rejection{reason: ReasonExhausted}},
			action{verb: doDeadLetter, outcome: OutcomeDeadLetter, rej: rejection{reason: ReasonExhausted}}},
		{"MaxDeliver reached while a claim lives: its holder settles it", facts{found: busy, busyFor: time.Second, exceeded: &rejection{reason: ReasonExhausted}},
			action{verb: doDelay, outcome: OutcomeDelayed}},
		{"MaxDeliver reached, completed meanwhile", facts{found: completed, sameMessage: true, exceeded: &rejection{reason: ReasonExhausted}},
			action{verb: doRepublish, outcome: OutcomeDuplicate}},
		{"success", ran(nil, 0), action{verb: doComplete, outcome: OutcomeSuccess}},
		{"success after failures", ran(nil, 2), action{verb: doComplete, outcome: OutcomeSuccess}},
		{"config error", ran(config, 0),
			action{verb: doDeadLetter, outcome: OutcomeDeadLetter, rej: rejection{reason: ReasonConfig}}},
		{"permanent error", ran(permanent, 0),
			action{verb: doDeadLetter, outcome: OutcomeDeadLetter, rej: rejection{reason: ReasonPermanent}}},
		{"permanent error while stopping", facts{found: fresh, ran: true, err: permanent, stopping: true, delivered: 1},
			action{verb: doDeadLetter, outcome: OutcomeDeadLetter, rej: rejection{reason: ReasonPermanent}}},
		{"retryable, the target answers others: spends", ran(retryable, 0),
			action{verb: doDelay, outcome: OutcomeRetry, spend: true, delay: time.Second}},
		{"retryable, second attempt: backoff doubles", ran(retryable, 1),
			action{verb: doDelay, outcome: OutcomeRetry, spend: true, delay: 2 * time.Second}},
		{"retryable with Retry-After", ran(throttled, 0),
			action{verb: doDelay, outcome: OutcomeRetry, spend: true, delay: 7 * time.Second}},
		{"retryable, budget spent", ran(retryable, 2),
			action{verb: doDeadLetter, outcome: OutcomeDeadLetter, spend: true, rej: rejection{reason: ReasonExhausted}}},
		{"breaker open, no request sent: until half-open, spends nothing", ran(refused, 1),
			action{verb: doDelay, outcome: OutcomeDelayed, delay: 3 * time.Second}},
		{"breaker open, no request sent, budget almost spent: still nothing", ran(refused, 2),
			action{verb: doDelay, outcome: OutcomeDelayed, delay: 4 * time.Second}},
		{"failed probe, breaker open again: an outage, until half-open", ran(outage, 0),
			action{verb: doDelay, outcome: OutcomeDelayed, note: true, delay: 2 * time.Second}},
		{"the target answers no one: an outage, the backoff", ran(noAnswer, 2),
			action{verb: doDelay, outcome: OutcomeDelayed, note: true, delay: 4 * time.Second}},
		{"the target throttles: until its gate opens, spends nothing", ran(&StepError{Target: "cidades", Operation: "create",
			Err: &clients.ThrottledError{Target: "cidades", Tenant: "001001", Wait: 3 * time.Second}}, 2),
			action{verb: doDelay, outcome: OutcomeDelayed, delay: 3 * time.Second}},
		{"credentials refused after a fresh token: an outage", ran(&StepError{Target: "zeev", Operation: "upsert_user",
			Err: &clients.AuthError{Target: "zeev", Err: &clients.StatusError{Target: "zeev", Status: 401}}}, 2),
			action{verb: doDelay, outcome: OutcomeDelayed, note: true, delay: 4 * time.Second}},
		{"stopping", facts{found: fresh, ran: true, err: fmt.Errorf("zeev: %w", context.Canceled), stopping: true, delivered: 1},
			action{verb: doDelay, outcome: OutcomeDelayed, delay: time.Second}},
		{"claim lost while running", ran(fmt.Errorf("%w: %v", ErrClaimLost, context.Canceled), 0),
			action{verb: doDelay, outcome: OutcomeDelayed, delay: time.Second}},
		{"a newer holder wrote the record", ran(&ledgerError{fmt.Errorf("record step: %w", errFenced)}, 0),
			action{verb: doDelay, outcome: OutcomeDelayed, delay: time.Second}},
		{"settled by another delivery meanwhile", ran(&ledgerError{errSettled}, 0),
			action{verb: doDelay, outcome: OutcomeDelayed, delay: time.Second}},
		{"the ledger failed while recording a step", ran(&ledgerError{errors.New("nats: timeout")}, 2),
			action{verb: doDelay, outcome: OutcomeError, delay: 4 * time.Second}},
	}
	seen := map[verb]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decide(p, tt.f)
			seen[got.verb] = true
			if got.verb != tt.want.verb || got.outcome != tt.want.outcome || got.delay != tt.want.delay ||
				got.spend != tt.want.spend || got.note != tt.want.note || got.rej.reason != tt.want.rej.reason {
				t.Errorf("decide = %s/%s delay %s spend %v note %v reason %q;\n          want %s/%s delay %s spend %v note %v reason %q",
					got.verb, got.outcome, got.delay, got.spend, got.note, got.rej.reason,
					tt.want.verb, tt.want.outcome, tt.want.delay, tt.want.spend, tt.want.note, tt.want.rej.reason)
			}
			if tt.want.rej.message != "" && got.rej.message != tt.want.rej.message {
				t.Errorf("message = %q, want %q", got.rej.message, tt.want.rej.message)
			}
		})
	}
	for v := doDelay; v <= doDeadLetterAgain; v++ {
		if !seen[v] {
			t.Errorf("no case decides %s", v)
		}
	}
}

func TestBackoff(t *testing.T) {
	p := policy{backoffBase: time.Second, backoffMax: 5 * time.Second}
	for n, want := range map[int]time.Duration{0: time.Second, 1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 4: 5 * time.Second, 40: 5 * time.Second} {
		if got := p.backoff(n); got != want {
			t.Errorf("backoff(%d) = %s, want %s", n, got, want)
		}
	}
}

// TestJitterNeverEarlier: a delay until a breaker half-opens or a throttling gate opens must never end before it.
func TestJitterNeverEarlier(t *testing.T) {
	d := 3 * time.Second
	for range 1000 {
		if j := jitter(d); j < d || j >= d+d/4 {
			t.Fatalf("jitter(%s) = %s, want in [%s, %s)", d, j, d, d+d/4)
		}
	}
}

// BenchmarkDecide measures the settlement decision for the common cases: a handler that succeeded, and one whose
// request failed while the target answers others (a retry with backoff).
func BenchmarkDecide(b *testing.B) {
	p := policy{maxAttempts: 10, backoffBase: time.Second, backoffMax: 5 * time.Minute}
	retryable := &StepError{Target: "senior", Operation: "add_role", Err: &clients.StatusError{Target: "senior", Status: 503}}
	for _, bc := range []struct {
		name string
		f    facts
	}{
		{"succeeded", facts{found: fresh, ran: true, delivered: 1}},
		{"retryable failure", facts{found: fresh, ran: true, err: retryable, rec: Record{Attempts: 2}, delivered: 3}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = decide(p, bc.f)
			}
		})
	}
}
