package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ponte-dev/ponte/clients/fault"
	"github.com/ponte-dev/ponte/cmd/internal/harness"
)

// scenario is one fault and what must hold under it.
type scenario struct {
	id, name string
	// nodes is the nats-server nodes (1, or 3 for a cluster with R3 streams and bucket); workers the ponte run
	// processes at the start.
	nodes, workers int
	// persons and contracts are the entities (three events each); poison the messages that must be dead-lettered.
	persons, contracts, poison int
	// config is set on the workers' configuration ("worker.ackWait": "4s").
	config map[string]any
	// before runs once the workers are up, before the events are published (faults present from the start).
	before func(r *run) error
	// fault runs after the events are published, while they are processed; it returns when the fault is over.
	fault func(r *run) error
	// check adds the scenario's own conditions to the verdict.
	check func(r *run, v *verdict)
	// timeout bounds the wait for every input to settle after the fault.
	timeout time.Duration
}

// run is one scenario being run.
type run struct {
	ctx         context.Context
	s           *scenario
	dir         string
	nats        *harness.NATSCluster
	sb          *harness.Sandbox
	ws          *workerSet
	obs         *observer
	nc          *nats.Conn
	js          jetstream.JetStream
	load        *load
	acked       map[string]bool
	seqs        map[string]uint64 // input key -> its stream sequence
	tokenFile   string
	maxAttempts int
	zeevUsers   map[string]string // Zeev user id -> username
	logf        func(format string, args ...any)
	rnd         *rand.Rand

	mu       sync.Mutex
	problems []string
}

func (r *run) problem(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

// options are the harness's settings.
type options struct {
	ponte, natsServer, repo, work string
	scale                         float64
	keep                          bool
	log                           io.Writer
}

// runScenario starts everything the scenario needs, publishes its events, injects its fault, waits for every
// input to settle, stops everything and judges.
func runScenario(ctx context.Context, opt options, s *scenario) *verdict {
	v := &verdict{scenario: s.id + ". " + s.name}
	began := time.Now()
	defer func() { v.total = time.Since(began) }()
	dir, err := os.MkdirTemp(opt.work, "scenario-"+s.id+"-")
	if err != nil {
		v.problem("%v", err)
		return v
	}
	r := &run{ctx: ctx, s: s, dir: dir, seqs: map[string]uint64{}, zeevUsers: map[string]string{}, maxAttempts: 10,
		rnd: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7)),
		logf: func(format string, args ...any) {
			fmt.Fprintf(opt.log, "  [%s] %s\n", s.id, fmt.Sprintf(format, args...))
		}}
	if err := r.setUp(opt); err != nil {
		v.problem("set-up: %v", err)
		r.tearDown()
		r.logf("logs kept in %s", dir)
		return v
	}
	r.exercise(v)
	r.logf("all settled; drain after the fault %v", v.drain.Round(100*time.Millisecond))
	for _, s := range r.sb.Sims() { // the faults end with the run: reading the state back must not wait on them
		if err := harness.SetFaults(s, fault.Faults{}); err != nil {
			v.problem("%v", err)
		}
	}
	r.quiesce()
	if err := r.readZeevUsers(); err != nil {
		v.problem("%v", err)
	}
	r.obs.close()
	if err := r.ws.stop(); err != nil {
		v.problem("stop workers: %v", err)
	}
	judge(r, v)
	if s.check != nil {
		s.check(r, v)
	}
	v.problems = append(v.problems, r.problems...)
	r.tearDown()
	if v.ok() && !opt.keep {
		os.RemoveAll(dir)
	} else {
		r.logf("logs kept in %s", dir)
	}
	return v
}

