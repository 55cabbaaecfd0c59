// Package fault wraps a simulator's http.Handler with fault injection and a request log, for tests, benchmarks,
// `ponte sandbox` and `ponte dev`: fixed or random latency, a failure rate with a chosen status, 429 with
// Retry-After, a switch that takes the whole API down (connections are closed without an answer) and brings it
// back, and a log of the requests (method, path, query, headers, body, status) in arrival order.
//
// The log is bounded: it keeps the newest Options.MaxEntries entries within Options.MaxBytes, and the first
// Options.MaxEntryBody bytes of each body (the wrapped handler still reads the whole body, streamed, never held
// in memory by the Injector). Credentials never enter it: the values of credential fields in JSON bodies, form
// bodies and query strings (password, secret, client_secret, access_token, ...) and of the Authorization, token and
// cookie headers are stored as Mask(value).
//
// The same controls are served over HTTP under /_sim/ on the wrapped handler:
//
//	GET  /_sim/faults     the current Faults as JSON
//	PUT  /_sim/faults     replace them (JSON body, same shape)
//	GET  /_sim/requests   the request log as JSON (?after=N: the entries whose seq is above N)
//	DELETE /_sim/requests clear the log
//
// Any other path under /_sim/ goes to Options.Controls, where a simulator serves its own controls (AuthControls
// serves /_sim/auth, its credentials and token lifetime).
//
// An injected failure is answered by Options.ErrorBody, which each simulator sets to write its API's own error
// body, so that a client cannot tell an injected 429 or 503 from one of the API.
package fault

import (
	"bytes"
	"cmp"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ponte-dev/ponte/clients"
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
	// FailMatch, when set, answers FailureStatus (default 503) to every request whose body contains it, whatever
	// FailureRate and ThrottleRate say: one poison record that always fails, among requests that succeed.
	FailMatch string `json:"failMatch,omitempty"`
	// AnswerDelay holds the answer of a served request this long: the request has taken effect (a write is
	// applied) but the client waits, as when an answer is slow or lost on its way back. A client that gives up or
	// dies in that window has written without knowing it.
	AnswerDelay Duration `json:"answerDelay,omitempty"`
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

// Entry is one logged request, with its credentials masked (see Injector.Mask).
type Entry struct {
	// Seq numbers the entries of one Injector from 1 in the order they were logged; GET /_sim/requests?after=N
	// returns those after N, so a reader that polls can follow the log without losing or repeating an entry.
	Seq uint64 `json:"seq"`
	// Received is when the request arrived, before any injected latency; Time is when it was answered.
	Received time.Time   `json:"received"`
	Time     time.Time   `json:"time"`
	Method   string      `json:"method"`
	Path     string      `json:"path"`
	Query    string      `json:"query,omitempty"`
	Header   http.Header `json:"-"`
	Body     []byte      `json:"-"`
	// Truncated says the body was longer than Options.MaxEntryBody: Body holds its start.
	Truncated bool `json:"truncated,omitempty"`
	Status    int  `json:"status"`
}

// size is what e counts against Options.MaxBytes: its bodies, strings and headers, plus a fixed overhead.
func (e *Entry) size() int {
	n := 256 + len(e.Method) + len(e.Path) + len(e.Query) + len(e.Body)
	for k, vs := range e.Header {
		n += len(k)
		for _, v := range vs {
			n += len(v)
		}
	}
	return n
}

// String is "METHOD /path?query".
func (e Entry) String() string {
	if e.Query != "" {
		return e.Method + " " + e.Path + "?" + e.Query
	}
	return e.Method + " " + e.Path
}

// The defaults of Options' log bounds.
const (
	DefaultMaxEntries   = 10_000
	DefaultMaxBytes     = 16 << 20
	DefaultMaxEntryBody = 64 << 10
)

// Options configure an Injector. The zero value is usable.
type Options struct {
	// ErrorBody writes the answer to a request the Injector fails instead of serving it (FailNext, FailureRate,
	// ThrottleRate): Content-Type, status and a body in the wrapped API's own error shape. Retry-After is already
	// set when it applies. Default: DefaultErrorBody.
	ErrorBody func(w http.ResponseWriter, r *http.Request, status int)
	// MaxEntries is the most entries the request log keeps; the oldest go first. Default DefaultMaxEntries.
	MaxEntries int
	// MaxBytes bounds the bytes the request log holds (bodies, paths, queries, headers); the oldest entries go
	// first, but the newest always stays. Default DefaultMaxBytes (16 MiB).
	MaxBytes int
	// MaxEntryBody is the most bytes of a request body an entry keeps; a longer body is kept cut, with
	// Entry.Truncated. Default DefaultMaxEntryBody (64 KiB).
	MaxEntryBody int
	// Controls serves the requests to /_sim/ paths other than the Injector's own; they are not logged and no fault
	// applies to them. Default: none (404).
	Controls http.Handler
}

// secretHeaders are the request headers whose values the log masks, in canonical form.
var secretHeaders = []string{"Authorization", "Proxy-Authorization", "Cookie", "Token", "X-Api-Key", "X-Auth-Token"}

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
	maxLog    int
	maxBytes  int
	maxBody   int
	maskKey   []byte // the HMAC key of Mask, random per Injector
	controls  http.Handler

	mu       sync.Mutex
	faults   Faults
	failN    []failure
	log      []Entry
	seq      uint64
	logBytes int
	dropped  int
	rnd      *mrand.Rand
}

