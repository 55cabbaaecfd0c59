package chartcheck

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// valueKeys returns the leaves of values.yaml: values that are not maps, and empty maps.
func valueKeys(v any, prefix string) []string {
	m, ok := v.(map[string]any)
	if !ok || (len(m) == 0 && prefix != "") {
		return []string{prefix}
	}
	var keys []string
	for k, vv := range m {
		keys = append(keys, valueKeys(vv, strings.TrimPrefix(prefix+"."+k, "."))...)
	}
	return keys
}

// TestReadmeValuesTable: the values table of charts/ponte/README.md has one row for each value of values.yaml,
// and no other.
func TestReadmeValuesTable(t *testing.T) {
	values := defaultValues(t)
	want := valueKeys(values, "")
	readme, err := os.ReadFile(filepath.Join(chartDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([^`]+)` \\|")
	var got []string
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		got = append(got, m[1])
	}
	slices.Sort(want)
	for _, k := range want {
		if !slices.Contains(got, k) {
			t.Errorf("README.md: no row for `%s`", k)
		}
	}
	for _, k := range got {
		if !slices.Contains(want, k) {
			t.Errorf("README.md: `%s` is not a value of values.yaml", k)
		}
	}
}
