package events

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"

	"github.com/ponte-dev/ponte/clients"
	"github.com/ponte-dev/ponte/schemas"
)

// Data schemas of ponte's output events.
const (
	ResultSchema     = "https://ponte.dev/schemas/result/v1.json"
	DeadLetterSchema = "https://ponte.dev/schemas/deadletter/v1.json"
)

// DeadLetter is the data of a <type>.deadlettered event.
type DeadLetter struct {
	EventID        string       `json:"eventId,omitempty"`
	EventType      string       `json:"eventType,omitempty"`
	Reason         string       `json:"reason"`
	Message        string       `json:"message"`
	Errors         []FieldError `json:"errors,omitempty"`
	Target         string       `json:"target,omitempty"`
	Operation      string       `json:"operation,omitempty"`
	Status         int          `json:"status,omitempty"`
	Excerpt        string       `json:"excerpt,omitempty"`
	Attempts       int          `json:"attempts"`
	FirstFailureAt time.Time    `json:"firstFailureAt,omitzero"`
	LastFailureAt  time.Time    `json:"lastFailureAt,omitzero"`
	// Latest is set on the dead letter of a message that carried an event dead-lettered before (a copy, or a
	// replay of one of its older dead letters): the id of the event's latest dead letter, the one a replay must
	// name. Such a dead letter is an answer, not a new failure, and is never replayed itself.
	Latest   string   `json:"latest,omitempty"`
	Original Original `json:"original"`
}

// Original is the input message as it was received. Data holds the body whole, unless it could not be carried in
// a dead letter that fits the server's max_payload (always the case for too_large): then Data is empty and Excerpt
// holds its first bytes, and the message itself stays in the input stream at Stream and Sequence until the
// stream's age limit.
type Original struct {
	Subject string              `json:"subject"`
	Headers map[string][]string `json:"headers"`
	// Data is the body, base64 (standard encoding, with padding).
	Data string `json:"data,omitempty"`
	// Size is the body's length in bytes.
	Size int `json:"size"`
	// Excerpt is the body's first ExcerptSize bytes, base64, when Data is absent.
	Excerpt string `json:"excerpt,omitempty"`
	// Truncated says that Data was left out or header values were shortened so that the dead letter fits.
	Truncated bool   `json:"truncated,omitempty"`
	Stream    string `json:"stream,omitempty"`
	Sequence  uint64 `json:"sequence,omitempty"`
}

// ExcerptSize is how many bytes of a body too large to carry a dead letter keeps.
const ExcerptSize = 1024

// Result is the data of a <type>.processed event.
type Result struct {
	EventID     string        `json:"eventId"`
	EventType   string        `json:"eventType"`
	Steps       []StepOutcome `json:"steps"`
	CompletedAt time.Time     `json:"completedAt"`
	// ReplayOf is the id of the dead letter the event replays (its ReplayExtension), if it does.
	ReplayOf string `json:"replayOf,omitempty"`
}

// ReplayExtension is the CloudEvent extension that marks an event published again on purpose to replay its dead
// letter: its value is the dead letter's id. A dead-lettered event runs again only so: the ledger lets it through
// when the value is the id of the event's latest dead letter, and runs only the steps not done yet.
const ReplayExtension = "replayof"

// ReplayMessage is the original message of the dead letter dl (whose id is dlID) published again as a replay:
// the same subject, headers and body, with the ReplayExtension set to dlID (a ce-replayof header in binary mode,
// the attribute in a structured body), and a Nats-Msg-Id of its own, replay-<dlID>, so that a replay sent twice
// within the input stream's duplicate window is stored once. `ponte dlq replay` publishes it.
func ReplayMessage(dl *DeadLetter, dlID string) (*nats.Msg, error) {
	raw, err := base64.StdEncoding.DecodeString(dl.Original.Data)
	if err != nil || dl.Original.Data == "" {
		return nil, errors.New("the dead letter does not carry the original body")
	}
	m := nats.NewMsg(dl.Original.Subject)
	binary := false
	for k, vs := range dl.Original.Headers {
		m.Header[k] = slices.Clone(vs)
		binary = binary || strings.EqualFold(k, "ce-specversion")
	}
	if binary {
		m.Header.Set("ce-"+ReplayExtension, dlID)
		m.Data = raw
	} else {
		var body map[string]json.RawMessage
		if err := json.Unmarshal(raw, &body); err != nil {
			return nil, fmt.Errorf("the original is not a structured CloudEvent: %w", err)
		}
		body[ReplayExtension], _ = json.Marshal(dlID)
		if m.Data, err = json.Marshal(body); err != nil {
			return nil, err
		}
	}
	m.Header.Set(nats.MsgIdHdr, "replay-"+dlID)
	return m, nil
}

