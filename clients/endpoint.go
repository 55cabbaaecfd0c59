package clients

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/time/rate"
)

// EndpointConfig is the HTTP configuration of one target, shared by the three clients' configs.
type EndpointConfig struct {
	// BaseURL is the API root, e.g. "https://acme.zeev.it". Required; must be absolute http or https.
	BaseURL string `yaml:"baseURL"`
	// Timeout bounds one HTTP exchange, connection to last body byte. Default 10s.
	Timeout time.Duration `yaml:"timeout"`
	// RateLimit is the most requests per second sent to this target per tenant; 0 (default) means no limit.
	RateLimit float64 `yaml:"rateLimit"`
	// RateBurst is the burst allowed above RateLimit. Default 1.
	RateBurst int `yaml:"rateBurst"`
	// MaxRetryAfter caps a server's Retry-After. Default 5m.
	MaxRetryAfter time.Duration `yaml:"maxRetryAfter"`
	// MaxIdleConnsPerHost is the most idle keep-alive connections kept per host; set it at least to the calls
	// made to this target at once (the worker's concurrency). Default DefaultMaxIdleConnsPerHost (64).
	MaxIdleConnsPerHost int `yaml:"maxIdleConnsPerHost"`
	// IdleConnTimeout is how long an idle connection is kept. Default DefaultIdleConnTimeout (90s).
	IdleConnTimeout time.Duration `yaml:"idleConnTimeout"`
	// DialTimeout bounds opening a TCP connection. Default DefaultDialTimeout (5s).
	DialTimeout time.Duration `yaml:"dialTimeout"`
	// TLSHandshakeTimeout bounds the TLS handshake. Default DefaultTLSHandshakeTimeout (5s).
	TLSHandshakeTimeout time.Duration `yaml:"tlsHandshakeTimeout"`
}

// Validate reports the first unusable setting, naming its key.
func (c EndpointConfig) Validate() error {
	if c.BaseURL == "" {
		return errors.New("baseURL: required")
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("baseURL: %q is not an absolute http(s) URL", c.BaseURL)
	}
	if c.Timeout < 0 {
		return errors.New("timeout: must not be negative")
	}
	if c.RateLimit < 0 {
		return errors.New("rateLimit: must not be negative")
	}
	if c.RateBurst < 0 {
		return errors.New("rateBurst: must not be negative")
	}
	if c.MaxRetryAfter < 0 {
		return errors.New("maxRetryAfter: must not be negative")
	}
	return c.validateTransport()
}

// Endpoint sends requests to one target: it owns the target's *http.Client, runs every request inside the
// breaker of (target, tenant), waits on the optional per-tenant rate limiter, records metrics, and turns every
// outcome other than a 2xx into a typed error. Safe for concurrent use.
type Endpoint struct {
	target   string
	base     *url.URL
	cfg      EndpointConfig
	http     *http.Client
	breakers *Breakers
	metrics  *endpointMetrics
	log      *slog.Logger
	now      func() time.Time
	tracer   trace.Tracer // nil: no request spans

	mu    sync.Mutex
	gates map[string]*gate // per tenant
}

// gate is the throttling gate of one target and tenant: closed until a time the target asked for (a 429, or a
// 503 with Retry-After), and, when the endpoint has a RateLimit, the client-side limit of the requests sent. One
// mechanism: every request passes it, whichever event sends it.
type gate struct {
	lim *rate.Limiter // nil without a RateLimit

	mu    sync.Mutex
	until time.Time
}

// closedFor returns how long the gate stays closed, 0 if it is open.
func (g *gate) closedFor(now time.Time) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	return max(g.until.Sub(now), 0)
}

// close keeps the gate closed until at least until.
func (g *gate) close(until time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if until.After(g.until) {
		g.until = until
	}
}

