package main

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"
)

// The documents the expressions are checked against, relative to this module's directory.
const (
	metricsDoc = "../../docs/metrics.md"
	alertsFile = "../ponte/files/alerts.yaml"
)

// scrapeLabels are the labels Prometheus adds to every series of a scrape target (the chart's ServiceMonitor
// or PodMonitor): an expression may select on them whatever the metric.
func scrapeLabels() []string { return []string{"namespace", "job", "instance", "pod"} }

// closedLabels are the labels whose values docs/metrics.md lists as a closed set: an expression that matches
// another value matches nothing, forever.
func closedLabels() []string {
	return []string{"type", "outcome", "reason", "target", "result", "state", "from", "to"}
}

// metric is one row of the catalogue: the metric's type and labels.
type metric struct {
	kind   string // counter, gauge or histogram
	labels []string
}

// catalogue is what docs/metrics.md says ponte exposes.
type catalogue struct {
	metrics map[string]metric
	// values are the values of each closed label.
	values map[string][]string
}

// Compiled once, read only.
var (
	catalogueRow = regexp.MustCompile("^\\| `(\\w+)` \\| (counter|gauge|histogram) \\|([^|]*)\\|")
	backticked   = regexp.MustCompile("`([^`]+)`")
	// alternation is a regular expression that only lists plain values: a|b|c.
	alternation = regexp.MustCompile(`^[\w.]+(\|[\w.]+)*$`)
)

// parseCatalogue reads the tables "Label values" and "The catalogue" of docs/metrics.md.
func parseCatalogue(md string) (catalogue, error) {
	c := catalogue{metrics: map[string]metric{}, values: map[string][]string{}}
	section := ""
	for _, line := range strings.Split(md, "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			section = h
			continue
		}
		switch section {
		case "The catalogue":
			m := catalogueRow.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			var ls []string
			for _, l := range backticked.FindAllStringSubmatch(m[3], -1) {
				ls = append(ls, l[1])
			}
			c.metrics[m[1]] = metric{kind: m[2], labels: ls}
		case "Label values":
			cells := strings.Split(strings.Trim(line, "|"), " | ")
			if len(cells) != 2 || !strings.HasPrefix(strings.TrimSpace(cells[0]), "`") {
				continue
			}
			for _, l := range backticked.FindAllStringSubmatch(cells[0], -1) {
				if !slices.Contains(closedLabels(), l[1]) {
					continue
				}
				for _, v := range backticked.FindAllStringSubmatch(cells[1], -1) {
					c.values[l[1]] = append(c.values[l[1]], v[1])
				}
			}
		}
	}
	if len(c.metrics) == 0 {
		return c, errors.New("docs/metrics.md: no rows in the table of section \"The catalogue\"")
	}
	for _, l := range closedLabels() {
		if len(c.values[l]) == 0 {
			return c, fmt.Errorf("docs/metrics.md: no values for label %s in section \"Label values\"", l)
		}
	}
	// up is Prometheus's own: one series per scrape target, 1 when the scrape succeeded.
	c.metrics["up"] = metric{kind: "gauge"}
	return c, nil
}

