package events_test

import (
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/ponte-dev/ponte/events"
)

// TestDigest checks what makes two events the same event for the ledger: type, subject, the named extensions and
// the data by value; not the time, the spacing, the order of keys or how a number is written.
func TestDigest(t *testing.T) {
	mk := func(data string, change func(*event.Event)) string {
		ev := event.New()
		ev.SetID("x")
		ev.SetSource("s")
		ev.SetType("contract.signed")
		ev.SetSubject("001001/12/2026/2026")
		ev.SetTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		ev.SetExtension("ug", "001001")
		_ = ev.SetData(event.ApplicationJSON, []byte(data))
		if change != nil {
			change(&ev)
		}
		return events.Digest(&ev, []string{"ug"})
	}
	base := mk(`{"a":{"n":150000,"s":"x"},"l":[1,2]}`, nil)
	same := map[string]string{
		"keys reordered, spaced":   mk(" {\"l\": [1, 2],\n \"a\": {\"s\": \"x\", \"n\": 150000}} ", nil),
		"number written 150000.00": mk(`{"a":{"n":150000.00,"s":"x"},"l":[1,2]}`, nil),
		"another time":             mk(`{"a":{"n":150000,"s":"x"},"l":[1,2]}`, func(e *event.Event) { e.SetTime(time.Now()) }),
		"another extension":        mk(`{"a":{"n":150000,"s":"x"},"l":[1,2]}`, func(e *event.Event) { e.SetExtension("traceparent", "00-1") }),
	}
	for name, d := range same {
		if d != base {
			t.Errorf("%s: a different digest for the same event", name)
		}
	}
	other := map[string]string{
		"another value":           mk(`{"a":{"n":150000.01,"s":"x"},"l":[1,2]}`, nil),
		"another order of a list": mk(`{"a":{"n":150000,"s":"x"},"l":[2,1]}`, nil),
		"another ug":              mk(`{"a":{"n":150000,"s":"x"},"l":[1,2]}`, func(e *event.Event) { e.SetExtension("ug", "001002") }),
		"another subject":         mk(`{"a":{"n":150000,"s":"x"},"l":[1,2]}`, func(e *event.Event) { e.SetSubject("001001/13/2026/2026") }),
		"another type":            mk(`{"a":{"n":150000,"s":"x"},"l":[1,2]}`, func(e *event.Event) { e.SetType("contract.amended") }),
	}
	for name, d := range other {
		if d == base {
			t.Errorf("%s: the same digest for another event", name)
		}
	}
}
