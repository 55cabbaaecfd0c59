package events

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// memStore is a Store in memory with a clock of its own: the tests of claims and fencing need no NATS server.
type memStore struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	recs   map[string]memRec
	claims map[string]memClaim
	loads  int // Load calls
}

type memRec struct {
	val   []byte
	rev   uint64
	until time.Time // when it lapses (zero: never)
}

type memClaim struct {
	owner string
	rev   uint64
	until time.Time
}

func newMemStore() *memStore {
	return &memStore{now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), recs: map[string]memRec{}, claims: map[string]memClaim{}}
}

func (m *memStore) advance(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.now = m.now.Add(d)
}

// rec returns the value at key, removing it first if it lapsed (as the server does, leaving no value).
func (m *memStore) rec(key string) memRec {
	r := m.recs[key]
	if !r.until.IsZero() && !r.until.After(m.now) {
		delete(m.recs, key)
		return memRec{}
	}
	return r
}

func (m *memStore) Load(_ context.Context, key string) ([]byte, uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loads++
	r := m.rec(key)
	return r.val, r.rev, nil
}

func (m *memStore) Save(_ context.Context, key string, val []byte, rev uint64, ttl time.Duration) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rec(key).rev != rev {
		return 0, ErrConflict
	}
	m.seq++
	r := memRec{val: val, rev: m.seq}
	if ttl > 0 {
		r.until = m.now.Add(ttl)
	}
	m.recs[key] = r
	return m.seq, nil
}

// newTestLedger returns a Ledger on st whose record claims tell time by st's clock.
func newTestLedger(st *memStore) *Ledger {
	l := NewLedger(st)
	l.now = func() time.Time {
		st.mu.Lock()
		defer st.mu.Unlock()
		return st.now
	}
	return l
}

func (m *memStore) live(key string) (memClaim, bool) {
	c, ok := m.claims[key]
	return c, ok && c.until.After(m.now)
}

func (m *memStore) Acquire(_ context.Context, key, owner string, ttl time.Duration) (uint64, time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, live := m.live(key); live {
		return 0, c.until.Sub(m.now), ErrBusy
	}
	m.seq++
	m.claims[key] = memClaim{owner, m.seq, m.now.Add(ttl)}
	return m.seq, 0, nil
}

func (m *memStore) Renew(_ context.Context, key, owner string, rev uint64, ttl time.Duration) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, live := m.live(key); !live || c.rev != rev {
		return 0, ErrClaimLost
	}
	m.seq++
	m.claims[key] = memClaim{owner, m.seq, m.now.Add(ttl)}
	return m.seq, nil
}

func (m *memStore) Release(_ context.Context, key string, rev uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.claims[key]; ok && c.rev == rev {
		delete(m.claims, key)
	}
	return nil
}

// TestClaimsAreFenced is defect 3's fencing: a holder whose claim lapsed and was taken over cannot renew it, and
// none of its writes lands once the newer holder wrote the record, even through a compare-and-set retry.
func TestClaimsAreFenced(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	l := newTestLedger(st)
	key := LedgerKey("src", "e1")
	ttl := 10 * time.Second

	a, _, f, _, err := l.begin(ctx, key, claimant{owner: "a", ttl: ttl, digest: "d"})
	if err != nil || f != fresh {
		t.Fatalf("a: %v %v", f, err)
	}
	if err := l.update(ctx, a, func(r *Record) { r.Steps["zeev.upsert_user"] = StepOutcome{Status: StatusDone} }); err != nil {
		t.Fatal(err)
	}
	// Another delivery finds the claim live and is told how long it lives.
	if _, _, f, left, _ := l.begin(ctx, key, claimant{owner: "b", ttl: ttl, digest: "d"}); f != busy || left != ttl {
		t.Fatalf("b while a holds: %v, left %s", f, left)
	}
	// a renews within its TTL: still its own.
	st.advance(5 * time.Second)
	if err := l.renew(ctx, a, ttl); err != nil {
		t.Fatalf("renew in time: %v", err)
	}
	// a stops renewing (a dead or cut-off process): the claim lapses on the store's clock and b takes it.
	st.advance(ttl + time.Second)
	b, rec, f, _, err := l.begin(ctx, key, claimant{owner: "b", ttl: ttl, digest: "d"})
	if err != nil || f != fresh {
		t.Fatalf("b after the lapse: %v %v", f, err)
	}
	if _, ok := rec.Steps["zeev.upsert_user"]; !ok {
		t.Fatal("b does not see a's recorded step")
	}
	if err := l.renew(ctx, a, ttl); !errors.Is(err, ErrClaimLost) {
		t.Fatalf("a renews a claim b holds: %v, want ErrClaimLost", err)
	}
	if err := l.update(ctx, b, func(r *Record) { r.Attempts = 1 }); err != nil {
		t.Fatal(err)
	}
	// a comes back and writes: its compare-and-set fails, the reload shows b's fence, and nothing is written.
	if err := l.update(ctx, a, func(r *Record) { r.Attempts, r.Result = 0, []byte(`{}`) }); !errors.Is(err, errFenced) {
		t.Fatalf("a's write after b's: %v, want errFenced", err)
	}
	got, _, _ := l.load(ctx, key)
	if got.Attempts != 1 || len(got.Result) != 0 || got.Fence != b.claim {
		t.Fatalf("record = attempts %d, result %s, fence %d: a stale holder overwrote the newer one (b's fence %d)",
			got.Attempts, got.Result, got.Fence, b.claim)
	}
}

