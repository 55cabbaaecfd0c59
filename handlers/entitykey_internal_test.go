package handlers

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
)

// TestEntityKeyFromDecodedData checks that the entity key read from the data as the schema validation decoded it
// is the one read by decoding the data again, for well-formed data and for data of the wrong shape.
func TestEntityKeyFromDecodedData(t *testing.T) {
	for _, tt := range []struct {
		name, typ, data string
		key             func(event.Event, any) (string, string)
	}{
		{"person", PersonHired, `{"person": {"id": "E-0123", "name": "Ana"}}`, personKey},
		{"person id not a string", PersonHired, `{"person": {"id": 123}}`, personKey},
		{"no person", PersonMoved, `{"other": {}}`, personKey},
		{"contract", ContractSigned, `{"contrato": {"numero": "12/2026", "ano": 2026}}`, contractKey},
		{"ano written 2026.0", ContractSigned, `{"contrato": {"numero": "12", "ano": 2026.0}}`, contractKey},
		{"ano in exponent form", ContractAmended, `{"contrato": {"numero": "12", "ano": 2.026e3}}`, contractKey},
		{"ano a string", ContractAmended, `{"contrato": {"numero": "12", "ano": "2026"}}`, contractKey},
		{"numero a number", ContractCancelled, `{"contrato": {"numero": 12, "ano": 2026}}`, contractKey},
		{"no numero", ContractCancelled, `{"contrato": {"ano": 2026}}`, contractKey},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev := event.New()
			ev.SetType(tt.typ)
			ev.SetExtension("ug", "001001")
			if err := ev.SetData(event.ApplicationJSON, []byte(tt.data)); err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader([]byte(tt.data)))
			dec.UseNumber()
			var decoded any
			if err := dec.Decode(&decoded); err != nil {
				t.Fatal(err)
			}
			want, wantFrom := tt.key(ev, nil)
			got, from := tt.key(ev, decoded)
			if got != want || from != wantFrom {
				t.Errorf("from the decoded data %q (%s), decoding again %q (%s)", got, from, want, wantFrom)
			}
		})
	}
}