// deadLetterID is the id of the dead letter of the event at ledger key, published for the message at seq.
func deadLetterID(key string, seq uint64) string {
	return fmt.Sprintf("ponte-dlq-%s-%d", strings.TrimPrefix(key, "ev."), seq)
}

// FieldError is one validation problem: the field (a JSON pointer into data, the name of an attribute, or of a
// header that carries none) and what is wrong with it.
type FieldError = schemas.FieldError

// rejection is what a dead letter says: why, in words, and about which fields. cause, when set, is the handler's
// error: it gives the target, operation, HTTP status and response excerpt.
type rejection struct {
	reason  string
	message string
	latest  string // the event's latest dead letter, when this one answers a copy (DeadLetter.Latest)
	errors  []FieldError
	cause   error
}

// eventRef is what is known of the input event a dead letter is about: all of it once decoded, or the id and
// source read from a message that does not decode.
type eventRef struct {
	id, source string
	ev         *event.Event
	decoded    any // ev's data as the schema validation decoded it, nil if it did not
}

func (r eventRef) known() bool { return r.id != "" }

// deadLetterEvent builds the dead-letter CloudEvent of a message and the dead letter in it; the data is cut down
// (see fitDeadLetter) to at most limit bytes.
func (w *Worker) deadLetterEvent(d *delivery, rej rejection, now time.Time, limit int) (*event.Event, *DeadLetter, error) {
	dl := &DeadLetter{
		Reason:   rej.reason,
		Message:  clients.MaskCPF(oneLine(rej.message)),
		Errors:   rej.errors,
		Latest:   rej.latest,
		Original: d.original(rej.reason != ReasonTooLarge),
		Attempts: 1, LastFailureAt: now, FirstFailureAt: now,
	}
	if d.ref.known() {
		dl.EventID = d.ref.id
	}
	if d.ref.ev != nil {
		dl.EventType = d.ref.ev.Type()
	}
	if d.key != "" && rej.reason != ReasonIDConflict { // a conflict's record is the other event's
		rec := d.record()
		if rec.Attempts > 0 {
			dl.Attempts = rec.Attempts
		}
		if ff := rec.FirstFailure; !ff.IsZero() {
			dl.FirstFailureAt = ff
		}
		if lf := rec.LastFailure; !lf.IsZero() {
			dl.LastFailureAt = lf
		}
	}
	// Target and operation are the step's (what the result would have listed); a client's error fills them in for
	// a failure outside any step, and gives the HTTP status and excerpt.
	if se, ok := errors.AsType[*clients.StatusError](rej.cause); ok {
		dl.Target, dl.Operation, dl.Status, dl.Excerpt = se.Target, se.Operation, se.Status, se.Body
	} else if te, ok := errors.AsType[*clients.TransportError](rej.cause); ok {
		dl.Target, dl.Operation = te.Target, te.Operation
	}
	if ce, ok := errors.AsType[*ConfigError](rej.cause); ok && ce.Target != "" {
		dl.Target = ce.Target
	}
	if se, ok := errors.AsType[*StepError](rej.cause); ok {
		dl.Target, dl.Operation = se.Target, se.Operation
	}
	body, err := fitDeadLetter(dl, d.msg.Data(), limit)
	if err != nil {
		return nil, nil, err
	}

	ev := event.New()
	// The id (and Nats-Msg-Id) derives from the input event's source and id when they are known, and from the
	// stream sequence, so that a redelivery of the same message publishes the same dead letter (deduplicated)
	// while a later re-publication of the event gets its own.
	if d.ref.known() {
		ev.SetID(deadLetterID(LedgerKey(d.ref.source, d.ref.id), d.seq()))
		ev.SetExtension("causationid", d.ref.id)
	} else {
		ev.SetID(fmt.Sprintf("ponte-dlq-%s-%d", w.topo.InputStream, d.seq()))
	}
	ev.SetSource(w.cfg.Source)
	ev.SetType(d.typ + ".deadlettered")
	ev.SetTime(now)
	if in := d.ref.ev; in != nil {
		if in.Subject() != "" {
			ev.SetSubject(in.Subject())
		}
		if ug, ok := Extension(in, "ug"); ok {
			ev.SetExtension("ug", ug)
		}
	}
	setTraceContext(&ev, d.trace)
	ev.SetDataSchema(DeadLetterSchema)
	if err := ev.SetData(event.ApplicationJSON, json.RawMessage(body)); err != nil {
		return nil, nil, err
	}
	return &ev, dl, nil
}

// original returns the message as received: its body whole, or with whole false only an excerpt of it.
func (d *delivery) original(whole bool) Original {
	o := Original{
		Subject: d.msg.Subject(),
		Headers: map[string][]string{},
		Size:    len(d.msg.Data()),
	}
	for k, vs := range d.msg.Headers() {
		if k != pinIDHeader { // the server's, added on delivery: not the publisher's
			o.Headers[k] = vs
		}
	}
	if whole {
		o.Data = base64.StdEncoding.EncodeToString(d.msg.Data())
	} else {
		o.dropData(d.msg.Data())
	}
	if d.meta != nil {
		o.Stream, o.Sequence = d.meta.Stream, d.meta.Sequence.Stream
	}
	return o
}

