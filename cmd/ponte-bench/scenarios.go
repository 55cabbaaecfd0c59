package main

import (
	"fmt"
	"strings"
	"time"
)

// The workers a run can measure.
const (
	workerPonte     = "ponte"
	workerReference = "reference"
)

// The event types the harness publishes.
const (
	typeContractSigned = "contract.signed"
	typePersonHired    = "person.hired"
)

// spec is one measured configuration: a worker, its settings and its load. The runs of one spec are aggregated
// into one row of the table (medians).
type spec struct {
	// label names the row: "ponte c=128", "reference c=128".
	label string
	// worker is workerPonte or workerReference; replicas the worker processes sharing the consumer.
	worker   string
	replicas int
	// concurrency is worker.concurrency (ponte) or -concurrency (reference); 0: ponte's default configuration.
	concurrency int
	typ         string
	// events is the backlog published before the consumer is resumed; with rate set, none: rate events per
	// second are published for duration while the worker runs.
	events   int
	rate     int
	duration time.Duration
	// latency is CidadES's added latency (PUT /_sim/faults {"latency": ...}).
	latency time.Duration
	// ref is the label of the spec, in the same scenario, whose medians the ratios are taken against; "" for none.
	ref string
	// once runs the spec in the first round only: a row with no ratio, whose one run takes long.
	once bool
	// note adds a comparison to the row: noteIdeal (events/s against concurrency/latency), or the label of a spec
	// whose events/s or peak RSS this row is compared with (noteRSS, noteRate).
	note, noteOf string
}

// The kinds of note a row can carry.
const (
	noteIdeal = "ideal"
	noteRSS   = "rss"
	noteRate  = "rate"
)

// scenario is one of the scenarios of issue 10: its specs and the order of its runs.
type scenario struct {
	id, name string
	// specs are run in order, rounds times over (interleaved: every spec once per round).
	specs  []spec
	rounds int
}

// scenarios are the scenarios of docs/benchmarks.md, with opt's scale (events and durations), runs (the rounds
// of the drain), concurrency (of the drain) and hires (the person.hired backlog of the drain).
func scenarios(opt options) []scenario {
	n := func(events int) int { return max(100, int(float64(events)*opt.scale)) }
	d := func(t time.Duration) time.Duration { return max(2*time.Second, time.Duration(float64(t)*opt.scale)) }
	c := opt.concurrency
	// ponte's default configuration: examples/ponte.yaml's worker.concurrency, when it says one.
	def := "ponte default"
	if opt.defaultConcurrency > 0 {
		def = fmt.Sprintf("ponte default c=%d", opt.defaultConcurrency)
	}
	pc, rc := fmt.Sprintf("ponte c=%d", c), fmt.Sprintf("reference c=%d", c)
	const lat = 50 * time.Millisecond
	// At 50 ms per call a worker of concurrency k can do at most k/latency events per second; each run is sized
	// to last about 8 s at that rate.
	atLatency := func(k int) int { return n(k * 160) }
	var cs []spec
	for _, k := range []int{64, 256} {
		p, r := fmt.Sprintf("ponte c=%d", k), fmt.Sprintf("reference c=%d", k)
		cs = append(cs,
			spec{label: p, worker: workerPonte, replicas: 1, concurrency: k, typ: typeContractSigned, events: atLatency(k), latency: lat, ref: r, note: noteIdeal},
			spec{label: r, worker: workerReference, replicas: 1, concurrency: k, typ: typeContractSigned, events: atLatency(k), latency: lat, note: noteIdeal})
	}
	return []scenario{
		{id: "a", name: "drain a backlog, the simulators answering at once", rounds: opt.runs, specs: []spec{
			{label: pc, worker: workerPonte, replicas: 1, concurrency: c, typ: typeContractSigned, events: n(50_000), ref: rc},
			{label: rc, worker: workerReference, replicas: 1, concurrency: c, typ: typeContractSigned, events: n(50_000)},
			{label: pc, worker: workerPonte, replicas: 1, concurrency: c, typ: typePersonHired, events: n(opt.hires), once: true},
		}},
		{id: "b", name: "steady 2,000 contract.signed per second, ponte's default configuration", rounds: 1, specs: []spec{
			{label: def, worker: workerPonte, replicas: 1, typ: typeContractSigned, rate: 2000, duration: d(30 * time.Second), ref: "reference c=128"},
			{label: "reference c=128", worker: workerReference, replicas: 1, concurrency: 128, typ: typeContractSigned, rate: 2000, duration: d(30 * time.Second)},
		}},
		{id: "c", name: "CidadES answers in 50 ms: throughput against concurrency / latency", rounds: 1, specs: cs},
		{id: "d", name: "a 200,000-event backlog against a 50,000 one: peak RSS, ponte's default configuration", rounds: 1, specs: []spec{
			{label: def + ", 50k", worker: workerPonte, replicas: 1, typ: typeContractSigned, events: n(50_000), ref: "reference c=128, 50k"},
			// The ratios of the 200k backlog are to the reference's 50k one: a run of the reference through 200k
			// would add two minutes to make bench and no figure a target asks for.
			{label: def + ", 200k", worker: workerPonte, replicas: 1, typ: typeContractSigned, events: n(200_000), ref: "reference c=128, 50k", note: noteRSS, noteOf: def + ", 50k"},
			{label: "reference c=128, 50k", worker: workerReference, replicas: 1, concurrency: 128, typ: typeContractSigned, events: n(50_000)},
		}},
		{id: "e", name: "two replicas sharing the consumer, CidadES answering in 50 ms", rounds: 1, specs: []spec{
			{label: "ponte c=64, 1 replica", worker: workerPonte, replicas: 1, concurrency: 64, typ: typeContractSigned, events: atLatency(64), latency: lat, ref: "reference c=64, 1 replica"},
			{label: "ponte c=64, 2 replicas", worker: workerPonte, replicas: 2, concurrency: 64, typ: typeContractSigned, events: atLatency(64), latency: lat, ref: "reference c=64, 2 replicas", note: noteRate, noteOf: "ponte c=64, 1 replica"},
			{label: "reference c=64, 1 replica", worker: workerReference, replicas: 1, concurrency: 64, typ: typeContractSigned, events: atLatency(64), latency: lat},
			{label: "reference c=64, 2 replicas", worker: workerReference, replicas: 2, concurrency: 64, typ: typeContractSigned, events: atLatency(64), latency: lat, note: noteRate, noteOf: "reference c=64, 1 replica"},
		}},
	}
}

// names lists the ids and names of the scenarios.
func names(ss []scenario) string {
	var b strings.Builder
	for _, s := range ss {
		fmt.Fprintf(&b, "  %-3s %s\n", s.id, s.name)
	}
	return b.String()
}
