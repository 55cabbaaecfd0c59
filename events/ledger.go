package events

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Record is what the ledger knows about one input event: the steps that succeeded, the failed attempts, and how
// the event was settled (completed with a result, or dead-lettered).
type Record struct {
	EventID string `json:"eventId"`
	Source  string `json:"source"`
	Type    string `json:"type"`
	// Digest identifies what the event says (see Digest): an event that comes again with the same source and id
	// but another digest is not the same event (an id conflict).
	Digest string `json:"digest,omitempty"`
	// EventTime is the CloudEvent time of the event that created the record.
	EventTime time.Time `json:"eventTime,omitzero"`
	// Sequence is the input stream sequence of the message that settled the event (completed or dead-lettered
	// it): a redelivery of that same message is answered as it was; another message with the event (a
	// re-publication) gets an answer of its own.
	Sequence     uint64                 `json:"sequence,omitempty"`
	Steps        map[string]StepOutcome `json:"steps,omitempty"`
	Attempts     int                    `json:"attempts,omitempty"`
	FirstFailure time.Time              `json:"firstFailureAt,omitzero"`
	LastFailure  time.Time              `json:"lastFailureAt,omitzero"`
	Completed    time.Time              `json:"completedAt,omitzero"`
	// Result is the result event (structured JSON), recorded before it is published and republished as is when
	// the message that completed the event comes again.
	Result json.RawMessage `json:"result,omitempty"`
	// DeadLettered is set once the event was dead-lettered, with the reason and message of its dead letter: the
	// event never runs again (a redelivery is termed).
	DeadLettered      time.Time `json:"deadLetteredAt,omitzero"`
	DeadLetterReason  string    `json:"deadLetterReason,omitempty"`
	DeadLetterMessage string    `json:"deadLetterMessage,omitempty"`
	// Fence is the revision of the claim under which the record was last written: a holder whose claim is older
	// than Fence lost it and may not write.
	Fence uint64 `json:"fence,omitempty"`
	// Claim is set while the record itself is the claim on its event (see Ledger.begin): the record was written
	// with a TTL and lapses with the claim.
	Claim *RecordClaim `json:"claim,omitempty"`
}

// RecordClaim is who claimed the event, in a record that is itself the claim, and until when (the holder's clock:
// the server removes the record at its TTL).
type RecordClaim struct {
	Owner string    `json:"owner"`
	Until time.Time `json:"until"`
}

// settled reports whether the event completed or was dead-lettered.
func (r *Record) settled() bool { return len(r.Result) > 0 || !r.DeadLettered.IsZero() }

// LedgerKey returns the bucket key of the event (source, id): "ev." and a SHA-256 prefix, since CloudEvent ids may
// hold characters a key cannot.
func LedgerKey(source, id string) string {
	sum := sha256.Sum256([]byte(source + "\x00" + id))
	return "ev." + hex.EncodeToString(sum[:20])
}

// claimKey is the bucket key of the claim on the event whose record is at key: "claim.<hash>".
func claimKey(key string) string { return "claim." + strings.TrimPrefix(key, "ev.") }

// Store is where a Ledger keeps records and claims: the JetStream key-value bucket in production (KVStore), a
// map in the tests of the decisions. Records are written with compare-and-set on their revision; claims expire
// on their own after their TTL, on the store's clock.
type Store interface {
	// Load returns the value at key and its revision; revision 0 and no value when there is none.
	Load(ctx context.Context, key string) ([]byte, uint64, error)
	// Save writes value at key if the key is still at revision rev (0: absent) and returns the new revision, or
	// ErrConflict. With ttl > 0 the value is removed after ttl, on the store's clock, unless written again.
	Save(ctx context.Context, key string, value []byte, rev uint64, ttl time.Duration) (uint64, error)
	// Acquire creates the claim key for owner, expiring after ttl, and returns its revision. If another live
	// claim holds the key it returns ErrBusy and how long that claim still lives.
	Acquire(ctx context.Context, key, owner string, ttl time.Duration) (rev uint64, left time.Duration, err error)
	// Renew extends the claim at revision rev for another ttl and returns its new revision, or ErrClaimLost if
	// the claim is no longer at rev (it lapsed, and maybe another holder took it).
	Renew(ctx context.Context, key, owner string, rev uint64, ttl time.Duration) (uint64, error)
	// Release removes the claim if it is still at revision rev.
	Release(ctx context.Context, key string, rev uint64) error
}

