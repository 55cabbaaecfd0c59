package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ponte-dev/ponte/clients/fault"
)

// The credentials of the sandbox the workers use. The Zeev simulator accepts two permanent tokens, so that a
// rotation (revoke the first, rewrite the token file with the second) can be played.
const (
	zeevToken        = "zeev-dev-token"
	zeevRotatedToken = "zeev-rotated-token"
)

// sim is one simulator of the sandbox: its base URL and the request log followed from it.
type sim struct {
	name, base string
}

// sandbox is `ponte sandbox` in its own process.
type sandbox struct {
	p                     *proc
	zeev, senior, cidades sim
}

// startSandbox runs `ponte sandbox` on free ports with the fixtures in fixtures.
func startSandbox(ctx context.Context, dir, ponte, fixtures string) (*sandbox, error) {
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	args := []string{"sandbox", "--host", "127.0.0.1", "--fixtures", fixtures,
		"--zeev-port", strconv.Itoa(ports[0]), "--senior-port", strconv.Itoa(ports[1]), "--cidades-port", strconv.Itoa(ports[2]),
		"--zeev-token", zeevToken + "," + zeevRotatedToken}
	p, err := start(dir, "sandbox", ponte, args, nil)
	if err != nil {
		return nil, err
	}
	sb := &sandbox{p: p,
		zeev:    sim{"zeev", fmt.Sprintf("http://127.0.0.1:%d", ports[0])},
		senior:  sim{"senior", fmt.Sprintf("http://127.0.0.1:%d", ports[1])},
		cidades: sim{"cidades", fmt.Sprintf("http://127.0.0.1:%d", ports[2])},
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, s := range sb.sims() {
		if err := waitHTTP(wctx, p, s.base+"/_sim/faults"); err != nil {
			p.kill()
			return nil, err
		}
	}
	return sb, nil
}

func (sb *sandbox) sims() []sim { return []sim{sb.zeev, sb.senior, sb.cidades} }

// control sends a simulator control (PUT /_sim/faults, POST /_sim/auth/revoke, ...) and checks its status.
func control(method, url string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		msg, _ := io.ReadAll(res.Body)
		return fmt.Errorf("%s %s: %d %s", method, url, res.StatusCode, msg)
	}
	return nil
}

// setFaults replaces a simulator's faults.
func setFaults(s sim, f fault.Faults) error { return control(http.MethodPut, s.base+"/_sim/faults", f) }

// worker is one `ponte run` process.
type worker struct {
	name    string
	metrics string // its ops address, for /readyz and /metrics
	p       *proc
}

// workerSet starts and restarts the ponte workers of a scenario, all with the same configuration.
type workerSet struct {
	dir, ponte, config string
	env                []string
	n                  int
	all                []*worker
}

// start starts one more worker and waits until it is ready (connected, streams and consumer bound).
func (ws *workerSet) start(ctx context.Context) (*worker, error) {
	ports, err := freePorts(1)
	if err != nil {
		return nil, err
	}
	ws.n++
	w := &worker{name: fmt.Sprintf("worker-%d", ws.n), metrics: fmt.Sprintf("127.0.0.1:%d", ports[0])}
	env := append([]string{"PONTE_HTTP_LISTEN=" + w.metrics, "PONTE_NATS_NAME=ponte-" + w.name}, ws.env...)
	w.p, err = start(ws.dir, w.name, ws.ponte, []string{"run", "--config", ws.config}, env)
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := waitHTTP(wctx, w.p, "http://"+w.metrics+"/readyz"); err != nil {
		w.p.kill()
		return nil, err
	}
	ws.all = append(ws.all, w)
	return w, nil
}

// live returns the workers that run.
func (ws *workerSet) live() []*worker {
	var out []*worker
	for _, w := range ws.all {
		if w.p.running() {
			out = append(out, w)
		}
	}
	return out
}

// stop stops every worker with SIGTERM (they drain) and reports one that had to be killed.
func (ws *workerSet) stop() error {
	var errs []string
	for _, w := range ws.live() {
		if err := w.p.stop(syscall.SIGTERM, 60*time.Second); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// metric returns the sum of the samples of the metric name that a worker exports whose labels contain each of
// labels (`to="open"`), 0 when it has none.
func (w *worker) metric(name string, labels ...string) float64 {
	res, err := (&http.Client{Timeout: 2 * time.Second}).Get("http://" + w.metrics + "/metrics")
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var sum float64
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, name) || (len(line) > len(name) && line[len(name)] != '{' && line[len(name)] != ' ') {
			continue
		}
		if slices.ContainsFunc(labels, func(l string) bool { return !strings.Contains(line, l) }) {
			continue
		}
		if f, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
			sum += f
		}
	}
	return sum
}

// writeConfig writes the workers' configuration: examples/ponte.yaml as it is, pointed at the scenario's NATS
// and sandbox, with the Zeev token in a file (so that it can be rotated) and the changes the scenario asks for.
// Zeev's rate limit is lifted: the example's 5 requests per second stands for a real tenant, and would make a
// run of thousands of hires last an hour.
func writeConfig(dir, example string, nc *natsCluster, sb *sandbox, set map[string]any) (config, tokenFile string, err error) {
	raw, err := os.ReadFile(example)
	if err != nil {
		return "", "", err
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		return "", "", fmt.Errorf("%s: %w", example, err)
	}
	tokenFile = filepath.Join(dir, "zeev-token")
	if err := os.WriteFile(tokenFile, []byte(zeevToken), 0o600); err != nil {
		return "", "", err
	}
	sub := func(k string) map[string]any {
		m, ok := cfg[k].(map[string]any)
		if !ok {
			m = map[string]any{}
			cfg[k] = m
		}
		return m
	}
	sub("nats")["url"] = nc.urls()
	z := sub("zeev")
	z["baseURL"] = sb.zeev.base
	delete(z, "token")
	z["tokenFile"] = tokenFile
	z["rateLimit"] = 0
	s := sub("senior")
	s["baseURL"] = sb.senior.base + "/api/v1"
	s["loginURL"] = sb.senior.base + "/t/senior.com.br/bridge/1.0/anonymous/rest/platform/authentication/actions/loginWithKey"
	sub("cidades")["baseURL"] = sb.cidades.base
	sub("log")["level"] = "info"
	if len(nc.nodes) > 1 {
		sub("jetstream")["replicas"] = 3
	}
	for path, v := range set {
		section, key, _ := strings.Cut(path, ".")
		sub(section)[key] = v
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return "", "", err
	}
	config = filepath.Join(dir, "ponte.yaml")
	return config, tokenFile, os.WriteFile(config, out, 0o644)
}
