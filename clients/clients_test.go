package clients

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sony/gobreaker/v2"
)

func TestStatusErrorClassification(t *testing.T) {
	tests := []struct {
		status    int
		permanent bool
	}{
		{400, true}, {401, false}, {403, true}, {404, true}, {409, true}, {422, true},
		{408, false}, {429, false}, {500, false}, {501, true}, {502, false}, {503, false}, {504, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			err := fmt.Errorf("wrapped: %w", &StatusError{Target: "zeev", Operation: "op", Status: tt.status})
			if got := IsPermanent(err); got != tt.permanent {
				t.Errorf("IsPermanent(%d) = %v, want %v", tt.status, got, tt.permanent)
			}
			if HTTPStatus(err) != tt.status {
				t.Errorf("HTTPStatus = %d", HTTPStatus(err))
			}
		})
	}
	if IsPermanent(errors.New("unknown")) {
		t.Error("an unknown error must be retryable")
	}
	if IsPermanent(&TransportError{Err: errors.New("reset")}) {
		t.Error("a transport error must be retryable")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"3", 3 * time.Second},
		{"-1", 0},
		{"junk", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"100000", 5 * time.Minute}, // capped
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now, 5*time.Minute); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestExcerptRedacts(t *testing.T) {
	body := `{"access_token":"abc.def","client_secret":"s3cr3t","temporaryToken":"tt","jsonToken":"{\"a\":1}",
	"password":"pw","cpf":"529.982.247-25","doc":"52998224725","message":"ok"}`
	got := Excerpt([]byte(body))
	for _, leak := range []string{"abc.def", "s3cr3t", `"tt"`, "pw", "982.247", "98224"} {
		if strings.Contains(got, leak) {
			t.Errorf("excerpt leaks %q: %s", leak, got)
		}
	}
	for _, keep := range []string{`"message":"ok"`, "529.***.***-25", `"access_token":"[REDACTED]"`} {
		if !strings.Contains(got, keep) {
			t.Errorf("excerpt lost %q: %s", keep, got)
		}
	}
	long := Excerpt([]byte(strings.Repeat("é", 1000)))
	if len(long) > ExcerptLimit+len("…") || !strings.HasSuffix(long, "…") {
		t.Errorf("long excerpt not cut: %d bytes", len(long))
	}
}