// The errors of a Store.
var (
	ErrConflict  = errors.New("ledger: concurrent update")
	ErrBusy      = errors.New("ledger: another delivery holds the claim")
	ErrClaimLost = errors.New("ledger: the claim lapsed")
)

// errFenced is a write refused because a newer claim holder wrote the record.
var errFenced = errors.New("ledger: a newer claim holder wrote the record: this delivery lost its claim")

// Ledger records, per input event (CloudEvent source + id), the steps that succeeded and how the event was
// settled, and hands out claims so that one delivery at a time works on an event. Safe for concurrent use.
type Ledger struct {
	st  Store
	now func() time.Time // the clock of RecordClaim.Until
}

// NewLedger returns a Ledger on st.
func NewLedger(st Store) *Ledger { return &Ledger{st: st, now: time.Now} }

// Get returns the record of the event (source, id); a record with no steps if there is none.
func (l *Ledger) Get(ctx context.Context, source, id string) (Record, error) {
	rec, _, err := l.load(ctx, LedgerKey(source, id))
	return rec, err
}

// load reads and decodes the record at key.
func (l *Ledger) load(ctx context.Context, key string) (Record, uint64, error) {
	var rec Record
	b, rev, err := l.st.Load(ctx, key)
	if err != nil || rev == 0 {
		return rec, rev, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, 0, fmt.Errorf("ledger decode %s: %w", key, err)
	}
	return rec, rev, nil
}

// save encodes and writes rec at key, expecting revision rev; with ttl > 0 it lapses after ttl.
func (l *Ledger) save(ctx context.Context, key string, rec any, rev uint64, ttl time.Duration) (uint64, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return 0, fmt.Errorf("ledger encode %s: %w", key, err)
	}
	return l.st.Save(ctx, key, b, rev, ttl)
}

// Applied is what the ledger knows of an entity (a CloudEvent subject): the latest event applied to it.
type Applied struct {
	Time     time.Time `json:"time"`               // its CloudEvent time
	EventID  string    `json:"eventId,omitempty"`  // its id
	Sequence uint64    `json:"sequence,omitempty"` // its input stream sequence
}

// entityKey is the bucket key of an entity's Applied: "ent." and a SHA-256 prefix of the subject.
func entityKey(subject string) string {
	sum := sha256.Sum256([]byte(subject))
	return "ent." + hex.EncodeToString(sum[:20])
}

// entitySeen is an entity's latest applied event as read from the ledger, with the revision it was read at (0:
// none was recorded).
type entitySeen struct {
	Applied
	rev uint64
}

// entity returns the latest event applied to the entity subject (zero if none), as read at its revision.
func (l *Ledger) entity(ctx context.Context, subject string) (entitySeen, error) {
	var e entitySeen
	b, rev, err := l.st.Load(ctx, entityKey(subject))
	if err != nil || rev == 0 {
		return e, err
	}
	if err := json.Unmarshal(b, &e.Applied); err != nil {
		return e, fmt.Errorf("ledger decode entity: %w", err)
	}
	e.rev = rev
	return e, nil
}

