package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ponte-dev/ponte/cmd/internal/metricsdoc"
)

// readCatalogue returns the metrics docs/metrics.md lists, by name.
func readCatalogue(t *testing.T) map[string]metricsdoc.Metric {
	t.Helper()
	ms, err := metricsdoc.Read(filepath.Join("..", "..", "docs", "metrics.md"))
	if err != nil {
		t.Fatalf("docs/metrics.md: %v", err)
	}
	doc := make(map[string]metricsdoc.Metric, len(ms))
	for _, m := range ms {
		doc[m.Name] = m
	}
	return doc
}

// scrapeCatalogue parses an exposition and returns its ponte_* metrics, the label names of their series (without
// le), and the families themselves.
func scrapeCatalogue(t *testing.T, exposition []byte) (map[string]metricsdoc.Metric, map[string]*dto.MetricFamily) {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(exposition))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	got := make(map[string]metricsdoc.Metric)
	for name, mf := range families {
		if !strings.HasPrefix(name, "ponte_") {
			continue
		}
		var labels []string
		for _, m := range mf.GetMetric() {
			var names []string
			for _, lp := range m.GetLabel() {
				names = append(names, lp.GetName())
			}
			slices.Sort(names)
			if labels != nil && !slices.Equal(labels, names) {
				t.Errorf("%s: series with different label names: %v and %v", name, labels, names)
			}
			labels = names
		}
		if labels == nil {
			labels = []string{}
		}
		got[name] = metricsdoc.Metric{Name: name, Type: strings.ToLower(mf.GetType().String()), Labels: labels}
	}
	return got, families
}

// TestMetricsCatalogue scrapes a running `ponte dev` before any event and checks that the ponte_* metrics it
// serves are exactly those docs/metrics.md lists, with the same type and labels, each with a help text and at
// least one series (pre-created), and that `promtool check metrics` finds nothing to lint in the scrape when
// promtool is given (PONTE_PROMTOOL; make test sets it).
func TestMetricsCatalogue(t *testing.T) {
	doc := readCatalogue(t)
	d := startDev(t, "--http", "127.0.0.1:0")
	if d.metricsURL == "" {
		t.Fatal("ponte dev printed no metrics address")
	}
	res, err := http.Get(d.metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	exposition, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", d.metricsURL, res.StatusCode, err)
	}
	got, families := scrapeCatalogue(t, exposition)

	for name, want := range doc {
		g, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s: in docs/metrics.md, not served (or served with no series: every series known at start must be pre-created)", name)
		case g.Type != want.Type:
			t.Errorf("%s: served as a %s, documented as a %s", name, g.Type, want.Type)
		case !slices.Equal(g.Labels, want.Labels):
			t.Errorf("%s: served with labels %v, documented with %v", name, g.Labels, want.Labels)
		}
	}
	for name := range got {
		if _, ok := doc[name]; !ok {
			t.Errorf("%s: served, missing from docs/metrics.md", name)
		}
		if families[name].GetHelp() == "" {
			t.Errorf("%s: no help text", name)
		}
	}

	promtool := os.Getenv("PONTE_PROMTOOL")
	if promtool == "" {
		t.Skip("PONTE_PROMTOOL not set: the lint by promtool check metrics is skipped (make test sets it)")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(exposition)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
