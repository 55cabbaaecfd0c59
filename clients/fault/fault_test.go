package fault

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestInjector(t *testing.T) {
	inj := New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "served")
	}), Options{})
	srv := httptest.NewServer(inj)
	defer srv.Close()
	post := func(path, body string) (*http.Response, string, error) {
		res, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			return nil, "", err
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b), nil
	}

	if res, body, err := post("/a?x=1", `{"n":1}`); err != nil || res.StatusCode != 200 || body != "served" {
		t.Fatalf("plain: %v %v %q", err, res, body)
	}
	inj.FailNext(1, 429, 2*time.Second)
	if res, _, _ := post("/b", "{}"); res.StatusCode != 429 || res.Header.Get("Retry-After") != "2" {
		t.Fatalf("FailNext: %d %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	inj.SetDown(true)
	if _, _, err := post("/c", "{}"); err == nil {
		t.Fatal("down: want a transport error")
	}
	inj.SetDown(false)
	inj.Set(Faults{FailureRate: 1, FailureStatus: 502})
	if res, _, _ := post("/d", "{}"); res.StatusCode != 502 {
		t.Fatalf("failure rate: %d", res.StatusCode)
	}
	inj.Set(Faults{Latency: Duration(30 * time.Millisecond)})
	start := time.Now()
	post("/e", "{}")
	if time.Since(start) < 30*time.Millisecond {
		t.Fatal("latency not applied")
	}

	var got []string
	for _, e := range inj.Requests() {
		got = append(got, e.String()+" "+string(e.Body))
	}
	want := []string{`POST /a?x=1 {"n":1}`, "POST /b {}", "POST /c {}", "POST /d {}", "POST /e {}"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("log = %q\nwant  %q", got, want)
	}

	// The HTTP controls.
	req, _ := http.NewRequest("PUT", srv.URL+"/_sim/faults", strings.NewReader(`{"down":true,"latency":"5ms"}`))
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Fatalf("PUT faults: %v", err)
	}
	if f := inj.Get(); !f.Down || time.Duration(f.Latency) != 5*time.Millisecond {
		t.Fatalf("faults after PUT = %+v", f)
	}
	req, _ = http.NewRequest("PUT", srv.URL+"/_sim/faults", strings.NewReader(`{"downn":true}`))
	if res, _ := http.DefaultClient.Do(req); res.StatusCode != 400 {
		t.Fatalf("unknown fault field: %d", res.StatusCode)
	}
	res, err := http.Get(srv.URL + "/_sim/requests")
	if err != nil {
		t.Fatal(err)
	}
	var entries []map[string]any
	json.NewDecoder(res.Body).Decode(&entries)
	res.Body.Close()
	if len(entries) != 5 || entries[0]["body"] != `{"n":1}` {
		t.Fatalf("GET /_sim/requests = %v", entries)
	}
}

// TestErrorBody: every injected failure is answered by Options.ErrorBody, with the request and the status, after
// Retry-After is set; without it, by DefaultErrorBody.
func TestErrorBody(t *testing.T) {
	served := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "served") })
	shaped := Options{ErrorBody: func(w http.ResponseWriter, r *http.Request, status int) {
		w.Header().Set("Content-Type", "application/x-test")
		w.WriteHeader(status)
		fmt.Fprintf(w, "%s %s %d retry=%s", r.Method, r.URL.Path, status, w.Header().Get("Retry-After"))
	}}
	tests := []struct {
		name   string
		opts   Options
		inject func(*Injector)
		status int
		ct     string
		body   string
	}{
		{"FailNext", shaped, func(i *Injector) { i.FailNext(1, 503, 3*time.Second) }, 503, "application/x-test", "POST /x 503 retry=3"},
		{"ThrottleRate", shaped, func(i *Injector) { i.Set(Faults{ThrottleRate: 1}) }, 429, "application/x-test", "POST /x 429 retry=1"},
		{"FailureRate", shaped, func(i *Injector) { i.Set(Faults{FailureRate: 1, FailureStatus: 502}) }, 502, "application/x-test", "POST /x 502 retry="},
		{"default body", Options{}, func(i *Injector) { i.FailNext(1, 429, time.Second) }, 429, "text/plain; charset=utf-8", "injected fault: Too Many Requests\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inj := New(served, tt.opts)
			tt.inject(inj)
			rec := httptest.NewRecorder()
			inj.ServeHTTP(rec, httptest.NewRequest("POST", "/x", strings.NewReader("{}")))
			if rec.Code != tt.status || rec.Header().Get("Content-Type") != tt.ct || rec.Body.String() != tt.body {
				t.Errorf("answer %d %q %q, want %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body, tt.status, tt.ct, tt.body)
			}
			if log := inj.Requests(); len(log) != 1 || log[0].Status != tt.status {
				t.Errorf("log = %+v", log)
			}
		})
	}
}

