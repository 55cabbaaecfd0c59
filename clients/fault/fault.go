// Package fault wraps a simulator's http.Handler with fault injection and a request log, for tests, benchmarks,
// `ponte sandbox` and `ponte dev`: fixed or random latency, a failure rate with a chosen status, 429 with
// Retry-After, a switch that takes the whole API down (connections are closed without an answer) and brings it
// back, and a log of every request (method, path, query, body, status) in arrival order.
//
// The same controls are served over HTTP under /_sim/ on the wrapped handler:
//
//	GET  /_sim/faults     the current Faults as JSON
//	PUT  /_sim/faults     replace them (JSON body, same shape)
//	GET  /_sim/requests   the request log as JSON
//	DELETE /_sim/requests clear the log
//
// An injected failure is answered by Options.ErrorBody, which each simulator sets to write its API's own error
// body, so that a client cannot tell an injected 429 or 503 from one of the API.
package fault

import (
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Faults is what an Injector does to each request. The zero value injects nothing.
type Faults struct {
	// Latency is added to every request; Jitter adds a uniformly random extra delay in [0, Jitter).
	Latency Duration `json:"latency"`
	Jitter  Duration `json:"jitter"`
	// FailureRate in [0,1] is the share of requests answered with FailureStatus (default 503) instead of being served.
	FailureRate   float64 `json:"failureRate"`
	FailureStatus int     `json:"failureStatus"`
	// ThrottleRate in [0,1] is the share of requests answered 429 with Retry-After: RetryAfter seconds (default 1).
	ThrottleRate float64  `json:"throttleRate"`
	RetryAfter   Duration `json:"retryAfter"`
	// Down closes every connection without an answer, as an unreachable API would.
	Down bool `json:"down"`
}

// Duration is a time.Duration written in JSON as a Go duration string ("250ms").
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON implements json.Unmarshaler; it accepts "250ms" or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		*d = Duration(v)
		return err
	}
	var n int64
	err := json.Unmarshal(b, &n)
	*d = Duration(n)
	return err
}

// Entry is one logged request.
type Entry struct {
	Time   time.Time   `json:"time"`
	Method string      `json:"method"`
	Path   string      `json:"path"`
	Query  string      `json:"query,omitempty"`
	Header http.Header `json:"-"`
	Body   []byte      `json:"-"`
	Status int         `json:"status"`
}

// String is "METHOD /path?query".
func (e Entry) String() string {
	if e.Query != "" {
		return e.Method + " " + e.Path + "?" + e.Query
	}
	return e.Method + " " + e.Path
}

// Options configure an Injector. The zero value is usable.
type Options struct {
	// ErrorBody writes the answer to a request the Injector fails instead of serving it (FailNext, FailureRate,
	// ThrottleRate): Content-Type, status and a body in the wrapped API's own error shape. Retry-After is already
	// set when it applies. Default: DefaultErrorBody.
	ErrorBody func(w http.ResponseWriter, r *http.Request, status int)
}

// DefaultErrorBody answers status with a text/plain body "injected fault: <status text>": the shape of no API, for
// an Injector that wraps something other than a simulator.
func DefaultErrorBody(w http.ResponseWriter, _ *http.Request, status int) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, "injected fault: "+http.StatusText(status)+"\n") //nolint:errcheck // the client went away
}

// Injector is an http.Handler that applies Faults, then logs and serves the request with the wrapped handler.
// Safe for concurrent use.
type Injector struct {
	next      http.Handler
	errorBody func(w http.ResponseWriter, r *http.Request, status int)

	mu      sync.Mutex
	faults  Faults
	failN   []failure
	log     []Entry
	maxLog  int
	dropped int
	rnd     *rand.Rand
}

type failure struct {
	status     int
	retryAfter time.Duration
}

// New wraps next. The log keeps the most recent 100000 requests.
func New(next http.Handler, opts Options) *Injector {
	if opts.ErrorBody == nil {
		opts.ErrorBody = DefaultErrorBody
	}
	return &Injector{next: next, errorBody: opts.ErrorBody, maxLog: 100000, rnd: rand.New(rand.NewPCG(1, 2))}
}

