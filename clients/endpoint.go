package clients

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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
	// made to this target at once (worker concurrency times consumers). Default DefaultMaxIdleConnsPerHost (64).
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

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

// EndpointOptions are the collaborators of an Endpoint. Every field is optional.
type EndpointOptions struct {
	HTTPClient *http.Client          // default: the target's own client and transport (see transport.go)
	Breakers   *Breakers             // default: a private set with default settings and no metrics
	Registerer prometheus.Registerer // metrics; nil for none. Register one target per registry only once.
	Logger     *slog.Logger          // default: discard
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
		limiters: make(map[string]*rate.Limiter),
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
	NoBreaker bool        // bypass the breaker (token endpoints are guarded by the calls that need them)
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

// Do sends req and returns the 2xx response, or a *StatusError, *TransportError or *OpenError, or the
// context's error if ctx ends first.
func (e *Endpoint) Do(ctx context.Context, req Request) (*Response, error) {
	if l := e.limiter(req.Tenant); l != nil {
		if err := l.Wait(ctx); err != nil {
			return nil, fmt.Errorf("%s %s: rate limit wait: %w", e.target, req.Operation, err)
		}
	}
	var resp *Response
	call := func() error {
		var err error
		resp, err = e.roundTrip(ctx, req)
		return err
	}
	var err error
	if req.NoBreaker {
		err = call()
	} else {
		err = e.breakers.Execute(ctx, BreakerKey{Target: e.target, Tenant: req.Tenant}, call)
		if IsBreakerOpen(err) {
			e.metrics.observe(e.target, req.Operation, "breaker_open", 0)
		}
	}
	if err != nil {
		return nil, err
	}
	return resp, nil
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
	u := req.Path
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		u = e.URL(u)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, u, body)
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
	b, err := io.ReadAll(io.LimitReader(res.Body, MaxBodyBytes))
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

func (e *Endpoint) limiter(tenant string) *rate.Limiter {
	if e.cfg.RateLimit == 0 {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	l, ok := e.limiters[tenant]
	if !ok {
		l = rate.NewLimiter(rate.Limit(e.cfg.RateLimit), e.cfg.RateBurst)
		e.limiters[tenant] = l
	}
	return l
}

// redactURLError drops the query string from a *url.Error, which may carry credentials.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			u.RawQuery, u.User = "", nil
			return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
		}
	}
	return err
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

// EndpointResults is the closed set of the result label of ponte_client_requests_total.
var EndpointResults = []string{"success", "client_error", "server_error", "rate_limited", "network_error", "bad_response", "breaker_open", "canceled"}

type endpointMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// endpointMetricsFor returns the metrics registered on reg, sharing them between endpoints on the same registry.
func endpointMetricsFor(reg prometheus.Registerer) *endpointMetrics {
	m := &endpointMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ponte_client_requests_total",
			Help: "HTTP requests to downstream APIs, by target, operation and result.",
		}, []string{"target", "operation", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ponte_client_request_duration_seconds",
			Help:    "Duration of HTTP requests to downstream APIs that got an answer or failed on the network.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"target", "operation"}),
	}
	if reg == nil {
		return m
	}
	if err := reg.Register(m.requests); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			panic(err)
		}
		m.requests = are.ExistingCollector.(*prometheus.CounterVec)
	}
	if err := reg.Register(m.duration); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			panic(err)
		}
		m.duration = are.ExistingCollector.(*prometheus.HistogramVec)
	}
	return m
}

// Declare pre-creates the metric series of one operation, so dashboards show 0 instead of nothing.
func (e *Endpoint) Declare(operations ...string) {
	for _, op := range operations {
		for _, r := range EndpointResults {
			e.metrics.requests.WithLabelValues(e.target, op, r)
		}
		e.metrics.duration.WithLabelValues(e.target, op)
	}
}

func (m *endpointMetrics) observe(target, op, result string, d time.Duration) {
	m.requests.WithLabelValues(target, op, result).Inc()
	if result != "breaker_open" && result != "canceled" {
		m.duration.WithLabelValues(target, op).Observe(d.Seconds())
	}
}
