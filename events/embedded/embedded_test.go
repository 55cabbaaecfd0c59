package embedded_test

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ponte-dev/ponte/events/embedded"
)

// busyPort listens on a free loopback port until the test ends and returns the port.
func busyPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

func TestStartServesJetStream(t *testing.T) {
	srv, err := embedded.Start(embedded.Options{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	nc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.AccountInfo(t.Context()); err != nil {
		t.Fatalf("JetStream: %v", err)
	}
}

// TestStartFailsAtOnce checks that a server that cannot start says why within a second, naming the address,
// instead of waiting out ReadyTimeout (10s).
func TestStartFailsAtOnce(t *testing.T) {
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts func(t *testing.T) (embedded.Options, []string)
	}{
		{"client port in use", func(t *testing.T) (embedded.Options, []string) {
			p := busyPort(t)
			return embedded.Options{Port: p, StoreDir: t.TempDir()},
				[]string{"127.0.0.1:" + strconv.Itoa(p), "address already in use"}
		}},
		{"monitor port in use", func(t *testing.T) (embedded.Options, []string) {
			p := busyPort(t)
			return embedded.Options{MonitorPort: p, StoreDir: t.TempDir()},
				[]string{"monitor", "127.0.0.1:" + strconv.Itoa(p), "address already in use"}
		}},
		{"store directory is a file", func(t *testing.T) (embedded.Options, []string) {
			return embedded.Options{StoreDir: notADir}, []string{"JetStream"}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts, want := tc.opts(t)
			start := time.Now()
			srv, err := embedded.Start(opts)
			elapsed := time.Since(start)
			if err == nil {
				srv.Stop()
				t.Fatal("Start succeeded")
			}
			for _, w := range want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if elapsed > time.Second {
				t.Errorf("Start took %s to fail, want under a second", elapsed)
			}
		})
	}
}

// TestMaxPayload checks that the server has nats-server's default limit (1 MiB) unless MaxPayload says otherwise.
func TestMaxPayload(t *testing.T) {
	tests := []struct {
		name string
		set  int32
		want int64
	}{
		{"default", 0, 1 << 20},
		{"set", 8 << 20, 8 << 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := embedded.Start(embedded.Options{StoreDir: t.TempDir(), MaxPayload: tc.set})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Stop()
			nc, err := srv.Connect()
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			if got := nc.MaxPayload(); got != tc.want {
				t.Errorf("max payload %d, want %d", got, tc.want)
			}
		})
	}
}