// TestBeginAnswersSettledEvents: a completed or dead-lettered event is found as such even while a claim on it is
// live (its holder settled it and let the claim lapse on its own), and an id with other data is a conflict.
func TestBeginAnswersSettledEvents(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	l := newTestLedger(st)
	for _, tt := range []struct {
		name string
		set  func(*Record)
		want found
	}{
		{"completed", func(r *Record) { r.Result = []byte(`{"id":"r"}`) }, completed},
		{"dead-lettered", func(r *Record) { r.DeadLettered, r.DeadLetterReason = st.now, ReasonPermanent }, deadLettered},
	} {
		t.Run(tt.name, func(t *testing.T) {
			key := LedgerKey("src", tt.name)
			h, _, _, _, err := l.begin(ctx, key, claimant{owner: "a", ttl: time.Minute, digest: "d"})
			if err != nil {
				t.Fatal(err)
			}
			if err := l.update(ctx, h, tt.set); err != nil {
				t.Fatal(err)
			}
			if _, _, f, _, _ := l.begin(ctx, key, claimant{owner: "b", ttl: time.Minute, digest: "d"}); f != tt.want {
				t.Errorf("while the claim lives: %v, want %v", f, tt.want)
			}
			if _, _, f, _, _ := l.begin(ctx, key, claimant{owner: "c", ttl: time.Minute, digest: "other"}); f != conflict {
				t.Errorf("other data: %v, want conflict", f)
			}
		})
	}
}

// TestBeginLetsAReplayThrough: a dead-lettered event runs again when its replayof names its latest dead letter, and
// only then; the replay starts with the steps done, without the dead letter or the attempts.
func TestBeginLetsAReplayThrough(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	l := newTestLedger(st)
	key := LedgerKey("src", "dl")
	h, _, _, _, _ := l.begin(ctx, key, claimant{owner: "a", ttl: time.Minute, digest: "d"})
	if err := l.update(ctx, h, func(r *Record) {
		r.Steps["zeev.upsert_user"] = StepOutcome{Status: StatusDone}
		r.Attempts, r.DeadLettered, r.DeadLetterReason, r.Sequence = 3, st.now, ReasonExhausted, 7
	}); err != nil {
		t.Fatal(err)
	}
	l.release(ctx, h)
	for _, wrong := range []string{"", deadLetterID(key, 6), "ponte-dlq-x"} {
		if _, _, f, _, _ := l.begin(ctx, key, claimant{owner: "b", ttl: time.Minute, digest: "d", replayOf: wrong}); f != deadLettered {
			t.Errorf("replayof %q: %v, want dead-lettered", wrong, f)
		}
	}
	h2, rec, f, _, err := l.begin(ctx, key, claimant{owner: "c", ttl: time.Minute, digest: "d", replayOf: deadLetterID(key, 7)})
	if err != nil || f != fresh || h2 == nil {
		t.Fatalf("the replay: %v %v", f, err)
	}
	if !rec.DeadLettered.IsZero() || rec.Attempts != 0 || len(rec.Steps) != 1 {
		t.Errorf("the replay starts from %+v, want no dead letter, no attempts, the step done", rec)
	}
}

