package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ponte-dev/ponte/clients/cidades/cidadessim"
	"github.com/ponte-dev/ponte/events"
	"github.com/ponte-dev/ponte/events/embedded"
	"github.com/ponte-dev/ponte/examples"
)

// errDemoOver is why ponte dev --demo --once stops the worker.
var errDemoOver = errors.New("ponte dev --once: the demo is over")

// demoFailed is the error of a demo whose outcomes differ from the expected ones (ponte exits 1, as on any error).
type demoFailed struct{ failed, total int }

func (e demoFailed) Error() string {
	return fmt.Sprintf("demo: %d of %d events did not end as expected", e.failed, e.total)
}

func runDev(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet("dev", "Usage: ponte dev [--demo [--once]] [flags]\n\nRuns everything in one process on 127.0.0.1: an embedded NATS server with JetStream, the Zeev,\nSenior and CidadES simulators, and the worker wired to both. Publish events with `ponte publish`.")
	demo := fs.Bool("demo", false, "publish the example events (examples/events) and print one line per outcome")
	once := fs.Bool("once", false, "with --demo: exit when the demo's events are settled; status 0 only if every outcome was the expected one")
	timeout := fs.Duration("timeout", 2*time.Minute, "with --demo: how long to wait for the demo's outcomes")
	natsPort := fs.Int("nats-port", 4222, "port of the embedded NATS server (0: any free port)")
	monitorPort := fs.Int("monitor-port", 0, "port of the NATS monitoring endpoint (/varz, /jsz); 0 disables")
	httpAddr := fs.String("http", "127.0.0.1:8080", "address of /metrics, /healthz and /readyz (\"-\" disables)")
	dataDir := fs.String("data", "", "JetStream store directory (default: a temporary directory removed at exit)")
	configPath := fs.String("config", "", "configuration file for profiles and tuning (default: the built-in examples/ponte.yaml); its addresses and credentials are replaced by the embedded ones")
	logLevel := fs.String("log-level", "error", "worker log level on stderr: debug, info, warn, error")
	var sims simSettings
	registerSimFlags(fs, &sims, 0, 0, 0)
	if err := fs.parse(args, 0); err != nil {
		return err
	}
	if err := sims.checkTTLs(fs); err != nil {
		return err
	}
	if *once && !*demo {
		return fs.usageError(errors.New("dev: --once needs --demo"))
	}

	store := *dataDir
	if store == "" {
		tmp, err := os.MkdirTemp("", "ponte-dev-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		store = tmp
	}
	srv, err := embedded.Start(embedded.Options{Host: sims.host, Port: *natsPort, MonitorPort: *monitorPort, StoreDir: store})
	if err != nil {
		// The error names the address that failed, if one did: say which flag moves it.
		switch {
		case *natsPort > 0 && strings.Contains(err.Error(), net.JoinHostPort(sims.host, strconv.Itoa(*natsPort))):
			return fmt.Errorf("dev: %w (choose another port with --nats-port)", err)
		case *monitorPort > 0 && strings.Contains(err.Error(), net.JoinHostPort(sims.host, strconv.Itoa(*monitorPort))):
			return fmt.Errorf("dev: %w (choose another port with --monitor-port)", err)
		}
		return fmt.Errorf("dev: %w", err)
	}
	defer srv.Stop()
	simulators, err := startSimulators(sims)
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	defer simulators.Close()

	cfg, err := devConfig(*configPath, srv.ClientURL(), simulators, sims, *httpAddr, *logLevel)
	if err != nil {
		return err
	}
	level := new(slog.LevelVar)
	log := newLogger(cfg.Log, env.stderr, level)
	reg := newRegistry()
	nc, err := connectNATS(cfg.NATS, log, newNATSMetrics(reg))
	if err != nil {
		return err
	}
	svc, err := wire(cfg, nc, reg, log)
	if err != nil {
		nc.Close()
		return err
	}
	metricsURL := "(disabled)"
	if cfg.HTTP.Listen != "-" {
		ops, err := startOpsServer(cfg.HTTP.Listen, reg, svc.ready, cfg.HTTP.Pprof, level, log)
		if err != nil {
			svc.abandon()
			return fmt.Errorf("dev: %w (choose another address with --http)", err)
		}
		defer ops.Close()
		metricsURL = "http://" + ops.Addr() + "/metrics"
	}
	// The worker stops with ctx (its cause is the signal: "interrupt signal received"), or with the cause given to
	// stop, so that what it logs when it stops says why.
	workerCtx, stopWorker := context.WithCancelCause(ctx)
	defer stopWorker(nil)
	workerDone := make(chan struct{})
	var workerErr error
	go func() { workerErr = svc.run(workerCtx, cfg.NATS.DrainTimeout); close(workerDone) }()
	stop := func(cause error) error {
		stopWorker(cause)
		<-workerDone
		return workerErr
	}
	if err := waitReady(ctx, svc, workerDone, &workerErr); err != nil {
		if serr := stop(context.Cause(ctx)); ctx.Err() != nil && (serr == nil || stoppedEarly(ctx, serr)) {
			return nil // asked to stop while starting: not a failure
		}
		return err
	}

	fmt.Fprintf(env.stdout, `ponte dev: everything on %s, in one process
  NATS (JetStream)   %s
  Zeev simulator     %s
  Senior simulator   %s
  CidadES simulator  %s
  metrics            %s
`, sims.host, srv.ClientURL(), simulators.zeevURL, simulators.seniorAPI(), simulators.cidadesURL, metricsURL)

	// Follow every outcome from now on: the demo's, and those of events the user publishes.
	cl, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	tracker := newDemoTracker(env.stdout)
	for _, stream := range []string{cfg.JetStream.ResultStream, cfg.JetStream.DeadLetterStream} {
		if err := follow(workerCtx, cl, stream, false, tracker.outcome); err != nil {
			_ = stop(err)
			return err
		}
	}
	if *demo {
		fmt.Fprintf(env.stdout, "\ndemo: publishing the events of examples/events\n")
		if err := publishDemo(ctx, cl, tracker); err != nil {
			_ = stop(err)
			return err
		}
	}
	if *demo {
		wctx, cancel := context.WithTimeout(ctx, *timeout)
		select {
		case <-tracker.settled:
		case <-wctx.Done():
		}
		cancel()
		verdict := tracker.verdict()
		if *once || ctx.Err() != nil {
			if err := stop(errDemoOver); err != nil {
				return err
			}
			return verdict
		}
	}
	fmt.Fprintf(env.stdout, "\nrunning until Ctrl-C; new results and dead letters show up here. From another terminal in the repository:\n%s\n",
		devHints(srv.ClientURL()))
	<-ctx.Done()
	return stop(context.Cause(ctx))
}

// devHints are the publish and watch commands to paste into another terminal, one per line, for the embedded
// server at natsURL: with --nats unless it is the URL they default to.
func devHints(natsURL string) string {
	nats := ""
	if natsURL != defaultNATSURL {
		nats = " --nats " + natsURL
	}
	return fmt.Sprintf("  go run ./cmd/ponte publish person.hired --data @examples/data/person.hired.json --id my-first-event%s\n"+
		"  go run ./cmd/ponte watch%s\n", nats, nats)
}

// noEnv and noEnviron are an empty environment: ponte dev reads no variables.
func noEnv(string) string { return "" }

func noEnviron() []string { return nil }

// devConfig is the configuration of ponte dev: the profiles and tuning of the example (or given) file, with the
// embedded NATS server's and simulators' addresses and credentials.
func devConfig(path, natsURL string, s *simulators, set simSettings, httpAddr, level string) (Config, error) {
	name, b := "examples/ponte.yaml", []byte(nil)
	var err error
	if path != "" {
		name = path
		b, err = os.ReadFile(path)
	} else {
		b, err = examples.FS.ReadFile("ponte.yaml")
	}
	if err != nil {
		return Config{}, fmt.Errorf("dev: %w", err)
	}
	cfg, err := parseConfig(name, b, noEnv, noEnviron)
	if err != nil {
		return cfg, err
	}
	cfg.NATS = NATSConfig{URL: natsURL, Name: "ponte-dev", ConnectTimeout: 5 * time.Second, DrainTimeout: 5 * time.Second}
	cfg.JetStream.Manage = true
	cfg.JetStream.Replicas = 1
	cfg.HTTP.Listen = httpAddr
	cfg.Log = LogConfig{Level: level, Format: "text"}
	cfg.Worker.DrainTimeout = 5 * time.Second

	cfg.Zeev.BaseURL = s.zeevURL
	cfg.Zeev.TokenValue, cfg.Zeev.TokenFile, cfg.Zeev.Login, cfg.Zeev.PasswordValue, cfg.Zeev.PasswordFile = set.firstZeevToken(), "", "", "", ""
	cfg.Senior.BaseURL = s.seniorAPI()
	cfg.Senior.LoginURL = s.seniorLogin()
	cfg.Senior.AccessKey, cfg.Senior.SecretValue, cfg.Senior.SecretFile, cfg.Senior.TenantName = set.seniorAccessKey, set.seniorSecret, "", set.seniorTenant
	cfg.Senior.TokenValue, cfg.Senior.TokenFile, cfg.Senior.Username, cfg.Senior.PasswordValue, cfg.Senior.PasswordFile = "", "", "", "", ""
	cfg.CidadES.BaseURL, cfg.CidadES.TokenURL = s.cidadesURL, ""
	cfg.CidadES.UGs = map[string]CidadESUG{}
	for _, k := range s.cidKeys {
		if _, taken := cfg.CidadES.UGs[k.UnidadeGestora]; taken || k.Permissao != cidadessim.PermissaoLeituraEnvio {
			continue
		}
		cfg.CidadES.UGs[k.UnidadeGestora] = CidadESUG{ClientID: k.ClientID, ClientSecret: k.ClientSecret}
	}
	cfg = cfg.withDefaults()
	return cfg, cfg.validate()
}

// waitReady waits until svc is ready. It returns ctx's error if ctx ends first, and the worker's (*result, once
// done is closed) if the worker ends first.
func waitReady(ctx context.Context, svc *service, done <-chan struct{}, result *error) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for svc.ready() != nil {
		select {
		case <-done:
			if *result == nil {
				return errors.New("worker stopped")
			}
			return *result
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// demoEvent is one file of examples/events.
type demoEvent struct {
	Description string `json:"description"`
	Expect      struct {
		Outcome string `json:"outcome"` // processed, deadlettered or duplicate
		Reason  string `json:"reason"`  // for deadlettered
	} `json:"expect"`
	Publish struct {
		Subject string            `json:"subject"`
		Mode    string            `json:"mode"` // binary (default), structured or raw
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"`
	} `json:"publish"`
	Event json.RawMessage `json:"event"`

	name string
}

// message builds the NATS message of the demo event, and the key its outcome will be found by: the CloudEvent id,
// or for a raw message its bytes.
func (d *demoEvent) message() (*nats.Msg, string, error) {
	if d.Publish.Mode == "raw" {
		m := nats.NewMsg(d.Publish.Subject)
		m.Data = []byte(d.Publish.Body)
		for k, v := range d.Publish.Headers {
			m.Header.Set(k, v)
		}
		return m, rawKey(m.Data), nil
	}
	var ev event.Event
	if err := json.Unmarshal(d.Event, &ev); err != nil {
		return nil, "", fmt.Errorf("%s: event: %w", d.name, err)
	}
	subject := d.Publish.Subject
	if subject == "" {
		subject = ev.Type()
	}
	if d.Publish.Mode == "structured" {
		m, err := events.Encode(subject, &ev, ev.ID())
		return m, ev.ID(), err
	}
	return events.EncodeBinary(subject, &ev, ev.ID()), ev.ID(), nil
}

func rawKey(b []byte) string { return "raw:" + base64.StdEncoding.EncodeToString(b) }

// loadDemo reads examples/events/*.json in name order.
func loadDemo() ([]*demoEvent, error) {
	names, err := fs.Glob(examples.FS, "events/*.json")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []*demoEvent
	for _, n := range names {
		b, err := examples.FS.ReadFile(n)
		if err != nil {
			return nil, err
		}
		d := &demoEvent{name: path.Base(n)}
		if err := json.Unmarshal(b, d); err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		out = append(out, d)
	}
	return out, nil
}

func publishDemo(ctx context.Context, js jetstream.JetStream, t *demoTracker) error {
	demo, err := loadDemo()
	if err != nil {
		return err
	}
	for _, d := range demo {
		m, key, err := d.message()
		if err != nil {
			return err
		}
		if d.Expect.Outcome != "duplicate" {
			t.expect(key, d)
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ack, err := js.PublishMsg(pctx, m)
		cancel()
		if err != nil {
			return fmt.Errorf("demo %s: publish: %w", d.name, err)
		}
		if d.Expect.Outcome == "duplicate" {
			t.duplicate(d, ack.Duplicate)
		}
	}
	t.published()
	return nil
}

// demoTracker matches outcomes with the demo's expectations and prints one line per outcome.
type demoTracker struct {
	w       io.Writer
	settled chan struct{}

	mu       sync.Mutex
	pending  map[string]*demoEvent
	total    int
	failed   int
	allSent  bool
	finished bool
}

func newDemoTracker(w io.Writer) *demoTracker {
	return &demoTracker{w: w, settled: make(chan struct{}), pending: map[string]*demoEvent{}}
}

func (t *demoTracker) expect(key string, d *demoEvent) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pending[key] = d
	t.total++
}

func (t *demoTracker) duplicate(d *demoEvent, dup bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total++
	mark := "✓"
	if !dup {
		mark, t.failed = "✗", t.failed+1
	}
	fmt.Fprintf(t.w, "%s %-27s DUP  deduplicated by JetStream (same CloudEvent id): nothing applied twice\n", mark, d.name)
}

func (t *demoTracker) published() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.allSent = true
	t.checkSettled()
}

// outcome is called for every result and dead letter.
func (t *demoTracker) outcome(ev *event.Event) {
	key, _ := ev.Extensions()["causationid"].(string)
	outcome, reason := "processed", ""
	if strings.HasSuffix(ev.Type(), ".deadlettered") {
		var dl events.DeadLetter
		_ = ev.DataAs(&dl)
		outcome, reason = "deadlettered", dl.Reason
		if key == "" {
			raw, _ := base64.StdEncoding.DecodeString(dl.Original.Data)
			key = rawKey(raw)
		}
	}
	line := describe(ev, false)
	t.mu.Lock()
	defer t.mu.Unlock()
	d, ok := t.pending[key]
	if !ok {
		fmt.Fprintf(t.w, "  %s\n", line)
		return
	}
	delete(t.pending, key)
	mark := "✓"
	if d.Expect.Outcome != outcome || (d.Expect.Reason != "" && d.Expect.Reason != reason) {
		mark, t.failed = "✗", t.failed+1
		line += fmt.Sprintf("   (expected %s %s)", d.Expect.Outcome, d.Expect.Reason)
	}
	fmt.Fprintf(t.w, "%s %-27s %s\n", mark, d.name, line)
	t.checkSettled()
}

func (t *demoTracker) checkSettled() {
	if t.allSent && len(t.pending) == 0 && !t.finished {
		t.finished = true
		close(t.settled)
	}
}

// verdict prints the summary and returns nil only if every expectation was met.
func (t *demoTracker) verdict() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for key, d := range t.pending {
		fmt.Fprintf(t.w, "✗ %-27s no outcome (expected %s %s) for %s\n", d.name, d.Expect.Outcome, d.Expect.Reason, strings.TrimPrefix(key, "raw:"))
		t.failed++
	}
	if t.failed > 0 {
		fmt.Fprintf(t.w, "\ndemo: %d of %d events did not end as expected\n", t.failed, t.total)
		return demoFailed{t.failed, t.total}
	}
	fmt.Fprintf(t.w, "\ndemo: all %d events ended as expected\n", t.total)
	return nil
}
