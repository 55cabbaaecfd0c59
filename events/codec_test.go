package events_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	natsce "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"

	"github.com/ponte-dev/ponte/events"
)

// sdkMessage encodes ev the way the official Go SDK's NATS JetStream sender does (its own WriteMsg), in binary mode
// or, with structured, in structured mode.
func sdkMessage(t *testing.T, ev event.Event, structured bool) (nats.Header, []byte) {
	t.Helper()
	ctx := context.Background()
	if structured {
		ctx = binding.WithForceStructured(ctx)
	} else {
		ctx = binding.WithForceBinary(ctx)
	}
	var body bytes.Buffer
	h, err := natsce.WriteMsg(ctx, binding.ToMessage(&ev), &body)
	if err != nil {
		t.Fatal(err)
	}
	return h, body.Bytes()
}

func sampleEvent() event.Event {
	ev := event.New()
	ev.SetID("ev-1")
	ev.SetSource("urn:example:hr")
	ev.SetType("person.hired")
	ev.SetSubject("E-1042")
	ev.SetTime(time.Date(2026, 11, 20, 14, 3, 11, 0, time.FixedZone("-03", -3*3600)))
	ev.SetExtension("ug", "001001")
	_ = ev.SetData(event.ApplicationJSON, map[string]string{"name": "Alan"})
	return ev
}

func headers(kv ...string) nats.Header {
	h := nats.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h[kv[i]] = append(h[kv[i]], kv[i+1])
	}
	return h
}

// binaryHeaders are hand-written binary-mode headers of a valid event, as natscli users write them, with the given
// changes: a value of "" removes the header.
func binaryHeaders(change ...string) nats.Header {
	h := headers("ce-specversion", "1.0", "ce-id", "ev-1", "ce-source", "urn:example:hr", "ce-type", "person.hired",
		"ce-subject", "E-1042", "ce-time", "2026-11-20T14:03:11-03:00", "content-type", "application/json")
	for i := 0; i+1 < len(change); i += 2 {
		if change[i+1] == "" {
			delete(h, change[i])
		} else {
			h[change[i]] = []string{change[i+1]}
		}
	}
	return h
}

const sampleData = `{"name":"Alan"}`

func TestDecodeAccepts(t *testing.T) {
	sdkBinH, sdkBinB := sdkMessage(t, sampleEvent(), false)
	sdkStrH, sdkStrB := sdkMessage(t, sampleEvent(), true)
	if sdkBinH.Get("ce-datacontenttype") != "application/json" || sdkBinH.Get("content-type") != "" {
		t.Fatalf("the SDK's binary mode is not what this test is about: headers %v", sdkBinH)
	}
	if len(sdkStrH) != 0 {
		t.Fatalf("the SDK's structured mode is not what this test is about: headers %v", sdkStrH)
	}
	structuredBody := []byte(`{"specversion":"1.0","id":"ev-1","source":"urn:example:hr","type":"person.hired","subject":"E-1042",
		"time":"2026-11-20T14:03:11-03:00","ug":"001001","datacontenttype":"application/json","data":{"name":"Alan"}}`)
	tests := []struct {
		name string
		h    nats.Header
		body []byte
		ct   string // want datacontenttype
	}{
		{"Go SDK binary mode (ce-datacontenttype)", sdkBinH, sdkBinB, "application/json"},
		{"Go SDK structured mode (no content type)", sdkStrH, sdkStrB, "application/json"},
		{"hand-written headers with content-type", binaryHeaders("ce-ug", "001001"), []byte(sampleData), "application/json"},
		{"hand-written headers with ce-datacontenttype", binaryHeaders("ce-ug", "001001", "content-type", "", "ce-datacontenttype", "application/json"), []byte(sampleData), "application/json"},
		{"both content type headers, agreeing", binaryHeaders("ce-ug", "001001", "ce-datacontenttype", "application/json; charset=utf-8"), []byte(sampleData), "application/json; charset=utf-8"},
		{"header names in any case", headers("Ce-Specversion", "1.0", "CE-ID", "ev-1", "ce-Source", "urn:example:hr", "Ce-Type", "person.hired",
			"Ce-Subject", "E-1042", "Ce-Time", "2026-11-20T14:03:11-03:00", "Content-Type", "application/json", "Ce-Ug", "001001"), []byte(sampleData), "application/json"},
		{"binary mode without a content type", binaryHeaders("ce-ug", "001001", "content-type", ""), []byte(sampleData), ""},
		{"structured mode with its content type", headers("content-type", events.ContentTypeStructured), structuredBody, "application/json"},
		{"structured mode without a content type", nil, structuredBody, "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := events.Decode(tt.h, tt.body)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if ev.ID() != "ev-1" || ev.Source() != "urn:example:hr" || ev.Type() != "person.hired" || ev.Subject() != "E-1042" ||
				ev.SpecVersion() != "1.0" || ev.Extensions()["ug"] != "001001" || ev.Time().IsZero() {
				t.Errorf("attributes: %s", ev)
			}
			if ev.DataContentType() != tt.ct {
				t.Errorf("datacontenttype = %q, want %q", ev.DataContentType(), tt.ct)
			}
			if got := strings.Join(strings.Fields(string(ev.Data())), ""); got != sampleData {
				t.Errorf("data = %s, want %s", ev.Data(), sampleData)
			}
		})
	}
}

