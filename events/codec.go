package events

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"mime"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	natsce "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"

	"github.com/ponte-dev/ponte/schemas"
)

// ContentTypeStructured is the content type of a structured-mode CloudEvent.
const ContentTypeStructured = "application/cloudevents+json"

// SpecVersion is the only CloudEvents version ponte reads.
const SpecVersion = "1.0"

// Header names of the CloudEvents NATS binding that ponte reads besides the ce-* attributes.
const (
	headerPrefix      = "ce-"
	headerContentType = "content-type"
)

// DecodeError says why a message is not a CloudEvent ponte can read. It is permanent: the same bytes never decode.
// Errors names every attribute or header at fault; ID and Source are the event's id and source when they could be
// read all the same (a ce-id header, or "id" in a structured body), so that the dead letter can refer to the event.
type DecodeError struct {
	ID     string
	Source string
	Errors []FieldError
}

// Error returns "not a valid CloudEvent: " and every problem, "field: message", joined by "; ".
func (e *DecodeError) Error() string {
	return "not a valid CloudEvent: " + schemas.JoinFieldErrors(e.Errors)
}

// Permanent always reports true.
func (e *DecodeError) Permanent() bool { return true }

// Decode reads a CloudEvent from a NATS message with the CloudEvents SDK's NATS protocol binding, in either mode:
//
//   - binary mode, recognised by a ce-specversion header: every attribute is a ce-<name> header, data is the
//     payload, and datacontenttype is the ce-datacontenttype header (as the official SDKs send it) or the
//     content-type header (as hand-written headers usually do); both may be present if they agree;
//   - structured mode otherwise: the payload is the whole event in the JSON event format, with content-type
//     application/cloudevents+json or no content type at all (the SDKs' NATS senders set none).
//
// Header names are matched without regard to case (ce-ID is ce-id). Only CloudEvents 1.0 is accepted. Before the
// SDK decodes the event ponte checks each attribute itself, so that every problem is reported on the attribute or
// header it concerns, in plain words. Errors are *DecodeError.
func Decode(h nats.Header, data []byte) (*event.Event, error) {
	hdr, errs := normalizeHeaders(h)
	d := &DecodeError{}
	if hdr.Get(headerPrefix+"specversion") != "" {
		d.ID, d.Source = hdr.Get(headerPrefix+"id"), hdr.Get(headerPrefix+"source")
		errs = append(errs, checkBinary(hdr)...)
	} else if ce := ceHeaders(hdr); len(ce) > 0 && !isStructured(hdr.Get(headerContentType)) {
		// ce-* headers say binary mode, but the one that makes it so is missing.
		d.ID, d.Source = hdr.Get(headerPrefix+"id"), hdr.Get(headerPrefix+"source")
		errs = append(errs, FieldError{Field: "specversion", Message: fmt.Sprintf(
			"header ce-specversion is missing: binary mode (the message has %s) needs it, with the value %q", strings.Join(ce, ", "), SpecVersion)})
	} else {
		env, serrs := checkStructured(hdr, data)
		d.ID, d.Source = env.id, env.source
		errs = append(errs, serrs...)
	}
	if len(errs) > 0 {
		d.Errors = firstPerField(errs)
		return nil, d
	}
	if hdr.Get(headerPrefix+"datacontenttype") != "" {
		// Both agree (checked above); let the SDK see one, so that the result does not depend on map order.
		delete(hdr, headerContentType)
	}
	ev, err := binding.ToEvent(context.Background(), natsce.NewMessage(&nats.Msg{Header: hdr, Data: data}))
	if err != nil {
		// The checks above cover what the SDK refuses; this is a case they missed. Say what failed, then the SDK.
		d.Errors = []FieldError{{Message: "the CloudEvents SDK could not decode the event: " + oneLine(err.Error())}}
		return nil, d
	}
	if err := ev.Validate(); err != nil {
		d.ID, d.Source = ev.ID(), ev.Source()
		d.Errors = validationErrors(err)
		return nil, d
	}
	return ev, nil
}

