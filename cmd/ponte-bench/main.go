// Command ponte-bench measures ponte on real processes against a reference worker measured in the same run
// (`make bench`, docs/benchmarks.md, issue 10).
//
// For each run it starts a fresh nats-server (the binary the Makefile builds from the Go module proxy, file
// storage, monitoring on), the three API simulators in their own process (`ponte sandbox`), and the worker: one
// or two `ponte run` processes, or the reference worker (`ponte-bench reference`, a hand-written nats.go pool that
// gives ponte's guarantees for contract.signed the simplest way; see reference.go). It pauses the worker's
// consumer, publishes the backlog, resumes it and waits until every event has its result; or, for the steady
// scenario, publishes at a fixed rate while the worker runs. Then it reads, from outside the worker: the CPU time
// of every process it started (/proc/<pid>/stat, all threads, over the measuring window) and the worker's peak
// RSS (VmHWM); the server's counters (/varz in_msgs, /jsz api.total); the consumer's deliveries; the stored time
// of every input and of every result (matched by the result's ce-causationid), for the latencies; and the
// simulators' request logs and CidadES's count of contratações, for the count check (every event answered once,
// no dead letter, each contract created once).
//
// It prints one Markdown table, one row per worker and configuration (medians over the runs), every throughput
// and CPU figure with its ratio to the reference of the same scenario; and exits 1 when a count check failed.
//
//	go run . [-run a,c] [-scale 0.1] [-runs 3] [-ponte ../../bin/ponte] [-nats-server ../../.tools/bin/nats-server]
//	go run . reference -nats URL -cidades URL [-concurrency 128]   # the reference worker alone
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/ponte-dev/ponte/cmd/internal/harness"
)

// defaultHires is the person.hired backlog of scenario a, issue 10's 20,000, drained once (the row has no
// reference to take a ratio to, and one run takes a minute and more).
const defaultHires = 20_000

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run is the command: the reference worker when args start with "reference", else the harness. It returns the
// exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "reference" {
		if err := reference(ctx, args[1:], stderr); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return 0
			}
			fmt.Fprintln(stderr, "ponte-bench:", err)
			return 1
		}
		return 0
	}
	fs := flag.NewFlagSet("ponte-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opt options
	fs.StringVar(&opt.ponte, "ponte", "", "the ponte binary (default: built from <repo>/cmd/ponte into the work directory)")
	fs.StringVar(&opt.natsServer, "nats-server", "", "the nats-server binary (default <repo>/.tools/bin/nats-server; make nats-server builds it)")
	fs.StringVar(&opt.repo, "repo", filepath.Join("..", ".."), "the repository root: examples/ponte.yaml and examples/sandbox are read from it")
	fs.StringVar(&opt.work, "work", "", "where each run's logs, stores and configuration go (default: a temporary directory)")
	fs.Float64Var(&opt.scale, "scale", 1, "multiplies every scenario's number of events and duration")
	fs.IntVar(&opt.runs, "runs", 3, "runs of each worker in the drain scenario (a), interleaved; the table shows medians")
	fs.IntVar(&opt.concurrency, "concurrency", 128, "the reference worker's pool, and ponte's worker.concurrency, in the drain scenarios (a)")
	fs.IntVar(&opt.hires, "hires", defaultHires, "the person.hired backlog of the drain scenario (a), before -scale")
	fs.BoolVar(&opt.pprof, "pprof", false, "turn on http.pprof in every ponte worker (its ops address is logged at the start of each run)")
	fs.StringVar(&opt.profile, "profile", "", "save a 20s CPU profile of the ponte worker during an extra run of each drain of scenario (a) into this directory")
	fs.BoolVar(&opt.keep, "keep", false, "keep the work directory of every run (a failing run's is always kept)")
	only := fs.String("run", "", "comma-separated scenario ids to run (default: all)")
	report := fs.String("report", "", "also write the table between the markers of this file (docs/benchmarks.md); only when every scenario ran")
	list := fs.Bool("list", false, "list the scenarios and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ponte-bench: unexpected arguments %q\n", fs.Args())
		return 2
	}
	dc, err := exampleConcurrency(filepath.Join(opt.repo, "examples", "ponte.yaml"))
	if err != nil {
		fmt.Fprintln(stderr, "ponte-bench: -repo:", err)
		return 2
	}
	opt.defaultConcurrency = dc
	all := scenarios(opt)
	if *list {
		fmt.Fprint(stdout, names(all))
		return 0
	}
	var picked []scenario
	for _, s := range all {
		if *only == "" || slices.Contains(strings.Split(*only, ","), s.id) {
			picked = append(picked, s)
		}
	}
	if len(picked) == 0 {
		fmt.Fprintf(stderr, "ponte-bench: -run %q names no scenario; they are:\n%s", *only, names(all))
		return 2
	}
	if opt.scale <= 0 || opt.runs < 1 || opt.concurrency < 1 || opt.hires < 1 {
		fmt.Fprintln(stderr, "ponte-bench: -scale must be positive, -runs, -concurrency and -hires at least 1")
		return 2
	}
	if opt.natsServer == "" {
		opt.natsServer = filepath.Join(opt.repo, ".tools", "bin", "nats-server")
	}
	if _, err := os.Stat(opt.natsServer); err != nil {
		fmt.Fprintf(stderr, "ponte-bench: -nats-server: %v (make nats-server builds it)\n", err)
		return 2
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(stderr, "ponte-bench: the reference worker is this binary:", err)
		return 1
	}
	opt.self = self
	if opt.work == "" {
		dir, cleanup, err := harness.WorkDir("ponte-bench-")
		if err != nil {
			fmt.Fprintln(stderr, "ponte-bench:", err)
			return 1
		}
		opt.work = dir
		defer cleanup()
	}
	if opt.ponte == "" {
		opt.ponte = filepath.Join(opt.work, "ponte")
		if err := harness.BuildPonte(ctx, opt.repo, opt.ponte, stderr); err != nil {
			fmt.Fprintln(stderr, "ponte-bench:", err)
			return 1
		}
	}
	if opt.profile != "" {
		if err := os.MkdirAll(opt.profile, 0o755); err != nil {
			fmt.Fprintln(stderr, "ponte-bench: -profile:", err)
			return 1
		}
	}
	opt.log = stderr
	began := time.Now()
	var rows []row
	ok := true
	for _, s := range picked {
		fmt.Fprintf(stderr, "scenario %s: %s\n", s.id, s.name)
		rs, err := runScenario(ctx, opt, s)
		rows = append(rows, rs...)
		if err != nil {
			fmt.Fprintf(stderr, "scenario %s: %v\n", s.id, err)
			ok = false
		}
		if ctx.Err() != nil {
			break
		}
	}
	took := time.Since(began)
	for _, r := range rows {
		ok = ok && r.ok()
	}
	out := table(rows)
	fmt.Fprint(stdout, out)
	fmt.Fprintf(stderr, "ponte-bench: %d scenarios in %s\n", len(picked), took.Round(time.Second))
	switch {
	case *report == "":
	case len(picked) < len(all) || ctx.Err() != nil:
		fmt.Fprintf(stderr, "ponte-bench: %d of the %d scenarios ran: %s keeps the table of the last full run\n", len(picked), len(all), *report)
	default:
		version, _ := exec.Command(opt.natsServer, "--version").Output()
		if err := writeReport(*report, out, machine(time.Now(), strings.TrimSpace(string(version)), opt, took)); err != nil {
			fmt.Fprintln(stderr, "ponte-bench:", err)
			return 1
		}
	}
	if !ok {
		return 1
	}
	return 0
}
