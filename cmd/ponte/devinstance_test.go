package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ponte-dev/ponte/events"
	"github.com/ponte-dev/ponte/events/eventstest"
)

// devInstance is a `ponte dev` running in the test (embedded NATS, the simulators with the shipped fixtures, the
// worker with the shipped configuration), and a client connection to its NATS server.
type devInstance struct {
	t          *testing.T
	url        string
	metricsURL string // "" without an ops address
	nc         *nats.Conn
	js         jetstream.JetStream
}

var (
	devNATSURL    = regexp.MustCompile(`NATS \(JetStream\)\s+(nats://\S+)`)
	devMetricsURL = regexp.MustCompile(`metrics\s+(http://\S+)`)
)

// startDev starts `ponte dev` on free ports, with no ops address unless args give one (later flags win), and
// returns once it is consuming; it stops when the test ends.
func startDev(t *testing.T, args ...string) *devInstance {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan error, 1)
	args = append([]string{"dev", "--nats-port", "0", "--http", "-"}, args...)
	go func() {
		done <- run(ctx, args, func(string) string { return "" }, noEnviron, &out, &errOut)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("ponte dev: %v\n%s", err, errOut.String())
			}
		case <-time.After(30 * time.Second):
			t.Error("ponte dev did not stop")
		}
	})
	eventuallyWithin(t, devStartup, "ponte dev to start", func() bool { return devNATSURL.MatchString(out.String()) })
	d := &devInstance{t: t, url: devNATSURL.FindStringSubmatch(out.String())[1]}
	if m := devMetricsURL.FindStringSubmatch(out.String()); m != nil {
		d.metricsURL = m[1]
	}
	nc, err := nats.Connect(d.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	d.nc = nc
	if d.js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	return d
}

// publishCLI runs `ponte publish` against the instance.
func (d *devInstance) publishCLI(args ...string) (string, error) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), append([]string{"publish", "--nats", d.url}, args...), func(string) string { return "" }, noEnviron, &out, &errOut)
	if err != nil {
		return out.String() + errOut.String(), err
	}
	return out.String(), nil
}

// outcome is the result or dead letter that answered an input event.
type outcome struct {
	stream string
	msg    jetstream.Msg
	ev     *event.Event
}

// outcomes returns the results and dead letters whose causationid is id, in stream order.
func (d *devInstance) outcomes(id string) []outcome {
	var out []outcome
	for _, stream := range []string{"PONTE_RESULTS", "PONTE_DLQ"} {
		for _, m := range eventstest.Messages(d.t, d.js, stream) {
			if m.Event.Extensions()["causationid"] == id {
				out = append(out, outcome{stream, m.Msg, m.Event})
			}
		}
	}
	return out
}

// waitOutcome waits for the first outcome of the input event id.
func (d *devInstance) waitOutcome(id string) outcome {
	d.t.Helper()
	var got []outcome
	eventually(d.t, "an outcome for event "+id, func() bool { got = d.outcomes(id); return len(got) > 0 })
	return got[0]
}

// result returns the result data of o, failing the test if o is a dead letter.
func (o outcome) result(t *testing.T) events.Result {
	t.Helper()
	if o.stream != "PONTE_RESULTS" {
		t.Fatalf("event %s was dead-lettered: %s", o.ev.Extensions()["causationid"], o.ev.Data())
	}
	var r events.Result
	if err := o.ev.DataAs(&r); err != nil {
		t.Fatal(err)
	}
	return r
}
