package events

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"
)

// Record is what the ledger knows about one input event: the steps that succeeded, the failed attempts, and the
// result once the event completed.
type Record struct {
	EventID string `json:"eventId"`
	Source  string `json:"source"`
	Type    string `json:"type"`
	// Digest identifies what the event says (see Digest): an event that comes again with the same source and id
	// but another digest is not the same event (an id conflict).
	Digest string `json:"digest,omitempty"`
	// EventTime is the CloudEvent time of the event that created the record.
	EventTime time.Time `json:"eventTime,omitzero"`
	// Sequence is the input stream sequence of the message that completed the event: a redelivery of that same
	// message finds its result already published; another message with the event (a re-publish) gets its own.
	Sequence     uint64                 `json:"sequence,omitempty"`
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
	conflict                     // the record is of another event with the same source and id (another digest)
)

// claimant is the delivery asking for a claim: who, until when, and what it knows of the event.
type claimant struct {
	owner     string
	now       time.Time
	until     time.Time
	digest    string
	eventTime time.Time
}

// claim loads the event's entry and, unless the record belongs to an event with other data, completed, or another
// delivery holds a live claim, takes the claim for c.owner until c.until. A new record remembers the event's digest
// and time.
func (l *Ledger) claim(ctx context.Context, key string, c claimant) (*entry, claimResult, error) {
	for range 5 {
		e, err := l.load(ctx, key)
		if err != nil {
			return nil, 0, err
		}
		if e.rec.Digest != "" && c.digest != "" && e.rec.Digest != c.digest {
			return e, conflict, nil
		}
		if len(e.rec.Result) > 0 {
			return e, completed, nil
		}
		if h := e.rec.Claim; h != nil && h.Owner != c.owner && h.Until.After(c.now) {
			return e, busy, nil
		}
		rec := e.rec
		rec.Claim = &Claim{Owner: c.owner, Until: c.until}
		if rec.Digest == "" {
			rec.Digest, rec.EventTime = c.digest, c.eventTime
		}
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

// Digest returns what identifies the content of ev: a SHA-256 of its type, subject, the extensions named (those
// its type requires, such as ug) and its data in canonical form (object keys sorted, no insignificant space,
// numbers by value), so that the same event published again in another mode, or re-serialised by its publisher,
// has the same digest. Data that is not JSON is digested as it is.
func Digest(ev *event.Event, extensions []string) string {
	h := sha256.New()
	write := func(s string) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	write(ev.Type())
	write(ev.Subject())
	for _, x := range extensions {
		write(x + "=" + fmt.Sprint(ev.Extensions()[x]))
	}
	if c, err := canonicalJSON(ev.Data()); err == nil {
		h.Write(c)
	} else {
		h.Write(ev.Data())
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// canonicalJSON re-encodes JSON with object keys sorted, no insignificant white space and every number written
// as its exact value (150000.00 and 150000 are the same number).
func canonicalJSON(data []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	var write func(v any) error
	write = func(v any) error {
		switch v := v.(type) {
		case map[string]any:
			b.WriteByte('{')
			for i, k := range slices.Sorted(maps.Keys(v)) {
				if i > 0 {
					b.WriteByte(',')
				}
				kb, _ := json.Marshal(k)
				b.Write(kb)
				b.WriteByte(':')
				if err := write(v[k]); err != nil {
					return err
				}
			}
			b.WriteByte('}')
		case []any:
			b.WriteByte('[')
			for i, e := range v {
				if i > 0 {
					b.WriteByte(',')
				}
				if err := write(e); err != nil {
					return err
				}
			}
			b.WriteByte(']')
		case json.Number:
			r, ok := new(big.Rat).SetString(v.String())
			if !ok {
				return fmt.Errorf("number %s", v)
			}
			b.WriteString(r.RatString())
		default:
			vb, err := json.Marshal(v)
			if err != nil {
				return err
			}
			b.Write(vb)
		}
		return nil
	}
	if err := write(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
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
