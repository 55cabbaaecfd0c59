// Package embedded runs a NATS server with JetStream inside the ponte process, for `ponte dev` and for tests:
// the real nats-server, bound to loopback, with its store in a directory of the caller's choosing.
package embedded

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Options configure the embedded server.
type Options struct {
	// Host to listen on. Default "127.0.0.1".
	Host string
	// Port for clients; 0 picks a free port (-1 in nats-server terms). Default 0.
	Port int
	// MonitorPort serves the HTTP monitoring endpoints (/varz, /jsz) when > 0.
	MonitorPort int
	// StoreDir holds the JetStream data. Required.
	StoreDir string
	// MaxPayload is the largest message payload the server accepts, in bytes. Default 0: nats-server's own
	// default, 1 MiB (server.MAX_PAYLOAD_SIZE), as on a server installed with no configuration.
	MaxPayload int32
	// ReadyTimeout bounds the start. Default 10s.
	ReadyTimeout time.Duration
}

// Server is a running embedded NATS server.
type Server struct {
	*server.Server
}

// Start starts a server and waits until it accepts connections. A server that cannot start (a port in use, a
// store directory it cannot use) makes Start fail as soon as nats-server reports it, with its reason, which names
// the address; otherwise Start fails after ReadyTimeout.
func Start(o Options) (*Server, error) {
	if o.StoreDir == "" {
		return nil, errors.New("embedded nats: StoreDir is required")
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	port := o.Port
	if port == 0 {
		port = -1
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 10 * time.Second
	}
	opts := &server.Options{
		ServerName: "ponte-dev",
		Host:       o.Host,
		Port:       port,
		JetStream:  true,
		StoreDir:   o.StoreDir,
		NoSigs:     true,
		NoLog:      true,
		MaxPayload: o.MaxPayload,
	}
	if o.MonitorPort > 0 {
		opts.HTTPHost, opts.HTTPPort = o.Host, o.MonitorPort
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	// nats-server reports a failed start (a listener it cannot open, JetStream it cannot enable) only through its
	// logger's Fatalf, then gives up; ReadyForConnections would wait out its whole timeout.
	fatal := fatalLogger(make(chan string, 1))
	s.SetLoggerV2(fatal, false, false, false)
	go s.Start()
	deadline := time.Now().Add(o.ReadyTimeout)
	for !s.ReadyForConnections(50 * time.Millisecond) {
		select {
		case msg := <-fatal:
			s.Shutdown()
			s.WaitForShutdown()
			return nil, fmt.Errorf("embedded nats: %s", msg)
		default:
		}
		if time.Now().After(deadline) {
			s.Shutdown()
			s.WaitForShutdown()
			return nil, fmt.Errorf("embedded nats: not ready after %s", o.ReadyTimeout)
		}
	}
	return &Server{s}, nil
}

// fatalLogger is the server's logger: it keeps the first fatal message and discards everything else.
type fatalLogger chan string

var _ server.Logger = fatalLogger(nil)

func (l fatalLogger) Fatalf(format string, v ...any) {
	select {
	case l <- fmt.Sprintf(format, v...):
	default:
	}
}

func (fatalLogger) Noticef(string, ...any) {}
func (fatalLogger) Warnf(string, ...any)   {}
func (fatalLogger) Errorf(string, ...any)  {}
func (fatalLogger) Debugf(string, ...any)  {}
func (fatalLogger) Tracef(string, ...any)  {}

// Connect returns a client connection to the server.
func (s *Server) Connect(opts ...nats.Option) (*nats.Conn, error) {
	return nats.Connect(s.ClientURL(), opts...)
}

// Stop shuts the server down and waits for it.
func (s *Server) Stop() {
	s.Shutdown()
	s.WaitForShutdown()
}
