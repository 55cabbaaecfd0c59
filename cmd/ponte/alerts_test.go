package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// alertRule is one alerting rule of charts/ponte/files/alerts.yaml.
type alertRule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

const runbooksURL = "https://github.com/ponte-dev/ponte/blob/main/docs/runbooks.md#"

// TestAlertsHaveRunbooks checks what promtool does not: every alert follows the conventions on-call relies on (a
// CamelCase name, a for, a severity of warning or critical, a summary and a description), its runbook_url points
// at a section of docs/runbooks.md that names it, docs/operations.md lists it with its severity, and
// charts/rules/alerts_test.yaml tests it.
func TestAlertsHaveRunbooks(t *testing.T) {
	root := filepath.Join("..", "..")
	b, err := os.ReadFile(filepath.Join(root, "charts", "ponte", "files", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Name  string      `yaml:"name"`
			Rules []alertRule `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	runbooks, err := os.ReadFile(filepath.Join(root, "docs", "runbooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]string{} // GitHub's heading anchor -> the section's text
	sections := regexp.MustCompile(`(?m)^## `).Split(string(runbooks), -1)
	for _, s := range sections[1:] {
		heading, _, _ := strings.Cut(s, "\n")
		anchors[strings.ToLower(strings.ReplaceAll(strings.TrimSpace(heading), " ", "-"))] = s
	}
	tests, err := os.ReadFile(filepath.Join(root, "charts", "rules", "alerts_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	operations, err := os.ReadFile(filepath.Join(root, "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	camel := regexp.MustCompile(`^Ponte[A-Z][A-Za-z]+$`)
	n := 0
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			n++
			t.Run(r.Alert, func(t *testing.T) {
				if !camel.MatchString(r.Alert) {
					t.Errorf("alert name %q: want CamelCase, starting with Ponte", r.Alert)
				}
				if r.For == "" {
					t.Error("no for: a single bad scrape would page")
				}
				if s := r.Labels["severity"]; s != "warning" && s != "critical" {
					t.Errorf("severity %q, want warning or critical", s)
				}
				for _, a := range []string{"summary", "description", "runbook_url"} {
					if r.Annotations[a] == "" {
						t.Errorf("no %s annotation", a)
					}
				}
				anchor, ok := strings.CutPrefix(r.Annotations["runbook_url"], runbooksURL)
				if !ok {
					t.Fatalf("runbook_url %q is not a section of %s", r.Annotations["runbook_url"], runbooksURL)
				}
				section, ok := anchors[anchor]
				if !ok {
					t.Fatalf("runbook_url anchor #%s: no such section in docs/runbooks.md", anchor)
				}
				if !strings.Contains(section, r.Alert) {
					t.Errorf("the runbook section #%s does not name %s", anchor, r.Alert)
				}
				if !strings.Contains(string(operations), "| `"+r.Alert+"` | "+r.Labels["severity"]+" |") {
					t.Errorf("docs/operations.md#alerts has no row for %s with its severity", r.Alert)
				}
				if !strings.Contains(string(tests), "alertname: "+r.Alert+"\n") {
					t.Errorf("charts/rules/alerts_test.yaml has no test of %s", r.Alert)
				}
			})
		}
	}
	if n == 0 {
		t.Fatal("no alerting rules found")
	}
}