func TestRedactSecrets(t *testing.T) {
	mask := func(v string) string { return "<" + strings.ToUpper(v) + ">" }
	tests := []struct{ name, in, want string }{
		{"fields in any casing", `{"password":"pw","Client_Secret":"cs","accessKey":"k","n":"x"}`,
			`{"password":"<PW>","Client_Secret":"<CS>","accessKey":"<K>","n":"x"}`},
		{"escaped value, unescaped for the mask", `{"secret":"a\"b\u00e9"}`, `{"secret":"<A\"BÉ>"}`},
		{"a value cut off by the end", `{"login":"a","password":"half-of-the-sec`, `{"login":"a","password":"<HALF-OF-THE-SEC>"`},
		{"cut after a backslash", `{"token":"ab\`, `{"token":"<AB>"`},
		{"non-string values are kept", `{"token":null,"secret":12}`, `{"token":null,"secret":12}`},
		{"CPF numbers are kept", `{"cpf":"52998224725"}`, `{"cpf":"52998224725"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RedactSecrets(tt.in, mask); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestRedactForm(t *testing.T) {
	mask := func(v string) string { return "[" + strings.ToUpper(v) + "]" }
	tests := []struct{ name, in, want string }{
		{"client credentials", "grant_type=client_credentials&client_id=ug-1&client_secret=s%2B1",
			"grant_type=client_credentials&client_id=ug-1&client_secret=%5BS%2B1%5D"},
		{"query with a token", "a=1&access_token=xyz&b", "a=1&access_token=%5BXYZ%5D&b"},
		{"escaped key", "client%5Fsecret=s&password=p", "client%5Fsecret=%5BS%5D&password=%5BP%5D"},
		{"nothing secret", "pagina=1&tamanhoPagina=50", "pagina=1&tamanhoPagina=50"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RedactForm(tt.in, mask); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestSecretFileRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("first\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := SecretFile(path)
	if v, err := s.Reveal(); err != nil || v != "first" {
		t.Fatalf("Reveal = %q, %v", v, err)
	}
	if err := os.WriteFile(path, []byte("second-value"), 0o600); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Reveal(); v != "second-value" {
		t.Fatalf("after rotation Reveal = %q", v)
	}
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s", s, s, s, s)} {
		if strings.Contains(out, "second") {
			t.Errorf("formatting leaks the secret: %s", out)
		}
	}
	if _, err := SecretFile(filepath.Join(t.TempDir(), "missing")).Reveal(); err == nil {
		t.Error("missing file must fail")
	}
	var zero *Secret
	if !zero.IsZero() || zero.Source() != "unset" {
		t.Error("nil secret must be zero")
	}
}

func TestTokenCache(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var fetches atomic.Int32
	c := NewTokenCache(func(context.Context) (Token, error) {
		n := fetches.Add(1)
		return Token{Value: fmt.Sprintf("t%d", n), Expiry: now.Add(10 * time.Minute)}, nil
	}, time.Minute, func() time.Time { return now })

	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if v, err := c.Get(context.Background()); err != nil || v != "t1" {
				t.Errorf("Get = %q, %v", v, err)
			}
		})
	}
	wg.Wait()
	if fetches.Load() != 1 {
		t.Fatalf("fetches = %d, want 1", fetches.Load())
	}
	c.Invalidate("stale-other") // not the cached one: no effect
	if v, _ := c.Get(context.Background()); v != "t1" {
		t.Fatalf("Invalidate of another token dropped the cache: %s", v)
	}
	c.Invalidate("t1")
	if v, _ := c.Get(context.Background()); v != "t2" {
		t.Fatalf("after Invalidate Get = %s, want t2", v)
	}
	now = now.Add(9*time.Minute + 30*time.Second) // within leeway of expiry
	if v, _ := c.Get(context.Background()); v != "t3" {
		t.Fatalf("near expiry Get = %s, want t3", v)
	}
}

func TestBreakerOpensOnFailuresOnly(t *testing.T) {
	reg := prometheus.NewRegistry()
	b := NewBreakers(BreakerSettings{ConsecutiveFailures: 3, OpenTimeout: 50 * time.Millisecond}, reg)
	key := BreakerKey{Target: "senior"}
	var changes []string
	b.Watch(func(k BreakerKey, from, to BreakerState) { changes = append(changes, string(from)+">"+string(to)) })

	permanent := &StatusError{Status: 404}
	for range 10 {
		if err := b.Execute(context.Background(), key, func() error { return permanent }); err != permanent {
			t.Fatalf("Execute = %v", err)
		}
		_ = b.Execute(context.Background(), key, func() error { return context.Canceled })
	}
	if b.State(key) != StateClosed {
		t.Fatal("permanent errors and cancellations must not open the breaker")
	}
	for i := range 3 {
		err := b.Execute(context.Background(), key, func() error { return &StatusError{Status: 503} })
		var oe *OutageError
		// The failures before the trip are the request's; the one that trips the breaker says the target is down.
		if got, want := errors.As(err, &oe), i == 2; got != want || IsOutage(err) != want || HTTPStatus(err) != 503 {
			t.Fatalf("failure %d: err = %v, outage %v, want %v", i+1, err, got, want)
		}
	}
	if b.State(key) != StateOpen {
		t.Fatalf("state = %s, want open", b.State(key))
	}
	called := false
	err := b.Execute(context.Background(), key, func() error { called = true; return nil })
	var oe *OpenError
	if called || !errors.As(err, &oe) || !errors.Is(err, gobreaker.ErrOpenState) || oe.RetryAfter() <= 0 || IsPermanent(err) {
		t.Fatalf("open breaker: called=%v err=%v", called, err)
	}
	if got := testutil.ToFloat64(b.metrics.state.WithLabelValues("senior", "", "open")); got != 1 {
		t.Errorf("state{open} = %v", got)
	}
	if got := testutil.ToFloat64(b.metrics.rejected.WithLabelValues("senior", "")); got != 1 {
		t.Errorf("rejected = %v", got)
	}
	time.Sleep(60 * time.Millisecond)
	if err := b.Execute(context.Background(), key, func() error { return errors.New("still down") }); !IsOutage(err) {
		t.Fatalf("failed half-open probe: %v, want an outage", err)
	}
	time.Sleep(60 * time.Millisecond)
	if err := b.Execute(context.Background(), key, func() error { return nil }); err != nil {
		t.Fatalf("probe: %v", err)
	}
	if b.State(key) != StateClosed {
		t.Fatalf("state = %s, want closed after a good probe", b.State(key))
	}
	want := "closed>open,open>half_open,half_open>open,open>half_open,half_open>closed"
	if strings.Join(changes, ",") != want {
		t.Errorf("transitions = %v, want %s", changes, want)
	}
	if other := (BreakerKey{Target: "senior", Tenant: "x"}); b.State(other) != StateClosed {
		t.Error("another tenant's breaker must be independent")
	}
}

// TestBreakerBlame: a failure is the request's when the target answers others, the target's (an outage)
// otherwise; one caller's repeated failures never open a closed breaker.
func TestBreakerBlame(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	b := NewBreakers(BreakerSettings{ConsecutiveFailures: 2, OpenTimeout: time.Minute}, nil)
	b.now = func() time.Time { return now }
	key := BreakerKey{Target: "cidades", Tenant: "001001"}
	fail := func() error { return &StatusError{Target: "cidades", Status: 500} }
	ok := func() error { return nil }
	bg := context.Background()
	tick := func() { now = now.Add(time.Second) }

	// Nobody was ever answered: a first failure is the target's.
	if err := b.Execute(bg, key, fail); !IsOutage(err) || HTTPStatus(err) != 500 {
		t.Fatalf("first failure of a target that answered no one: %v, want an outage", err)
	}
	tick()
	if err := b.Execute(bg, key, ok); err != nil {
		t.Fatal(err)
	}
	tick()
	// The target answered another call within the open timeout: the request is to blame.
	if err := b.Execute(bg, key, fail); IsOutage(err) || HTTPStatus(err) != 500 {
		t.Fatalf("failure while the target answers others: %v, want the request's own failure", err)
	}
	failedAt := now
	tick()
	// A retry of that request: blamed if the target answered anyone since its failure, not otherwise.
	retry := WithPriorFailure(bg, failedAt)
	for i := range 10 {
		if err := b.Execute(retry, key, fail); !IsOutage(err) {
			t.Fatalf("retry %d with no answer since the prior failure: %v, want an outage", i, err)
		}
		tick()
	}
	if s := b.State(key); s != StateClosed {
		t.Fatalf("one caller's repeated failures opened the breaker: %s", s)
	}
	if err := b.Execute(bg, key, ok); err != nil {
		t.Fatal(err)
	}
	tick()
	if err := b.Execute(retry, key, fail); IsOutage(err) {
		t.Fatalf("retry after the target answered another call: %v, want the request's own failure", err)
	}
	// Distinct callers failing (first attempts) do open it, and then the failure is an outage.
	tick()
	if err := b.Execute(bg, key, fail); IsOutage(err) {
		t.Fatalf("first distinct failure: %v", err)
	}
	if err := b.Execute(bg, key, fail); !IsOutage(err) || RetryAfter(err) != time.Minute {
		t.Fatalf("the failure that opened the breaker: %v (retry after %s), want an outage until half-open", err, RetryAfter(err))
	}
	if s := b.State(key); s != StateOpen {
		t.Fatalf("state = %s, want open", s)
	}
}

func TestEndpointDo(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/ok":
			if r.Header.Get("Content-Type") != "application/json" || r.Header.Get("X-Auth") != "k" {
				w.WriteHeader(400)
				return
			}
			fmt.Fprint(w, `{"id":7}`)
		case "/empty":
			w.WriteHeader(204)
		case "/bad-json":
			fmt.Fprint(w, `{"id":`)
		case "/throttled":
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(429)
			fmt.Fprint(w, `{"message":"slow down","token":"leak"}`)
		default:
			w.WriteHeader(500)
		}
	}))
	defer srv.Close()
	reg := prometheus.NewRegistry()
	e, err := NewEndpoint("zeev", EndpointConfig{BaseURL: srv.URL + "/"}, EndpointOptions{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	e.Declare("op")
	ctx := context.Background()

	var out struct{ ID int }
	res, err := e.Do(ctx, Request{Operation: "op", Method: "POST", Path: "/ok", JSON: map[string]int{"a": 1}, Header: http.Header{"X-Auth": {"k"}}, Out: &out})
	if err != nil || out.ID != 7 || res.Status != 200 {
		t.Fatalf("ok: %v %+v", err, out)
	}
	if _, err := e.Do(ctx, Request{Operation: "op", Method: "DELETE", Path: "/empty", Out: &out}); err != nil {
		t.Fatalf("204: %v", err)
	}
	_, err = e.Do(ctx, Request{Operation: "op", Method: "GET", Path: "/bad-json", Out: &out})
	var te *TransportError
	if !errors.As(err, &te) || IsPermanent(err) {
		t.Fatalf("bad json: %v", err)
	}
	// A 429 closes the throttling gate of its tenant ("t" here, so the other calls of this test are not held).
	_, err = e.Do(ctx, Request{Tenant: "t", Operation: "op", Method: "GET", Path: "/throttled"})
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 429 || RetryAfter(err) != 2*time.Second || IsPermanent(err) || !IsThrottled(err) ||
		strings.Contains(err.Error(), "leak") {
		t.Fatalf("429: %v", err)
	}
	before := hits.Load()
	if _, err := e.Do(ctx, Request{Tenant: "t", Operation: "op", Method: "GET", Path: "/ok"}); !IsThrottled(err) || RetryAfter(err) <= 0 || hits.Load() != before {
		t.Fatalf("a call of the tenant inside Retry-After: %v, sent %v; want throttled and not sent", err, hits.Load() != before)
	}
	if got := testutil.ToFloat64(e.metrics.requests.WithLabelValues("zeev", "op", "rate_limited")); got != 1 {
		t.Errorf("rate_limited = %v", got)
	}
	if got := testutil.ToFloat64(e.metrics.requests.WithLabelValues("zeev", "op", "success")); got != 2 {
		t.Errorf("success = %v", got)
	}
	// Check judges a decoded 2xx: its error is the call's, recorded as bad_response.
	errOdd := errors.New("odd answer")
	var checked *Response
	_, err = e.Do(ctx, Request{Operation: "op", Method: "POST", Path: "/ok", Header: http.Header{"X-Auth": {"k"}}, JSON: 1, Out: &out,
		Check: func(r *Response) error { checked = r; return errOdd }})
	if !errors.Is(err, errOdd) || checked == nil || checked.Status != 200 || string(checked.Body) != `{"id":7}` {
		t.Fatalf("Check: %v, checked %+v", err, checked)
	}
	if got := testutil.ToFloat64(e.metrics.requests.WithLabelValues("zeev", "op", "bad_response")); got != 2 {
		t.Errorf("bad_response = %v, want 2 (bad JSON and Check)", got)
	}

	srv.Close()
	_, err = e.Do(ctx, Request{Operation: "op", Method: "GET", Path: "/ok"})
	if !errors.As(err, &te) || IsPermanent(err) {
		t.Fatalf("closed server: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := e.Do(cctx, Request{Operation: "op", Method: "GET", Path: "/ok"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
}

func TestEndpointRateLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	e, err := NewEndpoint("cidades", EndpointConfig{BaseURL: srv.URL, RateLimit: 20, RateBurst: 1}, EndpointOptions{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for range 5 {
		if _, err := e.Do(context.Background(), Request{Tenant: "a", Operation: "op", Method: "GET", Path: "/"}); err != nil {
			t.Fatal(err)
		}
	}
	// 5 requests at 20/s with burst 1 take at least 4 intervals of 50ms.
	if d := time.Since(start); d < 190*time.Millisecond {
		t.Errorf("5 requests took %v, rate limit not applied", d)
	}
}

func TestEndpointConfigValidate(t *testing.T) {
	tests := []struct {
		cfg  EndpointConfig
		want string
	}{
		{EndpointConfig{}, "baseURL: required"},
		{EndpointConfig{BaseURL: "ftp://x"}, "baseURL"},
		{EndpointConfig{BaseURL: "http://x", Timeout: -1}, "timeout"},
		{EndpointConfig{BaseURL: "http://x", RateLimit: -1}, "rateLimit"},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.cfg, err, tt.want)
		}
	}
}

// TestMapStatus: a client's conversion of a status reaches it inside every wrapper and keeps the wrapper's class.
func TestMapStatus(t *testing.T) {
	se := &StatusError{Target: "zeev", Status: 503}
	mine := errors.New("the API's own error")
	conv := func(got *StatusError) error {
		if got != se {
			t.Errorf("fn got %v", got)
		}
		return fmt.Errorf("%w: %w", mine, got)
	}
	for _, tt := range []struct {
		name string
		err  error
		is   func(error) bool
	}{
		{"bare", se, func(error) bool { return true }},
		{"outage", &OutageError{Key: BreakerKey{Target: "zeev"}, Err: se}, IsOutage},
		{"auth", &AuthError{Target: "zeev", Err: se}, func(err error) bool { return errors.As(err, new(*AuthError)) }},
		{"throttled", &ThrottledError{Target: "zeev", Wait: time.Second, Err: se}, IsThrottled},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := MapStatus(tt.err, conv)
			if !errors.Is(got, mine) || !tt.is(got) || HTTPStatus(got) != 503 {
				t.Errorf("MapStatus = %v: want the converted error inside the same class", got)
			}
		})
	}
	if plain := errors.New("x"); MapStatus(plain, conv) != plain {
		t.Error("an error without a status changed")
	}
}

// TestProbeTellsALoneFailureFromAnOutage: a retry that fails with no other answer from the target since the
// caller's first failure starts the target's probe (once per ProbeInterval, one at a time); if the target answers
// it, the next failure is the caller's own, and if the probe fails too, it stays an outage.
func TestProbeTellsALoneFailureFromAnOutage(t *testing.T) {
	for _, tc := range []struct {
		name        string
		probeAnswer error
		wantOutage  bool
	}{
		{"the target answers the probe", nil, false},
		{"the probe fails too", &StatusError{Target: "cidades", Status: 503}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBreakers(BreakerSettings{ConsecutiveFailures: 5, OpenTimeout: time.Minute}, nil)
			key := BreakerKey{Target: "cidades", Tenant: "001001"}
			var probes atomic.Int32
			done := make(chan struct{}, 10)
			b.SetProbe("cidades", func(ctx context.Context, tenant string) error {
				probes.Add(1)
				defer func() { done <- struct{}{} }()
				if tenant != "001001" {
					t.Errorf("probe of tenant %q, want 001001", tenant)
				}
				return b.Execute(ctx, key, func() error { return tc.probeAnswer })
			})
			fail := func() error { return &StatusError{Target: "cidades", Status: 500} }
			retry := WithPriorFailure(context.Background(), time.Now().Add(-time.Second))
			if err := b.Execute(retry, key, fail); !IsOutage(err) {
				t.Fatalf("a retry with no answer since: %v, want an outage", err)
			}
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("no probe within 5s")
			}
			err := b.Execute(retry, key, fail)
			if IsOutage(err) != tc.wantOutage {
				t.Errorf("the retry after the probe: %v, outage %v, want %v", err, IsOutage(err), tc.wantOutage)
			}
			for range 5 {
				_ = b.Execute(retry, key, fail)
			}
			if n := probes.Load(); n != 1 {
				t.Errorf("%d probes within ProbeInterval, want 1", n)
			}
		})
	}
}

