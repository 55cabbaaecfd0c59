package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestHelp checks that every subcommand, asked for help in every way, prints its usage on stdout and nothing on
// stderr, and that run returns nil (exit status 0). It walks commands(), so a new subcommand is covered.
func TestHelp(t *testing.T) {
	type form struct {
		args []string
		want string // stdout starts with it
	}
	forms := []form{
		{[]string{"-h"}, "ponte turns business events"},
		{[]string{"--help"}, "ponte turns business events"},
		{[]string{"help"}, "ponte turns business events"},
	}
	for _, c := range commands() {
		want := "Usage: ponte " + c.name
		forms = append(forms,
			form{[]string{c.name, "-h"}, want},
			form{[]string{c.name, "-help"}, want},
			form{[]string{c.name, "--help"}, want},
			form{[]string{c.name, "help"}, want},
			form{[]string{"help", c.name}, want},
		)
	}
	for _, f := range forms {
		t.Run(argsName(f.args), func(t *testing.T) {
			// A command that takes "help" for something else would run: bound it.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			err := run(ctx, f.args, noEnv, noEnviron, &stdout, &stderr)
			if err != nil {
				t.Errorf("run: %v (exit status %d), want nil (0)", err, exitCode(err))
			}
			if !strings.HasPrefix(stdout.String(), f.want) {
				t.Errorf("stdout does not start with %q:\n%s", f.want, stdout.String())
			}
			if stderr.Len() != 0 {
				t.Errorf("stderr is not empty:\n%s", stderr.String())
			}
		})
	}
}

// TestUsageErrors checks that a mistake on the command line prints the command's usage on stderr and is a usage
// error (exit status 2), and that other errors are not.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args      []string
		wantErr   string
		wantUsage string // stderr starts with it; "" for no usage
		wantCode  int
	}{
		{[]string{}, "missing command", "ponte turns business events", 2},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`, "ponte turns business events", 2},
		{[]string{"help", "frobnicate"}, `unknown command "frobnicate"`, "ponte turns business events", 2},
		{[]string{"run", "--bogus"}, "flag provided but not defined: -bogus", "Usage: ponte run", 2},
		{[]string{"run", "ponte.yaml"}, `run: unexpected argument "ponte.yaml"`, "Usage: ponte run", 2},
		{[]string{"dev", "--nats-port", "x"}, `invalid value "x" for flag -nats-port`, "Usage: ponte dev", 2},
		{[]string{"dev", "--once"}, "dev: --once needs --demo", "Usage: ponte dev", 2},
		{[]string{"publish"}, "publish: exactly one event TYPE is required", "Usage: ponte publish", 2},
		{[]string{"publish", "person.hired", "person.left"}, "publish: exactly one event TYPE is required", "Usage: ponte publish", 2},
		{[]string{"watch", "--nats"}, "flag needs an argument: -nats", "Usage: ponte watch", 2},
		{[]string{"schemas", "a", "b"}, `schemas: unexpected argument "b"`, "Usage: ponte schemas", 2},
		{[]string{"sandbox", "now"}, `sandbox: unexpected argument "now"`, "Usage: ponte sandbox", 2},
		{[]string{"sandbox", "--zeev-token-ttl", "0s"}, "--zeev-token-ttl 0s: must be at least 1s", "Usage: ponte sandbox", 2},
		{[]string{"dev", "--cidades-token-ttl", "500ms"}, "--cidades-token-ttl 500ms: must be at least 1s", "Usage: ponte dev", 2},
		{[]string{"version", "--short"}, "flag provided but not defined: -short", "Usage: ponte version", 2},
		{[]string{"run", "--check", "--config", "/nonexistent/ponte.yaml"}, "no such file", "", 1},
	}
	for _, tc := range tests {
		t.Run(argsName(tc.args), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			err := run(ctx, tc.args, noEnv, noEnviron, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("run: %v, want an error containing %q", err, tc.wantErr)
			}
			if got := exitCode(err); got != tc.wantCode {
				t.Errorf("exit status %d, want %d", got, tc.wantCode)
			}
			if tc.wantUsage == "" {
				if stderr.Len() != 0 {
					t.Errorf("stderr is not empty:\n%s", stderr.String())
				}
			} else if !strings.HasPrefix(stderr.String(), tc.wantUsage) {
				t.Errorf("stderr does not start with %q:\n%s", tc.wantUsage, stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout is not empty:\n%s", stdout.String())
			}
		})
	}
}

// argsName names a subtest after a command line.
func argsName(args []string) string {
	if len(args) == 0 {
		return "no arguments"
	}
	return strings.Join(args, " ")
}

// mainArgsVar holds, JSON-encoded, the arguments TestMainProcess runs main with.
const mainArgsVar = "TEST_PONTE_MAIN_ARGS"

// TestMainProcess is not a test: TestExitStatus runs the test binary with mainArgsVar set, and this function
// turns that process into `ponte <args>`.
func TestMainProcess(t *testing.T) {
	raw, ok := os.LookupEnv(mainArgsVar)
	if !ok {
		t.Skip("helper process of TestExitStatus")
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		t.Fatal(err)
	}
	os.Args = append([]string{"ponte"}, args...)
	main()
	os.Exit(0)
}

// TestExitStatus runs `ponte <cmd> -h` and a few mistakes as real processes and checks their exit status: what
// `ponte <cmd> -h; echo $?` prints.
func TestExitStatus(t *testing.T) {
	type tcase struct {
		args       []string
		wantStatus int
		wantStdout string // prefix
		wantStderr string // substring
	}
	var tests []tcase
	for _, c := range commands() {
		tests = append(tests, tcase{[]string{c.name, "-h"}, 0, "Usage: ponte " + c.name, ""})
	}
	tests = append(tests,
		tcase{[]string{"-h"}, 0, "ponte turns business events", ""},
		tcase{[]string{}, 2, "", "ponte: missing command"},
		tcase{[]string{"frobnicate"}, 2, "", `ponte: unknown command "frobnicate"`},
		tcase{[]string{"run", "--bogus"}, 2, "", "ponte: flag provided but not defined: -bogus"},
		tcase{[]string{"run", "--check", "--config", "/nonexistent/ponte.yaml"}, 1, "", "ponte: config: open /nonexistent/ponte.yaml"},
	)
	for _, tc := range tests {
		t.Run(argsName(tc.args), func(t *testing.T) {
			enc, _ := json.Marshal(tc.args)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestMainProcess$")
			cmd.Env = append(os.Environ(), mainArgsVar+"="+string(enc))
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			status := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				status = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if status != tc.wantStatus {
				t.Errorf("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", status, tc.wantStatus, stdout.String(), stderr.String())
			}
			if !strings.HasPrefix(stdout.String(), tc.wantStdout) {
				t.Errorf("stdout does not start with %q:\n%s", tc.wantStdout, stdout.String())
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr does not contain %q:\n%s", tc.wantStderr, stderr.String())
			}
		})
	}
}