// pinIDHeader is the header JetStream adds to the messages of a pinned priority group.
const pinIDHeader = "Nats-Pin-Id"

// dropData replaces the body, raw, by its excerpt.
func (o *Original) dropData(raw []byte) {
	o.Data, o.Truncated = "", true
	o.Excerpt = base64.StdEncoding.EncodeToString(raw[:min(len(raw), ExcerptSize)])
}

// Bounds of a dead letter that must be cut down to fit.
const (
	maxHeaderValue = 256
	maxHeaders     = 64
	maxMessage     = 4096
	maxErrors      = 100
)

// fitDeadLetter encodes dl, leaving out, one after the other and only as far as needed, the original body (raw;
// kept as an excerpt), the length of header values and the number of headers, and the length of the message and
// of the errors list, so that the encoding is at most limit bytes.
func fitDeadLetter(dl *DeadLetter, raw []byte, limit int) ([]byte, error) {
	shrink := []func(){
		func() {
			if dl.Original.Data != "" {
				dl.Original.dropData(raw)
			}
		},
		func() {
			names := make([]string, 0, len(dl.Original.Headers))
			for k := range dl.Original.Headers {
				names = append(names, k)
			}
			sort.Strings(names)
			short := map[string][]string{}
			for i, k := range names {
				if i == maxHeaders {
					break
				}
				vs := dl.Original.Headers[k]
				cut := make([]string, 0, len(vs))
				for _, v := range vs[:min(len(vs), 4)] {
					cut = append(cut, truncateText(v, maxHeaderValue))
				}
				short[truncateText(k, maxHeaderValue)] = cut
			}
			dl.Original.Headers, dl.Original.Truncated = short, true
		},
		func() {
			dl.Message = truncateText(dl.Message, maxMessage)
			if len(dl.Errors) > maxErrors {
				dl.Errors = dl.Errors[:maxErrors]
			}
			dl.Excerpt = truncateText(dl.Excerpt, maxMessage)
		},
	}
	for i := 0; ; i++ {
		b, err := marshalText(dl)
		if err != nil || len(b) <= limit || i == len(shrink) {
			if err == nil && len(b) > limit {
				return nil, fmt.Errorf("dead letter of %d bytes does not fit in %d bytes", len(b), limit)
			}
			return b, err
		}
		shrink[i]()
	}
}

// marshalText is json.Marshal without escaping <, > and &: dead letters are read by people.
func marshalText(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// truncateText cuts s to at most n bytes at a character boundary, marking the cut with "…".
func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// resultEvent builds the result CloudEvent of the input event in, with the given id.
func (w *Worker) resultEvent(in *event.Event, id string, steps []StepOutcome, completed, now time.Time) (*event.Event, error) {
	ev := event.New()
	ev.SetID(id)
	ev.SetSource(w.cfg.Source)
	ev.SetType(in.Type() + ".processed")
	ev.SetSubject(in.Subject())
	ev.SetTime(now)
	ev.SetExtension("causationid", in.ID())
	if ug, ok := Extension(in, "ug"); ok {
		ev.SetExtension("ug", ug)
	}
	ev.SetDataSchema(ResultSchema)
	out := make([]StepOutcome, len(steps))
	for i, s := range steps {
		s.At = time.Time{}
		out[i] = s
	}
	res := Result{EventID: in.ID(), EventType: in.Type(), Steps: out, CompletedAt: completed}
	if r, ok := Extension(in, ReplayExtension); ok {
		res.ReplayOf, _ = r.(string)
	}
	if err := ev.SetData(event.ApplicationJSON, res); err != nil {
		return nil, err
	}
	return &ev, nil
}

func resultMsgID(key string) string { return "ponte-result-" + strings.TrimPrefix(key, "ev.") }

// replayMsgID is the id of the result answering a re-publication (stream sequence seq) of a completed event.
func replayMsgID(key string, seq uint64) string { return fmt.Sprintf("%s-%d", resultMsgID(key), seq) }

// fieldErrors extracts per-field errors from err: a *schemas.ValidationError, or anything with a
// FieldPairs() [][2]string method (field, message), such as a downstream API's validation answer.
func fieldErrors(err error) []FieldError {
	if ve, ok := errors.AsType[*schemas.ValidationError](err); ok {
		return ve.Errors
	}
	var pairs interface{ FieldPairs() [][2]string }
	if errors.As(err, &pairs) {
		var out []FieldError
		for _, p := range pairs.FieldPairs() {
			out = append(out, FieldError{Field: p[0], Message: p[1]})
		}
		return out
	}
	return nil
}
