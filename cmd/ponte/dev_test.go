package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDevDemoOnce runs `ponte dev --demo --once` end to end: embedded NATS, the simulators, the worker and every
// example event, and requires every expected outcome.
func TestDevDemoOnce(t *testing.T) {
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	err := run(ctx, []string{"dev", "--demo", "--once", "--nats-port", "0", "--http", "-", "--timeout", "60s"},
		noEnv, noEnviron, &stdout, &stderr)
	out := stdout.String()
	if err != nil {
		t.Fatalf("ponte dev --demo --once: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
	}
	demo, err := loadDemo()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range demo {
		if !strings.Contains(out, "✓ "+d.name) {
			t.Errorf("no ✓ line for %s:\n%s", d.name, out)
		}
	}
	if strings.Contains(out, "✗") || !strings.Contains(out, fmt.Sprintf("demo: all %d events ended as expected", len(demo))) {
		t.Errorf("unexpected demo output:\n%s", out)
	}
}

// TestDemoTrackerFailsOnWrongOutcome checks that --once cannot pass when an outcome differs from the expected.
func TestDemoTrackerFailsOnWrongOutcome(t *testing.T) {
	var out bytes.Buffer
	tr := newDemoTracker(&out)
	d := &demoEvent{name: "x.json"}
	d.Expect.Outcome = "processed"
	tr.expect("id-1", d)
	tr.published()
	dl := &demoEvent{name: "missing.json"}
	dl.Expect.Outcome = "deadlettered"
	tr.expect("id-2", dl)
	if err := tr.verdict(); err == nil {
		t.Fatalf("verdict passed with unsettled events:\n%s", out.String())
	}
}

// TestMakeRunPassesArgs checks that `make run ARGS="..."` hands ARGS to `ponte dev --demo` (a dry run of make).
func TestMakeRunPassesArgs(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	out, err := exec.Command("make", "-n", "-C", "../..", "run", "ARGS=--nats-port 14222 --http -").CombinedOutput()
	if err != nil {
		t.Fatalf("make -n run: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "./cmd/ponte dev --demo --nats-port 14222 --http -\n") {
		t.Errorf("make run does not pass ARGS to ponte dev --demo:\n%s", out)
	}
}

// TestDevBusyPort checks that ponte dev stops at once when a port it needs is taken, naming the address and the
// flag that moves it.
func TestDevBusyPort(t *testing.T) {
	tests := []struct {
		flag string
		args func(port string) []string
	}{
		{"--nats-port", func(p string) []string { return []string{"--nats-port", p} }},
		{"--monitor-port", func(p string) []string { return []string{"--nats-port", "0", "--monitor-port", p} }},
		{"--http", func(p string) []string { return []string{"--nats-port", "0", "--http", "127.0.0.1:" + p} }},
		{"--zeev-port", func(p string) []string { return []string{"--nats-port", "0", "--zeev-port", p} }},
		{"--senior-port", func(p string) []string { return []string{"--nats-port", "0", "--senior-port", p} }},
		{"--cidades-port", func(p string) []string { return []string{"--nats-port", "0", "--cidades-port", p} }},
	}
	for _, tc := range tests {
		t.Run(tc.flag, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
			args := append([]string{"dev"}, tc.args(port)...)
			if tc.flag != "--http" {
				args = append(args, "--http", "-")
			}
			var stdout, stderr bytes.Buffer
			start := time.Now()
			err = run(t.Context(), args, noEnv, noEnviron, &stdout, &stderr)
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("ponte dev started on a port in use")
			}
			for _, want := range []string{"127.0.0.1:" + port, "address already in use", "with " + tc.flag + ")"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if elapsed > 3*time.Second {
				t.Errorf("ponte dev took %s to fail", elapsed)
			}
		})
	}
}