func loadCatalogue(t *testing.T) catalogue {
	t.Helper()
	md, err := os.ReadFile(metricsDoc)
	if err != nil {
		t.Fatal(err)
	}
	c, err := parseCatalogue(string(md))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// series is what a selected name is: a catalogue metric, or one of the _bucket, _sum and _count series of a
// catalogue histogram.
type series struct {
	name   string
	metric metric
	// kind is how the series behaves: counter (a histogram's three series are counters) or gauge.
	kind string
	// bucket tells a histogram's _bucket series, the only one with the label le.
	bucket bool
}

// lookup finds the catalogue entry of a selected name.
func (c catalogue) lookup(name string) (series, error) {
	if m, ok := c.metrics[name]; ok {
		if m.kind == "histogram" {
			return series{}, fmt.Errorf("metric %s is a histogram: select its %s_bucket, %[1]s_sum or %[1]s_count", name, name)
		}
		return series{name: name, metric: m, kind: m.kind}, nil
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		if m, known := c.metrics[base]; ok && known && m.kind == "histogram" {
			return series{name: name, metric: m, kind: "counter", bucket: suffix == "_bucket"}, nil
		}
	}
	return series{}, fmt.Errorf("metric %s is not in the catalogue of docs/metrics.md", name)
}

// checkMatcher checks a label matcher of a selected series: a label of the metric (or of the scrape), and for
// a closed label a value docs/metrics.md lists.
func (c catalogue) checkMatcher(s series, m *labels.Matcher) error {
	if m.Name == model.MetricNameLabel {
		return nil
	}
	if !slices.Contains(s.metric.labels, m.Name) && !slices.Contains(scrapeLabels(), m.Name) && !(s.bucket && m.Name == "le") {
		return fmt.Errorf("%s has no label %s (its labels: %v, and the scrape's %v)", s.name, m.Name, s.metric.labels, scrapeLabels())
	}
	known, closed := c.values[m.Name]
	if !closed {
		return nil
	}
	var values []string
	switch m.Type {
	case labels.MatchEqual, labels.MatchNotEqual:
		values = []string{m.Value}
	default:
		// A regular expression that is an alternation of plain values is checked value by value; any other
		// is left alone.
		if !alternation.MatchString(m.Value) {
			return nil
		}
		values = strings.Split(m.Value, "|")
	}
	for _, v := range values {
		if !slices.Contains(known, v) {
			return fmt.Errorf("%s{%s}: %q is not a value of %s (docs/metrics.md lists %v)", s.name, m, v, m.Name, known)
		}
	}
	return nil
}

// checkExpr parses a PromQL expression with Prometheus's parser and checks what it selects against the
// catalogue: every metric exists (histograms through their _bucket, _sum or _count series), every matcher names
// a label of the metric with a documented value, rate and increase take counters and delta and deriv gauges,
// histogram_quantile groups by le, and the consumer's figures, reported by every replica, are never summed.
func checkExpr(c catalogue, expr string) error {
	ast, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return fmt.Errorf("parse: %w", err)
	}
	var errs []error
	parser.Inspect(ast, func(node parser.Node, path []parser.Node) error {
		switch n := node.(type) {
		case *parser.VectorSelector:
			if n.Name == "" {
				errs = append(errs, fmt.Errorf("selector %s names no metric", n))
				return nil
			}
			s, err := c.lookup(n.Name)
			if err != nil {
				errs = append(errs, err)
				return nil
			}
			for _, m := range n.LabelMatchers {
				if err := c.checkMatcher(s, m); err != nil {
					errs = append(errs, err)
				}
			}
			if strings.HasPrefix(n.Name, "ponte_consumer_") {
				if agg := nearestAggregation(path); agg != nil && agg.Op == parser.SUM {
					errs = append(errs, fmt.Errorf("%s is summed in %s: every replica reports the consumer's figures, take their max", n.Name, agg))
				}
			}
		case *parser.Call:
			errs = append(errs, c.checkCall(n)...)
		}
		return nil
	})
	return errors.Join(errs...)
}

// checkCall checks that a function gets the kind of series it is meant for.
func (c catalogue) checkCall(n *parser.Call) []error {
	var want string
	switch n.Func.Name {
	case "rate", "irate", "increase", "resets":
		want = "counter"
	case "delta", "idelta", "deriv", "predict_linear":
		want = "gauge"
	case "histogram_quantile":
		return checkQuantile(c, n)
	default:
		return nil
	}
	var errs []error
	for _, arg := range n.Args {
		ms, ok := arg.(*parser.MatrixSelector)
		if !ok {
			continue
		}
		vs, _ := ms.VectorSelector.(*parser.VectorSelector)
		if vs == nil {
			continue
		}
		if s, err := c.lookup(vs.Name); err == nil && s.kind != want {
			errs = append(errs, fmt.Errorf("%s(%s): %s is a %s, %s takes a %s", n.Func.Name, vs.Name, vs.Name, s.kind, n.Func.Name, want))
		}
	}
	return errs
}

// checkQuantile checks histogram_quantile's second argument: _bucket series, aggregated by le.
func checkQuantile(c catalogue, n *parser.Call) []error {
	if len(n.Args) != 2 {
		return nil // the parser refuses another number of arguments
	}
	var errs []error
	outermost := true // the outermost aggregation decides which labels reach the quantile
	parser.Inspect(n.Args[1], func(node parser.Node, _ []parser.Node) error {
		switch m := node.(type) {
		case *parser.AggregateExpr:
			if outermost && slices.Contains(m.Grouping, "le") == m.Without {
				errs = append(errs, fmt.Errorf("histogram_quantile over %s: the aggregation must keep le", m))
			}
			outermost = false
		case *parser.VectorSelector:
			if s, err := c.lookup(m.Name); err == nil && !s.bucket {
				errs = append(errs, fmt.Errorf("histogram_quantile over %s: not a histogram's _bucket series", m.Name))
			}
		}
		return nil
	})
	return errs
}

