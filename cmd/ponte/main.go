// Command ponte turns business events into API calls: it consumes CloudEvents from NATS JetStream, calls Zeev,
// Senior Ronda senior X and CidadES, and publishes a result or a dead-letter event for every input.
//
// Usage:
//
//	ponte <command> [flags]
//
// Run `ponte help` for the commands and `ponte <command> -h` for a command's flags; help goes to standard output
// and exits 0. The exit status is 0 on success, 1 on any failure and 2 on a usage error (an unknown flag, a
// missing or extra argument), which also prints the command's usage on standard error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Environ, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ponte:", err)
	}
	os.Exit(exitCode(err))
}

// Exit statuses: 0 success (and help), 1 any failure, 2 a usage error.
const (
	exitFailure = 1
	exitUsage   = 2
)

// exitCode is the exit status for the error run returned.
func exitCode(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.As(err, new(*usageError)):
		return exitUsage
	}
	return exitFailure
}

// usageError is a mistake on the command line (an unknown flag, a bad flag value, a missing or extra argument):
// run prints the command's usage on stderr, and ponte exits 2.
type usageError struct {
	err   error
	usage func(io.Writer)
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// helpRequested is what a command returns when asked for -h, -help or --help: run prints its usage on stdout and
// returns nil.
type helpRequested struct{ usage func(io.Writer) }

func (helpRequested) Error() string { return "help requested" }

// command is one subcommand.
type command struct {
	name, summary string
	run           func(ctx context.Context, env *environment, args []string) error
}

// environment is what every subcommand gets from main.
type environment struct {
	getenv func(string) string
	// environ lists the variables as "NAME=value" (os.Environ), for ponte run to find unknown PONTE_* names.
	environ func() []string
	stdout  io.Writer
	stderr  io.Writer
}

func commands() []command {
	return []command{
		{"run", "run the worker (production): external NATS, the real APIs, a configuration file", runRun},
		{"dev", "run NATS, the three simulators and the worker in one process (--demo: publish the examples)", runDev},
		{"publish", "publish an event (validated against its schema) and wait for the acknowledgement", runPublish},
		{"watch", "follow results and dead letters live, one line each", runWatch},
		{"dlq", "list, show, replay and purge dead letters", runDLQ},
		{"schemas", "print an event's JSON Schema or the AsyncAPI document", runSchemas},
		{"sandbox", "serve the Zeev, Senior and CidadES simulators on loopback ports", runSandbox},
		{"version", "print the version", runVersion},
	}
}

// run is the whole program: it dispatches args to a subcommand. `ponte help CMD` and `ponte CMD help` are
// `ponte CMD -h`. Help goes to stdout and returns nil; a usage error prints the usage on stderr and returns a
// *usageError.
func run(ctx context.Context, args []string, getenv func(string) string, environ func() []string, stdout, stderr io.Writer) error {
	env := &environment{getenv: getenv, environ: environ, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		usage(stderr)
		return &usageError{err: errors.New("missing command"), usage: usage}
	}
	switch {
	case args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || (args[0] == "help" && len(args) == 1):
		usage(stdout)
		return nil
	case args[0] == "help" && len(args) == 2:
		args = []string{args[1], "-h"}
	case args[0] == "help":
		usage(stderr)
		return &usageError{err: errors.New("help: at most one command"), usage: usage}
	case len(args) == 2 && args[1] == "help":
		args = []string{args[0], "-h"}
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, env, args[1:])
		var help helpRequested
		var ue *usageError
		switch {
		case errors.As(err, &help):
			help.usage(stdout)
			return nil
		case errors.As(err, &ue):
			ue.usage(stderr)
		}
		return err
	}
	usage(stderr)
	return &usageError{err: fmt.Errorf("unknown command %q", args[0]), usage: usage}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "ponte turns business events into API calls.")
	fmt.Fprintln(w, "\nUsage: ponte <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'ponte <command> -h' (or 'ponte help <command>') for a command's flags.")
}

func runVersion(_ context.Context, env *environment, args []string) error {
	fs := newFlagSet("version", "Usage: ponte version\n\nPrints the version of this build.")
	if err := fs.parse(args, 0); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "ponte %s\n", version)
	return nil
}

// flagSet is a subcommand's flags and the text its usage starts with.
type flagSet struct {
	*flag.FlagSet
	synopsis string
}

// newFlagSet returns the flag set of subcommand name; synopsis is the usage without the flags, which follow it.
func newFlagSet(name, synopsis string) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet("ponte "+name, flag.ContinueOnError), synopsis: synopsis}
	fs.SetOutput(io.Discard) // parse reports; the flag package must not print on its own
	fs.Usage = func() {}
	return fs
}

// printUsage writes the synopsis and, if there are any, the flags and their defaults.
func (fs *flagSet) printUsage(w io.Writer) {
	fmt.Fprintln(w, fs.synopsis)
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintln(w, "\nFlags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
}

// parse parses args, which may hold at most maxArgs positional arguments. -h, -help and --help return
// helpRequested; a bad flag or an extra argument returns a *usageError.
func (fs *flagSet) parse(args []string, maxArgs int) error {
	if err := fs.Parse(args); err != nil {
		return fs.check(err)
	}
	if fs.NArg() > maxArgs {
		return fs.usageError(fmt.Errorf("%s: unexpected argument %q", strings.TrimPrefix(fs.Name(), "ponte "), fs.Arg(maxArgs)))
	}
	return nil
}

// check turns an error of FlagSet.Parse into helpRequested or a *usageError.
func (fs *flagSet) check(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return helpRequested{usage: fs.printUsage}
	}
	return fs.usageError(err)
}

// usageError returns err as a usage error of this command.
func (fs *flagSet) usageError(err error) error {
	return &usageError{err: err, usage: fs.printUsage}
}
