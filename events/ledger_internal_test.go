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
}

type memRec struct {
	val []byte
	rev uint64
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

func (m *memStore) Load(_ context.Context, key string) ([]byte, uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.recs[key]
	return r.val, r.rev, nil
}

func (m *memStore) Save(_ context.Context, key string, val []byte, rev uint64) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.recs[key].rev != rev {
		return 0, ErrConflict
	}
	m.seq++
	m.recs[key] = memRec{val, m.seq}
	return m.seq, nil
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
	l := NewLedger(st)
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
	l := NewLedger(st)
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
	l := NewLedger(st)
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
	l := NewLedger(st)
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
			l := NewLedger(st)
			if err := l.applied(ctx, "E-1", Applied{Time: t0, EventID: "first"}, nil); err != nil {
				t.Fatal(err)
			}
			seen, err := l.entity(ctx, "E-1")
			if err != nil || seen.EventID != "first" || seen.rev == 0 {
				t.Fatalf("entity = %+v, %v", seen, err)
			}
			if tt.between != nil {
				if _, err := l.save(ctx, entityKey("E-1"), *tt.between, seen.rev); err != nil {
					t.Fatal(err)
				}
			}
			if err := l.applied(ctx, "E-1", Applied{Time: tt.event, EventID: "mine"}, &seen); err != nil {
				t.Fatal(err)
			}
			got, err := l.entity(ctx, "E-1")
			if err != nil || got.EventID != tt.wantLatest {
				t.Errorf("latest = %+v, %v; want %s", got, err, tt.wantLatest)
			}
		})
	}
}
