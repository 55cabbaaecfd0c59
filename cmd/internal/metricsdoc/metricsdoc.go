// Package metricsdoc reads the metric catalogue of docs/metrics.md: the table whose rows are
// | `name` | type | `label`, `label` | unit | question |. The catalogue test of cmd/ponte and make prom-check
// (cmd/ponte-promcheck) compare it with what ponte serves.
package metricsdoc

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
)

// Metric is one row of the catalogue.
type Metric struct {
	Name   string
	Type   string   // counter, gauge, histogram
	Labels []string // sorted; empty, not nil, for none
}

// Series returns the names Prometheus stores the metric under: a histogram's _bucket, _sum and _count series,
// the name itself otherwise.
func (m Metric) Series() []string {
	if m.Type == "histogram" {
		return []string{m.Name + "_bucket", m.Name + "_sum", m.Name + "_count"}
	}
	return []string{m.Name}
}

// row is a catalogue row; a line that starts like one and does not match is an error.
var row = regexp.MustCompile("^\\| `(ponte_[a-z_]+)` \\| ([a-z]+) \\|([^|]*)\\| [^|]+ \\| [^|]+ \\|$")

// Read parses the catalogue of the document at path, in the document's order.
func Read(path string) ([]Metric, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(b)
}

// Parse parses a catalogue document.
func Parse(doc []byte) ([]Metric, error) {
	var ms []Metric
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(doc))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		m := row.FindStringSubmatch(line)
		if m == nil {
			if strings.HasPrefix(line, "| `ponte_") {
				return nil, fmt.Errorf("line %d: a catalogue row not in the form | `name` | type | `labels` | unit | question |: %s", n, line)
			}
			continue
		}
		if seen[m[1]] {
			return nil, fmt.Errorf("line %d: %s listed twice", n, m[1])
		}
		seen[m[1]] = true
		switch m[2] {
		case "counter", "gauge", "histogram":
		default:
			return nil, fmt.Errorf("line %d: %s: type %q is not counter, gauge or histogram", n, m[1], m[2])
		}
		labels := []string{}
		for l := range strings.SplitSeq(m[3], ",") {
			if l = strings.Trim(strings.TrimSpace(l), "`"); l != "" {
				labels = append(labels, l)
			}
		}
		slices.Sort(labels)
		ms = append(ms, Metric{Name: m[1], Type: m[2], Labels: labels})
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("no catalogue rows")
	}
	return ms, sc.Err()
}
