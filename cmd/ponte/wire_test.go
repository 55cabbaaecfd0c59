package main

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestLoggerDurations checks that durations are logged as Go duration strings ("1.5s") in both formats, not as
// nanoseconds, wherever they appear: an attribute, a group, an attribute added with With.
func TestLoggerDurations(t *testing.T) {
	tests := []struct {
		format string
		want   []string
	}{
		{"json", []string{`"duration":"1.5s"`, `"drain":{"timeout":"25s"}`, `"ack_wait":"1m0s"`, `"steps":3`}},
		{"text", []string{`duration=1.5s`, `drain.timeout=25s`, `ack_wait=1m0s`, `steps=3`}},
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			var buf bytes.Buffer
			log := newLogger(LogConfig{Level: "info", Format: tc.format}, &buf, nil).With("ack_wait", time.Minute)
			log.Info("event processed", "duration", 1500*time.Millisecond, "steps", 3, slog.Group("drain", "timeout", 25*time.Second))
			for _, w := range tc.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("log line lacks %s:\n%s", w, buf.String())
				}
			}
		})
	}
}

// TestLoggerMasksPersonalData checks that no CPF number or e-mail address reaches the log whole, whichever way a
// line carries it: the message, a string attribute, an error, a []byte, an attribute added with With, a group.
func TestLoggerMasksPersonalData(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			log := newLogger(LogConfig{Level: "info", Format: format}, &buf, nil).With("email", "ana.souza@example.com")
			log.Info("person 123.456.789-09 not found", "cpf", "12345678909", "err", errors.New(`search "98765432100": 404`),
				"body", []byte(`{"email":"joao@orgao.es.gov.br"}`), slog.Group("person", "login", "maria+rh@example.com"))
			out := buf.String()
			for _, whole := range []string{"123.456.789-09", "12345678909\"", "cpf=12345678909", "98765432100", "ana.souza@", "joao@", "maria+rh@"} {
				if strings.Contains(out, whole) {
					t.Errorf("the log holds %q whole:\n%s", whole, out)
				}
			}
			for _, masked := range []string{"123.***.***-09", "987.***.***-00", "a***@example.com", "j***@orgao.es.gov.br", "m***@example.com"} {
				if !strings.Contains(out, masked) {
					t.Errorf("the log lacks the masked %q:\n%s", masked, out)
				}
			}
		})
	}
}

// TestLogLevelAtRunTime checks PUT /loglevel: debug lines appear once it is set to debug and stop once it is set
// back, GET /loglevel says the level, and a body naming no level is refused with the valid ones.
func TestLogLevelAtRunTime(t *testing.T) {
	var buf syncBuffer
	level := new(slog.LevelVar)
	log := newLogger(LogConfig{Level: "info", Format: "json"}, &buf, level)
	s, err := startOpsServer("127.0.0.1:0", prometheus.NewRegistry(), func() error { return nil }, false, level, log)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	do := func(method, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+s.Addr()+"/loglevel", strings.NewReader(body))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, strings.TrimSpace(string(b))
	}
	if code, got := do("GET", ""); code != 200 || got != "info" {
		t.Fatalf("GET /loglevel = %d %q, want info", code, got)
	}
	log.Debug("before")
	if code, got := do("PUT", "debug\n"); code != 200 || got != "debug" {
		t.Fatalf("PUT debug = %d %q", code, got)
	}
	log.Debug("during")
	if code, got := do("PUT", "INFO"); code != 200 || got != "info" {
		t.Fatalf("PUT INFO = %d %q", code, got)
	}
	log.Debug("after")
	if code, got := do("PUT", "error"); code != 200 || got != "error" {
		t.Fatalf("PUT error = %d %q", code, got)
	}
	if code, got := do("PUT", "verbose"); code != 400 || !strings.Contains(got, "debug, info, warn, error") {
		t.Fatalf("PUT verbose = %d %q, want 400 listing the levels", code, got)
	}
	out := buf.String()
	if strings.Contains(out, `"before"`) || !strings.Contains(out, `"during"`) || strings.Contains(out, `"after"`) {
		t.Fatalf("debug lines: want only the one logged at debug level:\n%s", out)
	}
	for _, change := range []string{`"msg":"log level changed","from":"info","to":"debug"`, `"level":"ERROR","msg":"log level changed","from":"info","to":"error"`} {
		if !strings.Contains(out, change) {
			t.Errorf("the change is not logged (%s):\n%s", change, out)
		}
	}
}
