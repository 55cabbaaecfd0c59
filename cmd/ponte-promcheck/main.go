// Command ponte-promcheck is make prom-check: it proves ponte's metrics and alerts on a real Prometheus and
// Alertmanager (Debian's, on loopback). It starts `ponte dev`, a Prometheus that scrapes it every second and loads
// charts/ponte/files/alerts.yaml, and an Alertmanager that forwards to a webhook of its own; checks that every
// metric of docs/metrics.md is scraped; takes the CidadES simulator down while contract.signed events arrive and
// waits for PonteCircuitBreakerOpen to fire in Prometheus, reach Alertmanager (its API) and be notified; brings the
// simulator back and waits for the alert to resolve, every event settled. It stops everything it started.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ponte-dev/ponte/clients/fault"
	"github.com/ponte-dev/ponte/cmd/internal/harness"
	"github.com/ponte-dev/ponte/cmd/internal/metricsdoc"
)

// alertName is the alert the check fires.
const alertName = "PonteCircuitBreakerOpen"

func main() {
	ponte := flag.String("ponte", "bin/ponte", "the ponte binary")
	prometheus := flag.String("prometheus", "/usr/bin/prometheus", "the prometheus binary")
	alertmanager := flag.String("alertmanager", "/usr/bin/prometheus-alertmanager", "the alertmanager binary")
	repo := flag.String("repo", ".", "the repository (docs/metrics.md, charts/ponte/files/alerts.yaml)")
	events := flag.Int("events", 8, "contract.signed events published while CidadES is down")
	timeout := flag.Duration("timeout", 10*time.Minute, "the whole check's deadline")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	c := &check{api: &http.Client{Timeout: 5 * time.Second}, ponte: *ponte, prometheus: *prometheus, alertmanager: *alertmanager, repo: *repo, events: *events, out: os.Stdout}
	err := c.run(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "prom-check: FAILED: %v\n", err)
		if c.dir != "" {
			fmt.Fprintf(os.Stderr, "prom-check: the processes' logs are kept in %s\n", c.dir)
		}
		os.Exit(1)
	}
	fmt.Fprintln(c.out, "prom-check: PASSED")
}

// check is one run of the check.
type check struct {
	ponte, prometheus, alertmanager, repo string
	events                                int
	out                                   io.Writer

	// api asks Prometheus and Alertmanager, with a timeout: one request that hangs must not hold a wait past its
	// own deadline.
	api                        *http.Client
	dir                        string
	promURL, amURL, cidadesURL string
	natsURL                    string
	hook                       *webhook
	procs                      []*harness.Proc
}