// TestStaleTokenIsNoBreakerFailure: a 401 the client can cure by renewing its token (a first 401) is an answer
// of a healthy target, not a failure of its breaker, so that many calls with a token that just expired do not
// open it; a 401 again with the renewed credential (Request.Renewed) is an auth failure, and counts.
func TestStaleTokenIsNoBreakerFailure(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer new" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, `{}`)
	}))
	defer srv.Close()
	b := NewBreakers(BreakerSettings{ConsecutiveFailures: 2, OpenTimeout: time.Minute}, nil)
	e, err := NewEndpoint("zeev", EndpointConfig{BaseURL: srv.URL}, EndpointOptions{Breakers: b})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	call := func(tok string, renewed bool) error {
		_, err := e.Do(ctx, Request{Operation: "get", Method: http.MethodGet, Path: "/x", Renewed: renewed,
			Header: http.Header{"Authorization": {"Bearer " + tok}}})
		return err
	}
	// Five calls in flight with the token that just expired are all refused before the first renews it.
	for i := range 5 {
		if err := call("old", false); HTTPStatus(err) != http.StatusUnauthorized || errors.As(err, new(*AuthError)) {
			t.Fatalf("call %d with the stale token: %v, want a plain 401 for the client to renew", i, err)
		}
	}
	if s := b.State(BreakerKey{Target: "zeev"}); s != StateClosed {
		t.Fatalf("5 calls with a stale token, each to be cured by a renewal, left the breaker %s", s)
	}
	for i := range 5 {
		if err := call("new", true); err != nil {
			t.Fatalf("call %d with the renewed token: %v", i, err)
		}
	}
	for range 2 {
		if err := call("still-bad", true); !errors.As(err, new(*AuthError)) {
			t.Fatalf("a 401 with a renewed token: %v, want an auth failure", err)
		}
	}
	if s := b.State(BreakerKey{Target: "zeev"}); s != StateOpen {
		t.Errorf("2 auth failures left the breaker %s, want open (it pauses the target's events)", s)
	}
}

