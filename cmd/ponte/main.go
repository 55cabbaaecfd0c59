// Command ponte turns business events into API calls: it consumes CloudEvents from NATS JetStream, calls Zeev,
// Senior Ronda senior X and CidadES, and publishes a result or a dead-letter event for every input.
//
// Usage:
//
//	ponte <command> [flags]
//
// Run `ponte help` for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "ponte:", err)
		}
		os.Exit(1)
	}
}

// command is one subcommand.
type command struct {
	name, summary string
	run           func(ctx context.Context, env *environment, args []string) error
}

// environment is what every subcommand gets from main.
type environment struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
}

func commands() []command {
	return []command{
		{"run", "run the worker (production): external NATS, the real APIs, a configuration file", runRun},
		{"dev", "run NATS, the three simulators and the worker in one process (--demo: publish the examples)", runDev},
		{"publish", "publish an event (validated against its schema) and wait for the acknowledgement", runPublish},
		{"watch", "follow results and dead letters live, one line each", runWatch},
		{"schemas", "print an event's JSON Schema or the AsyncAPI document", runSchemas},
		{"sandbox", "serve the Zeev, Senior and CidadES simulators on loopback ports", runSandbox},
		{"version", "print the version", runVersion},
	}
}

// run is the whole program: it dispatches args to a subcommand.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	env := &environment{getenv: getenv, stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		if len(args) == 0 {
			return errors.New("missing command")
		}
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, env, args[1:])
		}
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", args[0])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "ponte turns business events into API calls.")
	fmt.Fprintln(w, "\nUsage: ponte <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'ponte <command> -h' for a command's flags.")
}

func runVersion(_ context.Context, env *environment, args []string) error {
	fs := newFlagSet("version", env)
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "ponte %s\n", version)
	return nil
}

// newFlagSet returns a flag set that reports errors instead of exiting and prints help to stderr.
func newFlagSet(name string, env *environment) *flag.FlagSet {
	fs := flag.NewFlagSet("ponte "+name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	return fs
}
