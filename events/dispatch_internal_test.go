package events

import (
	"testing"
	"time"
)

// TestEntityLine: once an event of an entity is handed back for later, the entity's later events line up behind
// it in stream order and run only as the head of the line, whatever order their redeliveries come back in.
func TestEntityLine(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	w := &Worker{cfg: Config{AckWait: 30 * time.Second, BackoffBase: time.Second, BackoffMax: time.Minute}, now: func() time.Time { return now }}
	p := newDispatcher(w, t.Context(), nil)
	const k = "E-1"
	runs := func(seq uint64) bool {
		t.Helper()
		wait, _ := p.admit(k, seq)
		return wait == 0
	}
	if !runs(1) {
		t.Fatal("no line yet: seq 1 must run")
	}
	p.settled(k, 1, false, 5*time.Second) // handed back for 5s: the line starts
	for _, seq := range []uint64{2, 3} {
		if runs(seq) {
			t.Fatalf("seq %d ran while seq 1 waits", seq)
		}
	}
	now = now.Add(5 * time.Second)
	if runs(3) || runs(2) {
		t.Fatal("2 or 3 came back before 1 and ran")
	}
	wait, head := p.admit(k, 1)
	if wait != 0 || !head {
		t.Fatal("seq 1 came back and did not run as the head")
	}
	p.settled(k, 1, true, 0) // settled: 2 is the head now
	if runs(3) {
		t.Fatal("3 ran before 2")
	}
	if wait, head := p.admit(k, 2); wait != 0 || !head {
		t.Fatal("2 did not run as the head")
	}
	p.settled(k, 2, true, 0)
	if wait, head := p.admit(k, 3); wait != 0 || !head {
		t.Fatal("3 did not run as the head")
	}
	p.settled(k, 3, true, 0)
	if _, lined := p.blocks[k]; lined {
		t.Fatal("the line outlived its last event")
	}
	// A head that never comes back (its redelivery went to another worker) leaves the line after AckWait.
	p.settled(k, 10, false, time.Second)
	if runs(11) {
		t.Fatal("11 ran while 10 waits")
	}
	now = now.Add(time.Second + w.cfg.AckWait + time.Millisecond)
	if wait, head := p.admit(k, 11); wait != 0 || !head {
		t.Fatal("11 still waits for a head that is gone")
	}
}