// TestJournalWithoutNATS: Step replays what the ledger holds, runs the rest, and writes each step before the next
// one runs, leaving the last to the settlement.
func TestJournalWithoutNATS(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	l := newTestLedger(st)
	key := LedgerKey("src", "j1")
	calls := map[string]int{}
	run := func(h *holding, ops ...string) *journal {
		t.Helper()
		j := &journal{ledger: l, hold: h, now: func() time.Time { return st.now }, steps: map[string]StepOutcome{}, pending: map[string]StepOutcome{}}
		jctx := withJournal(ctx, j)
		for _, op := range ops {
			if _, err := Step(jctx, StepSpec{Target: "zeev", Operation: op}, func(context.Context) (StepOutcome, error) {
				calls[op]++
				return Done("id", 1), nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		return j
	}
	h, _, _, _, err := l.begin(ctx, key, claimant{owner: "a", ttl: time.Minute, digest: "d"})
	if err != nil {
		t.Fatal(err)
	}
	j := run(h, "a", "b")
	rec, _, _ := l.load(ctx, key)
	if _, ok := rec.Steps["zeev.a"]; !ok || len(rec.Steps) != 1 {
		t.Fatalf("recorded steps %v, want zeev.a only (written before b ran; b is the settlement's)", rec.Steps)
	}
	if u := j.unwritten(); len(u) != 1 || u["zeev.b"].Status != StatusDone {
		t.Fatalf("unwritten = %v, want zeev.b", u)
	}
	// The worker dies before settling: the next delivery replays a and runs b again.
	st.advance(2 * time.Minute)
	h2, _, f, _, err := l.begin(ctx, key, claimant{owner: "b", ttl: time.Minute, digest: "d"})
	if err != nil || f != fresh {
		t.Fatalf("second delivery: %v %v", f, err)
	}
	j2 := run(h2, "a", "b")
	if calls["a"] != 1 || calls["b"] != 2 {
		t.Errorf("calls = %v, want a once, b twice", calls)
	}
	if got := j2.outcomes(); len(got) != 2 || got[0].Status != StatusReplayed || got[1].Status != StatusDone {
		t.Errorf("outcomes = %+v, want a replayed, b done", got)
	}
}

// TestAppliedWritesOnTheEntityItRead checks the entity write of a completion: it expects the entity as the
// delivery read it before running, with no second read, and when another write came in between it reads the
// entity again and keeps the later of the two events.
func TestAppliedWritesOnTheEntityItRead(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name       string
		between    *Applied // written by another delivery after the read
		event      time.Time
		wantLatest string
	}{
		{name: "nothing in between", event: t0.Add(2 * time.Second), wantLatest: "mine"},
		{name: "an older event in between", between: &Applied{Time: t0.Add(time.Second), EventID: "other"}, event: t0.Add(2 * time.Second), wantLatest: "mine"},
		{name: "a newer event in between", between: &Applied{Time: t0.Add(3 * time.Second), EventID: "other"}, event: t0.Add(2 * time.Second), wantLatest: "other"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := newMemStore()
			l := newTestLedger(st)
			if err := l.applied(ctx, "E-1", Applied{Time: t0, EventID: "first"}, nil); err != nil {
				t.Fatal(err)
			}
			seen, err := l.entity(ctx, "E-1")
			if err != nil || seen.EventID != "first" || seen.rev == 0 {
				t.Fatalf("entity = %+v, %v", seen, err)
			}
			if tt.between != nil {
				if _, err := l.save(ctx, entityKey("E-1"), *tt.between, seen.rev, 0); err != nil {
					t.Fatal(err)
				}
			}
			loads := st.loads
			if err := l.applied(ctx, "E-1", Applied{Time: tt.event, EventID: "mine"}, &seen); err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{false: 0, true: 1}[tt.between != nil]; st.loads-loads != want {
				t.Errorf("the entity was read %d times, want %d", st.loads-loads, want)
			}
			got, err := l.entity(ctx, "E-1")
			if err != nil || got.EventID != tt.wantLatest {
				t.Errorf("latest = %+v, %v; want %s", got, err, tt.wantLatest)
			}
		})
	}
}

// TestRecordIsTheClaimOfANewEvent covers the claim of an event with no record yet: its record, written with the
// claim's TTL. A copy finds it busy (or a conflict, with other data); a holder that dies leaves nothing behind once
// the TTL passes; a holder whose record lapsed and was claimed again can neither renew nor write; giving it up
// writes the record for good, and the next delivery claims it at once; a recorded step moves the claim to its key,
// so that the step outlives the holder.
func TestRecordIsTheClaimOfANewEvent(t *testing.T) {
	ctx := context.Background()
	ttl := 10 * time.Second
	claimant := func(owner, digest string) claimant { return claimant{owner: owner, ttl: ttl, digest: digest} }

	t.Run("copies wait, other data conflicts", func(t *testing.T) {
		st := newMemStore()
		l := newTestLedger(st)
		key := LedgerKey("src", "e1")
		a, _, f, _, err := l.begin(ctx, key, claimant("a", "d"))
		if err != nil || f != fresh || !a.byRecord {
			t.Fatalf("a: %v %v, by record %v", f, err, a != nil && a.byRecord)
		}
		if _, ok := st.claims[claimKey(key)]; ok {
			t.Fatal("a new event's claim wrote a claim key: one write was to do")
		}
		st.advance(4 * time.Second)
		if _, _, f, left, _ := l.begin(ctx, key, claimant("b", "d")); f != busy || left != 6*time.Second {
			t.Errorf("a copy: %v, left %s; want busy, 6s", f, left)
		}
		if _, _, f, _, _ := l.begin(ctx, key, claimant("c", "other")); f != conflict {
			t.Errorf("other data under the id: %v, want conflict", f)
		}
	})
	t.Run("a dead holder's claim lapses and it is fenced", func(t *testing.T) {
		st := newMemStore()
		l := newTestLedger(st)
		key := LedgerKey("src", "e2")
		a, _, _, _, _ := l.begin(ctx, key, claimant("a", "d"))
		st.advance(ttl + time.Second)
		b, rec, f, _, err := l.begin(ctx, key, claimant("b", "d"))
		if err != nil || f != fresh || rec.Attempts != 0 {
			t.Fatalf("b after the lapse: %v %v %+v", f, err, rec)
		}
		if err := l.renew(ctx, a, ttl); !errors.Is(err, ErrClaimLost) {
			t.Errorf("a renews after the lapse: %v, want ErrClaimLost", err)
		}
		if err := l.settle(ctx, a, func(r *Record) { r.Result = []byte(`{"by":"a"}`) }); !errors.Is(err, errFenced) {
			t.Errorf("a settles after the lapse: %v, want errFenced", err)
		}
		if err := l.settle(ctx, b, func(r *Record) { r.Result = []byte(`{"by":"b"}`) }); err != nil {
			t.Fatal(err)
		}
		if err := l.settle(ctx, a, func(r *Record) { r.Result = []byte(`{"by":"a"}`) }); !errors.Is(err, errSettled) {
			t.Errorf("a settles after b did: %v, want errSettled", err)
		}
		st.advance(time.Hour)
		got, _, _ := l.load(ctx, key)
		if string(got.Result) != `{"by":"b"}` || got.Claim != nil {
			t.Errorf("record = result %s, claim %+v; want b's result, written for good", got.Result, got.Claim)
		}
	})
	t.Run("renewed, released, claimed again at once", func(t *testing.T) {
		st := newMemStore()
		l := newTestLedger(st)
		key := LedgerKey("src", "e3")
		a, _, _, _, _ := l.begin(ctx, key, claimant("a", "d"))
		st.advance(8 * time.Second)
		if err := l.renew(ctx, a, ttl); err != nil {
			t.Fatal(err)
		}
		st.advance(8 * time.Second) // 16 s after the claim, 8 s after the renewal: still a's
		if _, _, f, _, _ := l.begin(ctx, key, claimant("b", "d")); f != busy {
			t.Fatalf("b after a's renewal: %v, want busy", f)
		}
		if err := l.settle(ctx, a, func(r *Record) { r.noteFailure(st.now, true) }); err != nil {
			t.Fatal(err)
		}
		l.release(ctx, a)
		b, rec, f, _, err := l.begin(ctx, key, claimant("b", "d"))
		if err != nil || f != fresh || rec.Attempts != 1 || b.byRecord {
			t.Fatalf("b after a gave up: %v %v attempts %d; want fresh at once, by claim key, with a's attempt", f, err, rec.Attempts)
		}
	})
	t.Run("a step moves the claim to its key", func(t *testing.T) {
		st := newMemStore()
		l := newTestLedger(st)
		key := LedgerKey("src", "e4")
		a, _, _, _, _ := l.begin(ctx, key, claimant("a", "d"))
		if err := l.update(ctx, a, func(r *Record) { r.Steps["zeev.upsert_user"] = StepOutcome{Status: StatusDone} }); err != nil {
			t.Fatal(err)
		}
		if a.byRecord || a.claim == 0 {
			t.Fatalf("after a step: by record %v, claim %d; want the claim key", a.byRecord, a.claim)
		}
		if _, _, f, _, _ := l.begin(ctx, key, claimant("b", "d")); f != busy {
			t.Errorf("b while a holds the claim key: %v, want busy", f)
		}
		st.advance(ttl + time.Second) // a dies
		_, rec, f, _, err := l.begin(ctx, key, claimant("b", "d"))
		if err != nil || f != fresh || rec.Steps["zeev.upsert_user"].Status != StatusDone {
			t.Errorf("b after a died: %v %v, steps %v; want fresh with a's step", f, err, rec.Steps)
		}
	})
}