// firstPerField keeps the first error of each field: a header given twice is not also reported missing.
func firstPerField(errs []FieldError) []FieldError {
	seen := map[string]bool{}
	return slices.DeleteFunc(errs, func(fe FieldError) bool {
		dup := seen[fe.Field]
		seen[fe.Field] = true
		return dup
	})
}

// normalizeHeaders returns the headers with the ce-* and content-type names in lower case, as the SDK binding
// expects them. A name given twice (in different cases, or with several values) is an error: which one is meant?
func normalizeHeaders(h nats.Header) (nats.Header, []FieldError) {
	out := make(nats.Header, len(h))
	ambiguous := map[string]bool{}
	var errs []FieldError
	for _, k := range slices.Sorted(maps.Keys(h)) {
		vs := h[k]
		if len(vs) == 0 {
			continue // a name with no value carries nothing
		}
		lk := strings.ToLower(k)
		if !strings.HasPrefix(lk, headerPrefix) && lk != headerContentType {
			out[k] = vs
			continue
		}
		if _, dup := out[lk]; dup || len(vs) > 1 || ambiguous[lk] {
			if !ambiguous[lk] {
				errs = append(errs, FieldError{Field: headerField(lk), Message: fmt.Sprintf("header %s is given more than once; send it once", lk)})
			}
			ambiguous[lk] = true
			delete(out, lk) // which one is meant? neither
			continue
		}
		out[lk] = vs
	}
	return out, errs
}

