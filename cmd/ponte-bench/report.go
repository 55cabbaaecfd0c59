package main

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/ponte-dev/ponte/cmd/internal/harness"
)

// row is one line of the table: the medians of the runs of one spec, and its ratios to its reference row.
type row struct {
	scenario string
	spec     spec
	runs     int
	events   int
	// The medians over the runs.
	rate                        float64
	p50, p99, p999              time.Duration
	workerCPU, natsCPU, simCPU  float64 // µs per event
	peakRSS                     float64 // bytes
	allocated                   float64 // bytes per event
	inMsgs, apiCalls, simCalls  float64 // per event
	redeliveries                int64   // the most of any run
	rateX, workerCPUX, natsCPUX float64 // ratios to the reference row; NaN without one
	note                        string
	problems                    []string
}

// ok reports whether every run of the row passed its count check.
func (r row) ok() bool { return len(r.problems) == 0 }

// aggregate makes one row per key of order (a spec's label and type) from its measurements, then fills in the
// ratios to each row's reference and the notes.
func aggregate(s scenario, order []string, by map[string][]*measurement) []row {
	rows := make([]row, 0, len(order))
	for _, key := range order {
		ms := by[key]
		r := row{scenario: s.id, spec: ms[0].spec, runs: len(ms)}
		med := func(f func(m *measurement) float64) float64 {
			xs := make([]float64, 0, len(ms))
			for _, m := range ms {
				if m.events > 0 {
					xs = append(xs, f(m))
				}
			}
			return median(xs)
		}
		dur := func(f func(m *measurement) time.Duration) time.Duration {
			return time.Duration(med(func(m *measurement) float64 { return float64(f(m)) }))
		}
		per := func(f func(m *measurement) float64) float64 {
			return med(func(m *measurement) float64 { return f(m) / float64(m.events) })
		}
		r.events = int(med(func(m *measurement) float64 { return float64(m.events) }))
		r.rate = med(func(m *measurement) float64 { return m.rate })
		r.p50, r.p99, r.p999 = dur(func(m *measurement) time.Duration { return m.p50 }), dur(func(m *measurement) time.Duration { return m.p99 }),
			dur(func(m *measurement) time.Duration { return m.p999 })
		r.workerCPU = per(func(m *measurement) float64 { return float64(m.workerCPU.Microseconds()) })
		r.natsCPU = per(func(m *measurement) float64 { return float64(m.natsCPU.Microseconds()) })
		r.simCPU = per(func(m *measurement) float64 { return float64(m.simCPU.Microseconds()) })
		r.peakRSS = med(func(m *measurement) float64 { return float64(m.peakRSS) })
		r.allocated = per(func(m *measurement) float64 { return float64(m.allocated) })
		r.inMsgs = per(func(m *measurement) float64 { return float64(m.inMsgs) })
		r.apiCalls = per(func(m *measurement) float64 { return float64(m.apiCalls) })
		r.simCalls = per(func(m *measurement) float64 { return float64(m.simRequests) })
		for i, m := range ms {
			r.redeliveries = max(r.redeliveries, m.redeliveries)
			if m.redeliveries > 0 {
				r.problems = append(r.problems, fmt.Sprintf("run %d: %d redeliveries", i+1, m.redeliveries))
			}
			for _, p := range m.problems {
				r.problems = append(r.problems, fmt.Sprintf("run %d: %s", i+1, p))
			}
		}
		rows = append(rows, r)
	}
	find := func(label, typ string) *row {
		for i := range rows {
			if rows[i].spec.label == label && rows[i].spec.typ == typ {
				return &rows[i]
			}
		}
		return nil
	}
	for i := range rows {
		r := &rows[i]
		r.rateX, r.workerCPUX, r.natsCPUX = math.NaN(), math.NaN(), math.NaN()
		if ref := find(r.spec.ref, r.spec.typ); ref != nil {
			r.rateX, r.workerCPUX, r.natsCPUX = ratio(r.rate, ref.rate), ratio(r.workerCPU, ref.workerCPU), ratio(r.natsCPU, ref.natsCPU)
		}
		switch r.spec.note {
		case noteIdeal:
			ideal := float64(r.spec.concurrency*r.spec.replicas) / r.spec.latency.Seconds()
			r.note = fmt.Sprintf("%.0f%% of concurrency/latency (%s/s)", 100*r.rate/ideal, thousands(ideal))
		case noteRSS:
			if of := find(r.spec.noteOf, r.spec.typ); of != nil {
				r.note = fmt.Sprintf("peak RSS %.2f× the %s one", ratio(r.peakRSS, of.peakRSS), strings.TrimSpace(r.spec.noteOf[strings.LastIndexByte(r.spec.noteOf, ',')+1:]))
			}
		case noteRate:
			if of := find(r.spec.noteOf, r.spec.typ); of != nil {
				r.note = fmt.Sprintf("%.2f× the events/s of 1 replica", ratio(r.rate, of.rate))
			}
		}
	}
	return rows
}

