// Command ponte-chaos proves ponte's delivery guarantees under real faults (`make chaos`, docs/reliability.md).
//
// For each scenario it starts a real nats-server (the binary the Makefile builds from the Go module proxy, file
// storage; three of them for the cluster scenario), the three API simulators in their own process (`ponte
// sandbox`), and one or more `ponte run` workers as separate processes, on loopback ports it picks; publishes
// thousands of events with unique ids (hires, moves and terminations of people, and the signature, amendment
// and cancellation of contracts: three events per entity, interleaved); injects the fault (SIGKILL and SIGTERM
// of workers and servers, simulator outages, throttling, slowness, poison messages, revoked credentials); and
// then checks, by unique id, that every input ended as exactly one result message or one dead letter, that no
// side effect happened twice at the simulators (from their request logs, followed by seq: a second Senior link
// for one grant or a second CidadES contratação; idempotent re-writes are counted apart), and that every
// entity's writes arrived in the order of its events. Redeliveries are counted from the workers'
// acknowledgements, which the harness watches on $JS.ACK.PONTE_EVENTS.>.
//
// It prints one Markdown table, one row per scenario, and exits 1 when a scenario lost an input, answered one
// twice, made an effect twice, broke an entity's order, or failed its own condition.
//
//	go run ./cmd/ponte-chaos [-run 1,5,8] [-scale 0.5] [-ponte bin/ponte] [-nats-server .tools/bin/nats-server]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/ponte-dev/ponte/cmd/internal/harness"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(chaos(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func chaos(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ponte-chaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opt options
	fs.StringVar(&opt.ponte, "ponte", "", "the ponte binary (default: built from ./cmd/ponte into the work directory)")
	fs.StringVar(&opt.natsServer, "nats-server", ".tools/bin/nats-server", "the nats-server binary (make nats-server builds it)")
	fs.StringVar(&opt.repo, "repo", ".", "the repository root: examples/ponte.yaml and examples/sandbox are read from it")
	fs.StringVar(&opt.work, "work", "", "where each scenario's logs, stores and configuration go (default: a temporary directory)")
	fs.Float64Var(&opt.scale, "scale", 1, "multiplies every scenario's number of events")
	fs.BoolVar(&opt.keep, "keep", false, "keep the work directory of passing scenarios too")
	only := fs.String("run", "", "comma-separated scenario ids to run (default: all)")
	report := fs.String("report", "", "also write the table to this file")
	list := fs.Bool("list", false, "list the scenarios and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	all := scenarios()
	if *list {
		fmt.Fprint(stdout, names(all))
		return 0
	}
	var picked []*scenario
	for _, s := range all {
		if *only == "" || slices.Contains(strings.Split(*only, ","), s.id) {
			picked = append(picked, s)
		}
	}
	if len(picked) == 0 {
		fmt.Fprintf(stderr, "ponte-chaos: -run %q names no scenario; they are:\n%s", *only, names(all))
		return 2
	}
	if _, err := os.Stat(opt.natsServer); err != nil {
		fmt.Fprintf(stderr, "ponte-chaos: -nats-server: %v (make nats-server builds it)\n", err)
		return 2
	}
	if opt.work == "" {
		dir, cleanup, err := harness.WorkDir("ponte-chaos-")
		if err != nil {
			fmt.Fprintln(stderr, "ponte-chaos:", err)
			return 1
		}
		opt.work = dir
		defer cleanup()
	}
	if opt.ponte == "" {
		opt.ponte = filepath.Join(opt.work, "ponte")
		if err := harness.BuildPonte(ctx, opt.repo, opt.ponte, stderr); err != nil {
			fmt.Fprintln(stderr, "ponte-chaos:", err)
			return 1
		}
	}
	opt.log = stderr
	var vs []*verdict
	for _, s := range picked {
		fmt.Fprintf(stderr, "scenario %s: %s\n", s.id, s.name)
		v := runScenario(ctx, opt, s)
		vs = append(vs, v)
		status := "ok"
		if !v.ok() {
			status = "FAILED"
		}
		fmt.Fprintf(stderr, "scenario %s: %s in %v\n", s.id, status, v.total.Round(time.Second))
		for i, p := range v.problems {
			if i == 20 {
				fmt.Fprintf(stderr, "  … and %d more\n", len(v.problems)-20)
				break
			}
			fmt.Fprintln(stderr, "  -", p)
		}
		if ctx.Err() != nil {
			break
		}
	}
	out := table(vs)
	fmt.Fprint(stdout, out)
	switch {
	case *report == "":
	case len(vs) < len(all):
		fmt.Fprintf(stderr, "ponte-chaos: %d of the %d scenarios ran: %s keeps the table of the last full run\n", len(vs), len(all), *report)
	default:
		var total time.Duration
		for _, v := range vs {
			total += v.total
		}
		version, _ := exec.Command(opt.natsServer, "--version").Output()
		if err := writeReport(*report, out, time.Now(), strings.TrimSpace(string(version)), total); err != nil {
			fmt.Fprintln(stderr, "ponte-chaos:", err)
			return 1
		}
	}
	for _, v := range vs {
		if !v.ok() {
			return 1
		}
	}
	return 0
}

// The markers between which writeReport puts the table in an existing document.
const (
	reportBegin = "<!-- ponte-chaos table: begin -->"
	reportEnd   = "<!-- ponte-chaos table: end -->"
)

// writeReport puts the table, with the machine and the date it ran on, between the markers of the document at
// path (docs/reliability.md), or writes it as the whole file when there is none yet.
func writeReport(path, table string, at time.Time, natsVersion string, took time.Duration) error {
	host, _ := os.Hostname()
	body := fmt.Sprintf("Run %s on %s: %d CPUs, %s/%s, %s, %s; the ten scenarios took %s.\n\n%s", at.UTC().Format("2006-01-02 15:04 MST"), host,
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), natsVersion, took.Round(time.Second), table)
	return harness.WriteBetweenMarkers(path, reportBegin, reportEnd, body)
}
