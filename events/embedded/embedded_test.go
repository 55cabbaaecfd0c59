package embedded_test

import (
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ponte-dev/ponte/events/embedded"
)

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
