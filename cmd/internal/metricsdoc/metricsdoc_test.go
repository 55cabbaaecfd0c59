package metricsdoc

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []Metric
		err       string
	}{
		{"rows", "# x\n| Metric | Type |\n| `ponte_a_total` | counter | `type`, `outcome` | messages | Q? |\n| `ponte_b` | gauge | | 0 or 1 | Q? |\n",
			[]Metric{{"ponte_a_total", "counter", []string{"outcome", "type"}}, {"ponte_b", "gauge", []string{}}}, ""},
		{"malformed row", "| `ponte_a_total` | counter | `type` |\n", nil, "line 1: a catalogue row not in the form"},
		{"twice", "| `ponte_a` | gauge | | u | q |\n| `ponte_a` | gauge | | u | q |\n", nil, "line 2: ponte_a listed twice"},
		{"bad type", "| `ponte_a` | summary | | u | q |\n", nil, `type "summary"`},
		{"none", "nothing here\n", nil, "no catalogue rows"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.doc))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !slices.EqualFunc(got, tc.want, func(a, b Metric) bool {
				return a.Name == b.Name && a.Type == b.Type && slices.Equal(a.Labels, b.Labels)
			}) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestSeries(t *testing.T) {
	h := Metric{Name: "ponte_events_age_seconds", Type: "histogram"}
	if got, want := h.Series(), []string{"ponte_events_age_seconds_bucket", "ponte_events_age_seconds_sum", "ponte_events_age_seconds_count"}; !slices.Equal(got, want) {
		t.Errorf("histogram series %v, want %v", got, want)
	}
	c := Metric{Name: "ponte_events_received_total", Type: "counter"}
	if got := c.Series(); !slices.Equal(got, []string{"ponte_events_received_total"}) {
		t.Errorf("counter series %v", got)
	}
}

// TestReadTheCatalogue reads docs/metrics.md itself: its rows parse.
func TestReadTheCatalogue(t *testing.T) {
	ms, err := Read(filepath.Join("..", "..", "..", "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 20 {
		t.Fatalf("only %d metrics in docs/metrics.md", len(ms))
	}
}