// EndpointOptions are the collaborators of an Endpoint. Every field is optional.
type EndpointOptions struct {
	HTTPClient *http.Client          // default: the target's own client and transport (see transport.go)
	Breakers   *Breakers             // default: a private set with default settings and no metrics
	Registerer prometheus.Registerer // metrics; nil for none. Register one target per registry only once.
	Logger     *slog.Logger          // default: discard
	// Now is the clock of Retry-After and of the throttling gates; default time.Now.
	Now func() time.Time
	// TracerProvider, when set, records a client span for every request sent. Without one the requests still carry
	// the trace context of their ctx (traceparent, tracestate), if it has one.
	TracerProvider trace.TracerProvider
}

// NewEndpoint returns an Endpoint for target ("zeev", "senior", "cidades") configured by cfg. cfg must be valid.
func NewEndpoint(target string, cfg EndpointConfig, opts EndpointOptions) (*Endpoint, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", target, err)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.RateBurst == 0 {
		cfg.RateBurst = 1
	}
	if cfg.MaxRetryAfter == 0 {
		cfg.MaxRetryAfter = 5 * time.Minute
	}
	cfg = cfg.withTransportDefaults()
	base, _ := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	e := &Endpoint{
		target:   target,
		base:     base,
		cfg:      cfg,
		http:     opts.HTTPClient,
		breakers: opts.Breakers,
		metrics:  endpointMetricsFor(opts.Registerer),
		log:      opts.Logger,
		now:      time.Now,
		gates:    make(map[string]*gate),
	}
	if e.http == nil {
		e.http = newHTTPClient(cfg)
	}
	if e.breakers == nil {
		e.breakers = NewBreakers(BreakerSettings{}, nil)
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if opts.Now != nil {
		e.now = opts.Now
	}
	e.metrics.throttled.add(e)
	if opts.TracerProvider != nil {
		e.tracer = opts.TracerProvider.Tracer(TracerName)
	}
	return e, nil
}

// Target returns the target name.
func (e *Endpoint) Target() string { return e.target }

// Breakers returns the breaker set the endpoint runs in.
func (e *Endpoint) Breakers() *Breakers { return e.breakers }

// URL resolves path (which may carry a query) against the base URL: "/api/2/users" on "https://x/base" is
// "https://x/base/api/2/users".
func (e *Endpoint) URL(path string) string {
	return e.base.String() + path
}

// Request is one HTTP call.
type Request struct {
	Tenant    string      // breaker and rate-limit scope; "" for single-tenant targets
	Operation string      // a fixed operation name from the client, used in errors and metrics
	Method    string      // HTTP method
	Path      string      // path and query relative to the base URL, or an absolute URL (token endpoints)
	Header    http.Header // extra headers (auth)
	JSON      any         // request body, encoded as JSON when non-nil
	Form      url.Values  // request body, form-encoded when non-nil
	Out       any         // decoded from a 2xx JSON body when non-nil and the body is not empty
	// Login marks a token request: it runs inside the breaker like any call (a login failing in an outage is an
	// outage), and an answer 400 or 401 means the credentials are refused: it comes back as an *AuthError (see
	// AuthFailed), a failure of the breaker.
	Login bool
	// Renewed marks the retry of a call answered 401, with a renewed credential (a fresh token, a secret file
	// read again): a 401 again means the credentials are refused, an *AuthError and a failure of the breaker. A
	// first 401 is a stale token the client renews: the target answered, and its breaker does not count it.
	Renewed bool
	// Check, when set, judges a 2xx answer after Out is decoded, inside the breaker: its error is the call's
	// error, counted by the breaker like any other (a retryable one is a failure, a permanent one is not) and
	// recorded with result "bad_response". Use it for a 2xx that is not an answer the API documents.
	Check func(*Response) error
}

