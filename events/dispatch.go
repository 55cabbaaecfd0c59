package events

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// dispatcher applies the events of each entity one at a time, in the order they were fetched (stream order, the
// consumer being pinned to this worker), while the events of other entities run concurrently, at most
// Concurrency at once. The entity key is the CloudEvent subject; a message with none (one that is not a valid
// event) runs on its own.
//
// When an event is handed back for later (NakWithDelay: a retry, an outage, an open breaker), its entity is
// blocked: the later events of the entity are handed back too and line up behind it, and when they come back only
// the head of the line runs, so that none overtakes another. The head leaves the line once it is settled. A head
// that does not come back by AckWait after it was due (its redelivery went to another worker) leaves it too.
type dispatcher struct {
	w        *Worker
	ctx      context.Context // the work context: cancelled DrainTimeout after Run's
	inflight *sync.WaitGroup
	held     chan struct{} // messages fetched and not settled: queued, waiting for a slot, or running
	over     int           // messages held beyond held's capacity, pulled to keep the pin (guarded by mu)

	idle chan drainJob // a job handed to an idle goroutine (see spawn)
	// running counts the goroutines running drains, at most Concurrency (the slots); ready holds the drains
	// waiting for one, in the order they came, each kept alive meanwhile (guarded by mu).
	running int
	ready   []drainJob

	mu       sync.Mutex
	heldSeqs map[uint64]bool     // the stream sequences of the messages held (see held)
	queues   map[string][]queued // per entity key, the messages waiting behind the one running
	blocks   map[string]block
}

// queued is a message (at stream sequence seq) waiting behind an earlier one of its entity; stop ends its
// in-progress signals.
type queued struct {
	msg  jetstream.Msg
	seq  uint64
	stop func()
}

// block is the line of an entity's events handed back for later, by stream sequence: only seqs[0] may run. It is
// due back at until; if it is not back by expires it leaves the line.
type block struct {
	seqs           []uint64
	until, expires time.Time
}

func newDispatcher(w *Worker, ctx context.Context, inflight *sync.WaitGroup) *dispatcher {
	return &dispatcher{
		w: w, ctx: ctx, inflight: inflight,
		held:   make(chan struct{}, 2*w.cfg.Concurrency),
		queues: map[string][]queued{}, blocks: map[string]block{}, heldSeqs: map[uint64]bool{},
		idle: make(chan drainJob),
	}
}

// reserveUpTo reserves room for as many messages as are free (at least one), waiting for a place up to wait. If
// none frees by then, it reserves one over the capacity (see fetch): a pull is made either way. false if ctx
// ended first.
func (p *dispatcher) reserveUpTo(ctx context.Context, wait time.Duration) (n int, ok bool) {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case p.held <- struct{}{}:
	case <-t.C:
		p.mu.Lock()
		p.over++
		p.mu.Unlock()
		return 1, true
	case <-ctx.Done():
		return 0, false
	}
	for n = 1; n < cap(p.held); n++ {
		select {
		case p.held <- struct{}{}:
		default:
			return n, true
		}
	}
	return n, true
}

// release gives back the places of n messages (settled, or reserved and not fetched).
func (p *dispatcher) release(n int) {
	for range n {
		p.mu.Lock()
		if p.over > 0 {
			p.over--
			p.mu.Unlock()
			continue
		}
		p.mu.Unlock()
		<-p.held
	}
}

// dispatch runs msg now, or queues it behind the message of its entity that is running.
func (p *dispatcher) dispatch(msg jetstream.Msg) {
	p.inflight.Add(1)
	p.w.inflight.Add(1)
	var seq uint64
	if meta, err := msg.Metadata(); err == nil {
		seq = meta.Sequence.Stream
	}
	_, key := peek(msg.Headers(), msg.Data())
	p.mu.Lock()
	p.heldSeqs[seq] = true
	if key == "" {
		p.mu.Unlock()
		p.spawn(drainJob{msg: msg, seq: seq})
		return
	}
	if q, busy := p.queues[key]; busy {
		p.queues[key] = append(q, queued{msg, seq, p.w.keepQueued(msg)})
		p.mu.Unlock()
		return
	}
	p.queues[key] = nil
	p.mu.Unlock()
	p.spawn(drainJob{key: key, msg: msg, seq: seq})
}

// drainJob is a drain to run: an entity's line from msg (at stream sequence seq) on (key "": a message of no
// entity); alive, when set, ends the in-progress signals that kept msg alive while it waited.
type drainJob struct {
	key   string
	msg   jetstream.Msg
	seq   uint64
	alive func()
}

// spawn runs job in a free slot, or puts it in the ready line (kept alive with InProgress meanwhile, so that a
// wait behind slow events of other entities does not outlive AckWait) when all Concurrency slots are taken. A slot
// is a goroutine: an idle one of the dispatcher's when there is one, else a new one. Goroutines are reused, and
// waiting messages have none (an idle goroutine that has not yet taken its next job may make one more start
// than there are slots, briefly): a goroutine that ran events has grown its stack to what running one takes, and a goroutine
// per message (waiting ones included) grew its stack again each time, and shrank it at the next GC while waiting.
func (p *dispatcher) spawn(job drainJob) {
	p.mu.Lock()
	if p.running >= p.w.cfg.Concurrency {
		job.alive = p.w.keepQueued(job.msg)
		p.ready = append(p.ready, job)
		p.mu.Unlock()
		return
	}
	p.running++
	p.mu.Unlock()
	select {
	case p.idle <- job:
	default:
		go p.serve(job)
	}
}