// applied records that a was applied to the entity subject, unless a later event was. seen is the entity as
// this delivery read it before it ran (nil: not read): the first write expects it, and only a conflict makes it
// read the entity again. (One entity's events run one at a time on the replica that holds the consumer, so the
// entity has seldom changed since.)
func (l *Ledger) applied(ctx context.Context, subject string, a Applied, seen *entitySeen) error {
	key := entityKey(subject)
	for range 5 {
		var cur entitySeen
		if seen != nil {
			cur, seen = *seen, nil
		} else {
			var err error
			if cur, err = l.entity(ctx, subject); err != nil {
				return err
			}
		}
		if cur.rev != 0 && !a.Time.After(cur.Time) {
			return nil
		}
		if _, err := l.save(ctx, key, a, cur.rev, 0); !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("ledger write %s: too many concurrent updates", key)
}

// holding is a delivery's claim on one event and the record as it last read or wrote it. The claim is one of two
// kinds. An event with no record yet is claimed by creating its record with a TTL (byRecord): one write, and the
// record lapses with the claim; the settlement writes it for good, which gives the claim up. An event with a
// record (steps done, attempts counted, an earlier settlement) is claimed by its claim key, and the record is
// written fenced by that claim; so does an event held by its record once it records a step, so that the steps
// done outlive a dead worker.
type holding struct {
	key      string // the record's key
	claim    uint64 // the claim key's revision: the fence of every write (0 while byRecord)
	owner    string
	rev      uint64 // the record's revision
	rec      Record
	byRecord bool          // the record (written with ttl) is the claim
	ttl      time.Duration // the claim's TTL
	mu       sync.Mutex    // guards rev, rec, claim and byRecord: Step may be called from several goroutines
}

// claimant is the delivery asking for a claim: who, for how long, and what it knows of the event.
type claimant struct {
	owner     string
	ttl       time.Duration
	digest    string
	eventTime time.Time
	replayOf  string // the dead letter the event replays (ReplayExtension), if it does
}

// found is what begin found.
type found int

const (
	fresh        found = iota // the caller holds the claim and the event is to be run
	busy                      // another delivery holds a live claim
	completed                 // the event completed: its result is in the record
	deadLettered              // the event was dead-lettered
	conflict                  // the record is of another event with the same source and id (another digest)
)

// begin claims the event at key for c and reads its record. It returns the holding (with the record) when the
// event is fresh: the caller holds the claim and runs the event. Otherwise it holds no claim and returns the record
// with what it found: the event completed or was dead-lettered (even while a claim is still held), the record is of
// another event with the same id, or another delivery holds a live claim (with its remaining lifetime).
func (l *Ledger) begin(ctx context.Context, key string, c claimant) (*holding, Record, found, time.Duration, error) {
	for range 3 {
		claimed := Record{Digest: c.digest, EventTime: c.eventTime, Claim: &RecordClaim{Owner: c.owner, Until: l.now().Add(c.ttl)}}
		rev, err := l.save(ctx, key, claimed, 0, c.ttl)
		if err == nil {
			claimed.Claim = nil
			return &holding{key: key, owner: c.owner, rev: rev, rec: claimed, byRecord: true, ttl: c.ttl}, claimed, fresh, 0, nil
		}
		if !errors.Is(err, ErrConflict) {
			return nil, Record{}, 0, 0, err
		}
		rec, rev, err := l.load(ctx, key)
		if err != nil {
			return nil, Record{}, 0, 0, err
		}
		if rev == 0 {
			continue // it lapsed in between: claim it again
		}
		if f, settled := settledAs(rec, c); settled && !replays(key, rec, c) {
			return nil, rec, f, 0, nil
		}
		if rec.Claim != nil {
			// Held by its record: busy until the record lapses or is written for good.
			return nil, rec, busy, max(rec.Claim.Until.Sub(l.now()), time.Second), nil
		}
		return l.beginByKey(ctx, key, c)
	}
	return nil, Record{}, 0, 0, fmt.Errorf("ledger claim %s: the record keeps lapsing and coming back", key)
}

// beginByKey claims an event that has a record by its claim key, then reads the record (see begin).
func (l *Ledger) beginByKey(ctx context.Context, key string, c claimant) (*holding, Record, found, time.Duration, error) {
	rev, left, err := l.st.Acquire(ctx, claimKey(key), c.owner, c.ttl)
	if errors.Is(err, ErrBusy) {
		// A settled event is answered at once, whoever still holds its claim.
		rec, _, lerr := l.load(ctx, key)
		if lerr != nil {
			return nil, Record{}, 0, 0, lerr
		}
		if f, settled := settledAs(rec, c); settled && !replays(key, rec, c) {
			return nil, rec, f, 0, nil
		}
		return nil, rec, busy, left, nil
	}
	if err != nil {
		return nil, Record{}, 0, 0, err
	}
	h := &holding{key: key, claim: rev, owner: c.owner, ttl: c.ttl}
	h.rec, h.rev, err = l.load(ctx, key)
	if err != nil {
		l.release(ctx, h)
		return nil, Record{}, 0, 0, err
	}
	if f, settled := settledAs(h.rec, c); settled {
		if f != deadLettered || !replays(key, h.rec, c) {
			l.release(ctx, h)
			return nil, h.rec, f, 0, nil
		}
		// Replayed on purpose: the event runs again, its steps done so far replayed from the record.
		h.rec.DeadLettered, h.rec.DeadLetterReason, h.rec.DeadLetterMessage = time.Time{}, "", ""
		h.rec.Attempts, h.rec.FirstFailure, h.rec.LastFailure, h.rec.Sequence = 0, time.Time{}, time.Time{}, 0
	}
	if h.rec.Digest == "" {
		h.rec.Digest, h.rec.EventTime = c.digest, c.eventTime
	}
	return h, h.rec, fresh, 0, nil
}

// replays reports whether the claimant replays the dead letter rec records: its ReplayExtension names the event's
// latest dead letter.
func replays(key string, rec Record, c claimant) bool {
	return !rec.DeadLettered.IsZero() && c.replayOf != "" && c.replayOf == deadLetterID(key, rec.Sequence)
}

// settledAs says whether rec settles the claimant's event already, and how: another event's record (conflict),
// completed, or dead-lettered.
func settledAs(rec Record, c claimant) (found, bool) {
	switch {
	case rec.Digest != "" && c.digest != "" && rec.Digest != c.digest:
		return conflict, true
	case len(rec.Result) > 0:
		return completed, true
	case !rec.DeadLettered.IsZero():
		return deadLettered, true
	}
	return fresh, false
}

// release gives the claim up, so that the next delivery of the event need not wait for it to lapse. A failure
// only costs that wait.
func (l *Ledger) release(ctx context.Context, h *holding) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.byRecord {
		// The record written for good, as it is, is the claim given up.
		if rev, err := l.save(ctx, h.key, h.rec, h.rev, 0); err == nil {
			h.rev, h.byRecord = rev, false
		}
		return
	}
	if h.claim != 0 {
		_ = l.st.Release(ctx, claimKey(h.key), h.claim)
	}
}

