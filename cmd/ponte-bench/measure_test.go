package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func ms(n ...int) []time.Duration {
	out := make([]time.Duration, len(n))
	for i, v := range n {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	thousand := make([]time.Duration, 1000)
	for i := range thousand {
		thousand[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{"none", nil, 0.5, 0},
		{"one", ms(7), 0.999, 7 * time.Millisecond},
		{"median of an odd count", ms(1, 2, 3), 0.5, 2 * time.Millisecond},
		{"median of an even count is the lower middle (nearest rank)", ms(1, 2, 3, 4), 0.5, 2 * time.Millisecond},
		{"p99 of 100", hundred, 0.99, 99 * time.Millisecond},
		{"p99.9 of 100 is the largest", hundred, 0.999, 100 * time.Millisecond},
		{"p99.9 of 1000", thousand, 0.999, 999 * time.Millisecond},
		{"p100", ms(1, 5, 9), 1, 9 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.sorted, tc.q); got != tc.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tc.sorted, tc.q, got, tc.want)
			}
		})
	}
}

func TestMedianAndRatio(t *testing.T) {
	for _, tc := range []struct {
		name string
		xs   []float64
		want float64
	}{
		{"none", nil, 0},
		{"one", []float64{4}, 4},
		{"odd, unsorted", []float64{9, 1, 5}, 5},
		{"even: the mean of the middle two", []float64{4, 1, 3, 10}, 3.5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]float64(nil), tc.xs...)
			if got := median(tc.xs); got != tc.want {
				t.Errorf("median(%v) = %v, want %v", tc.xs, got, tc.want)
			}
			for i := range in {
				if in[i] != tc.xs[i] {
					t.Fatalf("median reordered its argument: %v", tc.xs)
				}
			}
		})
	}
	if r := ratio(3, 4); r != 0.75 {
		t.Errorf("ratio(3, 4) = %v", r)
	}
	if r := ratio(3, 0); !math.IsNaN(r) {
		t.Errorf("ratio(3, 0) = %v, want NaN (no reference)", r)
	}
	if s := withRatio("12", ratio(3, 0)); s != "12" {
		t.Errorf("withRatio without a reference = %q, want the value alone", s)
	}
	if s := withRatio("3,900", 0.2635); s != "3,900 (0.26×)" {
		t.Errorf("withRatio = %q", s)
	}
}

func TestCheck(t *testing.T) {
	base := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	at := func(ms int) []time.Time { return []time.Time{base.Add(time.Duration(ms) * time.Millisecond)} }
	ids := []string{"e1", "e2", "e3", "e4"}
	inputs := map[string][]time.Time{"e1": at(0), "e2": at(0), "e3": at(10), "e4": at(10)}
	good := func() map[string][]time.Time {
		return map[string][]time.Time{"e1": at(5), "e2": at(20), "e3": at(40), "e4": at(50)}
	}
	for _, tc := range []struct {
		name         string
		results      map[string][]time.Time
		dlq          int64
		checkCreated bool
		created      int64
		want         []string // substrings of the problems, in order; none for a passing check
	}{
		{name: "every event once", results: good(), checkCreated: true, created: 4},
		{name: "a missing result", results: func() map[string][]time.Time { r := good(); delete(r, "e3"); return r }(),
			want: []string{"1 events without a result: e3"}},
		{name: "a duplicated result", results: func() map[string][]time.Time { r := good(); r["e2"] = append(r["e2"], at(30)...); return r }(),
			want: []string{"1 events with more than one result: e2"}},
		{name: "a result of no published event", results: func() map[string][]time.Time { r := good(); r["x9"] = at(1); return r }(),
			want: []string{"1 results of no published event: x9"}},
		{name: "a dead letter", results: good(), dlq: 2, want: []string{"2 dead letters"}},
		{name: "a contratação created twice or not at all", results: good(), checkCreated: true, created: 3,
			want: []string{"CidadES created 3 contratações for 4 events"}},
		{name: "creates not checked (person.hired)", results: good(), checkCreated: false, created: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := check(ids, inputs, tc.results, tc.dlq, tc.checkCreated, tc.created)
			if len(c.problems) != len(tc.want) {
				t.Fatalf("problems %q, want %d like %q", c.problems, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(c.problems[i], w) {
					t.Errorf("problem %d is %q, want it to say %q", i, c.problems[i], w)
				}
			}
		})
	}
	c := check(ids, inputs, good(), 0, true, 4)
	// Latencies 5, 20, 30, 40 ms: nearest rank.
	if c.p50 != 20*time.Millisecond || c.p99 != 40*time.Millisecond || c.p999 != 40*time.Millisecond {
		t.Errorf("p50/p99/p99.9 = %v/%v/%v, want 20ms/40ms/40ms", c.p50, c.p99, c.p999)
	}
	if want := base.Add(50 * time.Millisecond); !c.last.Equal(want) {
		t.Errorf("last result at %v, want %v", c.last, want)
	}
	many := map[string][]time.Time{}
	var lots []string
	for i := range 8 {
		lots = append(lots, "m"+string(rune('a'+i)))
	}
	if c := check(lots, many, many, 0, false, 0); len(c.problems) != 1 || !strings.Contains(c.problems[0], "8 events without a result: ma, mb, mc, md, me and 3 more") {
		t.Errorf("8 missing ids: %q, want five of them named and the rest counted", c.problems)
	}
}

