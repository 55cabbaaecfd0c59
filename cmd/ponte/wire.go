package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/trace"

	"github.com/ponte-dev/ponte/clients"
	"github.com/ponte-dev/ponte/clients/cidades"
	"github.com/ponte-dev/ponte/clients/senior"
	"github.com/ponte-dev/ponte/clients/zeev"
	"github.com/ponte-dev/ponte/events"
	"github.com/ponte-dev/ponte/handlers"
	"github.com/ponte-dev/ponte/schemas"
)

// newLogger returns the process logger: JSON or text on w, at the configured level held in level (so that it can be
// changed at run time: PUT /loglevel), with CPF numbers and e-mail addresses masked in every message and string
// attribute, and durations written as Go duration strings ("1.5s"; slog's JSON handler would write nanoseconds).
// level may be nil for a fixed level.
func newLogger(cfg LogConfig, w io.Writer, level *slog.LevelVar) *slog.Logger {
	if level == nil {
		level = new(slog.LevelVar)
	}
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.Level))
	level.Set(lvl)
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: logAttr}
	if cfg.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// logAttr is the process logger's ReplaceAttr: it writes a time.Duration as its String ("1.5s", "1m0s"), and masks
// personal data (clients.MaskPersonal: CPF numbers, e-mail addresses) in the message and in string, error,
// fmt.Stringer and []byte values. Log structured values (maps, structs) only when they hold no personal data. The
// handler's own time, level and source are left as they are.
func logAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.SourceKey) {
		return a
	}
	switch a.Value.Kind() {
	case slog.KindDuration:
		a.Value = slog.StringValue(a.Value.Duration().String())
	case slog.KindString:
		if s := a.Value.String(); s != "" {
			if m := clients.MaskPersonal(s); m != s {
				a.Value = slog.StringValue(m)
			}
		}
	case slog.KindAny:
		switch v := a.Value.Any().(type) {
		case error:
			a.Value = slog.StringValue(clients.MaskPersonal(v.Error()))
		case fmt.Stringer:
			a.Value = slog.StringValue(clients.MaskPersonal(v.String()))
		case []byte:
			a.Value = slog.StringValue(clients.MaskPersonal(string(v)))
		}
	}
	return a
}

// newRegistry returns the process registry with the Go and process collectors and ponte_build_info.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "ponte_build_info",
		Help: "Always 1; the labels say which ponte build is running.",
	}, []string{"version", "goversion"})
	info.WithLabelValues(version, runtime.Version()).Set(1)
	reg.MustRegister(info)
	return reg
}

// service is a wired worker: the connection, clients, breakers, the events.Worker and its tracing (nil when off).
type service struct {
	nc       *nats.Conn
	worker   *events.Worker
	breakers *clients.Breakers
	log      *slog.Logger
	reg      *prometheus.Registry
	tracing  *tracing
}

// wire builds the worker of cfg on nc. It contacts nothing but NATS (in Run) and, with tracing enabled, the
// collector (when spans are exported).
func wire(cfg Config, nc *nats.Conn, reg *prometheus.Registry, log *slog.Logger) (svc *service, err error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	// tp stays a nil interface without tracing: the worker and the clients then record no spans and only carry
	// the events' trace context on.
	var tp trace.TracerProvider
	var tr *tracing
	if cfg.Tracing.Enabled {
		if tr, err = newTracing(cfg.Tracing, log); err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				tr.shutdown()
			}
		}()
		tp = tr.provider
	}
	breakers := clients.NewBreakers(cfg.Breakers, reg)
	breakers.Watch(func(k clients.BreakerKey, from, to clients.BreakerState) {
		lvl := slog.LevelInfo
		if to == clients.StateOpen {
			lvl = slog.LevelWarn
		}
		log.Log(context.Background(), lvl, "circuit breaker state changed", "breaker", k.String(), "from", from, "to", to)
	})
	opts := func(target string) clients.EndpointOptions {
		return clients.EndpointOptions{Breakers: breakers, Registerer: reg, Logger: log.With("target", target), TracerProvider: tp}
	}
	zcfg, err := cfg.Zeev.client()
	if err != nil {
		return nil, err
	}
	zc, err := zeev.New(zcfg, opts(zeev.Target))
	if err != nil {
		return nil, err
	}
	scfg, err := cfg.Senior.client()
	if err != nil {
		return nil, err
	}
	sc, err := senior.New(scfg, opts(senior.Target))
	if err != nil {
		return nil, err
	}
	ccfg, err := cfg.CidadES.client()
	if err != nil {
		return nil, err
	}
	cc, err := cidades.New(ccfg, opts(cidades.Target))
	if err != nil {
		return nil, err
	}
	// Pre-create the breakers (and their metric series) the configuration knows of.
	breakers.Ensure(clients.BreakerKey{Target: zeev.Target})
	breakers.Ensure(clients.BreakerKey{Target: senior.Target})
	for ug := range ccfg.UGs {
		breakers.Ensure(clients.BreakerKey{Target: cidades.Target, Tenant: ug})
	}
	profiles, err := handlers.NewProfiles(cfg.Profiles)
	if err != nil {
		return nil, err
	}
	catalog, err := schemas.New()
	if err != nil {
		return nil, err
	}
	routes := handlers.Routes(handlers.Deps{Zeev: zc, Senior: sc, CidadES: cc, Profiles: profiles})
	w, err := events.NewWorker(js, cfg.JetStream, cfg.Worker, routes, catalog,
		events.Options{Logger: log, Registerer: reg, Breakers: breakers, TracerProvider: tp})
	if err != nil {
		return nil, err
	}
	return &service{nc: nc, worker: w, breakers: breakers, log: log, reg: reg, tracing: tr}, nil
}

// ready is the readiness check: NATS connected and the worker's consumer bound.
func (s *service) ready() error {
	switch {
	case !s.nc.IsConnected():
		return errors.New("nats not connected")
	case !s.worker.Ready():
		return errors.New("consumers not bound")
	}
	return nil
}

// abandon closes what wire opened, for a start that fails before run: the connection and the tracer provider.
func (s *service) abandon() {
	s.nc.Close()
	if s.tracing != nil {
		s.tracing.shutdown()
	}
}

// run runs the worker until ctx ends, then drains the NATS connection and, last, exports the spans still queued
// (within tracing.shutdownTimeout).
func (s *service) run(ctx context.Context, drainTimeout time.Duration) error {
	if s.tracing != nil {
		defer s.tracing.shutdown()
	}
	err := s.worker.Run(ctx)
	done := make(chan struct{})
	s.nc.SetClosedHandler(func(*nats.Conn) { close(done) })
	if derr := s.nc.Drain(); derr != nil {
		s.nc.Close()
	} else {
		select {
		case <-done:
		case <-time.After(drainTimeout + time.Second):
			s.nc.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	return nil
}
