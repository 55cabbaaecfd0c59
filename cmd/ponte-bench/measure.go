package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ponte-dev/ponte/cmd/internal/harness"
)

// measurement is what one run measured.
type measurement struct {
	spec spec
	// events is the number published; window runs from the resume (or the start of publishing) to the stored
	// time of the last result, rate is events over window.
	events int
	window time.Duration
	rate   float64
	// p50, p99 and p999 are of the time from each input's stored time to its result's.
	p50, p99, p999 time.Duration
	// The CPU time over the window of the worker processes, nats-server and the sandbox.
	workerCPU, natsCPU, simCPU time.Duration
	// allocated is the bytes the worker processes allocated over the window.
	allocated int64
	// peakRSS is the largest VmHWM among the worker processes.
	peakRSS int64
	// redeliveries is the consumer's deliveries beyond one per message.
	redeliveries int64
	// inMsgs is nats-server's in_msgs over the window, apiCalls its JetStream API requests, both less the
	// harness's own (its publishes at a steady rate, its polls).
	inMsgs, apiCalls int64
	// simRequests is the requests the three simulators served over the window; created the contratações
	// CidadES holds more after it than before (checked against events when checkCreated).
	simRequests, created int64
	checkCreated         bool
	dlq                  int64
	problems             []string
}

func (m *measurement) problem(format string, args ...any) {
	m.problems = append(m.problems, fmt.Sprintf(format, args...))
}

// ok reports whether the run's count check passed and nothing failed.
func (m *measurement) ok() bool { return len(m.problems) == 0 }

// sampled is one reading of the counters the window is measured with.
type sampled struct {
	workers, nats, sandbox time.Duration
	peakRSS                int64
	inMsgs, api            int64
	allocated              int64 // bytes the worker processes allocated since they started
}

// sample reads the CPU time of every process of the run and nats-server's message and API counters.
func (b *bench) sample() (sampled, error) {
	var s sampled
	for _, w := range b.workers {
		u, err := w.p.Usage()
		if err != nil {
			return s, err
		}
		s.workers += u.CPU
		s.peakRSS = max(s.peakRSS, u.PeakRSS)
		a, err := allocated(b.ctx, "http://"+w.ops+"/metrics")
		if err != nil {
			return s, err
		}
		s.allocated += a
	}
	for _, p := range []*harness.Proc{b.nats.Nodes[0].P, b.sb.P} {
		u, err := p.Usage()
		if err != nil {
			return s, err
		}
		if p == b.sb.P {
			s.sandbox = u.CPU
		} else {
			s.nats = u.CPU
		}
	}
	mon := fmt.Sprintf("http://127.0.0.1:%d", b.nats.Nodes[0].HTTP)
	var varz struct {
		InMsgs int64 `json:"in_msgs"`
	}
	if err := getJSON(b.ctx, mon+"/varz", &varz); err != nil {
		return s, err
	}
	var jsz struct {
		API struct {
			Total int64 `json:"total"`
		} `json:"api"`
	}
	if err := getJSON(b.ctx, mon+"/jsz", &jsz); err != nil {
		return s, err
	}
	s.inMsgs, s.api = varz.InMsgs, jsz.API.Total
	return s, nil
}

// allocated reads the bytes a worker allocated since it started from its /metrics (ponte's Prometheus Go
// collector; the reference serves the same line).
func allocated(ctx context.Context, url string) (int64, error) {
	body, err := get(ctx, url)
	if err != nil {
		return 0, err
	}
	return allocatedIn(string(body))
}

// allocatedIn finds go_memstats_alloc_bytes_total in a Prometheus text exposition.
func allocatedIn(text string) (int64, error) {
	for line := range strings.Lines(text) {
		if v, ok := strings.CutPrefix(line, "go_memstats_alloc_bytes_total "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int64(f), err
		}
	}
	return 0, errors.New("no go_memstats_alloc_bytes_total in the worker's /metrics")
}

// get returns the body of the 200 answer to GET url.
func get(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, res.Status)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	return body, nil
}

// getJSON decodes the answer of GET url into out.
func getJSON(ctx context.Context, url string, out any) error {
	body, err := get(ctx, url)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return nil
}

// simCount is what the simulators hold: the seq of the request they logged last, summed over the three, and
// CidadES's contratações.
type simCount struct {
	requests, contratacoes int64
}

// markPath is the request the harness sends to a simulator to learn the seq its log is at (answered 404).
const markPath = "/ponte-bench/mark"

// simCounts reads the simulators' counts. The contratações are counted through the aggregator UG's key (GET
// /v1/contratacoes?tamanhoPagina=1: totalRegistros). Then each request log is cleared (its seq goes on), a mark
// request is sent and read back: its seq, less the harness's own requests to that simulator so far (the marks,
// the counting), is the number of requests the workers sent it.
func (b *bench) simCounts(sims []harness.Sim) (simCount, error) {
	var c simCount
	n, err := countContratacoes(b.ctx, b.sb.CidadES.Base)
	b.own[b.sb.CidadES.Name] += 2 // the token and the count
	if err != nil {
		return c, err
	}
	c.contratacoes = n
	type entry struct {
		Seq  int64  `json:"seq"`
		Path string `json:"path"`
	}
	for _, s := range sims {
		if err := harness.Control(http.MethodDelete, s.Base+"/_sim/requests", nil); err != nil {
			return c, err
		}
		res, err := (&http.Client{Timeout: 10 * time.Second}).Get(s.Base + markPath)
		b.own[s.Name]++
		if err != nil {
			return c, fmt.Errorf("mark %s: %w", s.Name, err)
		}
		res.Body.Close()
		var log []entry
		if err := getJSON(b.ctx, s.Base+"/_sim/requests?after=0", &log); err != nil {
			return c, err
		}
		i := slices.IndexFunc(log, func(e entry) bool { return e.Path == markPath })
		if i < 0 {
			return c, fmt.Errorf("%s: the mark request is not in the request log", s.Name)
		}
		c.requests += log[i].Seq - b.own[s.Name]
	}
	return c, nil
}

