package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// checkedIn is the dashboard the chart loads, relative to this module's directory.
const checkedIn = defaultOutput

// TestDashboardJSONIsGenerated fails when charts/ponte/files/dashboard.json is not what the generator writes:
// an edit of the generator without regenerating, or a hand edit of the JSON.
func TestDashboardJSONIsGenerated(t *testing.T) {
	want, err := render()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(checkedIn)
	if err != nil {
		t.Fatalf("read the checked-in dashboard: %v; run `make dashboard`", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("charts/ponte/files/dashboard.json differs from the generator's output (%s): run `make dashboard` and commit the result",
			firstDifference(got, want))
	}
}

// TestRunWritesTheFile runs the command as make dashboard does, into a temporary file.
func TestRunWritesTheFile(t *testing.T) {
	want, err := render()
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir() + "/dashboard.json"
	var stdout, stderr bytes.Buffer
	if err := run([]string{"-o", out}, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v (stderr %q)", err, stderr.String())
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("run -o wrote other bytes than render: %s", firstDifference(got, want))
	}
	if err := run([]string{"-o", "-"}, &stdout, &stderr); err != nil {
		t.Fatalf("run -o -: %v", err)
	}
	if !bytes.Equal(stdout.Bytes(), want) {
		t.Fatalf("run -o - printed other bytes than render: %s", firstDifference(stdout.Bytes(), want))
	}
	if err := run([]string{"extra"}, &stdout, &stderr); err == nil {
		t.Fatal("run accepted an extra argument")
	}
}

// firstDifference names the first line where got and want differ.
func firstDifference(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d is %q, the generator writes %q", i+1, gl, wl)
		}
	}
	return "same lines"
}

// jsonDashboard is the checked-in JSON, parsed generically: the structure test reads the file as Grafana
// does, not the SDK's types.
type jsonDashboard = map[string]any

func loadDashboard(t *testing.T) jsonDashboard {
	t.Helper()
	b, err := os.ReadFile(checkedIn)
	if err != nil {
		t.Fatal(err)
	}
	var d jsonDashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	return d
}

// panelsOf lists every panel of the dashboard, rows and the panels of collapsed rows included.
func panelsOf(d jsonDashboard) []map[string]any {
	var ps []map[string]any
	var walk func(v any)
	walk = func(v any) {
		list, _ := v.([]any)
		for _, item := range list {
			p, _ := item.(map[string]any)
			if p == nil {
				continue
			}
			ps = append(ps, p)
			walk(p["panels"])
		}
	}
	walk(d["panels"])
	return ps
}

// variable returns the template variable of the name, or nil.
func variable(d jsonDashboard, name string) map[string]any {
	templating, _ := d["templating"].(map[string]any)
	list, _ := templating["list"].([]any)
	for _, item := range list {
		if v, _ := item.(map[string]any); v != nil && v["name"] == name {
			return v
		}
	}
	return nil
}

// refersToDatasourceVar tells whether a datasource reference is the datasource variable, of type prometheus.
func refersToDatasourceVar(ref any) bool {
	m, _ := ref.(map[string]any)
	return m != nil && m["uid"] == datasourceVar && m["type"] == "prometheus"
}

