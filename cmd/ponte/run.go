package main

import (
	"context"
	"fmt"
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
	log := newLogger(cfg.Log, env.stderr)
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
		ops, err := startOpsServer(cfg.HTTP.Listen, reg, svc.ready, log)
		if err != nil {
			nc.Close()
			return err
		}
		defer ops.Close()
		log.Info("serving /metrics, /healthz, /readyz", "addr", ops.Addr())
	}
	log.Info("ponte starting", "version", version, "nats", redactURL(cfg.NATS.URL))
	return svc.run(ctx, cfg.NATS.DrainTimeout)
}
