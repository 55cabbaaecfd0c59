package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"gopkg.in/yaml.v3"

	"github.com/ponte-dev/ponte/clients/fault"
	"github.com/ponte-dev/ponte/cmd/internal/harness"
)

// options are the harness's settings, from its flags.
type options struct {
	ponte, natsServer, repo, work string
	// self is the binary whose `reference` subcommand is the reference worker (this one).
	self              string
	profile           string
	scale             float64
	runs, concurrency int
	hires             int
	// defaultConcurrency is examples/ponte.yaml's worker.concurrency (0 if it says none), for the labels.
	defaultConcurrency int
	pprof, keep        bool
	log                io.Writer
}

// The streams and consumers a run reads.
const (
	inputStream  = "PONTE_EVENTS"
	resultStream = "PONTE_RESULTS"
	dlqStream    = "PONTE_DLQ"
)

// exampleConcurrency returns the worker.concurrency of the configuration at path (examples/ponte.yaml), 0 if it
// sets none.
func exampleConcurrency(path string) (int, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var cfg struct {
		Worker struct {
			Concurrency int `yaml:"concurrency"`
		} `yaml:"worker"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return cfg.Worker.Concurrency, nil
}

// consumerOf is the durable consumer the worker reads the input stream with.
func consumerOf(worker string) string {
	if worker == workerReference {
		return "reference-events"
	}
	return "ponte-events"
}

// runScenario runs every spec of s, rounds times over, interleaved, and returns one row per spec; with
// opt.profile, scenario a adds one more ponte run per event type, profiled and left out of the table.
func runScenario(ctx context.Context, opt options, s scenario) ([]row, error) {
	byLabel := map[string][]*measurement{}
	var order []string
	for round := range s.rounds {
		for _, sp := range s.specs {
			if sp.once && round > 0 {
				continue
			}
			key := sp.label + "\x00" + sp.typ
			if _, ok := byLabel[key]; !ok {
				order = append(order, key)
			}
			m := runOnce(ctx, opt, s, sp, round, "")
			byLabel[key] = append(byLabel[key], m)
			if ctx.Err() != nil {
				return aggregate(s, order, byLabel), ctx.Err()
			}
		}
	}
	rows := aggregate(s, order, byLabel)
	if opt.profile != "" && s.id == "a" {
		for _, r := range rows {
			if r.spec.worker != workerPonte {
				continue
			}
			sp := r.spec
			// About 20 s of work at the measured rate, so that the profile covers a drain in full flow; for the hires at
			// most as many as were measured (the simulator's people are made for those).
			if n := int(r.rate * 22); sp.typ == typePersonHired {
				sp.events = min(sp.events, n+1)
			} else {
				sp.events = min(max(sp.events, n), 200_000)
			}
			path := filepath.Join(opt.profile, "cpu-"+sp.typ+".pprof")
			m := runOnce(ctx, opt, s, sp, -1, path)
			if len(m.problems) > 0 {
				return rows, fmt.Errorf("the profiled run of %s %s: %s", sp.label, sp.typ, strings.Join(m.problems, "; "))
			}
			fmt.Fprintf(opt.log, "  profile of %s %s (%d events, %.0f/s) in %s: go tool pprof -top %s\n", sp.label, sp.typ, m.events, m.rate, path, path)
		}
	}
	return rows, nil
}

// bench is one run being run: the processes it started and its connections.
type bench struct {
	ctx     context.Context
	opt     options
	sp      spec
	dir     string
	logf    func(format string, args ...any)
	nats    *harness.NATSCluster
	sb      *harness.Sandbox
	workers []*runningWorker
	nc      *nats.Conn
	js      jetstream.JetStream
	load    *load
	// own counts the harness's requests to each simulator (by name), which simCounts leaves out.
	own map[string]int64
}

// runningWorker is one worker process of a run and its ops address (ponte: /readyz, /metrics, /debug/pprof).
type runningWorker struct {
	p   *harness.Proc
	ops string
}

// runOnce runs one spec once, on processes of its own, and returns what it measured; profile, when set, is where
// a 20 s CPU profile of the (ponte) worker taken from the start of the measuring window is written.
func runOnce(ctx context.Context, opt options, s scenario, sp spec, round int, profile string) *measurement {
	m := &measurement{spec: sp}
	tag := fmt.Sprintf("%s %s %s", s.id, sp.label, sp.typ)
	if round >= 0 {
		tag += fmt.Sprintf(" run %d", round+1)
	} else {
		tag += " (profiled)"
	}
	dir, err := os.MkdirTemp(opt.work, s.id+"-"+slug(sp.label+" "+sp.typ)+"-")
	if err != nil {
		m.problem("%v", err)
		return m
	}
	b := &bench{ctx: ctx, opt: opt, sp: sp, dir: dir, own: map[string]int64{}, logf: func(format string, args ...any) {
		fmt.Fprintf(opt.log, "  [%s] %s\n", tag, fmt.Sprintf(format, args...))
	}}
	began := time.Now()
	if err := b.setUp(profile != ""); err != nil {
		m.problem("set-up: %v", err)
	} else {
		b.measure(m, profile)
	}
	b.tearDown(m)
	if m.ok() && !opt.keep {
		os.RemoveAll(dir)
	} else {
		b.logf("logs kept in %s", dir)
	}
	status := "count check ok"
	if !m.ok() {
		status = "FAILED: " + strings.Join(m.problems, "; ")
	}
	b.logf("%d events, %.0f/s, worker %.0f µs/event, nats-server %.0f µs/event; %s (run took %v)", m.events, m.rate,
		perEvent(m.workerCPU, m.events), perEvent(m.natsCPU, m.events), status, time.Since(began).Round(100*time.Millisecond))
	return m
}

// setUp starts nats-server, the sandbox and the workers, and generates the load.
func (b *bench) setUp(pprof bool) error {
	sp := b.sp
	events := sp.events
	if sp.rate > 0 {
		events = int(float64(sp.rate) * sp.duration.Seconds())
	}
	persons := 0
	if sp.typ == typePersonHired {
		persons = events
	}
	l, err := newLoad(fmt.Sprintf("b%d", time.Now().UnixNano()%1_000_000), sp.typ, events)
	if err != nil {
		return err
	}
	b.load = l
	fixtures := filepath.Join(b.dir, "fixtures")
	if err := harness.WriteFixtures(filepath.Join(b.opt.repo, "examples", "sandbox"), fixtures, persons); err != nil {
		return err
	}
	if b.nats, err = harness.NewCluster(b.opt.natsServer, b.dir, 1); err != nil {
		return err
	}
	if err := b.nats.Start(b.ctx); err != nil {
		return err
	}
	if b.sb, err = harness.StartSandbox(b.ctx, b.dir, b.opt.ponte, fixtures); err != nil {
		return err
	}
	if sp.latency > 0 {
		if err := harness.SetFaults(b.sb.CidadES, fault.Faults{Latency: fault.Duration(sp.latency)}); err != nil {
			return err
		}
	}
	for i := range sp.replicas {
		if err := b.startWorker(i+1, pprof || b.opt.pprof); err != nil {
			return err
		}
	}
	if b.nc, err = nats.Connect(b.nats.URLs(), harness.Quiet("ponte-bench")...); err != nil {
		return err
	}
	b.js, err = jetstream.New(b.nc, jetstream.WithPublishAsyncMaxPending(4096), jetstream.WithPublishAsyncTimeout(time.Minute))
	return err
}

// startWorker starts worker process i (a ponte run, or the reference) and waits until it is ready.
func (b *bench) startWorker(i int, pprof bool) error {
	ports, err := harness.FreePorts(1)
	if err != nil {
		return err
	}
	w := &runningWorker{ops: fmt.Sprintf("127.0.0.1:%d", ports[0])}
	name := fmt.Sprintf("%s-%d", b.sp.worker, i)
	if b.sp.worker == workerReference {
		args := []string{"reference", "-nats", b.nats.URLs(), "-cidades", b.sb.CidadES.Base, "-listen", w.ops}
		if b.sp.concurrency > 0 {
			args = append(args, "-concurrency", strconv.Itoa(b.sp.concurrency))
		}
		if w.p, err = harness.Start(b.dir, name, b.opt.self, args, nil); err != nil {
			return err
		}
	} else {
		wdir := filepath.Join(b.dir, name)
		if err := os.MkdirAll(wdir, 0o755); err != nil {
			return err
		}
		// Only what the run needs: its addresses (WriteConfig), concurrency and profiling.
		set := map[string]any{"http.listen": w.ops, "nats.name": "ponte-" + name}
		if b.sp.concurrency > 0 {
			set["worker.concurrency"] = b.sp.concurrency
		}
		if pprof {
			set["http.pprof"] = true
		}
		config, _, err := harness.WriteConfig(wdir, filepath.Join(b.opt.repo, "examples", "ponte.yaml"), b.nats, b.sb, set)
		if err != nil {
			return err
		}
		if w.p, err = harness.Start(b.dir, name, b.opt.ponte, []string{"run", "--config", config}, nil); err != nil {
			return err
		}
		if pprof {
			b.logf("%s profiles: go tool pprof http://%s/debug/pprof/profile?seconds=20", name, w.ops)
		}
	}
	b.workers = append(b.workers, w)
	wctx, cancel := context.WithTimeout(b.ctx, 60*time.Second)
	defer cancel()
	return harness.WaitHTTP(wctx, w.p, "http://"+w.ops+"/readyz")
}

// tearDown stops what the run started: the workers with SIGTERM (they drain), then the sandbox and nats-server.
func (b *bench) tearDown(m *measurement) {
	if b.nc != nil {
		b.nc.Close()
	}
	for _, w := range b.workers {
		if err := w.p.Stop(syscall.SIGTERM, 30*time.Second); err != nil {
			m.problem("stop %s: %v", w.p.Name, err)
		}
	}
	if b.sb != nil {
		b.sb.P.Kill()
	}
	if b.nats != nil {
		b.nats.Stop()
	}
}

// measure publishes the load, measures the window in which the worker answers it, and checks the answers.
func (b *bench) measure(m *measurement, profile string) {
	sp := b.sp
	consumer := consumerOf(sp.worker)
	if sp.rate == 0 {
		// The backlog is published while the consumer is paused, then the consumer is resumed: the window is
		// the drain alone.
		if err := harness.Patiently(b.ctx, "pause the consumer", func(ctx context.Context) error {
			_, err := b.js.PauseConsumer(ctx, inputStream, consumer, time.Now().Add(time.Hour))
			return err
		}); err != nil {
			m.problem("%v", err)
			return
		}
		pubStart := time.Now()
		if err := b.load.publishAll(b.ctx, b.js); err != nil {
			m.problem("publish the backlog: %v", err)
			return
		}
		b.logf("published %d %s in %v", len(b.load.ids), sp.typ, time.Since(pubStart).Round(10*time.Millisecond))
	}
	sims := b.sb.Sims()
	before, err := b.simCounts(sims)
	if err != nil {
		m.problem("%v", err)
		return
	}
	s0, err := b.sample()
	if err != nil {
		m.problem("%v", err)
		return
	}
	var profDone chan error
	if profile != "" {
		profDone = make(chan error, 1)
		go func() {
			profDone <- fetchProfile(b.ctx, "http://"+b.workers[0].ops+"/debug/pprof/profile?seconds=20", profile)
		}()
	}
	start := time.Now()
	var published int
	polls := 0
	if sp.rate == 0 {
		// Resumed by a pause that ends in a moment, not by ResumeConsumer: nats-server delivers to the pull
		// requests that wait on a paused consumer when its pause deadline passes (a timer signals the consumer),
		// but not when it is resumed through the API, and a worker whose pull request waits 30s would start
		// late.
		start = time.Now().Add(300 * time.Millisecond)
		if err := harness.Patiently(b.ctx, "resume the consumer", func(ctx context.Context) error {
			_, err := b.js.PauseConsumer(ctx, inputStream, consumer, start)
			return err
		}); err != nil {
			m.problem("%v", err)
			return
		}
		polls++
		time.Sleep(time.Until(start))
	} else {
		if published, err = b.load.publishAt(b.ctx, b.js, sp.rate); err != nil {
			m.problem("publish at %d/s: %v", sp.rate, err)
			return
		}
	}
	n, err := b.waitResults(len(b.load.ids), &polls)
	if err != nil {
		m.problem("%v", err)
	}
	s1, err := b.sample()
	if err != nil {
		m.problem("%v", err)
		return
	}
	if profDone != nil {
		if err := <-profDone; err != nil {
			m.problem("profile: %v", err)
		}
	}
	m.events = len(b.load.ids)
	m.workerCPU, m.natsCPU, m.simCPU = s1.workers-s0.workers, s1.nats-s0.nats, s1.sandbox-s0.sandbox
	m.peakRSS = s1.peakRSS
	m.allocated = s1.allocated - s0.allocated
	m.inMsgs = s1.inMsgs - s0.inMsgs - int64(published) - int64(polls)
	m.apiCalls = s1.api - s0.api - int64(polls)
	if n < len(b.load.ids) {
		return // the count check below would only list what is already known to be missing
	}
	if err := b.quiesce(consumer, m); err != nil {
		m.problem("%v", err)
	}
	after, err := b.simCounts(sims)
	if err != nil {
		m.problem("%v", err)
		return
	}
	m.simRequests = after.requests - before.requests
	if sp.typ == typeContractSigned {
		m.created, m.checkCreated = after.contratacoes-before.contratacoes, true
	}
	inputs, err := readStamps(b.ctx, b.js, inputStream, func(h nats.Header) string { return h.Get(nats.MsgIdHdr) })
	if err != nil {
		m.problem("read the inputs back: %v", err)
		return
	}
	results, err := readStamps(b.ctx, b.js, resultStream, func(h nats.Header) string { return h.Get("ce-causationid") })
	if err != nil {
		m.problem("read the results back: %v", err)
		return
	}
	dlq, err := b.streamMsgs(dlqStream)
	if err != nil {
		m.problem("%v", err)
	}
	m.dlq = dlq
	c := check(b.load.ids, inputs, results, dlq, m.checkCreated, m.created)
	m.problems = append(m.problems, c.problems...)
	m.p50, m.p99, m.p999 = c.p50, c.p99, c.p999
	m.window = c.last.Sub(start)
	if m.window > 0 {
		m.rate = float64(m.events) / m.window.Seconds()
	}
}

// waitResults waits until the result stream holds n messages, counting its requests in polls. It gives up when
// none came for a minute.
func (b *bench) waitResults(n int, polls *int) (int, error) {
	last, lastAt := -1, time.Now()
	for {
		got, err := b.streamMsgs(resultStream)
		*polls++
		if err == nil && int(got) >= n {
			return int(got), nil
		}
		if int(got) != last {
			last, lastAt = int(got), time.Now()
		}
		if time.Since(lastAt) > time.Minute {
			return int(got), fmt.Errorf("%d of %d results after a minute without one", got, n)
		}
		select {
		case <-b.ctx.Done():
			return int(got), b.ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// streamMsgs returns the messages stream holds; 0 if it does not exist.
func (b *bench) streamMsgs(stream string) (int64, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	s, err := b.js.Stream(ctx, stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", stream, err)
	}
	return int64(s.CachedInfo().State.Msgs), nil
}

// quiesce waits up to 10s until the consumer has nothing pending or unacknowledged (the last acks are on their
// way), then records its deliveries: every delivery beyond one per message is a redelivery.
func (b *bench) quiesce(consumer string, m *measurement) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		c, err := b.js.Consumer(ctx, inputStream, consumer)
		cancel()
		if err != nil {
			return fmt.Errorf("consumer %s: %w", consumer, err)
		}
		info := c.CachedInfo()
		if (info.NumPending == 0 && info.NumAckPending == 0) || time.Now().After(deadline) {
			m.redeliveries = int64(info.Delivered.Consumer) - int64(m.events)
			if info.NumPending > 0 || info.NumAckPending > 0 {
				return fmt.Errorf("consumer %s: %d pending and %d unacknowledged 10s after the last result", consumer, info.NumPending, info.NumAckPending)
			}
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// fetchProfile saves the profile at url into path.
func fetchProfile(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, res.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// slug makes s usable in a file name: "ponte c=128 contract.signed" -> "ponte-c128-contract.signed".
func slug(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.':
			b.WriteRune(r)
		case r == ' ' || r == ',':
			if !strings.HasSuffix(b.String(), "-") {
				b.WriteByte('-')
			}
		}
	}
	return b.String()
}