// TestLogBounds: the log keeps the newest entries within Options.MaxEntries and Options.MaxBytes, and at most
// Options.MaxEntryBody bytes of each body, while the wrapped handler still reads the whole body.
func TestLogBounds(t *testing.T) {
	var mu sync.Mutex
	var got []int // body sizes the handler read
	served := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		mu.Lock()
		got = append(got, int(n))
		mu.Unlock()
	})
	send := func(inj *Injector, path string, size int) {
		inj.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", path, strings.NewReader(strings.Repeat("x", size))))
	}
	paths := func(inj *Injector) string {
		var out []string
		for _, e := range inj.Requests() {
			out = append(out, e.Path)
		}
		return strings.Join(out, " ")
	}
	t.Run("entries", func(t *testing.T) {
		inj := New(served, Options{MaxEntries: 3})
		for i := range 5 {
			send(inj, fmt.Sprintf("/%d", i), 10)
		}
		if p := paths(inj); p != "/2 /3 /4" {
			t.Errorf("log = %s, want the newest 3", p)
		}
		if inj.Dropped() != 2 {
			t.Errorf("Dropped = %d, want 2", inj.Dropped())
		}
	})
	t.Run("bytes", func(t *testing.T) {
		inj := New(served, Options{MaxBytes: 2000, MaxEntryBody: 1000}) // an entry of 600 body bytes counts about 860
		for i := range 4 {
			send(inj, fmt.Sprintf("/%d", i), 600)
		}
		if p := paths(inj); p != "/2 /3" {
			t.Errorf("log = %s, want the newest that fit in 2000 bytes", p)
		}
		send(inj, "/big", 1000) // alone within the bound: it stays, the others go
		if p := paths(inj); p != "/big" {
			t.Errorf("log = %s, want /big alone", p)
		}
	})
	t.Run("one body", func(t *testing.T) {
		mu.Lock()
		got = nil
		mu.Unlock()
		inj := New(served, Options{MaxEntryBody: 100})
		send(inj, "/long", 5000)
		send(inj, "/short", 100)
		log := inj.Requests()
		if len(log) != 2 || len(log[0].Body) != 100 || !log[0].Truncated || len(log[1].Body) != 100 || log[1].Truncated {
			t.Fatalf("log = %+v", log)
		}
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(got, []int{5000, 100}) {
			t.Errorf("the handler read %v bytes, want the whole bodies", got)
		}
	})
	t.Run("defaults", func(t *testing.T) {
		inj := New(served, Options{})
		for range DefaultMaxEntries + 10 {
			send(inj, "/", 0)
		}
		if n := len(inj.Requests()); n != DefaultMaxEntries {
			t.Errorf("%d entries, want DefaultMaxEntries", n)
		}
		send(inj, "/huge", 4*DefaultMaxEntryBody)
		if log := inj.Requests(); len(log[len(log)-1].Body) != DefaultMaxEntryBody {
			t.Errorf("body of %d bytes kept, want DefaultMaxEntryBody", len(log[len(log)-1].Body))
		}
	})
}