// The aggregator UG of the sandbox, whose key sees the contratações of 001001 and 001002.
const (
	aggregatorID     = "ug-001000-rw"
	aggregatorSecret = "cidades-dev-001000-rw"
)

// countContratacoes returns the number of contratações the aggregator UG sees.
func countContratacoes(ctx context.Context, base string) (int64, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {aggregatorID}, "client_secret": {aggregatorSecret}}
	c := &http.Client{Timeout: 30 * time.Second}
	res, err := c.PostForm(base+"/oauth/token", form)
	if err != nil {
		return 0, fmt.Errorf("cidades token: %w", err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	if err != nil || tok.AccessToken == "" {
		return 0, fmt.Errorf("cidades token: %s, %v", res.Status, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/contratacoes?tamanhoPagina=1", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	res, err = c.Do(req)
	if err != nil {
		return 0, fmt.Errorf("cidades count contratacoes: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(res.Body)
		return 0, fmt.Errorf("cidades count contratacoes: %s %s", res.Status, msg)
	}
	var page struct {
		TotalRegistros int64 `json:"totalRegistros"`
	}
	if err := json.NewDecoder(res.Body).Decode(&page); err != nil {
		return 0, fmt.Errorf("cidades count contratacoes: %w", err)
	}
	return page.TotalRegistros, nil
}

// readStamps reads every message of stream (headers only) and returns, by the key key gives each, the times
// the server stored them at.
func readStamps(ctx context.Context, js jetstream.JetStream, stream string, key func(nats.Header) string) (map[string][]time.Time, error) {
	out := map[string][]time.Time{}
	var (
		c     jetstream.Consumer
		total uint64
	)
	if err := harness.Patiently(ctx, "read "+stream, func(ctx context.Context) error {
		s, err := js.Stream(ctx, stream)
		if err != nil {
			return err
		}
		total = s.CachedInfo().State.Msgs
		c, err = s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{HeadersOnly: true})
		return err
	}); err != nil {
		return nil, err
	}
	it, err := c.Messages(jetstream.PullMaxMessages(4096))
	if err != nil {
		return nil, err
	}
	defer it.Stop()
	for n := uint64(0); n < total; n++ {
		m, err := it.Next(jetstream.NextMaxWait(30 * time.Second))
		if err != nil {
			return nil, fmt.Errorf("%s: message %d of %d: %w", stream, n+1, total, err)
		}
		md, err := m.Metadata()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", stream, err)
		}
		k := key(m.Headers())
		out[k] = append(out[k], md.Timestamp)
	}
	return out, nil
}

// checked is the outcome of the count check and the latencies.
type checked struct {
	problems       []string
	p50, p99, p999 time.Duration
	// last is the stored time of the last result.
	last time.Time
}

// check is the count check of a run: every published id has exactly one result, there is no result for an id
// that was not published, no dead letter, and, when checkCreated, CidadES created one contratação per event.
// It also returns the percentiles of input-to-result latency, from the stored times.
func check(ids []string, inputs, results map[string][]time.Time, dlq int64, checkCreated bool, created int64) checked {
	var c checked
	var missing, twice, unknown, unstored []string
	lat := make([]time.Duration, 0, len(ids))
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
		rs := results[id]
		switch {
		case len(rs) == 0:
			missing = append(missing, id)
			continue
		case len(rs) > 1:
			twice = append(twice, id)
		}
		for _, t := range rs {
			if t.After(c.last) {
				c.last = t
			}
		}
		in := inputs[id]
		if len(in) == 0 {
			unstored = append(unstored, id)
			continue
		}
		lat = append(lat, rs[0].Sub(in[0]))
	}
	for id := range results {
		if !want[id] {
			unknown = append(unknown, id)
		}
	}
	list := func(what string, ids []string) {
		if len(ids) == 0 {
			return
		}
		slices.Sort(ids)
		shown := ids[:min(len(ids), 5)]
		more := ""
		if len(ids) > len(shown) {
			more = fmt.Sprintf(" and %d more", len(ids)-len(shown))
		}
		c.problems = append(c.problems, fmt.Sprintf("%d %s: %s%s", len(ids), what, strings.Join(shown, ", "), more))
	}
	list("events without a result", missing)
	list("events with more than one result", twice)
	list("results of no published event", unknown)
	list("events not in the input stream", unstored)
	if dlq > 0 {
		c.problems = append(c.problems, fmt.Sprintf("%d dead letters", dlq))
	}
	if checkCreated && created != int64(len(ids)) {
		c.problems = append(c.problems, fmt.Sprintf("CidadES created %d contratações for %d events", created, len(ids)))
	}
	slices.Sort(lat)
	c.p50, c.p99, c.p999 = percentile(lat, 0.50), percentile(lat, 0.99), percentile(lat, 0.999)
	return c
}

// percentile returns the q-quantile (0 < q <= 1) of sorted by the nearest-rank method: the smallest value with
// at least q of the values at or below it; 0 for no values.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	k := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(k, 0), len(sorted)-1)]
}

// median returns the median of xs (the mean of the middle two for an even count); 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// ratio is a/b, or NaN when b is 0 (no reference to compare with).
func ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}

// perEvent is d in microseconds per event.
func perEvent(d time.Duration, events int) float64 {
	if events == 0 {
		return 0
	}
	return float64(d.Microseconds()) / float64(events)
}