// TestThrottledGateAndTokenRefreshMetrics checks the two per-tenant series that only a scrape shows: the throttling
// gate reads 1 while closed and 0 once its Retry-After has passed (by the endpoint's clock, no gauge to reset), and
// a login counts a token refresh as success or failure, and none when the breaker keeps it from being sent.
func TestThrottledGateAndTokenRefreshMetrics(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/throttled":
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(429)
		case "/token":
			fmt.Fprint(w, `{"access_token":"x"}`)
		default:
			w.WriteHeader(401)
		}
	}))
	defer srv.Close()
	var mu sync.Mutex
	now := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	reg := prometheus.NewRegistry()
	br := NewBreakers(BreakerSettings{ConsecutiveFailures: 1, OpenTimeout: time.Hour}, reg)
	e, err := NewEndpoint("cidades", EndpointConfig{BaseURL: srv.URL}, EndpointOptions{Registerer: reg, Breakers: br, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	e.DeclareTenant("001001")
	e.DeclareTenant("002002")
	gate := func() string {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, mf := range mfs {
			if mf.GetName() != "ponte_downstream_throttled" {
				continue
			}
			for _, m := range mf.GetMetric() {
				got = append(got, fmt.Sprintf("%s=%g", m.GetLabel()[1].GetValue(), m.GetGauge().GetValue()))
			}
		}
		slices.Sort(got)
		return strings.Join(got, " ")
	}
	ctx := context.Background()
	if g := gate(); g != "001001=0 002002=0" {
		t.Fatalf("declared gates: %q, want both tenants at 0 before any call", g)
	}
	if _, err := e.Do(ctx, Request{Tenant: "001001", Operation: "op", Method: "GET", Path: "/throttled"}); !IsThrottled(err) {
		t.Fatalf("429: %v", err)
	}
	if g := gate(); g != "001001=1 002002=0" {
		t.Fatalf("after a 429 with Retry-After 30: %q, want the tenant's gate at 1 and the other at 0", g)
	}
	mu.Lock()
	now = now.Add(31 * time.Second)
	mu.Unlock()
	if g := gate(); g != "001001=0 002002=0" {
		t.Fatalf("after the Retry-After passed: %q, want 0", g)
	}

	refreshes := func(tenant, result string) float64 {
		return testutil.ToFloat64(e.metrics.refreshes.WithLabelValues("cidades", tenant, result))
	}
	if _, err := e.Do(ctx, Request{Tenant: "002002", Operation: "token", Method: "POST", Path: "/token", Login: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Do(ctx, Request{Tenant: "002002", Operation: "token", Method: "POST", Path: "/refused", Login: true}); err == nil {
		t.Fatal("a refused login succeeded")
	}
	if _, err := e.Do(ctx, Request{Tenant: "002002", Operation: "token", Method: "POST", Path: "/token", Login: true}); !IsBreakerOpen(err) {
		t.Fatalf("a login with the breaker open: %v, want it refused by the breaker", err)
	}
	if s, f := refreshes("002002", "success"), refreshes("002002", "failure"); s != 1 || f != 1 {
		t.Fatalf("token refreshes: success %v failure %v, want 1 and 1 (the one the breaker kept back is no refresh)", s, f)
	}
}

func TestMaskPersonal(t *testing.T) {
	tests := []struct{ in, want string }{
		{"no personal data here", "no personal data here"},
		{"cpf 123.456.789-09 and 98765432100", "cpf 123.***.***-09 and 987.***.***-00"},
		{"user ana.souza@example.com not found", "user a***@example.com not found"},
		{`{"email":"joao.silva+rh@orgao.es.gov.br","cpf":"12345678909"}`, `{"email":"j***@orgao.es.gov.br","cpf":"123.***.***-09"}`},
		{"two: a@b.co, zé@x.org", "two: a***@b.co, z***@x.org"},
		{"not an address: user@localhost, @example.com", "not an address: user@localhost, @example.com"},
		{"stream_seq 42, an id 1234567890 (10 digits)", "stream_seq 42, an id 1234567890 (10 digits)"},
	}
	for _, tc := range tests {
		if got := MaskPersonal(tc.in); got != tc.want {
			t.Errorf("MaskPersonal(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
