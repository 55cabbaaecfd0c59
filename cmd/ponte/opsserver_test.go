package main

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestOpsServerProfiles: /debug/pprof/ is served only with http.pprof, next to the probes and the metrics.
func TestOpsServerProfiles(t *testing.T) {
	for _, tc := range []struct {
		name     string
		profiles bool
		want     int
	}{{"off by default", false, http.StatusNotFound}, {"on with http.pprof", true, http.StatusOK}} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := startOpsServer("127.0.0.1:0", prometheus.NewRegistry(), func() error { return nil }, tc.profiles, nil, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			get := func(path string) (int, string) {
				t.Helper()
				res, err := http.Get("http://" + s.Addr() + path)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				b, _ := io.ReadAll(res.Body)
				return res.StatusCode, string(b)
			}
			for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap?debug=1", "/debug/pprof/goroutine?debug=1", "/debug/pprof/cmdline"} {
				if code, _ := get(path); code != tc.want {
					t.Errorf("GET %s: %d, want %d", path, code, tc.want)
				}
			}
			if code, body := get("/debug/pprof/heap?debug=1"); tc.profiles && !strings.Contains(body, "heap profile") {
				t.Errorf("heap profile: %d %.80q", code, body)
			}
			if code, _ := get("/readyz"); code != http.StatusOK {
				t.Errorf("/readyz: %d", code)
			}
		})
	}
}
