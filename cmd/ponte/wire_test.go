package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
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
			log := newLogger(LogConfig{Level: "info", Format: tc.format}, &buf).With("ack_wait", time.Minute)
			log.Info("event processed", "duration", 1500*time.Millisecond, "steps", 3, slog.Group("drain", "timeout", 25*time.Second))
			for _, w := range tc.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("log line lacks %s:\n%s", w, buf.String())
				}
			}
		})
	}
}
