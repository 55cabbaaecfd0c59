package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
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

// redactURL hides the user information (user:password, or a token) of NATS URLs, with or without a scheme.
func redactURL(u string) string {
	parts := strings.Split(u, ",")
	for i, p := range parts {
		at := strings.LastIndex(p, "@")
		if at < 0 {
			continue
		}
		start := 0
		if scheme := strings.Index(p, "://"); scheme >= 0 && scheme < at {
			start = scheme + 3
		}
		parts[i] = p[:start] + "[REDACTED]" + p[at:]
	}
	return strings.Join(parts, ",")
}

// checkNATSURLs checks a comma-separated list of NATS server URLs the way nats.Connect reads it (spaces trimmed,
// empty entries skipped, nats:// assumed without a scheme) and rejects what it would only fail on when dialling:
// a scheme other than nats, tls, ws and wss, no host, a port out of 1-65535, a path on a nats or tls URL, and
// websocket URLs mixed with others. Errors quote the bad URL with its user information redacted.
func checkNATSURLs(list string) error {
	n, websocket := 0, 0
	for _, raw := range strings.Split(list, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		n++
		s := raw
		if !strings.Contains(s, "://") {
			s = "nats://" + s
		}
		quoted := strconv.Quote(redactURL(raw))
		u, err := url.Parse(s)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // url.Error repeats the URL, password included
			}
			return fmt.Errorf("%s is not a URL: %w", quoted, err)
		}
		switch u.Scheme {
		case "nats", "tls":
			if u.Path != "" && u.Path != "/" {
				return fmt.Errorf("%s: unexpected path %q (a nats or tls URL is [user:password@]host[:port])", quoted, u.Path)
			}
		case "ws", "wss":
			websocket++
		default:
			return fmt.Errorf("%s: scheme %q is not nats, tls, ws or wss", quoted, u.Scheme)
		}
		if u.Hostname() == "" {
			return fmt.Errorf("%s: no host", quoted)
		}
		if p := u.Port(); p != "" {
			if port, err := strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
				return fmt.Errorf("%s: port %s is not between 1 and 65535", quoted, p)
			}
		}
	}
	switch {
	case n == 0:
		return errors.New("no URL")
	case websocket > 0 && websocket < n:
		return errors.New("websocket (ws, wss) and other URLs cannot be mixed")
	}
	return nil
}
