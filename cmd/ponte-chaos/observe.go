package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ponte-dev/ponte/clients/fault"
	"github.com/ponte-dev/ponte/cmd/internal/harness"
)

// output is one result or dead-letter message, by the input it answers.
type output struct {
	at     time.Time
	reason string // dead letters: their reason
	stale  bool   // results: a step was skipped as stale
	replay bool
}

// delivery is what the acknowledgements of one input message said: the highest delivery count seen, and the
// deliveries that ended with a nak (a planned retry) rather than an ack, a term or nothing (a redelivery after
// AckWait: a dead worker, a lost pin, a handler that outlived its ack deadline).
type delivery struct {
	max   int
	naked map[int]bool
}

// observer watches a scenario from outside the workers: the output streams (ordered consumers, every message
// from the start), the acknowledgements the workers send for the input stream (a core subscription to
// $JS.ACK.<input stream>.>), and the simulators' request logs, followed by seq.
type observer struct {
	nc *nats.Conn

	mu      sync.Mutex
	results map[string][]output
	dls     map[string][]output
	acks    map[uint64]*delivery
	logs    map[string][]fault.Entry
	errs    []string
	lastOut time.Time

	stop func()
	wg   sync.WaitGroup
}

func newObserver(ctx context.Context, urls string, sb *harness.Sandbox) (*observer, error) {
	o := &observer{results: map[string][]output{}, dls: map[string][]output{}, acks: map[uint64]*delivery{}, logs: map[string][]fault.Entry{}}
	nc, err := nats.Connect(urls, harness.Quiet("ponte-chaos-observer")...)
	if err != nil {
		return nil, err
	}
	o.nc = nc
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithCancel(ctx)
	o.stop = cancel
	sub, err := nc.Subscribe("$JS.ACK.PONTE_EVENTS.>", o.onAck)
	if err != nil {
		return nil, err
	}
	sub.SetPendingLimits(-1, -1) //nolint:errcheck // unlimited: a dropped ack would undercount redeliveries
	for stream, into := range map[string]map[string][]output{"PONTE_RESULTS": o.results, "PONTE_DLQ": o.dls} {
		var c jetstream.Consumer
		if err := harness.Patiently(cctx, "ordered consumer of "+stream, func(ctx context.Context) (err error) {
			c, err = js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{})
			return err
		}); err != nil {
			return nil, err
		}
		cc, err := c.Consume(func(m jetstream.Msg) { o.onOutput(stream, into, m) })
		if err != nil {
			return nil, fmt.Errorf("consume %s: %w", stream, err)
		}
		go func() { <-cctx.Done(); cc.Stop() }()
	}
	for _, s := range sb.Sims() {
		o.wg.Add(1)
		go o.follow(cctx, s)
	}
	return o, nil
}

// close stops watching. The last poll of every request log has run when it returns.
func (o *observer) close() {
	o.stop()
	o.wg.Wait()
	o.nc.Close()
}

func (o *observer) onOutput(stream string, into map[string][]output, m jetstream.Msg) {
	var body struct {
		EventID  string `json:"eventId"`
		Reason   string `json:"reason"`
		ReplayOf string `json:"replayOf"`
		Steps    []struct {
			Status string `json:"status"`
		} `json:"steps"`
		Original struct {
			Headers map[string][]string `json:"headers"`
		} `json:"original"`
	}
	data := m.Data()
	if m.Headers().Get("ce-specversion") == "" {
		var structured struct {
			Data json.RawMessage `json:"data"`
		}
		if json.Unmarshal(data, &structured) == nil && len(structured.Data) > 0 {
			data = structured.Data
		}
	}
	if err := json.Unmarshal(data, &body); err != nil {
		o.fail("%s: message %s is not JSON: %v", stream, m.Subject(), err)
		return
	}
	key := body.EventID
	if ids := body.Original.Headers[jetstream.MsgIDHeader]; key == "" && len(ids) > 0 {
		key = ids[0]
	}
	out := output{at: time.Now(), reason: body.Reason, replay: body.ReplayOf != ""}
	for _, s := range body.Steps {
		out.stale = out.stale || s.Status == "stale"
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	into[key] = append(into[key], out)
	o.lastOut = out.at
}

// onAck reads an acknowledgement of the input stream: $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.… (v1)
// or $JS.ACK.<domain>.<account>.<stream>.<consumer>.<delivered>.<sseq>.… (v2).
func (o *observer) onAck(m *nats.Msg) {
	tok := strings.Split(m.Subject, ".")
	i := 4
	if len(tok) >= 12 {
		i = 6
	}
	if len(tok) < i+2 {
		return
	}
	delivered, err1 := strconv.Atoi(tok[i])
	sseq, err2 := strconv.ParseUint(tok[i+1], 10, 64)
	if err1 != nil || err2 != nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	d := o.acks[sseq]
	if d == nil {
		d = &delivery{naked: map[int]bool{}}
		o.acks[sseq] = d
	}
	d.max = max(d.max, delivered)
	if strings.HasPrefix(string(m.Data), "-NAK") {
		d.naked[delivered] = true
	}
}

// follow polls a simulator's request log every 100ms with ?after=, until ctx ends, then once more.
func (o *observer) follow(ctx context.Context, s harness.Sim) {
	defer o.wg.Done()
	c := &http.Client{Timeout: 5 * time.Second}
	var after uint64
	poll := func() {
		res, err := c.Get(fmt.Sprintf("%s/_sim/requests?after=%d", s.Base, after))
		if err != nil {
			return // the sandbox is busy or stopping: the next poll catches up
		}
		defer res.Body.Close()
		var es []struct {
			fault.Entry
			Body string `json:"body"`
		}
		if err := json.NewDecoder(res.Body).Decode(&es); err != nil {
			o.fail("%s request log: %v", s.Name, err)
			return
		}
		o.mu.Lock()
		defer o.mu.Unlock()
		for _, e := range es {
			if e.Seq != after+1 {
				o.errs = append(o.errs, fmt.Sprintf("%s request log: entries %d to %d were dropped before the harness read them", s.Name, after+1, e.Seq-1))
			}
			e.Entry.Body = []byte(e.Body)
			o.logs[s.Name] = append(o.logs[s.Name], e.Entry)
			after = e.Seq
		}
	}
	for {
		select {
		case <-ctx.Done():
			poll()
			return
		case <-time.After(100 * time.Millisecond):
			poll()
		}
	}
}

func (o *observer) fail(format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.errs = append(o.errs, fmt.Sprintf(format, args...))
}

// settled counts the keys that have a result or a dead letter.
func (o *observer) settled(keys map[string]bool) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for k := range keys {
		if len(o.results[k])+len(o.dls[k]) > 0 {
			n++
		}
	}
	return n
}

// resultsWith counts the results whose input key contains part: "-p" for the people's events.
func (o *observer) resultsWith(part string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for k, rs := range o.results {
		if strings.Contains(k, part) {
			n += len(rs)
		}
	}
	return n
}

// requests returns a copy of the simulator's log as followed so far.
func (o *observer) requests(name string) []fault.Entry {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]fault.Entry(nil), o.logs[name]...)
}