// renew extends the holding's claim by ttl.
func (l *Ledger) renew(ctx context.Context, h *holding, ttl time.Duration) error {
	h.mu.Lock()
	if h.byRecord {
		defer h.mu.Unlock()
		rec := h.rec
		rec.Claim = &RecordClaim{Owner: h.owner, Until: l.now().Add(ttl)}
		rev, err := l.save(ctx, h.key, rec, h.rev, ttl)
		if errors.Is(err, ErrConflict) {
			return ErrClaimLost
		}
		if err != nil {
			return err
		}
		h.rev = rev
		return nil
	}
	claim := h.claim
	h.mu.Unlock()
	rev, err := l.st.Renew(ctx, claimKey(h.key), h.owner, claim, ttl)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.claim = rev
	h.mu.Unlock()
	return nil
}

// update applies fn to the holding's record and writes it, holding on to the claim (a step done): with a
// compare-and-set on its revision, fenced by the claim. On a conflict it reloads the record and, unless a newer
// holder wrote it (errFenced) or the event was settled meanwhile by another delivery (errSettled), applies fn
// again, up to 5 times. A holding by its record moves to a claim key first, and the record is written for good.
func (l *Ledger) update(ctx context.Context, h *holding, fn func(*Record)) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.byRecord {
		rev, _, err := l.st.Acquire(ctx, claimKey(h.key), h.owner, h.ttl)
		if errors.Is(err, ErrBusy) {
			return errFenced
		}
		if err != nil {
			return err
		}
		if err := l.writeHeld(ctx, h, rev, fn); err != nil {
			_ = l.st.Release(ctx, claimKey(h.key), rev)
			return err
		}
		h.claim = rev
		return nil
	}
	return l.writeFenced(ctx, h, fn)
}