func TestAggregateRatiosAndNotes(t *testing.T) {
	s := scenario{id: "c"}
	p := spec{label: "ponte c=64", worker: workerPonte, replicas: 1, concurrency: 64, typ: typeContractSigned, latency: 50 * time.Millisecond, ref: "reference c=64", note: noteIdeal}
	r := spec{label: "reference c=64", worker: workerReference, replicas: 1, concurrency: 64, typ: typeContractSigned, latency: 50 * time.Millisecond}
	meas := func(sp spec, rate float64, workerCPU time.Duration, problems ...string) *measurement {
		return &measurement{spec: sp, events: 1000, rate: rate, workerCPU: workerCPU, natsCPU: 100 * time.Millisecond, problems: problems}
	}
	by := map[string][]*measurement{
		"p": {meas(p, 1000, 300*time.Millisecond), meas(p, 1200, 100*time.Millisecond), meas(p, 1100, 200*time.Millisecond)},
		"r": {meas(r, 1250, 50*time.Millisecond), meas(r, 1240, 50*time.Millisecond, "1 events without a result: x")},
	}
	rows := aggregate(s, []string{"p", "r"}, by)
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	pr, rr := rows[0], rows[1]
	if pr.rate != 1100 || pr.workerCPU != 200 || pr.runs != 3 {
		t.Errorf("ponte medians: %v/s, %v µs/event over %d runs; want 1100, 200, 3", pr.rate, pr.workerCPU, pr.runs)
	}
	if rr.rate != 1245 {
		t.Errorf("reference median of two runs %v, want the mean of the two, 1245", rr.rate)
	}
	if math.Abs(pr.rateX-1100.0/1245) > 1e-9 || pr.workerCPUX != 4 || pr.natsCPUX != 1 {
		t.Errorf("ratios %v %v %v, want %v 4 1", pr.rateX, pr.workerCPUX, pr.natsCPUX, 1100.0/1245)
	}
	if !math.IsNaN(rr.rateX) {
		t.Errorf("the reference row has a ratio %v to itself, want none", rr.rateX)
	}
	if pr.note != "86% of concurrency/latency (1,280/s)" {
		t.Errorf("note %q", pr.note)
	}
	if !pr.ok() {
		t.Errorf("the ponte row failed: %v", pr.problems)
	}
	if rr.ok() {
		t.Error("the reference row passed with a failed run")
	}
	if tb := table(rows); !strings.Contains(tb, "| FAILED: run 2: 1 events without a result: x |") || strings.Count(tb, "| ok |") != 1 {
		t.Errorf("table:\n%s\nwant the reference row failed by its run 2, the ponte row ok", tb)
	}
}

func TestFormats(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 999.4: "999", 1000: "1,000", 14800.6: "14,801", 1234567: "1,234,567", -2500: "-2,500"} {
		if got := thousands(v); got != want {
			t.Errorf("thousands(%v) = %q, want %q", v, got, want)
		}
	}
	for d, want := range map[time.Duration]string{0: "–", 1800 * time.Microsecond: "1.8 ms", 231 * time.Millisecond: "231 ms", 12400 * time.Millisecond: "12.4 s"} {
		if got := latency(d); got != want {
			t.Errorf("latency(%v) = %q, want %q", d, got, want)
		}
	}
	if got := slug("ponte c=128, 50k contract.signed"); got != "ponte-c128-50k-contract.signed" {
		t.Errorf("slug = %q", got)
	}
}

func TestWriteReport(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "benchmarks.md")
	doc := "# Benchmarks\n\nintro\n\n" + reportBegin + "\nold table\n" + reportEnd + "\n\n## Profile findings\n"
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeReport(path, "| new | table |\n", "Run on a machine."); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	want := "# Benchmarks\n\nintro\n\n" + reportBegin + "\nRun on a machine.\n\n| new | table |\n" + reportEnd + "\n\n## Profile findings\n"
	if string(b) != want {
		t.Errorf("report:\n%s\nwant:\n%s", b, want)
	}
	if err := os.WriteFile(path, []byte("no markers\n"), 0o644); err == nil {
		if err := writeReport(path, "t", "m"); err == nil {
			t.Error("a document without markers: want an error, not a rewritten document")
		}
	}
}

// TestAllocatedIn reads the allocated bytes from a Prometheus text exposition, as ponte's Go collector writes it
// (a float, maybe in exponent form), and says so when the line is missing.
func TestAllocatedIn(t *testing.T) {
	text := "# HELP go_memstats_alloc_bytes_total Total number of bytes allocated.\n# TYPE go_memstats_alloc_bytes_total counter\ngo_memstats_alloc_bytes_total 1.216618240e+09\ngo_memstats_alloc_bytes 5.2e+06\n"
	if got, err := allocatedIn(text); err != nil || got != 1216618240 {
		t.Errorf("allocatedIn = %d, %v; want 1216618240", got, err)
	}
	if _, err := allocatedIn("go_memstats_alloc_bytes 5.2e+06\n"); err == nil {
		t.Error("no error for a text without the counter")
	}
}
