package clients

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// newTestEndpoint returns an Endpoint on base with the default transport settings and no HTTPClient of its own.
func newTestEndpoint(t *testing.T, base string, mod func(*EndpointConfig)) *Endpoint {
	t.Helper()
	cfg := EndpointConfig{BaseURL: base, Timeout: 30 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	e, err := NewEndpoint("zeev", cfg, EndpointOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestEndpointReusesConnections sends 640 calls from 32 goroutines and counts the connections the server saw
// opened: with keep-alive reuse and an idle pool as large as the concurrency, that is about one per goroutine (a
// few more when dials race at the start). Go's default transport keeps 2 idle connections per host and dials again
// for a large share of the calls (about 250 here).
func TestEndpointReusesConnections(t *testing.T) {
	const workers, calls = 32, 20
	var opened atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`) //nolint:errcheck
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	e := newTestEndpoint(t, srv.URL, nil)

	var wg sync.WaitGroup
	errs := make(chan error, workers*calls)
	for range workers {
		wg.Go(func() {
			for range calls {
				var out struct{ OK bool }
				if _, err := e.Do(context.Background(), Request{Operation: "get", Method: http.MethodGet, Path: "/x", Out: &out}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := opened.Load(); n > 2*workers {
		t.Errorf("%d calls from %d goroutines opened %d connections, want at most %d", workers*calls, workers, n, 2*workers)
	} else {
		t.Logf("%d calls from %d goroutines opened %d connections", workers*calls, workers, n)
	}
}

// TestEndpointFollowsNoRedirect checks that a 3xx is answered as a permanent error naming the Location's host, and
// that neither the request, its credential header nor a login body reaches where the redirect points.
func TestEndpointFollowsNoRedirect(t *testing.T) {
	var elsewhere atomic.Int64
	var leakedToken atomic.Value
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		if tok := r.Header.Get("token"); tok != "" {
			leakedToken.Store(tok)
		}
		io.WriteString(w, `{}`) //nolint:errcheck
	}))
	defer other.Close()
	otherHost := strings.TrimPrefix(other.URL, "http://")
	var resent atomic.Int64
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/person/1":
			http.Redirect(w, r, other.URL+"/person/1", http.StatusFound)
		case "/login":
			w.Header().Set("Location", "/login-again")
			w.WriteHeader(http.StatusTemporaryRedirect)
		case "/login-elsewhere":
			w.Header().Set("Location", other.URL+"/login")
			w.WriteHeader(http.StatusPermanentRedirect)
		case "/login-again":
			resent.Add(1)
			io.WriteString(w, `{}`) //nolint:errcheck
		}
	}))
	defer api.Close()
	e := newTestEndpoint(t, api.URL, nil)

	for _, tc := range []struct {
		name   string
		req    Request
		status int
		host   string
	}{
		{"302 to another host with the token header",
			Request{Operation: "get_person", Method: http.MethodGet, Path: "/person/1", Header: http.Header{"Token": {"s3cret-token"}}},
			http.StatusFound, otherHost},
		{"307 on a login",
			Request{Operation: "login", Method: http.MethodPost, Path: "/login", Login: true, Form: url.Values{"client_secret": {"pw"}}},
			http.StatusTemporaryRedirect, strings.TrimPrefix(api.URL, "http://")},
		{"308 on a login to another host",
			Request{Operation: "login", Method: http.MethodPost, Path: "/login-elsewhere", Login: true, JSON: map[string]string{"password": "pw"}},
			http.StatusPermanentRedirect, otherHost},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Do(context.Background(), tc.req)
			se, ok := errors.AsType[*StatusError](err)
			if !ok || se.Status != tc.status {
				t.Fatalf("want a *StatusError %d, got %v", tc.status, err)
			}
			if !IsPermanent(err) {
				t.Errorf("a redirect must be permanent: %v", err)
			}
			if !strings.Contains(err.Error(), tc.host) {
				t.Errorf("the error should name the Location host %s: %v", tc.host, err)
			}
		})
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the other host got %d requests (token %v)", n, leakedToken.Load())
	}
	if n := resent.Load(); n != 0 {
		t.Errorf("the login body was sent again %d times after a 307", n)
	}
}

// TestEndpointBoundsTheDrain answers an error with a 100 MiB body and counts the bytes the server managed to write:
// the client keeps the first 4 MiB, drains a little more and closes the connection, so the server stops far short
// of the whole body (socket buffers let it write some MiB more than the client read).
func TestEndpointBoundsTheDrain(t *testing.T) {
	const bodySize = 100 << 20
	var written atomic.Int64
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		w.WriteHeader(http.StatusInternalServerError)
		chunk := []byte(strings.Repeat("x", 32<<10))
		for written.Load() < bodySize {
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	e := newTestEndpoint(t, srv.URL, nil)

	_, err := e.Do(context.Background(), Request{Operation: "get", Method: http.MethodGet, Path: "/big"})
	if se, ok := errors.AsType[*StatusError](err); !ok || se.Status != http.StatusInternalServerError {
		t.Fatalf("want a *StatusError 500, got %v", err)
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the server's handler did not end within 20s of the answer")
	}
	if n := written.Load(); n > 40<<20 {
		t.Errorf("the server wrote %d MiB of the %d MiB error body: the client drained it", n>>20, bodySize>>20)
	} else {
		t.Logf("the server wrote %.1f MiB before the connection closed", float64(n)/(1<<20))
	}
}

// TestEndpointReadsBodies checks the response bodies an Endpoint reads: of the announced length, of none
// announced (chunked), and one cut short of its Content-Length, which is a *TransportError, never a short answer.
func TestEndpointReadsBodies(t *testing.T) {
	full := `{"id":42,"numero":"12/2026"}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/length":
			w.Header().Set("Content-Length", "28")
			io.WriteString(w, full)
		case "/chunked":
			io.WriteString(w, full[:10])
			w.(http.Flusher).Flush()
			io.WriteString(w, full[10:])
		case "/short":
			conn, buf, _ := w.(http.Hijacker).Hijack()
			defer conn.Close()
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n" + full)
			buf.Flush()
		}
	}))
	defer srv.Close()
	e := newTestEndpoint(t, srv.URL, nil)
	for _, path := range []string{"/length", "/chunked"} {
		res, err := e.Do(context.Background(), Request{Operation: "get", Method: http.MethodGet, Path: path})
		if err != nil {
			t.Errorf("%s: %v", path, err)
		} else if string(res.Body) != full {
			t.Errorf("%s: body %q, want %q", path, res.Body, full)
		}
	}
	_, err := e.Do(context.Background(), Request{Operation: "get", Method: http.MethodGet, Path: "/short"})
	if _, ok := errors.AsType[*TransportError](err); !ok || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("/short: want a *TransportError for the body cut short, got %v", err)
	}
}