func (r *run) setUp(opt options) error {
	s := r.s
	scale := func(n int) int {
		if n == 0 {
			return 0
		}
		return max(1, int(float64(n)*opt.scale))
	}
	fixtures := filepath.Join(r.dir, "fixtures")
	persons := scale(s.persons)
	if err := harness.WriteFixtures(filepath.Join(opt.repo, "examples", "sandbox"), fixtures, persons); err != nil {
		return err
	}
	l, err := newLoad(fmt.Sprintf("s%s-%d", s.id, time.Now().Unix()%100000), persons, scale(s.contracts), scale(s.poison))
	if err != nil {
		return err
	}
	r.load = l
	if r.nats, err = harness.NewCluster(opt.natsServer, r.dir, s.nodes); err != nil {
		return err
	}
	if err := r.nats.Start(r.ctx); err != nil {
		return err
	}
	if r.sb, err = harness.StartSandbox(r.ctx, r.dir, opt.ponte, fixtures); err != nil {
		return err
	}
	set := map[string]any{"worker.ackWait": "10s"}
	for k, v := range s.config {
		set[k] = v
	}
	if a, ok := set["worker.maxAttempts"].(int); ok {
		r.maxAttempts = a
	}
	config, tokenFile, err := harness.WriteConfig(r.dir, filepath.Join(opt.repo, "examples", "ponte.yaml"), r.nats, r.sb, set)
	if err != nil {
		return err
	}
	r.tokenFile = tokenFile
	r.ws = &workerSet{dir: r.dir, ponte: opt.ponte, config: config}
	for range s.workers {
		if _, err := r.ws.start(r.ctx); err != nil {
			return err
		}
	}
	if r.obs, err = newObserver(r.ctx, r.nats.URLs(), r.sb); err != nil {
		return err
	}
	if r.nc, err = nats.Connect(r.nats.URLs(), harness.Quiet("ponte-chaos")...); err != nil {
		return err
	}
	if r.js, err = jetstream.New(r.nc, jetstream.WithPublishAsyncTimeout(30*time.Second)); err != nil {
		return err
	}
	// The workers' consumer is paused while the backlog is published, so that the fault meets a run in full
	// flow rather than one already over.
	if err := harness.Patiently(r.ctx, "pause the consumer", func(ctx context.Context) error {
		_, err := r.js.PauseConsumer(ctx, "PONTE_EVENTS", "ponte-events", time.Now().Add(10*time.Minute))
		return err
	}); err != nil {
		return err
	}
	r.logf("publishing %d messages (%d persons, %d contracts, %d poison)", len(l.inputs), persons, scale(s.contracts), scale(s.poison))
	if r.acked, err = l.publish(r.ctx, r.js); err != nil {
		return err
	}
	if err := r.readSeqs(); err != nil {
		return err
	}
	if s.before != nil {
		if err := s.before(r); err != nil {
			return err
		}
	}
	if err := harness.Patiently(r.ctx, "resume the consumer", func(ctx context.Context) error {
		_, err := r.js.ResumeConsumer(ctx, "PONTE_EVENTS", "ponte-events")
		return err
	}); err != nil {
		return err
	}
	return nil
}

// readSeqs maps every input to its stream sequence, from the stream itself (a PubAck future does not say it).
func (r *run) readSeqs() error {
	var c jetstream.Consumer
	if err := harness.Patiently(r.ctx, "read the input stream", func(ctx context.Context) (err error) {
		c, err = r.js.OrderedConsumer(ctx, "PONTE_EVENTS", jetstream.OrderedConsumerConfig{HeadersOnly: true})
		return err
	}); err != nil {
		return err
	}
	deadline := time.Now().Add(2 * time.Minute) // a loaded machine, a cluster electing leaders: be patient
	for len(r.seqs) < len(r.acked) {
		if time.Now().After(deadline) {
			return fmt.Errorf("the input stream gave %d of the %d messages published within 2m", len(r.seqs), len(r.acked))
		}
		batch, err := c.Fetch(500, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			r.logf("reading the input stream back: %v; again", err)
			continue
		}
		for m := range batch.Messages() {
			if md, err := m.Metadata(); err == nil {
				r.seqs[m.Headers().Get(jetstream.MsgIDHeader)] = md.Sequence.Stream
			}
		}
	}
	return nil
}