// TestLargeBodyIsStreamed: a body far larger than the log keeps is streamed to the handler, not read into memory
// first (three 100 MiB POSTs once took a sandbox from 43 MB to 699 MB).
func TestLargeBodyIsStreamed(t *testing.T) {
	const size = 64 << 20
	var read int64
	inj := New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		read, _ = io.Copy(io.Discard, r.Body)
	}), Options{})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	inj.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/", io.LimitReader(zeros{}, size)))
	runtime.ReadMemStats(&after)
	if read != size {
		t.Fatalf("the handler read %d bytes, want %d", read, size)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size/4 {
		t.Errorf("serving a %d MiB body allocated %d MiB", size>>20, alloc>>20)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestLogRedactsSecrets: credentials never enter the log, nor GET /_sim/requests: login passwords and secrets
// in JSON bodies, form fields and query strings, and the Authorization and token headers. Each is stored as
// Mask(value), which tells equal secrets apart from different ones without revealing them.
func TestLogRedactsSecrets(t *testing.T) {
	inj := New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), Options{})
	srv := httptest.NewServer(inj)
	defer srv.Close()
	secrets := []string{"zeev-pw", "senior-secret", "senior-pw", "cid-secret", "bearer-tok", "sam-tok", "query-tok", "basic-pw"}
	reqs := []struct {
		path, ct, body string
		header         http.Header
	}{
		{"/api/2/tokens", "application/json", `{"login":"integracao","password":"zeev-pw"}`, nil},
		{"/loginWithKey", "application/json", `{"accessKey":"k","secret":"senior-secret","tenantName":"t"}`, nil},
		{"/login", "application/json", `{"username":"u","password":"senior-pw"}`, nil},
		{"/oauth/token", "application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=ug&client_secret=cid-secret", nil},
		{"/v1/x", "", "", http.Header{"Authorization": {"Bearer bearer-tok"}}},
		{"/api/v1/person/29", "", "", http.Header{"Token": {"sam-tok"}}},
		{"/y?access_token=query-tok&pagina=1", "", "", http.Header{"Authorization": {"Basic basic-pw"}}},
	}
	for _, r := range reqs {
		req, _ := http.NewRequest("POST", srv.URL+r.path, strings.NewReader(r.body))
		for k, v := range r.header {
			req.Header[k] = v
		}
		if r.ct != "" {
			req.Header.Set("Content-Type", r.ct)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	log := inj.Requests()
	var stored strings.Builder
	for _, e := range log {
		fmt.Fprintf(&stored, "%s %s %s %v\n", e.Path, e.Query, e.Body, e.Header)
	}
	res, err := http.Get(srv.URL + "/_sim/requests")
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, s := range secrets {
		for name, text := range map[string]string{"the log": stored.String(), "GET /_sim/requests": string(served)} {
			if strings.Contains(text, s) {
				t.Errorf("%s holds %q:\n%s", name, s, text)
			}
		}
	}
	want := []struct {
		got, want string
	}{
		{string(log[0].Body), `{"login":"integracao","password":"` + inj.Mask("zeev-pw") + `"}`},
		{string(log[1].Body), `{"accessKey":"` + inj.Mask("k") + `","secret":"` + inj.Mask("senior-secret") + `","tenantName":"t"}`},
		{string(log[3].Body), "grant_type=client_credentials&client_id=ug&client_secret=" + url.QueryEscape(inj.Mask("cid-secret"))},
		{log[4].Header.Get("Authorization"), "Bearer " + inj.Mask("bearer-tok")},
		{log[5].Header.Get("token"), inj.Mask("sam-tok")},
		{log[6].Query, "access_token=" + url.QueryEscape(inj.Mask("query-tok")) + "&pagina=1"},
		{log[6].Header.Get("Authorization"), "Basic " + inj.Mask("basic-pw")},
	}
	for i, w := range want {
		if w.got != w.want {
			t.Errorf("%d: stored %q, want %q", i, w.got, w.want)
		}
	}
	if a := inj.Mask("a"); a == inj.Mask("b") || a != inj.Mask(strings.Clone("a")) || New(nil, Options{}).Mask("a") == a {
		t.Error("Mask must tell secrets apart, be stable, and differ between injectors")
	}
}

// TestRequestLogIsFollowedBySeq: GET /_sim/requests?after=N returns the entries after seq N, so a poller misses
// none and sees none twice; a gap in the seqs shows what the bounds dropped; Received is the arrival, before the
// injected latency, and Time the answer.
func TestRequestLogIsFollowedBySeq(t *testing.T) {
	inj := New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), Options{MaxEntries: 3})
	srv := httptest.NewServer(inj)
	defer srv.Close()
	get := func(path string) {
		t.Helper()
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	follow := func(after string) []Entry {
		t.Helper()
		res, err := http.Get(srv.URL + "/_sim/requests?after=" + after)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out []Entry
		if res.StatusCode != 200 {
			return nil
		}
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	seqs := func(es []Entry) (s []uint64) {
		for _, e := range es {
			s = append(s, e.Seq)
		}
		return s
	}
	get("/a")
	get("/b")
	if got := seqs(follow("0")); !slices.Equal(got, []uint64{1, 2}) {
		t.Fatalf("after=0: seqs %v, want [1 2]", got)
	}
	inj.Set(Faults{Latency: Duration(50 * time.Millisecond)})
	get("/c")
	inj.Set(Faults{})
	get("/d")
	get("/e")
	got := follow("2")
	if !slices.Equal(seqs(got), []uint64{3, 4, 5}) || got[0].Path != "/c" {
		t.Fatalf("after=2: %v, want seqs 3, 4, 5 from /c", seqs(got))
	}
	if d := got[0].Time.Sub(got[0].Received); d < 50*time.Millisecond {
		t.Errorf("/c was answered %v after it was received, want at least the 50ms latency", d)
	}
	if got := seqs(follow("0")); !slices.Equal(got, []uint64{3, 4, 5}) {
		t.Errorf("after=0 with 3 kept of 5: %v, want [3 4 5] (the gap after 0 shows 2 dropped)", got)
	}
	inj.ClearLog()
	get("/f")
	if got := seqs(follow("5")); !slices.Equal(got, []uint64{6}) {
		t.Errorf("after clearing the log: %v, want [6] (seqs never restart)", got)
	}
	res, err := http.Get(srv.URL + "/_sim/requests?after=x")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("after=x answered %d, want 400", res.StatusCode)
	}
}

// TestFailMatchAndAnswerDelay: failMatch fails only the requests whose body holds it; answerDelay serves the
// request at once (its effect is visible before the answer) and holds the answer.
func TestFailMatchAndAnswerDelay(t *testing.T) {
	var served atomic.Int32
	inj := New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.Header().Set("Location", "/things/7")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "made")
	}), Options{})
	srv := httptest.NewServer(inj)
	defer srv.Close()
	post := func(body string) (int, string, http.Header) {
		t.Helper()
		res, err := http.Post(srv.URL+"/things", "text/plain", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b), res.Header
	}
	inj.Set(Faults{FailMatch: "POISON", FailureStatus: 500})
	if st, _, _ := post("a POISON record"); st != 500 {
		t.Errorf("a body with the match: %d, want 500", st)
	}
	if st, _, _ := post("a good record"); st != 201 {
		t.Errorf("a body without it: %d, want 201", st)
	}
	if n := served.Load(); n != 1 {
		t.Errorf("the handler served %d requests, want 1 (the failed one never reaches it)", n)
	}

	inj.Set(Faults{AnswerDelay: Duration(300 * time.Millisecond)})
	done := make(chan struct{})
	var (
		st   int
		body string
		hdr  http.Header
	)
	go func() {
		defer close(done)
		st, body, hdr = post("late")
	}()
	deadline := time.Now().Add(5 * time.Second)
	for served.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case <-done:
		t.Fatal("the answer came before the delay: the request must take effect first and be answered later")
	default:
	}
	if served.Load() != 2 {
		t.Fatal("the delayed request was not served within 5s")
	}
	<-done
	if st != 201 || body != "made" || hdr.Get("Location") != "/things/7" {
		t.Errorf("held answer: %d %q Location %q, want the handler's 201 \"made\" /things/7", st, body, hdr.Get("Location"))
	}
	last := inj.Requests()[len(inj.Requests())-1]
	if d := last.Time.Sub(last.Received); d < 300*time.Millisecond || last.Status != 201 {
		t.Errorf("logged %d answered %v after receipt, want 201 after at least 300ms", last.Status, d)
	}
}
