package events

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.opentelemetry.io/otel/trace"
)

// Handler turns one decoded, validated event into calls on the downstream clients. It returns nil when every
// step succeeded, an error with Permanent() true when retrying cannot help (the event is dead-lettered), or any
// other error to be retried later. Handlers wrap each side effect in Step so that a redelivered event runs only
// the steps not done yet.
type Handler interface {
	Handle(ctx context.Context, ev event.Event) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, ev event.Event) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, ev event.Event) error { return f(ctx, ev) }

// Step statuses in results and the ledger.
const (
	StatusDone     = "done"     // the step made its change now
	StatusSkipped  = "skipped"  // nothing to change: the target already was as wanted
	StatusReplayed = "replayed" // the ledger shows the step succeeded on an earlier delivery; not called again
	StatusStale    = "stale"    // not applied: a newer event of the same entity (by CloudEvent time) was applied already
)

// StepSpec names one step of a handler: the Target and Operation reported in the result and, when the handler
// runs the same operation several times, the Item it applies to (a role id, a link id). Its Key identifies it in
// the ledger, so it must be stable across deliveries.
type StepSpec struct {
	Target    string
	Operation string
	Item      string
}

// Key is "target.operation" or "target.operation.item": "senior.add_role.2".
func (s StepSpec) Key() string {
	k := s.Target + "." + s.Operation
	if s.Item != "" {
		k += "." + s.Item
	}
	return k
}

// StepOutcome is what a step did: Status (StatusDone or StatusSkipped; StatusReplayed is set by Step), the ids it
// produced or found (e.g. "zeevUserId", "personRoleId", "contratacaoId") and an optional short detail.
type StepOutcome struct {
	Target    string           `json:"target"`
	Operation string           `json:"operation"`
	Status    string           `json:"status"`
	IDs       map[string]int64 `json:"ids,omitempty"`
	Detail    string           `json:"detail,omitempty"`
	At        time.Time        `json:"at,omitzero"`
}

// Done returns a StepOutcome with StatusDone and the given ids as name/value pairs; values must be int, int32 or
// int64 (anything else panics).
func Done(ids ...any) StepOutcome { return outcome(StatusDone, ids) }

// Skipped returns a StepOutcome with StatusSkipped, the detail saying why, and ids as name/value pairs.
func Skipped(detail string, ids ...any) StepOutcome {
	o := outcome(StatusSkipped, ids)
	o.Detail = detail
	return o
}

func outcome(status string, ids []any) StepOutcome {
	if len(ids)%2 != 0 {
		panic(fmt.Sprintf("events: ids come in name/value pairs, got %d values", len(ids)))
	}
	o := StepOutcome{Status: status}
	for i := 0; i+1 < len(ids); i += 2 {
		if o.IDs == nil {
			o.IDs = map[string]int64{}
		}
		name := fmt.Sprint(ids[i])
		switch v := ids[i+1].(type) {
		case int:
			o.IDs[name] = int64(v)
		case int32:
			o.IDs[name] = int64(v)
		case int64:
			o.IDs[name] = v
		default:
			panic(fmt.Sprintf("events: id %q is a %T; ids are integers", name, v)) // a programming error
		}
	}
	return o
}

// journal is the per-delivery view of the ledger that Step reads and writes.
type journal struct {
	ledger *Ledger
	hold   *holding
	now    func() time.Time
	tracer trace.Tracer // nil: steps have no span

	mu    sync.Mutex
	order []string
	steps map[string]StepOutcome
	// pending are the steps done by this delivery and not written yet: written before the next step runs, or with
	// the settlement's own write (completion, attempt, dead letter), so that the last step costs no write of its own.
	pending map[string]StepOutcome
}

type journalKey struct{}

func withJournal(ctx context.Context, j *journal) context.Context {
	return context.WithValue(ctx, journalKey{}, j)
}

// ErrNoJournal is Step's error when its context comes from no Worker: a handler called directly, or with a
// context it made from scratch. Such a step would run unrecorded, so it does not run.
var ErrNoJournal = errors.New("events: Step called outside a Worker's handler (its context carries no ledger journal)")

// Step runs fn as the step spec of the event being handled, unless the ledger shows it already succeeded on an
// earlier delivery: then fn is not called and the recorded outcome is returned with StatusReplayed. A step that
// succeeds is recorded in the ledger before the next step runs, or with the settlement of the event (its completion,
// its failed attempt, its dead letter); if a write fails, Step returns the (retryable) error, and a step whose record
// was lost is left to its own idempotency on the next delivery. An error of fn comes back wrapped in a *StepError
// naming the step's target and operation. ctx must be the one the Worker gave the handler (or derived from it);
// otherwise Step returns ErrNoJournal without calling fn. When the Worker records spans, the step is a span, child
// of the delivery's, and fn's ctx carries it (the clients' request spans are its children).
func Step(ctx context.Context, spec StepSpec, fn func(ctx context.Context) (StepOutcome, error)) (StepOutcome, error) {
	j, _ := ctx.Value(journalKey{}).(*journal)
	if j == nil {
		return StepOutcome{}, fmt.Errorf("step %s: %w", spec.Key(), ErrNoJournal)
	}
	if j.tracer == nil {
		return j.step(ctx, spec, fn)
	}
	ctx, span := j.stepSpan(ctx, spec)
	o, err := j.step(ctx, spec, fn)
	endStepSpan(span, o, err)
	return o, err
}

// step is Step with the journal found.
func (j *journal) step(ctx context.Context, spec StepSpec, fn func(ctx context.Context) (StepOutcome, error)) (StepOutcome, error) {
	if prev, done := j.hold.record().Steps[spec.Key()]; done {
		prev.Status = StatusReplayed
		j.add(spec.Key(), prev)
		return prev, nil
	}
	if err := j.flush(ctx); err != nil {
		return StepOutcome{}, err
	}
	o, err := fn(ctx)
	if err != nil {
		return o, &StepError{Target: spec.Target, Operation: spec.Operation, Err: err}
	}
	o.Target, o.Operation = spec.Target, spec.Operation
	if o.Status == "" {
		o.Status = StatusDone
	}
	o.At = j.now().UTC()
	j.mu.Lock()
	j.pending[spec.Key()] = o
	j.mu.Unlock()
	j.add(spec.Key(), o)
	return o, nil
}

// flush writes the pending steps to the ledger.
func (j *journal) flush(ctx context.Context) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.pending) == 0 {
		return nil
	}
	pending := j.pending
	if err := j.ledger.update(ctx, j.hold, func(r *Record) { maps.Copy(r.Steps, pending) }); err != nil {
		return &ledgerError{fmt.Errorf("record steps %v: %w", slices.Sorted(maps.Keys(pending)), err)}
	}
	j.pending = map[string]StepOutcome{}
	return nil
}

// unwritten returns the steps done and not written yet, for the settlement to write.
func (j *journal) unwritten() map[string]StepOutcome {
	j.mu.Lock()
	defer j.mu.Unlock()
	return maps.Clone(j.pending)
}

func (j *journal) add(key string, o StepOutcome) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, seen := j.steps[key]; !seen {
		j.order = append(j.order, key)
	}
	j.steps[key] = o
}

// outcomes returns the steps of this delivery in the order they ran.
func (j *journal) outcomes() []StepOutcome {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]StepOutcome, 0, len(j.order))
	for _, k := range j.order {
		out = append(out, j.steps[k])
	}
	return out
}
