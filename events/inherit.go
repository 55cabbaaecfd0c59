package events

import (
	"context"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// maxInheritScan bounds how many input messages a worker taking the consumer over reads to find what its
// predecessor left unsettled, in units of MaxAckPending.
const maxInheritScan = 10

// inherit runs when the worker takes the consumer over (it starts, or a standby gets the pin): it finds the
// messages the previous holder was given and did not settle, and makes the dispatcher hold the later events of
// their entities until those come back (their AckWait runs out, at most AckWait from now) and run. Without it, a
// successor gets an entity's later events at once and its earlier ones only after their AckWait, and would apply
// them out of order. The unsettled messages are those above the consumer's ack floor, up to the last delivered,
// whose events the ledger has neither completed nor dead-lettered.
func (w *Worker) inherit(ctx context.Context, cons jetstream.Consumer, disp *dispatcher) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	info, err := cons.Info(ctx)
	if err != nil {
		w.log.Warn("taking the consumer over: cannot read what the previous holder left unsettled; an entity's events it held may run after its later ones", "err", err)
		return
	}
	if info.NumAckPending == 0 || w.input == nil {
		return
	}
	lo, hi := info.AckFloor.Stream+1, info.Delivered.Stream
	limit := lo + uint64(maxInheritScan*max(w.cfg.MaxAckPending, 1))
	pending := map[string][]uint64{}
	found := 0
	for seq := lo; seq <= hi && seq < limit && found < info.NumAckPending && ctx.Err() == nil; seq++ {
		raw, err := w.input.GetMsg(ctx, seq)
		if err != nil {
			continue // deleted, or purged since
		}
		ref, key := peek(raw.Header, raw.Data)
		if key == "" || !ref.known() || disp.holds(seq) {
			continue // no entity, or held here: not lost on the way
		}
		rec, _, err := w.ledger.load(ctx, LedgerKey(ref.source, ref.id))
		if err == nil && (!rec.Completed.IsZero() || !rec.DeadLettered.IsZero()) {
			continue // settled: acknowledged, or its redelivery is answered from the ledger
		}
		found++
		pending[key] = append(pending[key], seq)
	}
	if len(pending) == 0 {
		return
	}
	disp.inherit(pending, w.now(), w.cfg.AckWait)
	w.log.Info("took the consumer over: the later events of entities whose events the previous holder left unsettled wait for those",
		"unsettled", found, "entities", len(pending))
}

// holds reports whether the message at stream sequence seq is held here: dispatched and not settled yet.
func (p *dispatcher) holds(seq uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.heldSeqs[seq]
}

// inherit puts the unsettled messages of each entity (by stream sequence) at the head of its line, due back
// within ackWait; a head that is not back by twice that leaves the line.
func (p *dispatcher) inherit(pending map[string][]uint64, now time.Time, ackWait time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for key, seqs := range pending {
		b := p.blocks[key]
		b.seqs = append(b.seqs, seqs...)
		slices.Sort(b.seqs)
		b.seqs = slices.Compact(b.seqs)
		b.until, b.expires = now.Add(ackWait), now.Add(2*ackWait)
		p.blocks[key] = b
	}
}