// Set replaces the faults.
func (i *Injector) Set(f Faults) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.faults = f
}

// Get returns the current faults.
func (i *Injector) Get() Faults {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.faults
}

// SetDown takes the API down (true) or brings it back (false), keeping the other faults.
func (i *Injector) SetDown(down bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.faults.Down = down
}

// FailNext answers the next n requests with status (429 and 503 carry Retry-After when retryAfter > 0), before
// any other fault is considered. Deterministic, for tests.
func (i *Injector) FailNext(n int, status int, retryAfter time.Duration) {
	i.mu.Lock()
	defer i.mu.Unlock()
	for range n {
		i.failN = append(i.failN, failure{status, retryAfter})
	}
}

// Requests returns a copy of the request log, oldest first. Requests to /_sim/ are not logged.
func (i *Injector) Requests() []Entry {
	i.mu.Lock()
	defer i.mu.Unlock()
	return append([]Entry(nil), i.log...)
}

// Reset clears the request log and every fault.
func (i *Injector) Reset() {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.log, i.failN, i.faults, i.dropped = nil, nil, Faults{}, 0
}

// ClearLog clears the request log only.
func (i *Injector) ClearLog() {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.log, i.dropped = nil, 0
}

// ServeHTTP implements http.Handler.
func (i *Injector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		i.admin(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))

	i.mu.Lock()
	f := i.faults
	delay := time.Duration(f.Latency)
	if f.Jitter > 0 {
		delay += time.Duration(i.rnd.Int64N(int64(f.Jitter)))
	}
	var fail *failure
	switch {
	case len(i.failN) > 0:
		fail = &i.failN[0]
		i.failN = i.failN[1:]
	case f.ThrottleRate > 0 && i.rnd.Float64() < f.ThrottleRate:
		ra := time.Duration(f.RetryAfter)
		if ra == 0 {
			ra = time.Second
		}
		fail = &failure{http.StatusTooManyRequests, ra}
	case f.FailureRate > 0 && i.rnd.Float64() < f.FailureRate:
		st := f.FailureStatus
		if st == 0 {
			st = http.StatusServiceUnavailable
		}
		fail = &failure{st, time.Duration(f.RetryAfter)}
	}
	i.mu.Unlock()

	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if f.Down {
		i.record(r, body, 0)
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler) // closes the connection without an answer
	}
	if fail != nil {
		if fail.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((fail.retryAfter+time.Second-1)/time.Second)))
		}
		i.errorBody(w, r, fail.status)
		i.record(r, body, fail.status)
		return
	}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	i.next.ServeHTTP(sw, r)
	i.record(r, body, sw.status)
}

func (i *Injector) record(r *http.Request, body []byte, status int) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if len(i.log) >= i.maxLog {
		i.log = i.log[1:]
		i.dropped++
	}
	i.log = append(i.log, Entry{
		Time: time.Now(), Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Header: r.Header.Clone(), Body: body, Status: status,
	})
}

func (i *Injector) admin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch r.Method + " " + r.URL.Path {
	case "GET /_sim/faults":
		json.NewEncoder(w).Encode(i.Get()) //nolint:errcheck
	case "PUT /_sim/faults":
		var f Faults
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": err.Error()}) //nolint:errcheck
			return
		}
		i.Set(f)
		json.NewEncoder(w).Encode(f) //nolint:errcheck
	case "GET /_sim/requests":
		type view struct {
			Entry
			Body string `json:"body,omitempty"`
		}
		var out []view
		for _, e := range i.Requests() {
			out = append(out, view{e, string(e.Body)})
		}
		json.NewEncoder(w).Encode(out) //nolint:errcheck
	case "DELETE /_sim/requests":
		i.ClearLog()
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]string{"error": "unknown simulator control " + r.Method + " " + r.URL.Path}) //nolint:errcheck
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}