// exercise runs the fault and waits for every input to settle; the drain is the time from the fault's end.
func (r *run) exercise(v *verdict) {
	faultEnd := time.Now()
	if r.s.fault != nil {
		if err := r.s.fault(r); err != nil {
			v.problem("fault: %v", err)
		}
		faultEnd = time.Now()
	}
	timeout := r.s.timeout
	if timeout == 0 {
		timeout = 5 * time.Minute
	}
	if err := r.waitSettled(len(r.acked), timeout); err != nil {
		v.problem("%v", err)
	}
	v.drain = time.Since(faultEnd)
}

// waitSettled waits until n inputs have a result or a dead letter.
func (r *run) waitSettled(n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	last, lastAt := -1, time.Now()
	for {
		got := r.obs.settled(r.acked)
		if got >= n {
			return nil
		}
		if got != last {
			last, lastAt = got, time.Now()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d inputs settled within %v (the last settled %v ago)", got, len(r.acked), timeout, time.Since(lastAt).Round(time.Second))
		}
		select {
		case <-r.ctx.Done():
			return r.ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitFraction waits until a share f of the inputs settled.
func (r *run) waitFraction(f float64) error {
	return r.waitSettled(int(f*float64(len(r.acked))), 5*time.Minute)
}

// quiesce waits until the consumer has nothing pending or unacknowledged, so that a late redelivery cannot write
// after the count.
func (r *run) quiesce() {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(r.ctx, 5*time.Second)
		c, err := r.js.Consumer(ctx, "PONTE_EVENTS", "ponte-events")
		if err == nil {
			info := c.CachedInfo()
			if info.NumPending == 0 && info.NumAckPending == 0 {
				cancel()
				time.Sleep(500 * time.Millisecond) // the last answers of the simulators reach the followed logs
				return
			}
		}
		cancel()
		time.Sleep(200 * time.Millisecond)
	}
	r.problem("the consumer still had messages pending or unacknowledged 60s after every input settled")
}

// readZeevUsers maps the Zeev user ids of the generated persons to their usernames, to attribute deactivations.
func (r *run) readZeevUsers() error {
	c := &http.Client{Timeout: 5 * time.Second}
	for i := range r.load.persons {
		req, _ := http.NewRequest(http.MethodGet, r.sb.Zeev.Base+"/api/2/users/username/"+username(i), nil)
		req.Header.Set("Authorization", "Bearer "+harness.ZeevRotatedToken)
		res, err := c.Do(req)
		if err != nil {
			return fmt.Errorf("read zeev user %s: %w", username(i), err)
		}
		var u struct {
			ID int `json:"id"`
		}
		err = json.NewDecoder(res.Body).Decode(&u)
		res.Body.Close()
		if err == nil && u.ID > 0 {
			r.zeevUsers[fmt.Sprint(u.ID)] = username(i)
		}
	}
	return nil
}

func (r *run) tearDown() {
	if r.nc != nil {
		r.nc.Close()
	}
	if r.ws != nil {
		for _, w := range r.ws.live() {
			w.p.Kill()
		}
	}
	if r.sb != nil {
		r.sb.P.Kill()
	}
	if r.nats != nil {
		r.nats.Stop()
	}
}

// busiest returns the live worker that settled the most events since its start (the pinned one).
func (r *run) busiest() *worker {
	var best *worker
	bestN := -1.0
	for _, w := range r.ws.live() {
		if n := w.metric("ponte_events_processed_total"); n > bestN {
			best, bestN = w, n
		}
	}
	return best
}

// between returns a random fraction in [lo, hi).
func (r *run) between(lo, hi float64) float64 { return lo + r.rnd.Float64()*(hi-lo) }

// names lists the ids and names of the scenarios.
func names(ss []*scenario) string {
	var b strings.Builder
	for _, s := range ss {
		fmt.Fprintf(&b, "  %-3s %s\n", s.id, s.name)
	}
	return b.String()
}