func TestDecodeRejectsNamingTheAttribute(t *testing.T) {
	tests := []struct {
		name   string
		h      nats.Header
		body   string
		id     string   // the id the error still carries
		fields []string // the fields of its errors
		says   string   // a substring of the message
	}{
		{"binary specversion 0.3", binaryHeaders("ce-specversion", "0.3"), sampleData, "ev-1", []string{"specversion"}, `specversion "0.3" is not supported`},
		{"binary specversion 2.0", binaryHeaders("ce-specversion", "2.0"), sampleData, "ev-1", []string{"specversion"}, `specversion "2.0" is not supported`},
		{"structured specversion 0.3", nil, `{"specversion":"0.3","id":"ev-1","source":"s","type":"person.hired","data":{}}`, "ev-1", []string{"specversion"}, `"0.3" is not supported`},
		{"structured specversion 2.0", headers("content-type", events.ContentTypeStructured), `{"specversion":"2.0","id":"ev-1","source":"s","type":"t","data":{}}`, "ev-1", []string{"specversion"}, `"2.0" is not supported`},
		{"bad ce-time", binaryHeaders("ce-time", "yesterday"), sampleData, "ev-1", []string{"time"}, `header ce-time: "yesterday" is not an RFC 3339 time`},
		{"structured bad time", nil, `{"specversion":"1.0","id":"ev-1","source":"s","type":"t","time":"20/11/2026","data":{}}`, "ev-1", []string{"time"}, `"20/11/2026" is not an RFC 3339 time`},
		{"missing ce-id", binaryHeaders("ce-id", ""), sampleData, "", []string{"id"}, "header ce-id is missing"},
		{"missing ce-source and ce-type", binaryHeaders("ce-source", "", "ce-type", ""), sampleData, "ev-1", []string{"source", "type"}, "header ce-source is missing"},
		{"ce-* headers without ce-specversion", binaryHeaders("ce-specversion", ""), sampleData, "ev-1", []string{"specversion"}, "header ce-specversion is missing: binary mode"},
		{"no headers and no JSON", nil, "name;cpf\nDaniela;048.315.726-08\n", "", []string{"specversion"}, "no header ce-specversion (binary mode), and the body is not a CloudEvent in JSON"},
		{"structured without specversion", nil, `{"id":"ev-1","source":"s","type":"t","data":{}}`, "ev-1", []string{"specversion"}, `attribute "specversion" is missing`},
		{"structured id a number", nil, `{"specversion":"1.0","id":7,"source":"s","type":"t","data":{}}`, "", []string{"id"}, `attribute "id" must be a string, got a number`},
		{"structured extension an object", nil, `{"specversion":"1.0","id":"ev-1","source":"s","type":"t","ug":{"a":1},"data":{}}`, "ev-1", []string{"ug"}, "must be a string, a number or a boolean, got an object"},
		{"structured data and data_base64", nil, `{"specversion":"1.0","id":"ev-1","source":"s","type":"t","data":{},"data_base64":"e30="}`, "ev-1", []string{"data_base64"}, "both set"},
		{"structured data_base64 not base64", nil, `{"specversion":"1.0","id":"ev-1","source":"s","type":"t","data_base64":"%%%"}`, "ev-1", []string{"data_base64"}, "not base64"},
		{"structured body not an object", headers("content-type", events.ContentTypeStructured), `[1,2]`, "", []string{""}, "not an object"},
		{"structured with another content type", headers("content-type", "text/csv"), `{"specversion":"1.0","id":"ev-1","source":"s","type":"t"}`, "", []string{"content-type"}, `header content-type "text/csv"`},
		{"bad extension name", binaryHeaders("ce-my_ext", "x"), sampleData, "ev-1", []string{"my_ext"}, "not a valid attribute name"},
		{"bad dataschema", binaryHeaders("ce-dataschema", "person hired v1"), sampleData, "ev-1", []string{"dataschema"}, "not an absolute URI"},
		{"bad source", binaryHeaders("ce-source", "%zz"), sampleData, "ev-1", []string{"source"}, "not a URI-reference"},
		{"content type headers disagree", binaryHeaders("ce-datacontenttype", "text/plain"), sampleData, "ev-1", []string{"datacontenttype"}, "disagree"},
		{"header twice", headers("ce-specversion", "1.0", "ce-id", "a", "Ce-Id", "b", "ce-source", "s", "ce-type", "t"), sampleData, "", []string{"id"}, "given more than once"},
		{"a header with no value", nats.Header{"ce-specversion": {"1.0"}, "ce-id": {}, "ce-source": {"s"}, "ce-type": {"t"}}, sampleData, "", []string{"id"}, "header ce-id is missing"},
		{"attribute not UTF-8", binaryHeaders("ce-subject", "E-\xff"), sampleData, "ev-1", []string{"subject"}, "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := events.Decode(tt.h, []byte(tt.body))
			if err == nil {
				t.Fatalf("Decode accepted it: %s", ev)
			}
			de, ok := errors.AsType[*events.DecodeError](err)
			if !ok {
				t.Fatalf("error %T %v, want *events.DecodeError", err, err)
			}
			var fields []string
			for _, fe := range de.Errors {
				fields = append(fields, fe.Field)
			}
			if strings.Join(fields, ",") != strings.Join(tt.fields, ",") {
				t.Errorf("fields %q, want %q (%v)", fields, tt.fields, err)
			}
			if de.ID != tt.id {
				t.Errorf("ID = %q, want %q", de.ID, tt.id)
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("error %q does not say %q", err, tt.says)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Errorf("error is not on one line: %q", err)
			}
		})
	}
}

