package events

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Record is what the ledger knows about one input event: the steps that succeeded, the failed attempts, and the
// result once the event completed.
type Record struct {
	EventID      string                 `json:"eventId"`
	Source       string                 `json:"source"`
	Type         string                 `json:"type"`
	Steps        map[string]StepOutcome `json:"steps,omitempty"`
	Attempts     int                    `json:"attempts,omitempty"`
	FirstFailure time.Time              `json:"firstFailureAt,omitzero"`
	LastFailure  time.Time              `json:"lastFailureAt,omitzero"`
	Completed    time.Time              `json:"completedAt,omitzero"`
	// Result is the published result event (structured JSON), republished as is when the event comes again.
	Result json.RawMessage `json:"result,omitempty"`
	// DeadLettered is set once a dead letter for the event was published.
	DeadLettered time.Time `json:"deadLetteredAt,omitzero"`
	// Claim is held by the delivery processing the event now; another delivery of the same event (a duplicate
	// publish, a redelivery after ack wait) finds it and waits instead of running the steps a second time.
	Claim *Claim `json:"claim,omitempty"`
}

// Claim marks an event as being processed by one delivery until Until (after which a crashed holder's claim
// lapses).
type Claim struct {
	Owner string    `json:"owner"`
	Until time.Time `json:"until"`
}

// Ledger records, per input event (CloudEvent source + id), the steps that succeeded and whether the event
// completed, in a JetStream key-value bucket. Writes use optimistic concurrency on the entry's revision, so two
// workers that race on the same event never lose a step. Safe for concurrent use.
type Ledger struct {
	kv jetstream.KeyValue
}

// NewLedger returns a Ledger on kv.
func NewLedger(kv jetstream.KeyValue) *Ledger { return &Ledger{kv: kv} }

// LedgerKey returns the bucket key of the event (source, id): "ev." and a SHA-256 prefix, since CloudEvent ids may
// hold characters a key cannot.
func LedgerKey(source, id string) string {
	sum := sha256.Sum256([]byte(source + "\x00" + id))
	return "ev." + hex.EncodeToString(sum[:20])
}

// entry is a record with the revision it was read at (0: not in the bucket yet).
type entry struct {
	key string
	rev uint64
	rec Record
}

func (l *Ledger) load(ctx context.Context, key string) (*entry, error) {
	e, err := l.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return &entry{key: key}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ledger get %s: %w", key, err)
	}
	ent := &entry{key: key, rev: e.Revision()}
	if err := json.Unmarshal(e.Value(), &ent.rec); err != nil {
		return nil, fmt.Errorf("ledger decode %s: %w", key, err)
	}
	return ent, nil
}

// Get returns the record of the event (source, id); a record with no steps if there is none.
func (l *Ledger) Get(ctx context.Context, source, id string) (Record, error) {
	e, err := l.load(ctx, LedgerKey(source, id))
	if err != nil {
		return Record{}, err
	}
	return e.rec, nil
}

// errConflict is a compare-and-set that lost against another writer.
var errConflict = errors.New("ledger: concurrent update")

// put writes rec over the entry if the entry is still at the revision it was read at.
func (l *Ledger) put(ctx context.Context, e *entry, rec Record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("ledger encode: %w", err)
	}
	var rev uint64
	if e.rev == 0 {
		rev, err = l.kv.Create(ctx, e.key, b)
	} else {
		rev, err = l.kv.Update(ctx, e.key, b, e.rev)
	}
	switch {
	case err == nil:
		e.rev, e.rec = rev, rec
		return nil
	case errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		return errConflict
	}
	return fmt.Errorf("ledger write %s: %w", e.key, err)
}

// update applies fn to the entry and writes it with a compare-and-set on its revision. On a conflict it reloads
// the entry and applies fn again (fn must be safe to repeat), up to 5 times.
func (l *Ledger) update(ctx context.Context, e *entry, fn func(*Record)) error {
	for range 5 {
		rec := e.rec
		rec.Steps = cloneSteps(e.rec.Steps)
		fn(&rec)
		err := l.put(ctx, e, rec)
		if !errors.Is(err, errConflict) {
			return err
		}
		fresh, lerr := l.load(ctx, e.key)
		if lerr != nil {
			return lerr
		}
		*e = *fresh
	}
	return fmt.Errorf("ledger write %s: too many concurrent updates", e.key)
}

// claimResult says what claim found.
type claimResult int

const (
	claimed   claimResult = iota // the caller holds the claim
	completed                    // the event already completed: nothing to claim
	busy                         // another delivery holds a live claim
)

// claim loads the event's entry into e and, unless it completed or another delivery holds a live claim, takes the
// claim for owner until until.
func (l *Ledger) claim(ctx context.Context, key, owner string, now, until time.Time) (*entry, claimResult, error) {
	for range 5 {
		e, err := l.load(ctx, key)
		if err != nil {
			return nil, 0, err
		}
		if len(e.rec.Result) > 0 {
			return e, completed, nil
		}
		if c := e.rec.Claim; c != nil && c.Owner != owner && c.Until.After(now) {
			return e, busy, nil
		}
		rec := e.rec
		rec.Claim = &Claim{Owner: owner, Until: until}
		err = l.put(ctx, e, rec)
		if err == nil {
			return e, claimed, nil
		}
		if !errors.Is(err, errConflict) {
			return nil, 0, err
		}
	}
	return nil, 0, fmt.Errorf("ledger claim %s: too many concurrent updates", key)
}

func cloneSteps(m map[string]StepOutcome) map[string]StepOutcome {
	if m == nil {
		return map[string]StepOutcome{}
	}
	c := make(map[string]StepOutcome, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