type failure struct {
	status     int
	retryAfter time.Duration
}

// New wraps next; see Options for the defaults.
func New(next http.Handler, opts Options) *Injector {
	if opts.ErrorBody == nil {
		opts.ErrorBody = DefaultErrorBody
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&opts.MaxEntries, DefaultMaxEntries)
	def(&opts.MaxBytes, DefaultMaxBytes)
	def(&opts.MaxEntryBody, DefaultMaxEntryBody)
	key := make([]byte, 32)
	rand.Read(key) //nolint:errcheck // crypto/rand.Read never fails
	return &Injector{
		next: next, errorBody: opts.ErrorBody, maxLog: opts.MaxEntries, maxBytes: opts.MaxBytes,
		maxBody: opts.MaxEntryBody, maskKey: key, rnd: mrand.New(mrand.NewPCG(1, 2)), controls: opts.Controls,
	}
}

// Mask returns what the log stores in place of the credential value: "[REDACTED <12 hex digits>]", a keyed hash
// that is the same for equal values and differs for different ones, so a test can check which credential was
// sent without the log holding it. The key is random per Injector.
func (i *Injector) Mask(value string) string {
	h := hmac.New(sha256.New, i.maskKey)
	h.Write([]byte(value)) //nolint:errcheck // a hash never fails
	return "[REDACTED " + hex.EncodeToString(h.Sum(nil))[:12] + "]"
}

// Dropped returns how many entries the log has dropped to stay within its bounds since the last clear.
func (i *Injector) Dropped() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.dropped
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

// RequestsAfter returns the logged requests whose Seq is above after, oldest first. If the first has a Seq above
// after+1, the entries in between were dropped by the log's bounds.
func (i *Injector) RequestsAfter(after uint64) []Entry {
	i.mu.Lock()
	defer i.mu.Unlock()
	k, _ := slices.BinarySearchFunc(i.log, after+1, func(e Entry, seq uint64) int { return cmp.Compare(e.Seq, seq) })
	return append([]Entry(nil), i.log[k:]...)
}

// Reset clears the request log and every fault.
func (i *Injector) Reset() {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.log, i.failN, i.faults, i.dropped, i.logBytes = nil, nil, Faults{}, 0, 0
}

// ClearLog clears the request log only.
func (i *Injector) ClearLog() {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.log, i.dropped, i.logBytes = nil, 0, 0
}

// ServeHTTP implements http.Handler.
func (i *Injector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		i.admin(w, r)
		return
	}
	received := time.Now()
	// Keep the start of the body for the log and hand the handler the whole body, streamed: the head read here,
	// then the rest of the connection's.
	head, _ := io.ReadAll(io.LimitReader(r.Body, int64(i.maxBody)+1))
	r.Body = readCloser{io.MultiReader(bytes.NewReader(head), r.Body), r.Body}
	body := logBody{head, false}
	if len(head) > i.maxBody {
		body = logBody{head[:i.maxBody:i.maxBody], true}
	}

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
	case f.FailMatch != "" && bytes.Contains(head, []byte(f.FailMatch)),
		f.FailureRate > 0 && i.rnd.Float64() < f.FailureRate:
		fail = &failure{cmp.Or(f.FailureStatus, http.StatusServiceUnavailable), time.Duration(f.RetryAfter)}
	case f.ThrottleRate > 0 && i.rnd.Float64() < f.ThrottleRate:
		fail = &failure{http.StatusTooManyRequests, cmp.Or(time.Duration(f.RetryAfter), time.Second)}
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
		i.record(r, received, body, 0)
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
		i.record(r, received, body, fail.status)
		return
	}
	if f.AnswerDelay > 0 {
		rec := NewBuffered(w)
		i.next.ServeHTTP(rec, r)
		t := time.NewTimer(time.Duration(f.AnswerDelay))
		select {
		case <-t.C:
		case <-r.Context().Done(): // the client went away: the request took effect all the same
			t.Stop()
		}
		rec.WriteOut(w)
		i.record(r, received, body, rec.Status())
		return
	}
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	i.next.ServeHTTP(sw, r)
	i.record(r, received, body, sw.status)
}