// ceHeaders returns the names of the ce-* headers of h, sorted.
func ceHeaders(h nats.Header) []string {
	var out []string
	for k := range h {
		if strings.HasPrefix(k, headerPrefix) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// headerField is the FieldError.Field for a header: the attribute it carries ("ce-time" → "time"), or the header
// name itself when it carries none.
func headerField(name string) string {
	if a, ok := strings.CutPrefix(name, headerPrefix); ok && a != "" {
		return a
	}
	if name == headerContentType {
		return "datacontenttype"
	}
	return name
}

// requiredAttributes are the attributes ponte needs on every event (the spec requires the first four; ponte the
// entity key and the time, checked by the Worker since a missing one is a problem of the event, not of its form).
var requiredAttributes = []string{"specversion", "id", "source", "type"}

// checkBinary checks the ce-* and content-type headers of a binary-mode message.
func checkBinary(h nats.Header) []FieldError {
	var errs []FieldError
	attrs := map[string]string{}
	for k, vs := range h {
		if strings.HasPrefix(k, headerPrefix) {
			attrs[strings.TrimPrefix(k, headerPrefix)] = vs[0]
		}
	}
	if ct := h.Get(headerContentType); ct != "" {
		if prev, ok := attrs["datacontenttype"]; ok && !sameMediaType(prev, ct) {
			errs = append(errs, FieldError{Field: "datacontenttype", Message: fmt.Sprintf(
				"headers ce-datacontenttype %q and content-type %q disagree; send one of them", prev, ct)})
		}
		attrs["datacontenttype"] = ct
	}
	for _, name := range requiredAttributes {
		if strings.TrimSpace(attrs[name]) == "" {
			errs = append(errs, FieldError{Field: name, Message: fmt.Sprintf("header %s%s is missing or empty; it is required", headerPrefix, name)})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		v := attrs[name]
		if !utf8.ValidString(v) {
			errs = append(errs, FieldError{Field: name, Message: fmt.Sprintf("header %s%s is not valid UTF-8", headerPrefix, name)})
			continue
		}
		if msg := checkAttribute(name, v); msg != "" {
			errs = append(errs, FieldError{Field: name, Message: "header " + headerPrefix + name + ": " + msg})
		}
	}
	return errs
}

// checkStructured checks a structured-mode message: its content type, and each attribute of the JSON event. It
// returns the id and source it could read, for the dead letter of an event that fails.
func checkStructured(h nats.Header, data []byte) (eventRef, []FieldError) {
	var env eventRef
	ct := h.Get(headerContentType)
	var attrs map[string]json.RawMessage
	jsonErr := json.Unmarshal(data, &attrs)
	switch {
	case jsonErr != nil && (ct == "" || !isStructured(ct)):
		// Neither mode: say what each would need.
		return env, []FieldError{{Field: "specversion", Message: fmt.Sprintf(
			"no header ce-specversion (binary mode), and the body is not a CloudEvent in JSON (structured mode): %s", jsonErrorText(jsonErr, data))}}
	case jsonErr != nil:
		return env, []FieldError{{Message: "the body is not a CloudEvent in JSON: " + jsonErrorText(jsonErr, data)}}
	case ct != "" && !isStructured(ct) && !isJSON(ct):
		return env, []FieldError{{Field: headerContentType, Message: fmt.Sprintf(
			"header content-type %q is neither %s (structured mode) nor accompanied by a ce-specversion header (binary mode)", ct, ContentTypeStructured)}}
	}
	str := func(name string) (string, bool) {
		var s string
		return s, json.Unmarshal(attrs[name], &s) == nil
	}
	env.id, _ = str("id")
	env.source, _ = str("source")

	var errs []FieldError
	for _, name := range requiredAttributes {
		if raw, ok := attrs[name]; !ok || string(raw) == "null" {
			errs = append(errs, FieldError{Field: name, Message: fmt.Sprintf("attribute %q is missing; it is required", name)})
		}
	}
	if raw, hasB64 := attrs["data_base64"]; hasB64 {
		var b64 string
		if _, hasData := attrs["data"]; hasData {
			errs = append(errs, FieldError{Field: "data_base64", Message: `"data" and "data_base64" are both set; send one of them`})
		} else if err := json.Unmarshal(raw, &b64); err != nil {
			errs = append(errs, FieldError{Field: "data_base64", Message: fmt.Sprintf(`attribute "data_base64" must be a string, got %s`, jsonKind(raw))})
		} else if _, err := base64.StdEncoding.DecodeString(b64); err != nil {
			errs = append(errs, FieldError{Field: "data_base64", Message: `attribute "data_base64" is not base64 (standard encoding, with padding)`})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		raw := attrs[name]
		if name == "data" || name == "data_base64" || string(raw) == "null" {
			continue
		}
		if !utf8.Valid(raw) {
			errs = append(errs, FieldError{Field: name, Message: fmt.Sprintf("attribute %q is not valid UTF-8", name)})
			continue
		}
		s, isString := str(name)
		if !isString {
			if !isExtension(name) {
				errs = append(errs, FieldError{Field: name, Message: fmt.Sprintf("attribute %q must be a string, got %s", name, jsonKind(raw))})
				continue
			}
			if k := jsonKind(raw); k != "a number" && k != "a boolean" {
				errs = append(errs, FieldError{Field: name, Message: fmt.Sprintf("extension attribute %q must be a string, a number or a boolean, got %s", name, k)})
			}
			continue
		}
		if msg := checkAttribute(name, s); msg != "" {
			errs = append(errs, FieldError{Field: name, Message: fmt.Sprintf("attribute %q: %s", name, msg)})
		}
	}
	return env, errs
}

// checkAttribute returns what is wrong with the value of the attribute name, or "".
func checkAttribute(name, v string) string {
	switch name {
	case "specversion":
		if v != SpecVersion {
			return fmt.Sprintf("specversion %q is not supported: ponte reads CloudEvents %s only", v, SpecVersion)
		}
	case "id", "type":
		if strings.TrimSpace(v) == "" {
			return "must not be empty"
		}
	case "source":
		if strings.TrimSpace(v) == "" {
			return "must not be empty"
		}
		if _, err := url.Parse(v); err != nil {
			return fmt.Sprintf("%q is not a URI-reference, e.g. urn:example:hr", v)
		}
	case "time":
		if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
			return fmt.Sprintf("%q is not an RFC 3339 time, e.g. 2026-11-20T14:03:11-03:00", v)
		}
	case "dataschema":
		if u, err := url.Parse(v); err != nil || !u.IsAbs() {
			return fmt.Sprintf("%q is not an absolute URI, e.g. https://ponte.dev/schemas/person.hired/v1.json", v)
		}
	case "datacontenttype":
		if _, _, err := mime.ParseMediaType(v); err != nil {
			return fmt.Sprintf("%q is not a media type, e.g. application/json", v)
		}
	case "subject":
	default:
		if !isExtension(name) {
			return "is not a valid attribute name: names are lower-case letters and digits only (a-z, 0-9)"
		}
	}
	return ""
}

// isExtension reports whether name is a valid extension attribute name that is not a context attribute of the spec.
func isExtension(name string) bool {
	switch name {
	case "specversion", "id", "source", "type", "subject", "time", "dataschema", "datacontenttype", "data", "data_base64":
		return false
	}
	if name == "" {
		return false
	}
	for _, c := range name {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// validationErrors turns the SDK's event.ValidationError (a map by attribute) into field errors in ponte's words.
func validationErrors(err error) []FieldError {
	ve, ok := errors.AsType[event.ValidationError](err)
	if !ok {
		return []FieldError{{Message: oneLine(err.Error())}}
	}
	out := make([]FieldError, 0, len(ve))
	for _, name := range slices.Sorted(maps.Keys(ve)) {
		out = append(out, FieldError{Field: name, Message: fmt.Sprintf("attribute %q is not valid: %s", name, oneLine(ve[name].Error()))})
	}
	return out
}

// isStructured reports whether the media type ct is the structured-mode JSON event format.
func isStructured(ct string) bool { return sameMediaType(ct, ContentTypeStructured) }

// isJSON reports whether ct is JSON: application/json or any type with the +json suffix.
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// isJSONData reports whether datacontenttype says the data is JSON: absent (JSON by default in ponte's catalogue),
// application/json or a +json type, with any parameters.
func isJSONData(datacontenttype string) bool {
	return datacontenttype == "" || isJSON(datacontenttype) && !isStructured(datacontenttype)
}

func sameMediaType(a, b string) bool {
	ma, _, errA := mime.ParseMediaType(a)
	mb, _, errB := mime.ParseMediaType(b)
	return errA == nil && errB == nil && ma == mb
}

func jsonKind(raw json.RawMessage) string {
	switch b := bytes.TrimSpace(raw); {
	case len(b) == 0:
		return "nothing"
	case b[0] == '{':
		return "an object"
	case b[0] == '[':
		return "an array"
	case b[0] == '"':
		return "a string"
	case b[0] == 't' || b[0] == 'f':
		return "a boolean"
	case b[0] == 'n':
		return "null"
	}
	return "a number"
}

// jsonErrorText explains a JSON syntax error with its byte offset.
func jsonErrorText(err error, data []byte) string {
	if len(bytes.TrimSpace(data)) == 0 {
		return "the body is empty"
	}
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return fmt.Sprintf("%s at byte %d", se.Error(), se.Offset)
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		return "the body is JSON " + te.Value + ", not an object"
	}
	return err.Error()
}

// oneLine joins the lines of s with "; ".
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	lines := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(slices.DeleteFunc(lines, func(l string) bool { return l == "" }), "; ")
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
		m.Header.Set("ce-time", ev.Time().Format(time.RFC3339Nano))
	}
	if s := ev.DataSchema(); s != "" {
		m.Header.Set("ce-dataschema", s)
	}
	if ct := ev.DataContentType(); ct != "" {
		m.Header.Set(headerContentType, ct)
	}
	for k, v := range ev.Extensions() {
		m.Header.Set(headerPrefix+k, fmt.Sprint(v))
	}
	if msgID != "" {
		m.Header.Set(nats.MsgIdHdr, msgID)
	}
	m.Data = ev.Data()
	return m
}
