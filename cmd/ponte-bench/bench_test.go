package main

import (
	"bytes"
	"context"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ponte-dev/ponte/cmd/internal/harness"
)

// TestMain lets the test binary be the reference worker too: the harness starts os.Executable() with
// "reference" as its first argument.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "reference" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// TestDrainEndToEnd runs a small drain on real processes: a nats-server (the binary `make nats-server` builds;
// make test passes it in PONTE_CHAOS_NATS_SERVER), `ponte sandbox` and `ponte run` built from this tree, and the
// reference worker; each must answer every event exactly once, with every figure of its row measured.
func TestDrainEndToEnd(t *testing.T) {
	natsServer := harness.NATSServerForTest(t)
	dir, err := os.MkdirTemp("", "ponte-bench-test-") // not t.TempDir: a failing run's logs stay for a look
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the runs' logs are in %s", dir)
			return
		}
		os.RemoveAll(dir)
	})
	ponte := filepath.Join(dir, "ponte")
	var out bytes.Buffer
	if err := harness.BuildPonte(context.Background(), filepath.Join("..", ".."), ponte, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	opt := options{ponte: ponte, natsServer: natsServer, repo: filepath.Join("..", ".."), work: dir, self: self,
		scale: 1, runs: 1, concurrency: 32, hires: 100, log: &log}
	s := scenario{id: "a", name: "a small drain", rounds: 1, specs: []spec{
		{label: "ponte c=32", worker: workerPonte, replicas: 1, concurrency: 32, typ: typeContractSigned, events: 500, ref: "reference c=32"},
		{label: "reference c=32", worker: workerReference, replicas: 1, concurrency: 32, typ: typeContractSigned, events: 500},
		{label: "ponte c=32", worker: workerPonte, replicas: 1, concurrency: 32, typ: typePersonHired, events: 100},
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rows, err := runScenario(ctx, opt, s)
	tb := table(rows)
	t.Logf("\n%s", tb)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3:\n%s", len(rows), log.String())
	}
	for _, r := range rows {
		t.Run(r.spec.label+" "+r.spec.typ, func(t *testing.T) {
			if !r.ok() {
				t.Fatalf("count check: %s\n%s", strings.Join(r.problems, "; "), log.String())
			}
			want := 500
			if r.spec.typ == typePersonHired {
				want = 100
			}
			if r.events != want || r.rate <= 0 || r.workerCPU <= 0 || r.natsCPU <= 0 || r.peakRSS <= 0 || r.inMsgs <= 0 || r.p50 <= 0 {
				t.Errorf("events %d (want %d), %v/s, worker %v µs, nats %v µs, RSS %v, msgs in %v, p50 %v: every figure must be measured",
					r.events, want, r.rate, r.workerCPU, r.natsCPU, r.peakRSS, r.inMsgs, r.p50)
			}
			if r.spec.typ == typeContractSigned && math.Abs(r.simCalls-1) > 0.05 {
				t.Errorf("%.3f simulator calls per contract.signed, want one create each (the token fetches aside)", r.simCalls)
			}
			if r.spec.ref != "" && math.IsNaN(r.rateX) {
				t.Errorf("no ratio to %s", r.spec.ref)
			}
		})
	}
}