// nearestAggregation is the innermost aggregation above a node, or nil.
func nearestAggregation(path []parser.Node) *parser.AggregateExpr {
	for i := len(path) - 1; i >= 0; i-- {
		if a, ok := path[i].(*parser.AggregateExpr); ok {
			return a
		}
	}
	return nil
}

// grafanaVariable is a Grafana variable in an expression: ${name}, ${name:format} or $name.
var grafanaVariable = regexp.MustCompile(`\$\{(\w+)(?::[^}]*)?\}|\$([A-Za-z_]\w*)`)

// substituteVariables replaces Grafana's variables by what they stand for when the query runs: the interval
// variables by a duration, the template variables by their own name (a value that is safe in a regular
// expression and in a label value), so that Prometheus's parser can read the expression.
func substituteVariables(expr string) string {
	return grafanaVariable.ReplaceAllStringFunc(expr, func(v string) string {
		m := grafanaVariable.FindStringSubmatch(v)
		name := m[1] + m[2]
		switch name {
		case "__rate_interval", "__interval", "__range":
			return "5m"
		}
		return name
	})
}

// checkInstallSelector checks that every selector of a dashboard expression (after substituteVariables)
// selects the install: namespace=~"$namespace" and job=~"$job".
func checkInstallSelector(expr string) error {
	ast, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return fmt.Errorf("parse: %w", err)
	}
	var errs []error
	parser.Inspect(ast, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		for _, name := range []string{"namespace", "job"} {
			if !slices.ContainsFunc(vs.LabelMatchers, func(m *labels.Matcher) bool {
				return m.Name == name && m.Type == labels.MatchRegexp && m.Value == name
			}) {
				errs = append(errs, fmt.Errorf("selector %s does not select %s=~\"$%[2]s\"", vs, name))
			}
		}
		return nil
	})
	return errors.Join(errs...)
}

// dashboardExprs lists the expr of every target of the checked-in dashboard, by panel title and refId.
func dashboardExprs(t *testing.T) map[string]string {
	t.Helper()
	exprs := map[string]string{}
	for _, p := range panelsOf(loadDashboard(t)) {
		targets, _ := p["targets"].([]any)
		for _, item := range targets {
			q, _ := item.(map[string]any)
			expr, _ := q["expr"].(string)
			exprs[fmt.Sprintf("%v/%v", p["title"], q["refId"])] = expr
		}
	}
	if len(exprs) == 0 {
		t.Fatal("the dashboard has no expressions")
	}
	return exprs
}

// TestDashboardPromQL parses every target expression of the dashboard and checks the metrics it selects
// against docs/metrics.md, and that it selects the install of the variables.
func TestDashboardPromQL(t *testing.T) {
	c := loadCatalogue(t)
	for name, expr := range dashboardExprs(t) {
		t.Run(name, func(t *testing.T) {
			e := substituteVariables(expr)
			if err := checkExpr(c, e); err != nil {
				t.Errorf("%s\n%v", expr, err)
			}
			if err := checkInstallSelector(e); err != nil {
				t.Errorf("%s\n%v", expr, err)
			}
		})
	}
}

// labelValuesQuery is a Prometheus variable query: label_values(selector, label).
var labelValuesQuery = regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`)

// TestDashboardVariableQueries checks the query variables' label_values: the selector parses and names a
// catalogue metric, the label is one it carries.
func TestDashboardVariableQueries(t *testing.T) {
	c := loadCatalogue(t)
	d := loadDashboard(t)
	for _, name := range []string{"namespace", "job"} {
		t.Run(name, func(t *testing.T) {
			q, _ := variable(d, name)["query"].(string)
			m := labelValuesQuery.FindStringSubmatch(q)
			if m == nil {
				t.Fatalf("query %q is not label_values(selector, label)", q)
			}
			sel := substituteVariables(m[1])
			if err := checkExpr(c, sel); err != nil {
				t.Errorf("%s: %v", q, err)
			}
			vs, _ := parser.NewParser(parser.Options{}).ParseExpr(sel)
			if v, ok := vs.(*parser.VectorSelector); !ok {
				t.Errorf("%s: %s is not a selector", q, sel)
			} else if s, err := c.lookup(v.Name); err == nil && !slices.Contains(s.metric.labels, m[2]) && !slices.Contains(scrapeLabels(), m[2]) {
				t.Errorf("%s: %s has no label %s", q, v.Name, m[2])
			}
		})
	}
}

// ruleFile is the part of a Prometheus rule file the check reads.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert  string `yaml:"alert"`
			Record string `yaml:"record"`
			Expr   string `yaml:"expr"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// TestAlertRulesPromQL parses the expr of every rule of charts/ponte/files/alerts.yaml and checks the metrics