// serve runs job, then the jobs of the ready line, then waits idle for the next one until the dispatcher's
// context ends.
func (p *dispatcher) serve(job drainJob) {
	for {
		p.drain(job)
		p.mu.Lock()
		if len(p.ready) > 0 {
			job = p.ready[0]
			p.ready[0] = drainJob{}
			p.ready = p.ready[1:]
			p.mu.Unlock()
			continue
		}
		p.running--
		p.mu.Unlock()
		select {
		case job = <-p.idle:
		case <-p.ctx.Done():
			return
		}
	}
}

// drain runs job's message, then the messages queued behind it, until the entity's queue is empty.
func (p *dispatcher) drain(job drainJob) {
	key, msg, seq, alive := job.key, job.msg, job.seq, job.alive
	for {
		p.handle(key, msg, seq, alive)
		if key == "" {
			return
		}
		p.mu.Lock()
		q := p.queues[key]
		if len(q) == 0 {
			delete(p.queues, key)
			p.mu.Unlock()
			return
		}
		next := q[0]
		p.queues[key] = q[1:]
		p.mu.Unlock()
		msg, seq, alive = next.msg, next.seq, next.stop
	}
}

// handle settles one message, in its entity's line if it has one, in a slot. alive, when set, ends the
// in-progress signals the message had while it waited; processWith keeps it alive from then on.
func (p *dispatcher) handle(key string, msg jetstream.Msg, seq uint64, alive func()) {
	defer p.inflight.Done()
	defer p.w.inflight.Add(-1)
	defer p.release(1)
	defer func() {
		p.mu.Lock()
		delete(p.heldSeqs, seq)
		p.mu.Unlock()
	}()
	wait, head := p.admit(key, seq)
	if alive != nil {
		alive()
	}
	d := p.w.processWith(p.ctx, msg, func(f *facts) { f.heldBack = wait })
	if key == "" || wait > 0 {
		return
	}
	p.settled(key, seq, head, d.nakDelay)
}

// admit says whether a message of entity key may run now: wait 0 if it may (head: as the head of the line), or
// how long it must wait, having joined the line.
func (p *dispatcher) admit(key string, seq uint64) (wait time.Duration, head bool) {
	if key == "" {
		return 0, false
	}
	now := p.w.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	b, ok := p.blocks[key]
	if !ok {
		return 0, false
	}
	if now.After(b.expires) {
		// The head did not come back here: the next in line goes first.
		b.seqs = b.seqs[1:]
		b.until, b.expires = now, now.Add(p.w.cfg.BackoffMax+p.w.cfg.AckWait)
	}
	if len(b.seqs) == 0 {
		delete(p.blocks, key)
		return 0, false
	}
	p.blocks[key] = b
	if b.seqs[0] == seq {
		return 0, true
	}
	pos := slices.Index(b.seqs, seq)
	if pos < 0 {
		b.seqs = append(b.seqs, seq)
		p.blocks[key] = b
		pos = len(b.seqs) - 1
	}
	return max(b.until.Sub(now), p.w.cfg.BackoffBase) + time.Duration(pos)*busyMargin, false
}

// settled updates the line of entity key after the message at seq ran: handed back (nakDelay > 0) it heads the
// line (or starts one); settled, it leaves it.
func (p *dispatcher) settled(key string, seq uint64, head bool, nakDelay time.Duration) {
	now := p.w.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	b, ok := p.blocks[key]
	switch {
	case nakDelay > 0 && ok:
		b.until, b.expires = now.Add(nakDelay), now.Add(nakDelay+p.w.cfg.AckWait)
		p.blocks[key] = b
	case nakDelay > 0:
		p.blocks[key] = block{seqs: []uint64{seq}, until: now.Add(nakDelay), expires: now.Add(nakDelay + p.w.cfg.AckWait)}
	case ok && (head || slices.Contains(b.seqs, seq)):
		// Settled, it leaves the line: as its head, or (admitted before the line was drawn, see inherit) from
		// wherever it stood.
		b.seqs = slices.DeleteFunc(b.seqs, func(s uint64) bool { return s == seq })
		if len(b.seqs) == 0 {
			delete(p.blocks, key)
			return
		}
		b.until, b.expires = now, now.Add(p.w.cfg.BackoffMax+p.w.cfg.AckWait)
		p.blocks[key] = b
	}
}

// keepQueued tells JetStream, every AckWait/3, that a message waiting behind an earlier one of its entity is still
// being worked on, until stopped.
func (w *Worker) keepQueued(msg jetstream.Msg) (stop func()) {
	return repeat(w.cfg.AckWait/3, func() bool {
		_ = msg.InProgress()
		return true
	})
}

// repeat calls tick every period until tick returns false or stop is called. It costs a timer, not a goroutine.
// stop waits for a tick that is running, so that nothing a tick does happens after stop returns.
func repeat(period time.Duration, tick func() (again bool)) (stop func()) {
	var mu sync.Mutex
	stopped := false
	var t *time.Timer
	mu.Lock() // t is assigned before the first tick reads it
	defer mu.Unlock()
	t = time.AfterFunc(period, func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		if !tick() {
			stopped = true
			return
		}
		t.Reset(period)
	})
	return func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		t.Stop()
	}
}