// Response is a 2xx answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends req and returns the 2xx response, or a *StatusError, *TransportError, *OpenError or *ThrottledError,
// or the context's error if ctx ends first. A request whose tenant's throttling gate is closed is not sent; an
// answer 429, or 503 with Retry-After, closes the gate for its Retry-After (1s for a 429 without one) and comes
// back as a *ThrottledError wrapping the *StatusError.
func (e *Endpoint) Do(ctx context.Context, req Request) (*Response, error) {
	g := e.gate(req.Tenant)
	if wait := g.closedFor(e.now()); wait > 0 {
		e.metrics.observe(e.target, req.Operation, "throttled", 0)
		return nil, &ThrottledError{Target: e.target, Tenant: req.Tenant, Wait: wait}
	}
	if g.lim != nil {
		if err := g.lim.Wait(ctx); err != nil {
			return nil, fmt.Errorf("%s %s: rate limit wait: %w", e.target, req.Operation, err)
		}
	}
	var resp *Response
	call := func() error {
		var err error
		resp, err = e.tracedRoundTrip(ctx, req)
		switch s := HTTPStatus(err); {
		case req.Login && (s == http.StatusBadRequest || s == http.StatusUnauthorized), req.Renewed && s == http.StatusUnauthorized:
			err = e.AuthFailed(req.Tenant, err)
		case s == http.StatusUnauthorized:
			err = &staleCredential{err}
		}
		return err
	}
	err := e.breakers.Execute(ctx, BreakerKey{Target: e.target, Tenant: req.Tenant}, call)
	if IsBreakerOpen(err) {
		e.metrics.observe(e.target, req.Operation, "breaker_open", 0)
	}
	if req.Login && !IsBreakerOpen(err) {
		result := "success"
		if err != nil {
			result = "failure"
		}
		e.metrics.refreshes.WithLabelValues(e.target, req.Tenant, result).Inc()
	}
	if err != nil {
		return nil, e.throttle(g, req, err)
	}
	return resp, nil
}

// throttle closes the gate g when err is an answer asking to slow down, and says so in the error.
func (e *Endpoint) throttle(g *gate, req Request, err error) error {
	var se *StatusError
	if !errors.As(err, &se) {
		return err
	}
	wait := se.Retry
	switch {
	case se.Status == http.StatusTooManyRequests && wait == 0:
		wait = time.Second
	case se.Status == http.StatusTooManyRequests, se.Status == http.StatusServiceUnavailable && wait > 0:
	default:
		return err
	}
	g.close(e.now().Add(wait))
	e.log.Warn("target throttles: no request to it before the time it asked for", "target", e.target, "tenant", req.Tenant,
		"status", se.Status, "retry_after", wait)
	return &ThrottledError{Target: e.target, Tenant: req.Tenant, Wait: wait, Err: err}
}

// AuthFailed reports credentials the target refused even after a fresh token (a second 401, or a login refused
// with 401): it logs it at error level with the target and tenant (never the credential), counts it in
// ponte_downstream_auth_failures_total, and returns err as an *AuthError.
func (e *Endpoint) AuthFailed(tenant string, err error) error {
	e.metrics.authFailures.WithLabelValues(e.target, tenant).Inc()
	e.log.Error("the target refuses ponte's credentials, even after a fresh token: its events wait until the secret is fixed",
		"target", e.target, "tenant", tenant, "err", err)
	return &AuthError{Target: e.target, Tenant: tenant, Err: err}
}

// RefusedUnchanged reports a 401 whose credential cannot be renewed: the secret file still holds the refused
// token, so there is nothing new to send. It is the auth failure a retry would have been (AuthFailed), counted by
// the tenant's breaker as that retry's 401 would have been, without sending the same token again.
func (e *Endpoint) RefusedUnchanged(ctx context.Context, tenant string, err error) error {
	return e.breakers.Execute(ctx, BreakerKey{Target: e.target, Tenant: tenant}, func() error { return e.AuthFailed(tenant, err) })
}

