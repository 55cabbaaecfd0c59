package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strings"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/nats-io/nats.go"
)

// ContentTypeStructured is the content type of a structured-mode CloudEvent.
const ContentTypeStructured = "application/cloudevents+json"

// DecodeError says why a message is not a valid CloudEvent. It is permanent: the same bytes never decode.
type DecodeError struct {
	Reason string // "not_cloudevent"
	Err    error
}

// Error implements error.
func (e *DecodeError) Error() string { return "not a valid CloudEvent: " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *DecodeError) Unwrap() error { return e.Err }

// Permanent always reports true.
func (e *DecodeError) Permanent() bool { return true }

// Decode reads a CloudEvent from a NATS message's headers and data, in binary mode (attributes in `ce-*` headers,
// any case; data is the payload; `content-type` is datacontenttype) or structured mode (`content-type:
// application/cloudevents+json`; data is the whole event). The event is validated against the CloudEvents 1.0
// spec. Errors are *DecodeError.
func Decode(h nats.Header, data []byte) (*event.Event, error) {
	hh := make(http.Header, len(h))
	binary := false
	for k, vs := range h {
		ck := textproto.CanonicalMIMEHeaderKey(k)
		hh[ck] = vs
		if strings.HasPrefix(ck, "Ce-") {
			binary = true
		}
	}
	ct := hh.Get("Content-Type")
	structured := strings.HasPrefix(ct, ContentTypeStructured)
	if !binary && !structured {
		if looksStructured(data) {
			// A structured event published without its content type: accept it, as the spec's JSON format
			// is self-describing.
			hh.Set("Content-Type", ContentTypeStructured)
		} else {
			return nil, &DecodeError{Reason: "not_cloudevent", Err: errors.New("no ce-* headers and content-type is not " + ContentTypeStructured)}
		}
	}
	if binary && hh.Get("Ce-Specversion") == "" {
		return nil, &DecodeError{Reason: "not_cloudevent", Err: errors.New("binary mode: missing header ce-specversion")}
	}
	msg := cehttp.NewMessage(hh, io.NopCloser(bytes.NewReader(data)))
	ev, err := binding.ToEvent(context.Background(), msg)
	if err != nil {
		return nil, &DecodeError{Reason: "not_cloudevent", Err: err}
	}
	if err := ev.Validate(); err != nil {
		return nil, &DecodeError{Reason: "not_cloudevent", Err: err}
	}
	return ev, nil
}

func looksStructured(data []byte) bool {
	var probe struct {
		SpecVersion string `json:"specversion"`
	}
	return json.Unmarshal(data, &probe) == nil && probe.SpecVersion != ""
}

// Encode returns a NATS message carrying ev in structured mode on subject, with header Nats-Msg-Id set to msgID
// when not empty.
func Encode(subject string, ev *event.Event, msgID string) (*nats.Msg, error) {
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encode %s event %s: %w", ev.Type(), ev.ID(), err)
	}
	m := nats.NewMsg(subject)
	m.Data = b
	m.Header.Set("Content-Type", ContentTypeStructured)
	if msgID != "" {
		m.Header.Set(nats.MsgIdHdr, msgID)
	}
	return m, nil
}

// EncodeBinary returns a NATS message carrying ev in binary mode: every attribute and extension in a lower-case
// `ce-` header, the data as payload, datacontenttype as `content-type`.
func EncodeBinary(subject string, ev *event.Event, msgID string) *nats.Msg {
	m := nats.NewMsg(subject)
	m.Header.Set("ce-specversion", ev.SpecVersion())
	m.Header.Set("ce-id", ev.ID())
	m.Header.Set("ce-source", ev.Source())
	m.Header.Set("ce-type", ev.Type())
	if s := ev.Subject(); s != "" {
		m.Header.Set("ce-subject", s)
	}
	if !ev.Time().IsZero() {
		m.Header.Set("ce-time", ev.Time().Format("2006-01-02T15:04:05.999999999Z07:00"))
	}
	if s := ev.DataSchema(); s != "" {
		m.Header.Set("ce-dataschema", s)
	}
	if ct := ev.DataContentType(); ct != "" {
		m.Header.Set("content-type", ct)
	}
	for k, v := range ev.Extensions() {
		m.Header.Set("ce-"+k, fmt.Sprint(v))
	}
	if msgID != "" {
		m.Header.Set(nats.MsgIdHdr, msgID)
	}
	m.Data = ev.Data()
	return m
}