// table renders the rows as one Markdown table.
func table(rows []row) string {
	var b strings.Builder
	b.WriteString("| scenario | worker | type | events × runs | events/s (× ref) | latency p50 / p99 / p99.9 | worker CPU µs/event (× ref) | nats-server CPU µs/event (× ref) | simulators CPU µs/event | worker peak RSS | worker allocated per event | redeliveries | NATS msgs in / JS API per event | simulator calls per event | count check | notes |\n")
	b.WriteString("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n")
	for _, r := range rows {
		check := "ok"
		if !r.ok() {
			check = "FAILED: " + strings.Join(r.problems, "; ")
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s × %d | %s | %s / %s / %s | %s | %s | %.0f | %.0f MiB | %.1f KB | %d | %.1f / %.2f | %.2f | %s | %s |\n",
			r.scenario, r.spec.label, r.spec.typ, thousands(float64(r.events)), r.runs,
			withRatio(thousands(r.rate), r.rateX), latency(r.p50), latency(r.p99), latency(r.p999),
			withRatio(fmt.Sprintf("%.0f", r.workerCPU), r.workerCPUX), withRatio(fmt.Sprintf("%.0f", r.natsCPU), r.natsCPUX),
			r.simCPU, r.peakRSS/(1<<20), r.allocated/1000, r.redeliveries, r.inMsgs, r.apiCalls, r.simCalls, check, r.note)
	}
	return b.String()
}

// withRatio is "v (x×)", or v alone when there is no ratio.
func withRatio(v string, x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return v
	}
	return fmt.Sprintf("%s (%.2f×)", v, x)
}

// thousands formats v rounded, with commas between thousands: 14800.4 -> "14,800".
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// latency formats d in ms below 10 s, else in s: "1.8 ms", "231 ms", "12.4 s".
func latency(d time.Duration) string {
	switch {
	case d <= 0:
		return "–"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	case d < 10*time.Second:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// The markers between which writeReport puts the table in an existing document.
const (
	reportBegin = "<!-- ponte-bench table: begin -->"
	reportEnd   = "<!-- ponte-bench table: end -->"
)

// machine is the line that says when and on what the table was measured.
func machine(at time.Time, natsVersion string, opt options, took time.Duration) string {
	host, _ := os.Hostname()
	scale := ""
	if opt.scale != 1 {
		scale = fmt.Sprintf(" at -scale %g", opt.scale)
	}
	return fmt.Sprintf("Run %s on %s: %d CPUs, %s/%s, %s, %s; the five scenarios%s (%d drain runs each) took %s.",
		at.UTC().Format("2006-01-02 15:04 MST"), host, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(),
		natsVersion, scale, opt.runs, took.Round(time.Second))
}

// writeReport puts the machine line and the table between the markers of the document at path
// (docs/benchmarks.md), or writes them as the whole file when there is none yet.
func writeReport(path, table, machine string) error {
	return harness.WriteBetweenMarkers(path, reportBegin, reportEnd, machine+"\n\n"+table)
}
