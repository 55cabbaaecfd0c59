package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ponte-dev/ponte/cmd/internal/harness"
)

// worker is one `ponte run` process.
type worker struct {
	name    string
	metrics string // its ops address, for /readyz and /metrics
	p       *harness.Proc
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
	ports, err := harness.FreePorts(1)
	if err != nil {
		return nil, err
	}
	ws.n++
	w := &worker{name: fmt.Sprintf("worker-%d", ws.n), metrics: fmt.Sprintf("127.0.0.1:%d", ports[0])}
	env := append([]string{"PONTE_HTTP_LISTEN=" + w.metrics, "PONTE_NATS_NAME=ponte-" + w.name}, ws.env...)
	w.p, err = harness.Start(ws.dir, w.name, ws.ponte, []string{"run", "--config", ws.config}, env)
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := harness.WaitHTTP(wctx, w.p, "http://"+w.metrics+"/readyz"); err != nil {
		w.p.Kill()
		return nil, err
	}
	ws.all = append(ws.all, w)
	return w, nil
}

// live returns the workers that run.
func (ws *workerSet) live() []*worker {
	var out []*worker
	for _, w := range ws.all {
		if w.p.Running() {
			out = append(out, w)
		}
	}
	return out
}

// stop stops every worker with SIGTERM (they drain) and reports one that had to be killed.
func (ws *workerSet) stop() error {
	var errs []string
	for _, w := range ws.live() {
		if err := w.p.Stop(syscall.SIGTERM, 60*time.Second); err != nil {
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