func (c *check) say(format string, args ...any) {
	fmt.Fprintf(c.out, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func (c *check) run(ctx context.Context) (err error) {
	for _, bin := range []string{c.ponte, c.prometheus, c.alertmanager} {
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("%w (make prom-check installs Debian's prometheus and prometheus-alertmanager and builds ponte)", err)
		}
	}
	catalogue, err := metricsdoc.Read(filepath.Join(c.repo, "docs", "metrics.md"))
	if err != nil {
		return fmt.Errorf("docs/metrics.md: %w", err)
	}
	rules, err := filepath.Abs(filepath.Join(c.repo, "charts", "ponte", "files", "alerts.yaml"))
	if err != nil {
		return err
	}
	dir, cleanup, err := harness.WorkDir("ponte-promcheck-")
	if err != nil {
		return err
	}
	c.dir = dir
	defer func() {
		c.stopAll()
		if err == nil {
			os.RemoveAll(dir)
			c.dir = ""
		} else {
			cleanup()
		}
	}()
	if err := c.start(ctx, rules); err != nil {
		return err
	}
	if err := c.checkMetrics(ctx, catalogue); err != nil {
		return err
	}
	return c.checkAlert(ctx)
}

// start runs ponte dev, the webhook, Alertmanager and Prometheus, and waits until Prometheus scrapes ponte.
func (c *check) start(ctx context.Context, rules string) error {
	ports, err := harness.FreePorts(6)
	if err != nil {
		return err
	}
	natsPort, opsPort, cidadesPort, amPort, promPort := ports[0], ports[1], ports[2], ports[3], ports[4]
	c.natsURL = "nats://127.0.0.1:" + strconv.Itoa(natsPort)
	c.cidadesURL = "http://127.0.0.1:" + strconv.Itoa(cidadesPort)
	c.amURL = "http://127.0.0.1:" + strconv.Itoa(amPort)
	c.promURL = "http://127.0.0.1:" + strconv.Itoa(promPort)
	ops := "127.0.0.1:" + strconv.Itoa(opsPort)

	if c.hook, err = startWebhook(); err != nil {
		return err
	}
	dev, err := c.startProc("ponte-dev", c.ponte, "dev", "--nats-port", strconv.Itoa(natsPort), "--http", ops,
		"--cidades-port", strconv.Itoa(cidadesPort), "--data", filepath.Join(c.dir, "jetstream"), "--log-level", "warn")
	if err != nil {
		return err
	}
	if err := harness.WaitHTTP(ctx, dev, "http://"+ops+"/readyz"); err != nil {
		return err
	}
	c.say("ponte dev ready: metrics at http://%s/metrics, CidadES simulator at %s", ops, c.cidadesURL)

	amConfig := filepath.Join(c.dir, "alertmanager.yml")
	if err := os.WriteFile(amConfig, fmt.Appendf(nil, `route:
  receiver: promcheck
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: promcheck
    webhook_configs:
      - url: %s
        send_resolved: true
`, c.hook.url), 0o644); err != nil {
		return err
	}
	am, err := c.startProc("alertmanager", c.alertmanager, "--config.file="+amConfig, "--storage.path="+filepath.Join(c.dir, "am"),
		"--web.listen-address=127.0.0.1:"+strconv.Itoa(amPort), "--cluster.listen-address=")
	if err != nil {
		return err
	}
	if err := harness.WaitHTTP(ctx, am, c.amURL+"/-/ready"); err != nil {
		return err
	}

	promConfig := filepath.Join(c.dir, "prometheus.yml")
	if err := os.WriteFile(promConfig, fmt.Appendf(nil, `global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - %s
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:%d"]
scrape_configs:
  - job_name: ponte
    static_configs:
      - targets: ["%s"]
`, rules, amPort, ops), 0o644); err != nil {
		return err
	}
	prom, err := c.startProc("prometheus", c.prometheus, "--config.file="+promConfig, "--storage.tsdb.path="+filepath.Join(c.dir, "tsdb"),
		"--web.listen-address=127.0.0.1:"+strconv.Itoa(promPort), "--rules.alert.resend-delay=1s")
	if err != nil {
		return err
	}
	if err := harness.WaitHTTP(ctx, prom, c.promURL+"/-/ready"); err != nil {
		return err
	}
	c.say("prometheus %s (rules: %s) and alertmanager %s ready", c.promURL, rules, c.amURL)
	if err := c.until(ctx, time.Minute, "prometheus to scrape ponte", func() (bool, error) {
		v, err := c.query(ctx, `up{job="ponte"}`)
		return len(v) == 1 && v[0].Value == "1", err
	}); err != nil {
		return err
	}
	return c.until(ctx, time.Minute, "prometheus to load the alerting rules", func() (bool, error) {
		groups, err := c.ruleCount(ctx)
		return groups > 0, err
	})
}

func (c *check) startProc(name, bin string, args ...string) (*harness.Proc, error) {
	p, err := harness.Start(c.dir, name, bin, args, nil)
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, p)
	return p, nil
}

