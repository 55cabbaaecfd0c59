package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ponte-dev/ponte/clients/senior/seniorsim"
	"github.com/ponte-dev/ponte/clients/zeev/zeevsim"
	"github.com/ponte-dev/ponte/events/embedded"
)

// runFixture starts what ponte run needs (a separate NATS server and the simulators, stopped when the test
// ends) and writes its configuration, secrets in files and JSON logs at level info. It returns them, the
// configuration's path and the address of the operations endpoint.
func runFixture(t *testing.T) (*embedded.Server, *simulators, string, string) {
	t.Helper()
	srv, err := embedded.Start(embedded.Options{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	sims, err := startSimulators(simSettings{host: "127.0.0.1", zeevToken: zeevsim.DefaultToken, seniorToken: seniorsim.DefaultToken,
		seniorAccessKey: seniorsim.DefaultAccessKey, seniorSecret: seniorsim.DefaultSecret, seniorTenant: seniorsim.DefaultTenantName})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sims.Close)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "zeev-token")
	os.WriteFile(tokenFile, []byte(zeevsim.DefaultToken+"\n"), 0o600)
	secretFile := filepath.Join(dir, "senior-secret")
	os.WriteFile(secretFile, []byte(seniorsim.DefaultSecret), 0o600)
	opsAddr := freeAddr(t)
	cfg := fmt.Sprintf(`
nats: {url: %q}
jetstream: {manage: true}
http: {listen: %q}
log: {level: info, format: json}
zeev: {baseURL: %q, tokenFile: %q}
senior: {baseURL: %q, loginURL: %q, accessKey: %q, secretFile: %q, tenantName: %q}
cidades:
  baseURL: %q
  ugs:
    "001001": {clientId: ug-001001-rw, clientSecret: cidades-dev-001001-rw}
profiles:
  - orgUnit: TI
    position: ANALISTA
    zeev: {positions: [{teamCode: TI, positionCode: ANALISTA}], groups: [colaboradores]}
    senior: {roleIds: [4]}
`, srv.ClientURL(), opsAddr, sims.zeevURL, tokenFile, sims.seniorAPI(), sims.seniorLogin(), seniorsim.DefaultAccessKey,
		secretFile, seniorsim.DefaultTenantName, sims.cidadesURL)
	path := filepath.Join(dir, "ponte.yaml")
	os.WriteFile(path, []byte(cfg), 0o600)
	return srv, sims, path, opsAddr
}

// TestRunProcessesAndDrains runs the production command against an external (here: separately started) NATS
// server and the simulators, with secrets in files, processes one event, then stops it as SIGTERM would.
func TestRunProcessesAndDrains(t *testing.T) {
	srv, sims, path, opsAddr := runFixture(t)

	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	var logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"run", "--config", path}, noEnv, noEnviron, &bytes.Buffer{}, &logs)
	}()
	eventually(t, "/readyz 200", func() bool { code, _ := get("http://" + opsAddr + "/readyz"); return code == 200 })

	var out bytes.Buffer
	if err := run(ctx, []string{"publish", "person.hired", "--nats", srv.ClientURL(), "--data", "@../../examples/data/person.hired.json"},
		noEnv, noEnviron, &out, &out); err != nil {
		t.Fatalf("publish: %v %s", err, out.String())
	}
	eventually(t, "the event to be processed", func() bool {
		_, m := get("http://" + opsAddr + "/metrics")
		return strings.Contains(m, `ponte_events_processed_total{outcome="success",type="person.hired"} 1`)
	})
	if u, ok := sims.zeev.User("alan.cooper"); !ok || !u.IsActive {
		t.Fatalf("zeev user not created: %+v", u)
	}
	if strings.Contains(logs.String(), seniorsim.DefaultSecret) || strings.Contains(logs.String(), zeevsim.DefaultToken) {
		t.Error("a secret appears in the logs")
	}
	if strings.Contains(logs.String(), "529.982.247-25") || strings.Contains(logs.String(), "52998224725") {
		t.Error("a CPF appears unmasked in the logs")
	}

	cancel(errors.New("terminated signal received")) // what SIGTERM does through signal.NotifyContext
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not drain and stop")
	}
	if !strings.Contains(logs.String(), "worker stopped") {
		t.Errorf("no orderly stop in the logs:\n%s", logs.String())
	}
	// One line says why it stops and how many events it drains.
	if !regexp.MustCompile(`"msg":"stopping[^"]*","cause":"terminated signal received","in_flight":0,"drain_timeout":"25s"`).MatchString(logs.String()) {
		t.Errorf("no line with the signal and the events being drained:\n%s", logs.String())
	}
}

// TestStopWhileStarting checks that a signal arriving while ponte run or ponte dev is still starting stops it
// cleanly: no error (exit status 0), and for run one log line saying why it stopped.
func TestStopWhileStarting(t *testing.T) {
	_, _, path, _ := runFixture(t)
	signal := errors.New("terminated signal received") // what context.Cause says after SIGTERM
	tests := []struct {
		name     string
		args     []string
		wantLogs string
	}{
		{"run", []string{"run", "--config", path}, `"msg":"ponte stopped before it was ready","cause":"terminated signal received"`},
		{"dev", []string{"dev", "--nats-port", "0", "--http", "-"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(context.Background())
			cancel(signal)
			var stdout, logs bytes.Buffer
			if err := run(ctx, tc.args, noEnv, noEnviron, &stdout, &logs); err != nil {
				t.Errorf("run: %v, want nil (a stop that was asked for)", err)
			}
			if !strings.Contains(logs.String(), tc.wantLogs) {
				t.Errorf("logs lack %s:\n%s", tc.wantLogs, logs.String())
			}
			if strings.Contains(logs.String(), `"level":"ERROR"`) || strings.Contains(logs.String(), "level=ERROR") {
				t.Errorf("an error is logged:\n%s", logs.String())
			}
		})
	}
}

// TestRunProbesOnNATSLoss checks the probes the Helm chart gives the pod: while NATS is away, /readyz answers
// 503 naming the cause and /healthz (liveness) still answers 200, so that a NATS outage takes the pods out of
// service without restarting them.
func TestRunProbesOnNATSLoss(t *testing.T) {
	srv, _, path, opsAddr := runFixture(t)
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"run", "--config", path}, noEnv, noEnviron, &bytes.Buffer{}, &syncBuffer{})
	}()
	eventually(t, "/readyz 200", func() bool { code, _ := get("http://" + opsAddr + "/readyz"); return code == 200 })
	if code, body := get("http://" + opsAddr + "/healthz"); code != 200 {
		t.Fatalf("/healthz %d %s", code, body)
	}

	srv.Stop()
	eventually(t, "/readyz 503 without NATS", func() bool {
		code, body := get("http://" + opsAddr + "/readyz")
		return code == 503 && strings.Contains(body, "nats not connected")
	})
	if code, body := get("http://" + opsAddr + "/healthz"); code != 200 {
		t.Errorf("/healthz %d %s without NATS: liveness must not depend on it", code, body)
	}

	cancel(errors.New("terminated signal received"))
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("run did not stop without NATS")
	}
}