func (e *Endpoint) roundTrip(ctx context.Context, req Request) (*Response, error) {
	var body io.Reader
	var contentType string
	switch {
	case req.JSON != nil:
		b, err := json.Marshal(req.JSON)
		if err != nil {
			return nil, fmt.Errorf("%s %s: encode request: %w", e.target, req.Operation, err)
		}
		body, contentType = bytes.NewReader(b), "application/json"
	case req.Form != nil:
		body, contentType = strings.NewReader(req.Form.Encode()), "application/x-www-form-urlencoded"
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, e.resolve(req.Path), body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: build request: %w", e.target, req.Operation, err)
	}
	for k, vs := range req.Header {
		hr.Header[k] = vs
	}
	if contentType != "" {
		hr.Header.Set("Content-Type", contentType)
	}
	hr.Header.Set("Accept", "application/json")
	propagate(ctx, hr.Header)

	start := e.now()
	res, err := e.http.Do(hr)
	if err != nil {
		if ctx.Err() != nil {
			// The caller gave up (shutdown, handler deadline): report the context error itself.
			e.metrics.observe(e.target, req.Operation, "canceled", time.Since(start))
			return nil, fmt.Errorf("%s %s: %w", e.target, req.Operation, ctx.Err())
		}
		e.metrics.observe(e.target, req.Operation, "network_error", time.Since(start))
		return nil, &TransportError{Target: e.target, Operation: req.Operation, Err: redactURLError(err)}
	}
	defer res.Body.Close()
	b, err := readBody(res)
	drain(res.Body)
	elapsed := time.Since(start)
	if err != nil {
		e.metrics.observe(e.target, req.Operation, "network_error", elapsed)
		return nil, &TransportError{Target: e.target, Operation: req.Operation, Err: fmt.Errorf("read response: %w", err)}
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		se := &StatusError{
			Target:    e.target,
			Operation: req.Operation,
			Status:    res.StatusCode,
			Body:      Excerpt(b),
			raw:       b,
			Retry:     parseRetryAfter(res.Header.Get("Retry-After"), e.now(), e.cfg.MaxRetryAfter),
		}
		e.metrics.observe(e.target, req.Operation, resultOf(res.StatusCode), elapsed)
		if res.StatusCode >= 300 && res.StatusCode <= 399 {
			return nil, redirectError(se, res)
		}
		return nil, se
	}
	if req.Out != nil && len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, req.Out); err != nil {
			e.metrics.observe(e.target, req.Operation, "bad_response", elapsed)
			return nil, &TransportError{Target: e.target, Operation: req.Operation,
				Err: fmt.Errorf("decode %d response: %w (body: %s)", res.StatusCode, err, Excerpt(b))}
		}
	}
	resp := &Response{Status: res.StatusCode, Header: res.Header, Body: b}
	if req.Check != nil {
		if err := req.Check(resp); err != nil {
			e.metrics.observe(e.target, req.Operation, "bad_response", elapsed)
			return nil, err
		}
	}
	e.metrics.observe(e.target, req.Operation, "success", elapsed)
	return resp, nil
}

func (e *Endpoint) gate(tenant string) *gate {
	e.mu.Lock()
	defer e.mu.Unlock()
	g, ok := e.gates[tenant]
	if !ok {
		g = &gate{}
		if e.cfg.RateLimit > 0 {
			g.lim = rate.NewLimiter(rate.Limit(e.cfg.RateLimit), e.cfg.RateBurst)
		}
		e.gates[tenant] = g
	}
	return g
}

// redactURLError drops the query string from a *url.Error, which may carry credentials.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			return &url.Error{Op: ue.Op, URL: redactedURL(u), Err: ue.Err}
		}
	}
	return err
}

// redactedURL is u without what may carry a credential or a CPF: the query, the user information, the fragment.
func redactedURL(u *url.URL) string {
	c := *u
	c.RawQuery, c.ForceQuery, c.User, c.Fragment, c.RawFragment = "", false, nil, "", ""
	return c.String()
}

// resolve returns the URL of a request's path: an absolute URL (a token endpoint) as is, else the path against the
// base URL.
func (e *Endpoint) resolve(path string) string {
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		return path
	}
	return e.URL(path)
}

func resultOf(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return "rate_limited"
	case status >= 500:
		return "server_error"
	}
	return "client_error"
}

// EndpointResults is the closed set of the result label of ponte_downstream_requests_total.
var EndpointResults = []string{"success", "client_error", "server_error", "rate_limited", "network_error", "bad_response", "breaker_open", "throttled", "canceled"}

// TokenResults is the closed set of the result label of ponte_downstream_token_refreshes_total.
var TokenResults = []string{"success", "failure"}