// settle applies fn to the holding's record and writes it for good: the settlement (completed, dead-lettered,
// or handed back with its failure recorded). For a holding by its record this also gives the claim up; a holding
// by its claim key keeps it until released or lapsed.
func (l *Ledger) settle(ctx context.Context, h *holding, fn func(*Record)) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.byRecord {
		return l.writeHeld(ctx, h, 0, fn)
	}
	return l.writeFenced(ctx, h, fn)
}

// writeHeld writes the record of a holding by its record for good, with fence (a claim key's revision, 0 for
// none): the record no longer lapses. Any conflict means the record lapsed and another delivery wrote it.
func (l *Ledger) writeHeld(ctx context.Context, h *holding, fence uint64, fn func(*Record)) error {
	rec := h.rec
	rec.Steps = maps.Clone(h.rec.Steps)
	if rec.Steps == nil {
		rec.Steps = map[string]StepOutcome{}
	}
	fn(&rec)
	rec.Fence, rec.Claim = fence, nil
	rev, err := l.save(ctx, h.key, rec, h.rev, 0)
	if errors.Is(err, ErrConflict) {
		if now, _, lerr := l.load(ctx, h.key); lerr == nil && now.settled() {
			return errSettled
		}
		return errFenced
	}
	if err != nil {
		return err
	}
	h.rev, h.rec, h.byRecord = rev, rec, false
	return nil
}

// writeFenced is update and settle for a holding by its claim key.
func (l *Ledger) writeFenced(ctx context.Context, h *holding, fn func(*Record)) error {
	for range 5 {
		if h.rec.Fence > h.claim {
			return errFenced
		}
		rec := h.rec
		rec.Steps = maps.Clone(h.rec.Steps)
		if rec.Steps == nil {
			rec.Steps = map[string]StepOutcome{}
		}
		fn(&rec)
		rec.Fence, rec.Claim = h.claim, nil
		rev, err := l.save(ctx, h.key, rec, h.rev, 0)
		if err == nil {
			h.rev, h.rec = rev, rec
			return nil
		}
		if !errors.Is(err, ErrConflict) {
			return err
		}
		fresh, frev, lerr := l.load(ctx, h.key)
		if lerr != nil {
			return lerr
		}
		settledBefore := h.rec.settled()
		h.rec, h.rev = fresh, frev
		if fresh.settled() && !settledBefore {
			return errSettled
		}
	}
	return fmt.Errorf("ledger write %s: too many concurrent updates", h.key)
}

// errSettled is a write refused because another delivery settled the event meanwhile.
var errSettled = errors.New("ledger: the event was settled by another delivery meanwhile")

// record returns a copy of the holding's record.
func (h *holding) record() Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.rec
	r.Steps = maps.Clone(h.rec.Steps)
	return r
}

// KVStore is a Store on a JetStream key-value bucket whose per-message TTLs are enabled (LimitMarkerTTL): claims
// are keys created with a TTL, renewed by writing them again with a TTL, fenced by their revision.
type KVStore struct {
	kv jetstream.KeyValue
	js jetstream.JetStream
	// subject is the prefix of the bucket's keys on the wire: "$KV.<bucket>.".
	subject string
	// markerTTL is how long the marker of a released claim stays.
	markerTTL time.Duration
}

// NewKVStore returns the Store of bucket kv, reached through js.
func NewKVStore(js jetstream.JetStream, kv jetstream.KeyValue) *KVStore {
	return &KVStore{kv: kv, js: js, subject: "$KV." + kv.Bucket() + ".", markerTTL: claimMarkerTTL}
}