func (c *check) stopAll() {
	for _, p := range slices.Backward(c.procs) {
		if err := p.Stop(syscall.SIGTERM, 20*time.Second); err != nil {
			fmt.Fprintf(os.Stderr, "prom-check: %v\n", err)
		}
	}
	if c.hook != nil {
		c.hook.srv.Close()
	}
}

// checkMetrics checks that Prometheus holds every metric of the catalogue, scraped from ponte.
func (c *check) checkMetrics(ctx context.Context, catalogue []metricsdoc.Metric) error {
	var missing []string
	var found []string
	err := c.until(ctx, 30*time.Second, "every metric of docs/metrics.md in prometheus", func() (bool, error) {
		v, err := c.query(ctx, `count by (__name__) ({job="ponte", __name__=~"ponte_.+"})`)
		if err != nil {
			return false, err
		}
		have := map[string]string{}
		for _, s := range v {
			have[s.Metric["__name__"]] = s.Value
		}
		missing, found = nil, nil
		for _, m := range catalogue {
			n, ok := have[m.Series()[0]]
			if !ok {
				missing = append(missing, m.Name)
				continue
			}
			found = append(found, fmt.Sprintf("%-48s %-9s %s series", m.Name, m.Type, n))
		}
		return len(missing) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("%w: missing %s", err, strings.Join(missing, ", "))
	}
	c.say("metrics found in prometheus: all %d of docs/metrics.md", len(catalogue))
	for _, f := range found {
		fmt.Fprintf(c.out, "           %s\n", f)
	}
	return nil
}

// checkAlert takes CidadES down while contract.signed events arrive, and follows the breaker alert from firing
// to resolved.
func (c *check) checkAlert(ctx context.Context) error {
	if err := harness.SetFaults(harness.Sim{Name: "cidades", Base: c.cidadesURL}, fault.Faults{Down: true}); err != nil {
		return fmt.Errorf("take CidadES down: %w", err)
	}
	c.say("CidadES simulator down (PUT /_sim/faults {\"down\":true}); publishing %d contract.signed events", c.events)
	for i := range c.events {
		if err := c.publish(ctx, i); err != nil {
			return err
		}
	}
	var opened time.Time
	if err := c.until(ctx, 2*time.Minute, "the CidadES breaker to open", func() (bool, error) {
		v, err := c.query(ctx, `ponte_circuit_breaker_state{target="cidades", state="open"} == 1`)
		opened = time.Now()
		return len(v) > 0, err
	}); err != nil {
		return err
	}
	c.say("breaker open: ponte_circuit_breaker_state{target=\"cidades\",state=\"open\"} == 1")

	var firing promAlert
	if err := c.until(ctx, 5*time.Minute, alertName+" to fire in prometheus", func() (bool, error) {
		a, ok, err := c.promAlert(ctx)
		firing = a
		return ok && a.State == "firing", err
	}); err != nil {
		return err
	}
	c.say("prometheus: %s firing (%s after the breaker opened; for: 2m): labels %v", alertName, time.Since(opened).Round(time.Second), firing.Labels)
	c.say("           summary: %s", firing.Annotations["summary"])

	var amAnswer []byte
	if err := c.until(ctx, time.Minute, alertName+" to reach alertmanager", func() (bool, error) {
		b, active, err := c.amAlerts(ctx)
		amAnswer = b
		return active, err
	}); err != nil {
		return err
	}
	c.say("alertmanager GET /api/v2/alerts?filter=alertname=%q answered:\n%s", alertName, indent(amAnswer))
	if err := c.hook.wait(ctx, "firing"); err != nil {
		return err
	}
	c.say("alertmanager notified its receiver: status firing")

	if err := harness.SetFaults(harness.Sim{Name: "cidades", Base: c.cidadesURL}, fault.Faults{}); err != nil {
		return fmt.Errorf("bring CidadES back: %w", err)
	}
	back := time.Now()
	c.say("CidadES simulator back (PUT /_sim/faults {})")
	if err := c.until(ctx, 3*time.Minute, "the CidadES breaker to close", func() (bool, error) {
		v, err := c.query(ctx, `ponte_circuit_breaker_state{target="cidades", state="open"} == 1`)
		return len(v) == 0, err
	}); err != nil {
		return err
	}
	c.say("breaker closed after %s (a probe every breakers.openTimeout)", time.Since(back).Round(time.Second))
	if err := c.until(ctx, 4*time.Minute, alertName+" to resolve in prometheus", func() (bool, error) {
		_, ok, err := c.promAlert(ctx)
		return !ok, err
	}); err != nil {
		return err
	}
	c.say("prometheus: %s resolved", alertName)
	if err := c.hook.wait(ctx, "resolved"); err != nil {
		return err
	}
	if err := c.until(ctx, time.Minute, alertName+" to be resolved in alertmanager", func() (bool, error) {
		b, active, err := c.amAlerts(ctx)
		amAnswer = b
		return !active, err
	}); err != nil {
		return err
	}
	c.say("alertmanager notified its receiver: status resolved; GET /api/v2/alerts now answers %s", strings.TrimSpace(string(amAnswer)))

	want := strconv.Itoa(c.events)
	return c.until(ctx, 3*time.Minute, "every event published to settle", func() (bool, error) {
		v, err := c.query(ctx, `sum(ponte_events_processed_total{type="contract.signed", outcome="success"})`)
		if err != nil || len(v) != 1 {
			return false, err
		}
		if v[0].Value == want {
			c.say("all %s contract.signed events succeeded once CidadES was back: none dead-lettered for the outage", want)
			return true, nil
		}
		return false, nil
	})
}

// publish publishes the i-th contract.signed event of the check, a contract of its own.
func (c *check) publish(ctx context.Context, i int) error {
	data := fmt.Sprintf(`{"contrato":{"numero":"%03d/2026","ano":2026,"objeto":"Contrato da verificação de alertas %d",`+
		`"contratado":{"documento":"11.444.777/0001-61","nome":"Radiologia Capixaba Serviços Técnicos Ltda"},`+
		`"valorGlobal":1000.0,"dataAssinatura":"2026-11-19","vigencia":{"inicio":"2026-12-01","fim":"2027-11-30"},`+
		`"modalidadeLicitacao":"PREGAO_ELETRONICO","numeroProcessoAdministrativo":"2026/%06d"}}`, 900+i, i, i)
	cmd := exec.CommandContext(ctx, c.ponte, "publish", "contract.signed", "--ug", "001001", "--nats", c.natsURL,
		"--id", fmt.Sprintf("promcheck-%d-%d", time.Now().Unix(), i), "--data", data)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ponte publish: %v\n%s", err, out)
	}
	return nil
}

