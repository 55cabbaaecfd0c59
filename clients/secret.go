package clients

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
)

// Secret is a credential given either inline or as a file path. A file is re-read whenever its modification time
// or size changes, so a rotated Kubernetes Secret takes effect without a restart. A Secret never prints its
// content: String, GoString, LogValue and MarshalText all give "[REDACTED]". The zero Secret is empty.
// Safe for concurrent use.
type Secret struct {
	value string
	file  string

	mu      sync.Mutex
	modTime time.Time
	size    int64
	cached  string
}

// SecretValue returns a Secret holding v.
func SecretValue(v string) *Secret { return &Secret{value: v} }

// SecretFile returns a Secret read from path (surrounding white space trimmed) on first use and again whenever
// the file changes.
func SecretFile(path string) *Secret { return &Secret{file: path} }

// IsZero reports whether the Secret has neither a value nor a file.
func (s *Secret) IsZero() bool { return s == nil || (s.value == "" && s.file == "") }

// Source describes where the secret comes from without revealing it: "file /path", "inline" or "unset".
func (s *Secret) Source() string {
	switch {
	case s.IsZero():
		return "unset"
	case s.file != "":
		return "file " + s.file
	}
	return "inline"
}

// Reveal returns the secret's current content. It fails if the file cannot be read or is empty.
func (s *Secret) Reveal() (string, error) {
	if s.IsZero() {
		return "", errors.New("secret not set")
	}
	if s.file == "" {
		return s.value, nil
	}
	st, err := os.Stat(s.file)
	if err != nil {
		return "", fmt.Errorf("read secret file: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cached != "" && st.ModTime().Equal(s.modTime) && st.Size() == s.size {
		return s.cached, nil
	}
	b, err := os.ReadFile(s.file)
	if err != nil {
		return "", fmt.Errorf("read secret file: %w", err)
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", fmt.Errorf("secret file %s is empty", s.file)
	}
	s.cached, s.modTime, s.size = v, st.ModTime(), st.Size()
	return v, nil
}

// String implements fmt.Stringer without revealing the secret.
func (s *Secret) String() string { return "[REDACTED]" }

// GoString implements fmt.GoStringer without revealing the secret.
func (s *Secret) GoString() string { return "[REDACTED]" }

// LogValue implements slog.LogValuer without revealing the secret.
func (s *Secret) LogValue() slog.Value { return slog.StringValue("[REDACTED]") }

// MarshalText implements encoding.TextMarshaler without revealing the secret.
func (s *Secret) MarshalText() ([]byte, error) { return []byte("[REDACTED]"), nil }
