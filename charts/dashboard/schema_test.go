package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// schemaHeader opens the TypeScript file that type-checks a dashboard against @grafana/schema's Dashboard.
// JSON carries an enum's value, never the enum itself: Loose turns each enum type of the schema into the
// union of its values ("absolute" | "percentage"), and keeps every other type, so the object literal is
// still checked for missing, misspelt and mistyped fields.
const schemaHeader = `import type { Dashboard } from "@grafana/schema";
type Loose<T> = 0 extends 1 & T ? T
  : T extends string ? ` + "`${T}`" + `
  : T extends readonly (infer U)[] ? Loose<U>[]
  : T extends object ? { [K in keyof T]: Loose<T[K]> }
  : T;
export const dashboard = `

// schemaCheck is the TypeScript file that fails to compile when the dashboard JSON is not a Dashboard.
func schemaCheck(dashboardJSON string) string {
	return schemaHeader + strings.TrimRight(dashboardJSON, "\n") + " satisfies Loose<Dashboard>;\n"
}

// TestDashboardSatisfiesGrafanaSchema type-checks the checked-in dashboard against Grafana's own schema
// (the npm package @grafana/schema) with tsc, and checks that the same run refuses broken copies of it.
// It needs the directory where make dashboard-check installs @grafana/schema and typescript, in
// PONTE_GRAFANA_SCHEMA; without it the test is skipped, so that go test ./... needs nothing installed.
func TestDashboardSatisfiesGrafanaSchema(t *testing.T) {
	dir := os.Getenv("PONTE_GRAFANA_SCHEMA")
	if dir == "" {
		t.Skip("PONTE_GRAFANA_SCHEMA is not set: make dashboard-check installs @grafana/schema and typescript and sets it")
	}
	tsc := filepath.Join(dir, "node_modules", "typescript", "bin", "tsc")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@grafana", "schema", "package.json")); err != nil {
		t.Fatalf("PONTE_GRAFANA_SCHEMA=%s has no node_modules/@grafana/schema: %v", dir, err)
	}
	good, err := os.ReadFile(checkedIn)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file     string
		old, new string // the edit that breaks the dashboard; none for the checked-in one
	}{
		{file: "checked-in.ts"},
		{file: "misspelt-field.ts", old: `"gridPos":`, new: `"gridPoss":`},
		{file: "string-schema-version.ts", old: `"schemaVersion": 42`, new: `"schemaVersion": "42"`},
		{file: "unknown-threshold-mode.ts", old: `"mode": "absolute"`, new: `"mode": "absolut"`},
		{file: "mistyped-field.ts", old: `"transparent": false`, new: `"transparent": "no"`},
	}
	// The files go into a directory under dir, so that TypeScript finds dir/node_modules; one tsc run checks
	// them all (a run takes seconds).
	work, err := os.MkdirTemp(dir, "check-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(work) })
	files := []string{}
	for _, tt := range tests {
		src := string(good)
		if tt.old != "" {
			if !strings.Contains(src, tt.old) {
				t.Fatalf("%s: the dashboard has no %s to break", tt.file, tt.old)
			}
			src = strings.Replace(src, tt.old, tt.new, 1)
		}
		if err := os.WriteFile(filepath.Join(work, tt.file), []byte(schemaCheck(src)), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, tt.file)
	}
	args := append([]string{tsc, "--noEmit", "--strict", "--pretty", "false", "--skipLibCheck",
		"--moduleResolution", "bundler", "--module", "esnext", "--target", "es2022"}, files...)
	cmd := exec.CommandContext(t.Context(), "node", args...)
	cmd.Dir = work
	out, err := cmd.CombinedOutput()
	if err != nil && cmd.ProcessState == nil {
		t.Fatalf("run tsc: %v", err)
	}
	errorsOf := map[string][]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if file, _, ok := strings.Cut(line, "("); ok && strings.Contains(line, "error TS") {
			errorsOf[file] = append(errorsOf[file], line)
		}
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			errs := errorsOf[tt.file]
			switch {
			case tt.old == "" && len(errs) > 0:
				t.Errorf("the checked-in dashboard is not a @grafana/schema Dashboard:\n%s", strings.Join(errs, "\n"))
			case tt.old != "" && len(errs) == 0:
				t.Errorf("tsc accepted the dashboard with %s replaced by %s (tsc said: %s)", tt.old, tt.new, out)
			}
		})
	}
}