// it selects against docs/metrics.md.
func TestAlertRulesPromQL(t *testing.T) {
	c := loadCatalogue(t)
	b, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	n := 0
	for _, g := range f.Groups {
		for i, r := range g.Rules {
			n++
			name := fmt.Sprintf("%s/%d-%s%s", g.Name, i, r.Alert, r.Record)
			t.Run(name, func(t *testing.T) {
				if strings.TrimSpace(r.Expr) == "" {
					t.Fatal("no expr")
				}
				if err := checkExpr(c, r.Expr); err != nil {
					t.Errorf("%s\n%v", r.Expr, err)
				}
			})
		}
	}
	if n == 0 {
		t.Fatalf("%s has no rules", alertsFile)
	}
}

// TestCatalogue checks that the table of docs/metrics.md is read: histograms, labels and closed values.
func TestCatalogue(t *testing.T) {
	c := loadCatalogue(t)
	tests := []struct {
		metric, kind string
		labels       []string
	}{
		{"ponte_events_processed_total", "counter", []string{"type", "outcome"}},
		{"ponte_events_age_seconds", "histogram", []string{"type"}},
		{"ponte_circuit_breaker_state", "gauge", []string{"target", "tenant", "state"}},
		{"ponte_nats_connected", "gauge", nil},
	}
	for _, tt := range tests {
		t.Run(tt.metric, func(t *testing.T) {
			m, ok := c.metrics[tt.metric]
			if !ok || m.kind != tt.kind || !slices.Equal(m.labels, tt.labels) {
				t.Errorf("catalogue has %s = %+v (%v), want %s with labels %v", tt.metric, m, ok, tt.kind, tt.labels)
			}
		})
	}
	for label, want := range map[string]string{"outcome": "dead_letter", "reason": "attempts_exhausted", "state": "half_open", "result": "failure", "type": "unrouted"} {
		if !slices.Contains(c.values[label], want) {
			t.Errorf("values of %s = %v, want %s among them", label, c.values[label], want)
		}
	}
}

// TestCheckExprCatches feeds the checker expressions that are wrong in each way it looks for, and right ones.
func TestCheckExprCatches(t *testing.T) {
	c := loadCatalogue(t)
	tests := []struct {
		name, expr string
		want       string // a part of the error; "" for none
	}{
		{"a valid rate", `sum by (type) (rate(ponte_events_processed_total{outcome="success"}[5m]))`, ""},
		{"a valid quantile", `histogram_quantile(0.99, sum by (le, type) (rate(ponte_events_age_seconds_bucket[5m])))`, ""},
		{"up", `sum(up{job="ponte"})`, ""},
		{"max of the consumer's figures", `max by (stream, consumer) (ponte_consumer_pending_messages + ponte_consumer_ack_pending_messages)`, ""},
		{"an alternation of known values", `ponte_downstream_requests_total{result!~"breaker_open|throttled|canceled"}`, ""},
		{"a real regular expression is left alone", `ponte_events_processed_total{outcome=~"dead.*"}`, ""},
		{"an unclosed parenthesis", `sum(rate(ponte_events_processed_total[5m])`, "unclosed left parenthesis"},
		{"a Grafana variable left in", `rate(ponte_events_received_total[$__rate_interval])`, "parse"},
		{"an unknown metric", `rate(ponte_events_procesed_total[5m])`, "ponte_events_procesed_total is not in the catalogue"},
		{"an unknown metric beside a known one", `ponte_nats_connected and ponte_nats_conected`, "ponte_nats_conected is not in the catalogue"},
		{"a histogram without suffix", `ponte_events_age_seconds`, "is a histogram"},
		{"a counter's _bucket", `ponte_events_received_total_bucket`, "not in the catalogue"},
		{"a selector without a name", `{job="ponte"}`, "names no metric"},
		{"a label of another metric", `ponte_events_received_total{outcome="success"}`, "has no label outcome"},
		{"le on a _sum", `ponte_events_age_seconds_sum{le="1"}`, "has no label le"},
		{"an unknown value", `ponte_events_processed_total{outcome="dead_lettered"}`, `"dead_lettered" is not a value of outcome`},
		{"an unknown value in an alternation", `ponte_events_processed_total{outcome=~"success|sucess"}`, `"sucess" is not a value of outcome`},
		{"rate of a gauge", `rate(ponte_downstream_throttled[5m])`, "is a gauge, rate takes a counter"},
		{"delta of a counter", `delta(ponte_events_received_total[5m])`, "is a counter, delta takes a gauge"},
		{"a quantile without le", `histogram_quantile(0.99, sum by (type) (rate(ponte_events_age_seconds_bucket[5m])))`, "must keep le"},
		{"a quantile without le, by without", `histogram_quantile(0.9, sum without (le) (rate(ponte_events_age_seconds_bucket[5m])))`, "must keep le"},
		{"a quantile of a _count", `histogram_quantile(0.9, sum by (le) (rate(ponte_events_age_seconds_count[5m])))`, "not a histogram's _bucket"},
		{"the consumer's figures summed", `sum by (consumer) (ponte_consumer_pending_messages)`, "take their max"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkExpr(c, tt.expr)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("checkExpr(%s) = %v, want no error", tt.expr, err)
			case tt.want != "" && err == nil:
				t.Errorf("checkExpr(%s) = nil, want an error with %q", tt.expr, tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Errorf("checkExpr(%s) = %v, want an error with %q", tt.expr, err, tt.want)
			}
		})
	}
}