// sample is one series of an instant query's answer.
type sample struct {
	Metric map[string]string
	Value  string
}

// query runs an instant query.
func (c *check) query(ctx context.Context, q string) ([]sample, error) {
	var res struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := c.getJSON(ctx, c.promURL+"/api/v1/query?query="+url.QueryEscape(q), &res); err != nil {
		return nil, err
	}
	if res.Status != "success" {
		return nil, fmt.Errorf("query %s: %s", q, res.Error)
	}
	var out []sample
	for _, r := range res.Data.Result {
		v, _ := r.Value[1].(string)
		out = append(out, sample{Metric: r.Metric, Value: v})
	}
	return out, nil
}

// ruleCount returns the number of rule groups Prometheus loaded.
func (c *check) ruleCount(ctx context.Context) (int, error) {
	var res struct {
		Data struct {
			Groups []json.RawMessage `json:"groups"`
		} `json:"data"`
	}
	err := c.getJSON(ctx, c.promURL+"/api/v1/rules", &res)
	return len(res.Data.Groups), err
}

// promAlert is an alert as Prometheus's /api/v1/alerts gives it.
type promAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
}

// promAlert returns the check's alert for CidadES, pending or firing, if Prometheus has it.
func (c *check) promAlert(ctx context.Context) (promAlert, bool, error) {
	var res struct {
		Data struct {
			Alerts []promAlert `json:"alerts"`
		} `json:"data"`
	}
	if err := c.getJSON(ctx, c.promURL+"/api/v1/alerts", &res); err != nil {
		return promAlert{}, false, err
	}
	for _, a := range res.Data.Alerts {
		if a.Labels["alertname"] == alertName && a.Labels["target"] == "cidades" {
			return a, true, nil
		}
	}
	return promAlert{}, false, nil
}

