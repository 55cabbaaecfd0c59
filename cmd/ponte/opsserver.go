package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// opsServer serves /metrics, /healthz (liveness: the process answers), /readyz (readiness: NATS connected and
// the consumer bound), /loglevel (GET the log level, PUT a new one: debug, info, warn, error), and with http.pprof
// the runtime profiles under /debug/pprof/.
type opsServer struct {
	srv *http.Server
	ln  net.Listener
}

func startOpsServer(addr string, gatherer prometheus.Gatherer, ready func() error, profiles bool, level *slog.LevelVar, log *slog.Logger) (*opsServer, error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError)}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := ready(); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	if level != nil {
		mux.HandleFunc("GET /loglevel", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintln(w, strings.ToLower(level.Level().String()))
		})
		mux.HandleFunc("PUT /loglevel", func(w http.ResponseWriter, r *http.Request) {
			setLogLevel(w, r, level, log)
		})
	}
	if profiles {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index) // also heap, goroutine, allocs, block, mutex, threadcreate
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("http.listen %s: %w", addr, err)
	}
	s := &opsServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, ln: ln}
	if profiles {
		log.Warn("serving the runtime profiles at /debug/pprof/ (http.pprof): turn it off when done profiling", "addr", s.Addr())
	}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("ops http server", "err", err)
		}
	}()
	return s, nil
}

// setLogLevel sets level from the request body (debug, info, warn or error), logs the change, and answers the new
// level; a body naming no level is a 400 that lists the valid ones.
func setLogLevel(w http.ResponseWriter, r *http.Request, level *slog.LevelVar, log *slog.Logger) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64))
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	name := strings.ToLower(strings.TrimSpace(string(body)))
	var lvl slog.Level
	if !slices.Contains(logLevels, name) || lvl.UnmarshalText([]byte(name)) != nil {
		http.Error(w, fmt.Sprintf("log level %q: want one of %s", name, strings.Join(logLevels, ", ")), http.StatusBadRequest)
		return
	}
	from := level.Level()
	level.Set(lvl)
	// At warn, or at the new level when that is higher: a change to error is logged too.
	log.Log(r.Context(), max(slog.LevelWarn, lvl), "log level changed", "from", strings.ToLower(from.String()), "to", name, "by", r.RemoteAddr)
	fmt.Fprintln(w, name)
}

// Addr is the bound address.
func (s *opsServer) Addr() string { return s.ln.Addr().String() }

func (s *opsServer) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
}