type endpointMetrics struct {
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	authFailures *prometheus.CounterVec
	refreshes    *prometheus.CounterVec
	throttled    *throttledCollector
}

// endpointMetricsFor returns the metrics registered on reg, sharing them between endpoints on the same registry.
func endpointMetricsFor(reg prometheus.Registerer) *endpointMetrics {
	m := &endpointMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ponte_downstream_requests_total",
			Help: "HTTP requests to downstream APIs, by target, operation and result (success: 2xx; client_error: 4xx; server_error: 5xx; rate_limited: 429; network_error: no answer; bad_response: a 2xx the API does not document; breaker_open, throttled: not sent; canceled).",
		}, []string{"target", "operation", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ponte_downstream_request_duration_seconds",
			Help:    "Duration of HTTP requests to downstream APIs that got an answer or failed on the network.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"target", "operation"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ponte_downstream_auth_failures_total",
			Help: "Credentials a downstream API refused even after a fresh token (revoked, or renewed and not yet in the secret file), by target and tenant.",
		}, []string{"target", "tenant"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ponte_downstream_token_refreshes_total",
			Help: "Access tokens requested from a downstream API's login or token endpoint, by target, tenant and result (success, failure).",
		}, []string{"target", "tenant", "result"}),
		throttled: &throttledCollector{desc: prometheus.NewDesc("ponte_downstream_throttled",
			"1 while a target's throttling gate is closed: it answered 429, or 503 with Retry-After, and ponte sends it nothing until the time it asked for; by target and tenant.",
			[]string{"target", "tenant"}, nil)},
	}
	if reg == nil {
		return m
	}
	m.requests = registerShared(reg, m.requests)
	m.duration = registerShared(reg, m.duration)
	m.authFailures = registerShared(reg, m.authFailures)
	m.refreshes = registerShared(reg, m.refreshes)
	m.throttled = registerShared(reg, m.throttled)
	return m
}

// registerShared registers c on reg, or returns the collector registered before it under the same name.
func registerShared[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			panic(err)
		}
		return are.ExistingCollector.(C)
	}
	return c
}

// throttledCollector reports the throttling gates of the endpoints of one registry at scrape time: a gate closes
// and opens by the clock, so its state is read when asked for rather than kept in a gauge.
type throttledCollector struct {
	desc *prometheus.Desc

	mu        sync.Mutex
	endpoints []*Endpoint
}

func (c *throttledCollector) add(e *Endpoint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.endpoints = append(c.endpoints, e)
}

// Describe implements prometheus.Collector.
func (c *throttledCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *throttledCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	eps := slices.Clone(c.endpoints)
	c.mu.Unlock()
	for _, e := range eps {
		now := e.now()
		e.mu.Lock()
		gates := maps.Clone(e.gates)
		e.mu.Unlock()
		for tenant, g := range gates {
			v := 0.0
			if g.closedFor(now) > 0 {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, e.target, tenant)
		}
	}
}

// Declare pre-creates the metric series of the given operations, so dashboards show 0 instead of nothing. The
// per-tenant series are declared by DeclareTenant ("" for single-tenant targets).
func (e *Endpoint) Declare(operations ...string) {
	for _, op := range operations {
		for _, r := range EndpointResults {
			e.metrics.requests.WithLabelValues(e.target, op, r)
		}
		e.metrics.duration.WithLabelValues(e.target, op)
	}
}

// DeclareTenant pre-creates the per-tenant series of one tenant: auth failures, token refreshes and the
// throttling gate.
func (e *Endpoint) DeclareTenant(tenant string) {
	e.metrics.authFailures.WithLabelValues(e.target, tenant)
	for _, r := range TokenResults {
		e.metrics.refreshes.WithLabelValues(e.target, tenant, r)
	}
	e.gate(tenant)
}

func (m *endpointMetrics) observe(target, op, result string, d time.Duration) {
	m.requests.WithLabelValues(target, op, result).Inc()
	if result != "breaker_open" && result != "throttled" && result != "canceled" {
		m.duration.WithLabelValues(target, op).Observe(d.Seconds())
	}
}
