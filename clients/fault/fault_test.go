package fault

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
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
