package events_test

import (
	"context"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/ponte-dev/ponte/events"
	"github.com/ponte-dev/ponte/events/eventstest"
)

// blocking is a handler that waits until released, so a test can look at an event while it runs.
type blocking struct {
	started, release chan struct{}
}

func (h *blocking) Handle(ctx context.Context, _ event.Event) error {
	h.started <- struct{}{}
	select {
	case <-h.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *env) histogram(name string, labels ...string) (uint64, float64) {
	return eventstest.Histogram(e.t, e.reg, name, labels...)
}

// TestEventMetrics follows one event through the per-event and consumer metrics: in progress and ack-pending
// while its handler runs, then settled: its processing duration and its age (from its CloudEvent time, 90 s
// before it was published) observed once, the last-processed time set, nothing in progress or pending any more.
func TestEventMetrics(t *testing.T) {
	h := &blocking{started: make(chan struct{}, 1), release: make(chan struct{})}
	e := startWorker(t, events.Config{}, []events.Route{{Type: "person.hired", Handler: h}}, nil, nil)
	ev := newEvent("person.hired", "ev-metrics", map[string]string{"a": "b"})
	ev.SetTime(time.Now().Add(-90 * time.Second))
	before := time.Now()
	e.publish(events.EncodeBinary("person.hired", ev, ""))

	select {
	case <-h.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler did not start")
	}
	if n := e.metric("ponte_events_in_progress", "type", "person.hired"); n != 1 {
		t.Errorf("in progress while the handler runs = %v, want 1", n)
	}
	waitFor(t, "the consumer's ack-pending gauge to show the running event", func() bool {
		return e.metric("ponte_consumer_ack_pending_messages", "stream", "PONTE_EVENTS") == 1 &&
			e.metric("ponte_consumer_oldest_unsettled_age_seconds", "stream", "PONTE_EVENTS") > 0
	})
	if n, _ := e.histogram("ponte_events_processing_duration_seconds", "type", "person.hired"); n != 0 {
		t.Errorf("processing duration observed %d times before the event settled", n)
	}
	close(h.release)

	waitFor(t, "the event to settle", func() bool {
		return e.metric("ponte_events_processed_total", "type", "person.hired", "outcome", "success") == 1
	})
	if n, _ := e.histogram("ponte_events_processing_duration_seconds", "type", "person.hired"); n != 1 {
		t.Errorf("processing duration observed %d times, want 1", n)
	}
	if n, sum := e.histogram("ponte_events_age_seconds", "type", "person.hired"); n != 1 || sum < 90 || sum > 90+time.Since(before).Seconds()+1 {
		t.Errorf("event age: %d observations, sum %.1fs; want one of about 90s (its time attribute)", n, sum)
	}
	if ts := e.metric("ponte_events_last_processed_timestamp_seconds", "type", "person.hired"); ts < float64(before.Unix()) || ts > float64(time.Now().Unix()) {
		t.Errorf("last processed timestamp %v, want between %d and now", ts, before.Unix())
	}
	if n := e.metric("ponte_events_in_progress", "type", "person.hired"); n != 0 {
		t.Errorf("in progress after settlement = %v, want 0", n)
	}
	waitFor(t, "the consumer's gauges to fall back to 0", func() bool {
		return e.metric("ponte_consumer_ack_pending_messages", "stream", "PONTE_EVENTS") == 0 &&
			e.metric("ponte_consumer_pending_messages", "stream", "PONTE_EVENTS") == 0 &&
			e.metric("ponte_consumer_oldest_unsettled_age_seconds", "stream", "PONTE_EVENTS") == 0
	})
}