// readCloser reads from Reader and closes Closer.
type readCloser struct {
	io.Reader
	io.Closer
}

// logBody is the part of a request body the log keeps.
type logBody struct {
	b         []byte
	truncated bool
}

func (i *Injector) record(r *http.Request, received time.Time, body logBody, status int) {
	e := Entry{
		Received: received, Time: time.Now(), Method: r.Method, Path: r.URL.Path, Query: i.redactForm(r.URL.RawQuery),
		Header: r.Header.Clone(), Body: i.redactBody(body.b), Truncated: body.truncated, Status: status,
	}
	for _, k := range secretHeaders {
		for j, v := range e.Header[k] {
			e.Header[k][j] = i.maskHeader(v)
		}
	}
	size := e.size()
	i.mu.Lock()
	defer i.mu.Unlock()
	for len(i.log) > 0 && (len(i.log) >= i.maxLog || i.logBytes+size > i.maxBytes) {
		i.logBytes -= i.log[0].size()
		i.log[0] = Entry{} // let the dropped body go before the array is reallocated
		i.log = i.log[1:]
		i.dropped++
	}
	i.seq++
	e.Seq = i.seq
	i.log = append(i.log, e)
	i.logBytes += size
}

// redactBody masks the credentials of a body, JSON or form-encoded.
func (i *Injector) redactBody(b []byte) []byte {
	if len(b) == 0 {
		return b
	}
	return []byte(i.redactForm(clients.RedactSecrets(string(b), i.Mask)))
}

func (i *Injector) redactForm(s string) string {
	if s == "" {
		return s
	}
	return clients.RedactForm(s, i.Mask)
}

// maskHeader masks a credential header's value, keeping an auth scheme ("Bearer ", "Basic ") readable.
func (i *Injector) maskHeader(v string) string {
	if scheme, cred, ok := strings.Cut(v, " "); ok && !strings.ContainsAny(scheme, "=,") {
		return scheme + " " + i.Mask(strings.TrimSpace(cred))
	}
	return i.Mask(v)
}

func (i *Injector) admin(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/_sim/faults", "/_sim/requests":
	default:
		if i.controls != nil {
			i.controls.ServeHTTP(w, r)
			return
		}
	}
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
		var after uint64
		if a := r.URL.Query().Get("after"); a != "" {
			n, err := strconv.ParseUint(a, 10, 64)
			if err != nil {
				w.WriteHeader(http.StatusBadRequest)
				json.NewEncoder(w).Encode(map[string]string{"error": "after: want the seq of an entry, got " + strconv.Quote(a)}) //nolint:errcheck
				return
			}
			after = n
		}
		out := []view{}
		for _, e := range i.RequestsAfter(after) {
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

// Buffered is an http.ResponseWriter that keeps the status and body in memory until WriteOut; its headers are
// those of the real writer it was made for. The Injector holds answers in one (Faults.AnswerDelay), and a
// simulator that must not write while it holds a lock serves into one.
type Buffered struct {
	header http.Header
	status int
	body   bytes.Buffer
	wrote  bool
}

// NewBuffered returns a Buffered for w, with status 200 until the handler sets one.
func NewBuffered(w http.ResponseWriter) *Buffered {
	return &Buffered{header: w.Header(), status: http.StatusOK}
}

// Header implements http.ResponseWriter.
func (b *Buffered) Header() http.Header { return b.header }

// WriteHeader implements http.ResponseWriter; the first status set stays.
func (b *Buffered) WriteHeader(code int) {
	if !b.wrote {
		b.status, b.wrote = code, true
	}
}

// Write implements http.ResponseWriter.
func (b *Buffered) Write(p []byte) (int, error) {
	b.wrote = true
	return b.body.Write(p)
}

// Status is the status the handler set (200 if none).
func (b *Buffered) Status() int { return b.status }

// WriteOut writes the kept status and body to w, the writer b was made for.
func (b *Buffered) WriteOut(w http.ResponseWriter) {
	w.WriteHeader(b.status)
	w.Write(b.body.Bytes()) //nolint:errcheck // the client went away
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}
