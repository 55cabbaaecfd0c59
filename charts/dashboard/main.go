// Command dashboard writes ponte's Grafana dashboard as JSON: the dashboard is code, built with the Grafana
// Foundation SDK (github.com/grafana/grafana-foundation-sdk/go) in dashboard.go, and its output is checked in as
// charts/ponte/files/dashboard.json, which the chart loads into a ConfigMap.
//
// Run it from this directory (make dashboard does):
//
//	go run .            # writes ../ponte/files/dashboard.json
//	go run . -o -       # prints the JSON on standard output
//
// The output is deterministic (encoding/json writes struct fields in declaration order and map keys sorted), so
// running it twice gives the same bytes; the tests of this module fail when the checked-in file differs from
// what the generator writes, and parse every PromQL expression of the dashboard and of the alerting rules.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// defaultOutput is where the chart reads the dashboard from, relative to this module's directory.
const defaultOutput = "../ponte/files/dashboard.json"

func main() {
	switch err := run(os.Args[1:], os.Stdout, os.Stderr); {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "dashboard:", err)
		os.Exit(1)
	}
}

// run renders the dashboard and writes it to the file named by -o (standard output for "-").
func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dashboard", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", defaultOutput, "write the dashboard JSON to this file; - for standard output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	b, err := render()
	if err != nil {
		return err
	}
	if *out == "-" {
		_, err := stdout.Write(b)
		return err
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return fmt.Errorf("write dashboard: %w", err)
	}
	return nil
}