// TestCheckInstallSelectorCatches feeds the install check selectors with and without the variables.
func TestCheckInstallSelectorCatches(t *testing.T) {
	tests := []struct {
		name, expr string
		want       string
	}{
		{"both", `sum(rate(ponte_events_received_total{namespace=~"$namespace", job=~"$job"}[$__rate_interval]))`, ""},
		{"no job", `sum(rate(ponte_events_received_total{namespace=~"$namespace"}[5m]))`, `job=~"$job"`},
		{"one selector of two without", `ponte_consumer_pending_messages{namespace=~"$namespace", job=~"$job"} + ponte_consumer_ack_pending_messages`, `namespace=~"$namespace"`},
		{"a fixed namespace", `ponte_nats_connected{namespace="ponte", job=~"$job"}`, `namespace=~"$namespace"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkInstallSelector(substituteVariables(tt.expr))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("checkInstallSelector(%s) = %v, want no error", tt.expr, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("checkInstallSelector(%s) = %v, want an error with %q", tt.expr, err, tt.want)
			}
		})
	}
}

// TestSubstituteVariables checks what Grafana's variables become before parsing.
func TestSubstituteVariables(t *testing.T) {
	tests := []struct{ in, want string }{
		{`rate(x{job=~"$job"}[$__rate_interval])`, `rate(x{job=~"job"}[5m])`},
		{`increase(x{namespace=~"${namespace}"}[$__range])`, `increase(x{namespace=~"namespace"}[5m])`},
		{`x{job=~"${job:regex}"}[${__interval}]`, `x{job=~"job"}[5m]`},
		{`label_replace(x, "a", "$1", "b", "(.*)")`, `label_replace(x, "a", "$1", "b", "(.*)")`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := substituteVariables(tt.in); got != tt.want {
				t.Errorf("substituteVariables(%s) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

// TestMetricsDocQueries: the queries docs/metrics.md offers on-call (its "Questions on-call asks" table) pass the
// checks of the dashboard's and the alerts' expressions: the consumer's figures max'd, counters under rate, known
// metrics and labels.
func TestMetricsDocQueries(t *testing.T) {
	c := loadCatalogue(t)
	md, err := os.ReadFile(metricsDoc)
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(md), "## Questions on-call asks, as PromQL")
	if !ok {
		t.Fatal("docs/metrics.md has no questions table")
	}
	row := regexp.MustCompile("(?m)^\\| ([^|]+) \\| `(.+)` \\|$")
	n := 0
	for _, m := range row.FindAllStringSubmatch(table, -1) {
		n++
		expr := strings.ReplaceAll(m[2], `\|`, "|")
		t.Run(m[1], func(t *testing.T) {
			if err := checkExpr(c, expr); err != nil {
				t.Errorf("%s\n%v", expr, err)
			}
		})
	}
	if n == 0 {
		t.Fatal("no queries found in docs/metrics.md's questions table")
	}
}
