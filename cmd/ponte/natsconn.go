package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// natsMetrics are ponte_nats_connected and ponte_nats_reconnects_total.
type natsMetrics struct {
	connected  prometheus.Gauge
	reconnects prometheus.Counter
}

func newNATSMetrics(reg prometheus.Registerer) *natsMetrics {
	f := promauto.With(reg)
	return &natsMetrics{
		connected: f.NewGauge(prometheus.GaugeOpts{
			Name: "ponte_nats_connected",
			Help: "1 while the connection to NATS is up, 0 otherwise.",
		}),
		reconnects: f.NewCounter(prometheus.CounterOpts{
			Name: "ponte_nats_reconnects_total",
			Help: "Reconnections to NATS since start.",
		}),
	}
}

// connectNATS opens the connection described by cfg. m and log may be nil.
func connectNATS(cfg NATSConfig, log *slog.Logger, m *natsMetrics) (*nats.Conn, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := []nats.Option{
		nats.Name(cfg.Name),
		nats.Timeout(cfg.ConnectTimeout),
		nats.DrainTimeout(cfg.DrainTimeout),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if m != nil {
				m.connected.Set(0)
			}
			if err != nil {
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			if m != nil {
				m.connected.Set(1)
				m.reconnects.Inc()
			}
			log.Info("nats reconnected", "url", nc.ConnectedUrlRedacted())
		}),
		nats.ClosedHandler(func(*nats.Conn) {
			if m != nil {
				m.connected.Set(0)
			}
		}),
	}
	switch {
	case cfg.CredsFile != "":
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	case cfg.NKeySeedFile != "":
		o, err := nats.NkeyOptionFromSeed(cfg.NKeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("nats.nkeySeedFile: %w", err)
		}
		opts = append(opts, o)
	case cfg.UserFile != "":
		user, err := readTrimmed(cfg.UserFile)
		if err != nil {
			return nil, fmt.Errorf("nats.userFile: %w", err)
		}
		pass, err := readTrimmed(cfg.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("nats.passwordFile: %w", err)
		}
		opts = append(opts, nats.UserInfo(user, pass))
	}
	if cfg.TLS.CAFile != "" {
		opts = append(opts, nats.RootCAs(cfg.TLS.CAFile))
	}
	if cfg.TLS.CertFile != "" {
		opts = append(opts, nats.ClientCert(cfg.TLS.CertFile, cfg.TLS.KeyFile))
	}
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to nats %s: %w", redactURL(cfg.URL), err)
	}
	if m != nil {
		m.connected.Set(1)
	}
	return nc, nil
}

func readTrimmed(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", errors.New("file is empty")
	}
	return s, nil
}

// redactURL hides user:password in NATS URLs.
func redactURL(u string) string {
	parts := strings.Split(u, ",")
	for i, p := range parts {
		if at := strings.LastIndex(p, "@"); at >= 0 {
			if scheme := strings.Index(p, "://"); scheme >= 0 && scheme < at {
				parts[i] = p[:scheme+3] + "[REDACTED]" + p[at:]
			}
		}
	}
	return strings.Join(parts, ",")
}