// claimMarkerTTL is the bucket's LimitMarkerTTL: how long the marker of a lapsed or released claim stays.
const claimMarkerTTL = time.Minute

// Load implements Store.
func (s *KVStore) Load(ctx context.Context, key string) ([]byte, uint64, error) {
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("ledger get %s: %w", key, err)
	}
	return e.Value(), e.Revision(), nil
}

// Save implements Store. A write with a TTL expecting a revision is a publish to the key's subject with the
// per-message TTL and the expected last sequence, which the KV API has no call for.
func (s *KVStore) Save(ctx context.Context, key string, value []byte, rev uint64, ttl time.Duration) (uint64, error) {
	var err error
	switch {
	case rev == 0 && ttl > 0:
		rev, err = s.kv.Create(ctx, key, value, jetstream.KeyTTL(ttl))
	case rev == 0:
		rev, err = s.kv.Create(ctx, key, value)
	case ttl > 0:
		var ack *jetstream.PubAck
		ack, err = s.js.Publish(ctx, s.subject+key, value, jetstream.WithMsgTTL(ttl), jetstream.WithExpectLastSequencePerSubject(rev))
		if apiErr, ok := errors.AsType[*jetstream.APIError](err); ok && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
			return 0, ErrConflict
		}
		if err == nil {
			rev = ack.Sequence
		}
	default:
		rev, err = s.kv.Update(ctx, key, value, rev)
	}
	switch {
	case err == nil:
		return rev, nil
	case errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		return 0, ErrConflict
	}
	return 0, fmt.Errorf("ledger write %s: %w", key, err)
}

// claimValue is what a claim key holds.
type claimValue struct {
	Owner string `json:"owner"`
	TTL   string `json:"ttl"`
}

// Acquire implements Store.
func (s *KVStore) Acquire(ctx context.Context, key, owner string, ttl time.Duration) (uint64, time.Duration, error) {
	b, _ := json.Marshal(claimValue{Owner: owner, TTL: ttl.String()})
	rev, err := s.kv.Create(ctx, key, b, jetstream.KeyTTL(ttl))
	if err == nil {
		return rev, 0, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return 0, 0, fmt.Errorf("ledger claim %s: %w", key, err)
	}
	// Held: how long it lives is the holder's TTL from the time the server stored it.
	e, gerr := s.kv.Get(ctx, key)
	if gerr != nil {
		return 0, time.Second, ErrBusy // it may have just lapsed: try again soon
	}
	var v claimValue
	left := time.Second
	if json.Unmarshal(e.Value(), &v) == nil {
		if d, perr := time.ParseDuration(v.TTL); perr == nil {
			left = max(time.Until(e.Created().Add(d)), 0)
		}
	}
	return 0, left, ErrBusy
}

// Renew implements Store: it writes the claim again with a new TTL, expecting it at revision rev.
func (s *KVStore) Renew(ctx context.Context, key, owner string, rev uint64, ttl time.Duration) (uint64, error) {
	b, _ := json.Marshal(claimValue{Owner: owner, TTL: ttl.String()})
	ack, err := s.js.Publish(ctx, s.subject+key, b, jetstream.WithMsgTTL(ttl), jetstream.WithExpectLastSequencePerSubject(rev))
	if err != nil {
		if apiErr, ok := errors.AsType[*jetstream.APIError](err); ok && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
			return 0, ErrClaimLost
		}
		return 0, fmt.Errorf("ledger renew claim %s: %w", key, err)
	}
	return ack.Sequence, nil
}

// Release implements Store: it purges the claim if it is still at revision rev, leaving a marker that lapses.
func (s *KVStore) Release(ctx context.Context, key string, rev uint64) error {
	return s.kv.Purge(ctx, key, jetstream.LastRevision(rev), jetstream.PurgeTTL(s.markerTTL))
}