// TestDashboardStructure reads the checked-in JSON as Grafana would and checks what an import relies on.
func TestDashboardStructure(t *testing.T) {
	d := loadDashboard(t)

	t.Run("identity", func(t *testing.T) {
		if d["uid"] != uid {
			t.Errorf("uid = %v, want %q (a stable uid: links and sidecar updates rely on it)", d["uid"], uid)
		}
		if s, _ := d["title"].(string); s == "" {
			t.Error("no title")
		}
		if v, _ := d["schemaVersion"].(float64); v < 36 {
			t.Errorf("schemaVersion = %v, want a number of a current Grafana (36 or more)", d["schemaVersion"])
		}
		if tags, _ := d["tags"].([]any); !slices.Contains(tags, any("ponte")) {
			t.Errorf("tags = %v, want ponte among them", d["tags"])
		}
	})

	t.Run("variables", func(t *testing.T) {
		ds := variable(d, "datasource")
		if ds == nil || ds["type"] != "datasource" || ds["query"] != "prometheus" {
			t.Fatalf("datasource variable = %v, want one of type datasource for prometheus", ds)
		}
		for _, name := range []string{"namespace", "job"} {
			v := variable(d, name)
			if v == nil || v["type"] != "query" {
				t.Errorf("variable %s = %v, want a query variable", name, v)
				continue
			}
			if !refersToDatasourceVar(v["datasource"]) {
				t.Errorf("variable %s queries datasource %v, want %s", name, v["datasource"], datasourceVar)
			}
		}
	})

	t.Run("no hard-coded datasource uid", func(t *testing.T) {
		var walk func(path string, v any)
		walk = func(path string, v any) {
			switch v := v.(type) {
			case map[string]any:
				for k, e := range v {
					if k == "uid" && path != "" && e != datasourceVar {
						t.Errorf("%s.uid = %v, want %s", path, e, datasourceVar)
					}
					walk(path+"."+k, e)
				}
			case []any:
				for i, e := range v {
					walk(fmt.Sprintf("%s[%d]", path, i), e)
				}
			}
		}
		walk("", d)
	})

	t.Run("panels", func(t *testing.T) {
		ids := map[float64]string{}
		for _, p := range panelsOf(d) {
			title, _ := p["title"].(string)
			id, ok := p["id"].(float64)
			if !ok {
				t.Errorf("panel %q has no id", title)
			} else if other, dup := ids[id]; dup {
				t.Errorf("panels %q and %q have the same id %v", other, title, id)
			}
			ids[id] = title
			if title == "" {
				t.Errorf("panel %v has no title", id)
			}
			if p["type"] == "row" {
				continue
			}
			if s, _ := p["description"].(string); len(s) < 20 {
				t.Errorf("panel %q: description %q does not say what it answers", title, s)
			}
			if !refersToDatasourceVar(p["datasource"]) {
				t.Errorf("panel %q: datasource %v, want %s", title, p["datasource"], datasourceVar)
			}
			targets, _ := p["targets"].([]any)
			if len(targets) == 0 {
				t.Errorf("panel %q has no targets", title)
			}
			refs := map[any]bool{}
			for _, item := range targets {
				q, _ := item.(map[string]any)
				if !refersToDatasourceVar(q["datasource"]) {
					t.Errorf("panel %q target %v: datasource %v, want %s", title, q["refId"], q["datasource"], datasourceVar)
				}
				if s, _ := q["expr"].(string); s == "" {
					t.Errorf("panel %q target %v has no expr", title, q["refId"])
				}
				if refs[q["refId"]] {
					t.Errorf("panel %q: two targets with refId %v", title, q["refId"])
				}
				refs[q["refId"]] = true
			}
		}
	})

	t.Run("grid", func(t *testing.T) {
		type rect struct {
			title      string
			x, y, w, h float64
		}
		var placed []rect
		for _, p := range panelsOf(d) {
			title, _ := p["title"].(string)
			g, _ := p["gridPos"].(map[string]any)
			if g == nil {
				t.Errorf("panel %q has no gridPos", title)
				continue
			}
			r := rect{title: title}
			r.x, _ = g["x"].(float64)
			r.y, _ = g["y"].(float64)
			r.w, _ = g["w"].(float64)
			r.h, _ = g["h"].(float64)
			if r.x < 0 || r.y < 0 || r.w < 1 || r.h < 1 || r.x+r.w > 24 {
				t.Errorf("panel %q: gridPos %v is not inside the 24 columns", title, g)
			}
			for _, o := range placed {
				if r.x < o.x+o.w && o.x < r.x+r.w && r.y < o.y+o.h && o.y < r.y+r.h {
					t.Errorf("panels %q and %q overlap", o.title, title)
				}
			}
			placed = append(placed, r)
		}
	})

	t.Run("rows", func(t *testing.T) {
		want := []string{
			"Overview",
			"Throughput",
			"Processing latency",
			"Event age",
			"Consumer lag",
			"Dead letters",
			"Downstream",
			"Circuit breakers",
			"Throttling",
			"Replicas",
		}
		var got []string
		for _, p := range panelsOf(d) {
			if p["type"] == "row" {
				got = append(got, p["title"].(string))
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("rows = %q, want %q", got, want)
		}
	})

	t.Run("links to the runbooks", func(t *testing.T) {
		links, _ := d["links"].([]any)
		found := false
		for _, item := range links {
			l, _ := item.(map[string]any)
			if u, _ := l["url"].(string); strings.HasSuffix(u, "/docs/runbooks.md") {
				found = true
			}
		}
		if !found {
			t.Errorf("links = %v, want one to docs/runbooks.md", links)
		}
	})

	t.Run("runbook anchors", func(t *testing.T) {
		md, err := os.ReadFile("../../docs/runbooks.md")
		if err != nil {
			t.Fatal(err)
		}
		anchors := map[string]bool{}
		for _, line := range strings.Split(string(md), "\n") {
			if h, ok := strings.CutPrefix(line, "## "); ok {
				// GitHub's anchor of a heading of plain words, as cmd/ponte's TestAlertsHaveRunbooks makes it.
				anchors[strings.ToLower(strings.ReplaceAll(strings.TrimSpace(h), " ", "-"))] = true
			}
		}
		for _, p := range panelsOf(d) {
			links, _ := p["links"].([]any)
			for _, item := range links {
				l, _ := item.(map[string]any)
				u, _ := l["url"].(string)
				anchor, ok := strings.CutPrefix(u, docsURL+"runbooks.md#")
				if !ok {
					t.Errorf("panel %q links to %q, not a runbook", p["title"], u)
				} else if !anchors[anchor] {
					t.Errorf("panel %q links to runbook #%s, which docs/runbooks.md has no heading for", p["title"], anchor)
				}
			}
		}
	})
}
