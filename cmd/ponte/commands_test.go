package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reading test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	eventuallyWithin(t, 20*time.Second, what, cond)
}

// devStartup bounds the wait for `ponte dev` to start: its streams are created on file storage, which takes
// seconds when make test runs the chaos scenarios' NATS clusters on the same 2 cores.
const devStartup = time.Minute

func eventuallyWithin(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func get(url string) (int, string) {
	res, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestDevPublishWatchAndOps runs `ponte dev` (no demo), then drives it the way a user would: /healthz, /readyz,
// `ponte publish` (valid, invalid, the same id again), `ponte watch`, and /metrics.
func TestDevPublishWatchAndOps(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opsAddr := freeAddr(t)
	var devOut, devErr syncBuffer
	devDone := make(chan error, 1)
	go func() {
		devDone <- run(ctx, []string{"dev", "--nats-port", "0", "--http", opsAddr}, noEnv, noEnviron, &devOut, &devErr)
	}()
	natsURL := regexp.MustCompile(`NATS \(JetStream\)\s+(nats://\S+)`)
	eventuallyWithin(t, devStartup, "ponte dev to start", func() bool { return natsURL.MatchString(devOut.String()) })
	url := natsURL.FindStringSubmatch(devOut.String())[1]

	if code, body := get("http://" + opsAddr + "/healthz"); code != 200 {
		t.Fatalf("/healthz = %d %s", code, body)
	}
	eventually(t, "/readyz 200", func() bool { code, _ := get("http://" + opsAddr + "/readyz"); return code == 200 })

	var watchOut syncBuffer
	watchCtx, stopWatch := context.WithCancel(ctx)
	watchDone := make(chan error, 1)
	go func() {
		watchDone <- run(watchCtx, []string{"watch", "--nats", url}, noEnv, noEnviron, &watchOut, io.Discard)
	}()
	time.Sleep(300 * time.Millisecond) // let watch subscribe before publishing (it follows new events only)

	publish := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := run(ctx, append([]string{"publish", "--nats", url}, args...), noEnv, noEnviron, &out, &errOut)
		return out.String(), errOut.String(), err
	}
	out, _, err := publish("person.hired", "--data", "@../../examples/data/person.hired.json", "--id", "cmd-test-1")
	if err != nil || !regexp.MustCompile(`published person.hired id=cmd-test-1 subject=E-1042 to stream PONTE_EVENTS seq \d+\n`).MatchString(out) {
		t.Fatalf("publish: %v %q", err, out)
	}
	out, _, err = publish("person.hired", "--data", "@../../examples/data/person.hired.json", "--id", "cmd-test-1", "--structured")
	if err != nil || !strings.Contains(out, "(duplicate") {
		t.Fatalf("publish again: %v %q", err, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"person":{"id":"x","name":"Al","username":"a","email":"nope","cpf":"111.111.111-11"},"orgUnit":"TI","position":"ANALISTA"}`), 0o600)
	_, errOut, err := publish("person.hired", "--data", "@"+bad)
	if err == nil || !strings.Contains(err.Error(), "nothing published") {
		t.Fatalf("invalid data published: %v", err)
	}
	for _, want := range []string{"/person/cpf", "/person/email", "/person/name", "hireDate"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("publish errors do not name %s:\n%s", want, errOut)
		}
	}
	if _, _, err := publish("contract.signed", "--data", "@../../examples/data/contract.signed.json"); err == nil || !strings.Contains(err.Error(), "--ug") {
		t.Errorf("contract without --ug: %v", err)
	}
	out, _, err = publish("contract.signed", "--data", "@../../examples/data/contract.signed.json", "--ug", "001001", "--id", "cmd-test-2")
	if err != nil || !strings.Contains(out, "subject=001001/12/2026/2026") {
		t.Fatalf("publish contract: %v %q", err, out)
	}

	eventually(t, "watch to show both results", func() bool {
		w := watchOut.String()
		return strings.Contains(w, "id=cmd-test-1") && strings.Contains(w, "id=cmd-test-2")
	})
	for _, want := range []string{"OK   person.hired", "zeev.upsert_user done", "OK   contract.signed", "cidades.create_contratacao done"} {
		if !strings.Contains(watchOut.String(), want) {
			t.Errorf("watch output lacks %q:\n%s", want, watchOut.String())
		}
	}
	stopWatch()
	if err := <-watchDone; err != nil {
		t.Errorf("watch: %v", err)
	}

	_, metrics := get("http://" + opsAddr + "/metrics")
	for _, want := range []string{
		`ponte_events_processed_total{outcome="success",type="person.hired"} 1`,
		`ponte_events_processed_total{outcome="success",type="contract.signed"} 1`,
		`ponte_events_processing_duration_seconds_count{type="person.hired"} 1`,
		`ponte_circuit_breaker_state{state="closed",target="zeev",tenant=""} 1`,
		`ponte_downstream_requests_total{operation="upsert_user",result="success",target="zeev"} 1`,
		`ponte_nats_connected 1`,
		`ponte_build_info{`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// The commands ponte dev prints work as printed (the data path aside: the test runs in cmd/ponte).
	hints := regexp.MustCompile(`(?m)^  go run \./cmd/ponte (publish|watch)(.*)$`)
	eventually(t, "ponte dev to print the publish and watch commands", func() bool {
		return len(hints.FindAllString(devOut.String(), -1)) == 2
	})
	for _, m := range hints.FindAllStringSubmatch(devOut.String(), -1) {
		if !strings.HasSuffix(m[0], " --nats "+url) {
			t.Errorf("printed command %q does not end with --nats %s", m[0], url)
		}
		if m[1] != "publish" {
			continue
		}
		args := strings.Fields(strings.ReplaceAll(m[2], "@examples/", "@../../examples/"))
		var out bytes.Buffer
		if err := run(ctx, append([]string{"publish"}, args...), noEnv, noEnviron, &out, &out); err != nil || !strings.Contains(out.String(), "published person.hired") {
			t.Errorf("the printed publish command: %v\n%s", err, out.String())
		}
	}

	cancel()
	select {
	case err := <-devDone:
		if err != nil {
			t.Fatalf("dev: %v\n%s", err, devErr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ponte dev did not stop after cancel")
	}
	if code, _ := get("http://" + opsAddr + "/healthz"); code != 0 {
		t.Errorf("ops server still answering after shutdown: %d", code)
	}
}

// TestDevHints checks the commands ponte dev prints: --nats only when the URL is not the default one.
func TestDevHints(t *testing.T) {
	tests := []struct {
		url, want string
	}{
		{"nats://127.0.0.1:4222", "go run ./cmd/ponte watch\n"},
		{"nats://127.0.0.1:14222", "go run ./cmd/ponte watch --nats nats://127.0.0.1:14222\n"},
		{"nats://0.0.0.0:4222", "go run ./cmd/ponte watch --nats nats://0.0.0.0:4222\n"},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			got := devHints(tc.url)
			if !strings.Contains(got, tc.want) {
				t.Errorf("devHints(%q) lacks %q:\n%s", tc.url, tc.want, got)
			}
			publish := regexp.MustCompile(`go run \./cmd/ponte publish person\.hired --data @examples/data/person\.hired\.json .*\n`).FindString(got)
			if wantNATS := strings.Contains(tc.want, "--nats"); strings.Contains(publish, "--nats "+tc.url) != wantNATS {
				t.Errorf("publish command %q: --nats %s wanted: %v", publish, tc.url, wantNATS)
			}
		})
	}
}

func TestUnknownCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"frobnicate"}, noEnv, noEnviron, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "frobnicate") || !strings.Contains(errOut.String(), "publish") {
		t.Fatalf("err=%v usage=%q", err, errOut.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"version"}, noEnv, noEnviron, &out, &errOut); err != nil || !strings.HasPrefix(out.String(), "ponte ") {
		t.Fatalf("version: %v %q", err, out.String())
	}
}