// amAlert is an alert as Alertmanager's /api/v2/alerts gives it (the part the check reads).
type amAlert struct {
	Status struct {
		State string `json:"state"`
	} `json:"status"`
}

// amAlerts returns Alertmanager's answer for the check's alert, and whether it holds an active one.
func (c *check) amAlerts(ctx context.Context) ([]byte, bool, error) {
	u := c.amURL + "/api/v2/alerts?filter=" + url.QueryEscape(`alertname="`+alertName+`"`)
	b, err := c.get(ctx, u)
	if err != nil {
		return nil, false, err
	}
	var alerts []amAlert
	if err := json.Unmarshal(b, &alerts); err != nil {
		return nil, false, fmt.Errorf("alertmanager %s: %w", u, err)
	}
	active := slices.ContainsFunc(alerts, func(a amAlert) bool { return a.Status.State == "active" })
	return b, active, nil
}

// until polls cond every second until it holds, for at most d.
func (c *check) until(ctx context.Context, d time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(d)
	var last error
	for {
		ok, err := cond()
		if ok && err == nil {
			return nil
		}
		last = err
		if time.Now().After(deadline) {
			if last != nil {
				return fmt.Errorf("waiting %s for %s: %w", d, what, last)
			}
			return fmt.Errorf("waited %s for %s: it did not happen", d, what)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

func (c *check) get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	res, err := c.api.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err == nil && res.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s: %s", u, res.Status, bytes.TrimSpace(b))
	}
	return b, err
}

func (c *check) getJSON(ctx context.Context, u string, v any) error {
	b, err := c.get(ctx, u)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func indent(b []byte) string {
	var out bytes.Buffer
	if json.Indent(&out, b, "           ", "  ") != nil {
		return string(b)
	}
	return "           " + out.String()
}

// webhook is the receiver Alertmanager notifies: it records the status of every notification of the alert.
type webhook struct {
	srv *http.Server
	url string

	mu       sync.Mutex
	statuses []string
	notify   chan struct{}
}

func startWebhook() (*webhook, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := &webhook{url: "http://" + ln.Addr().String() + "/hook", notify: make(chan struct{}, 1)}
	h.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n struct {
			Status       string            `json:"status"`
			CommonLabels map[string]string `json:"commonLabels"`
		}
		if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if n.CommonLabels["alertname"] == alertName {
			h.mu.Lock()
			h.statuses = append(h.statuses, n.Status)
			h.mu.Unlock()
			select {
			case h.notify <- struct{}{}:
			default:
			}
		}
	})}
	go h.srv.Serve(ln) //nolint:errcheck // closed at the end of the check
	return h, nil
}

// wait returns once a notification of the alert with status has arrived.
func (h *webhook) wait(ctx context.Context, status string) error {
	for {
		h.mu.Lock()
		got := slices.Contains(h.statuses, status)
		h.mu.Unlock()
		if got {
			return nil
		}
		select {
		case <-h.notify:
		case <-ctx.Done():
			return fmt.Errorf("waiting for alertmanager's %s notification: %w", status, ctx.Err())
		case <-time.After(2 * time.Minute):
			return fmt.Errorf("alertmanager sent no %s notification of %s within 2 minutes", status, alertName)
		}
	}
}
