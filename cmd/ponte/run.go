package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

func runRun(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet("run", "Usage: ponte run --config FILE [flags]\n\nRuns the production worker against an external NATS cluster and the real APIs until SIGTERM, then\ndrains. Every key is documented in docs/configuration.md.")
	path := fs.String("config", env.getenv(configVar), "YAML configuration file (env "+configVar+"); PONTE_* variables override its keys")
	check := fs.Bool("check", false, "validate the configuration and exit")
	if err := fs.parse(args, 0); err != nil {
		return err
	}
	cfg, err := loadConfig(*path, env.getenv, env.environ)
	if err != nil {
		return err
	}
	if *check {
		fmt.Fprintln(env.stdout, "configuration OK")
		return nil
	}
	level := new(slog.LevelVar)
	log := newLogger(cfg.Log, env.stderr, level)
	reg := newRegistry()
	nc, err := connectNATS(cfg.NATS, log, newNATSMetrics(reg))
	if err != nil {
		return err
	}
	svc, err := wire(cfg, nc, reg, log)
	if err != nil {
		nc.Close()
		return err
	}
	if cfg.HTTP.Listen != "-" {
		ops, err := startOpsServer(cfg.HTTP.Listen, reg, svc.ready, cfg.HTTP.Pprof, level, log)
		if err != nil {
			svc.abandon()
			return err
		}
		defer ops.Close()
		log.Info("serving /metrics, /healthz, /readyz", "addr", ops.Addr())
	}
	log.Info("ponte starting", "version", version, "nats", redactURL(cfg.NATS.URL))
	// ctx ends on SIGTERM or SIGINT, its cause naming the signal; the worker gets it as is.
	err = svc.run(ctx, cfg.NATS.DrainTimeout)
	if stoppedEarly(ctx, err) {
		log.Info("ponte stopped before it was ready", "cause", context.Cause(ctx).Error())
		return nil
	}
	return err
}

// stoppedEarly says whether err only reports that ctx ended while ponte was starting: a stop that was asked for
// (SIGTERM, Ctrl-C), not a failure.
func stoppedEarly(ctx context.Context, err error) bool {
	return err != nil && ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}
