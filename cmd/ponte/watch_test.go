package main

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/ponte-dev/ponte/events"
)

// TestDescribeDeadLetter checks the lines `ponte watch` prints for dead letters: the reason, the fields, and with
// -v the original message, or for a body the dead letter could not carry its size, start and place in the stream.
func TestDescribeDeadLetter(t *testing.T) {
	tests := []struct {
		name string
		dl   events.DeadLetter
		want []string
	}{
		{"whole original", events.DeadLetter{EventID: "e-1", EventType: "person.hired", Reason: events.ReasonSchemaViolation, Message: "m",
			Errors:   []events.FieldError{{Field: "/person/cpf", Message: "not a valid cpf"}},
			Original: events.Original{Subject: "person.hired", Data: base64.StdEncoding.EncodeToString([]byte(`{"person":{}}`)), Size: 13, Stream: "PONTE_EVENTS", Sequence: 7}},
			[]string{"DLQ  person.hired", "id=e-1", "schema_violation: /person/cpf: not a valid cpf", `original on person.hired (PONTE_EVENTS seq 7): {"person":{}}`}},
		{"body left out", events.DeadLetter{EventID: "e-2", EventType: "person.hired", Reason: events.ReasonTooLarge, Message: "message is 900000 bytes, the limit is 262144",
			Original: events.Original{Subject: "person.hired", Excerpt: base64.StdEncoding.EncodeToString([]byte(`{"person":`)), Truncated: true, Size: 900000, Stream: "PONTE_EVENTS", Sequence: 9}},
			[]string{"too_large: message is 900000 bytes", "original on person.hired (PONTE_EVENTS seq 9): 900000 bytes, not carried; it starts {\"person\":"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := event.New()
			ev.SetID("dl")
			ev.SetSource("ponte")
			ev.SetType("person.hired.deadlettered")
			ev.SetExtension("causationid", tt.dl.EventID)
			if err := ev.SetData(event.ApplicationJSON, tt.dl); err != nil {
				t.Fatal(err)
			}
			got := describe(&ev, true)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("describe =\n%s\nwant it to contain %q", got, w)
				}
			}
		})
	}
}
