// Package eventstest helps the tests of code built on package events: a real JetStream server in the process,
// the CloudEvents a stream holds, and metric values read from a registry.
package eventstest

import (
	"context"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ponte-dev/ponte/events"
	"github.com/ponte-dev/ponte/events/embedded"
)

// JetStream starts an embedded NATS server with JetStream, its store in t.TempDir(), and returns a connection
// and its JetStream context. Both are closed when the test ends.
func JetStream(t testing.TB) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	srv, err := embedded.Start(embedded.Options{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return Connect(t, srv.ClientURL())
}

// Connect opens a connection to the server at url with opts, and its JetStream context; closed when the test ends.
func Connect(t testing.TB, url string, opts ...nats.Option) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// Run runs w until the test ends, and waits until it is ready. A Run that fails fails the test unless crashes
// says the test kills the worker's connection on purpose.
func Run(t testing.TB, w *events.Worker, crashes bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !crashes {
			t.Errorf("worker Run: %v", err)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for !w.Ready() {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("worker stopped before it was ready: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("worker not ready after 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Message is a stream message and the CloudEvent it carries.
type Message struct {
	Msg   jetstream.Msg
	Event *event.Event
}

// Messages returns every message stream holds now, decoded; a message that is not a CloudEvent fails the test.
func Messages(t testing.TB, js jetstream.JetStream, stream string) []Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := c.FetchNoWait(10000)
	if err != nil {
		t.Fatal(err)
	}
	var out []Message
	for m := range batch.Messages() {
		ev, err := events.Decode(m.Headers(), m.Data())
		if err != nil {
			t.Fatalf("%s holds a message that is not a CloudEvent: %v: %s", stream, err, m.Data())
		}
		out = append(out, Message{m, ev})
	}
	return out
}

// Metric returns the value of the counter or gauge name whose labels include the given name/value pairs, 0 if
// there is none.
func Metric(t testing.TB, g prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	m := series(t, g, name, labels)
	switch {
	case m == nil:
		return 0
	case m.Counter != nil:
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

// Histogram returns the sample count and sum of the histogram name whose labels include the given name/value
// pairs, 0 and 0 if there is none.
func Histogram(t testing.TB, g prometheus.Gatherer, name string, labels ...string) (uint64, float64) {
	t.Helper()
	m := series(t, g, name, labels)
	return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
}

// series returns the first series of name whose labels include the given name/value pairs, nil if none.
func series(t testing.TB, g prometheus.Gatherer, name string, labels []string) *dto.Metric {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if got[labels[i]] != labels[i+1] {
					continue next
				}
			}
			return m
		}
	}
	return nil
}