func TestEncodedEventsDecode(t *testing.T) {
	ev := sampleEvent()
	m, err := events.Encode("person.hired", &ev, "x")
	if err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]*nats.Msg{"structured": m, "binary": events.EncodeBinary("person.hired", &ev, "x")} {
		got, err := events.Decode(m.Header, m.Data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.ID() != ev.ID() || !got.Time().Equal(ev.Time()) || got.Extensions()["ug"] != "001001" {
			t.Errorf("%s: got %s", name, got)
		}
	}
}

// FuzzDecode feeds Decode arbitrary headers and bodies: it must never panic, and must either return an event that
// passes the SDK's validation or a *DecodeError with at least one error.
func FuzzDecode(f *testing.F) {
	f.Add("ce-specversion", "1.0", "ce-id", "x", "ce-time", "2026-11-20T14:03:11-03:00", []byte(sampleData))
	f.Add("content-type", events.ContentTypeStructured, "x", "", "", "", []byte(`{"specversion":"1.0","id":"1","source":"s","type":"t","data":{}}`))
	f.Add("Ce-Specversion", "0.3", "ce-datacontenttype", "text/plain", "ce-", "", []byte("\xff"))
	f.Add("", "", "", "", "", "", []byte(`{"specversion":"1.0","id":"1","source":"s","type":"t","data_base64":"e30="}`))
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, k3, v3 string, body []byte) {
		h := nats.Header{}
		for _, kv := range [][2]string{{k1, v1}, {k2, v2}, {k3, v3}} {
			if kv[0] != "" {
				h[kv[0]] = []string{kv[1]}
			}
		}
		if h.Get("ce-specversion") != "" || len(h) > 0 {
			h["ce-source"], h["ce-type"] = []string{"s"}, []string{"t"}
		}
		ev, err := events.Decode(h, body)
		if err == nil {
			if verr := ev.Validate(); verr != nil {
				t.Fatalf("decoded an invalid event: %v", verr)
			}
			return
		}
		de, ok := errors.AsType[*events.DecodeError](err)
		if !ok || len(de.Errors) == 0 {
			t.Fatalf("error %T %v: want a *DecodeError with errors", err, err)
		}
	})
}
