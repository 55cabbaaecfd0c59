package cidades

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ponte-dev/ponte/clients"
)

// sentinel is an error value that is permanent: retrying the same call cannot change it.
type sentinel string

func (e sentinel) Error() string   { return string(e) }
func (e sentinel) Permanent() bool { return true }

// The errors callers branch on, matched with errors.Is. All are permanent (clients.IsPermanent reports true); the
// *ProblemError and *clients.StatusError behind an HTTP answer stay reachable with errors.As.
var (
	// ErrNotFound: HTTP 404 (the contratação does not exist, or belongs to a UG the key does not act for), or no
	// row matched FindContratacao exactly.
	ErrNotFound error = sentinel("cidades: not found")
	// ErrConflict: HTTP 409, a contratação with the same (UG, numeroContrato, anoContrato) already exists.
	ErrConflict error = sentinel("cidades: conflict")
	// ErrForbidden: HTTP 403, a write with a read-only key or a UG outside the key's scope.
	ErrForbidden error = sentinel("cidades: forbidden")
	// ErrUnauthorized: the token endpoint refused the key (HTTP 400 or 401), or an API call still got HTTP 401
	// with a freshly fetched token.
	ErrUnauthorized error = sentinel("cidades: unauthorized")
	// ErrUnknownUG: the call names a UG that Config.UGs does not hold. No request is sent.
	ErrUnknownUG error = sentinel("cidades: UG not configured")
	// ErrInvalid: the arguments were rejected before any request was sent.
	ErrInvalid error = sentinel("cidades: invalid argument")
)

// ProblemError is an HTTP error answer of the API, with the RFC 7807 ProblemDetails fields it carried (all empty
// when the body was something else, e.g. a gateway's 503 page). Fields maps each rejected field, as the server
// names it ("contratado.documento"), to its messages; a dead letter can name the field from it.
//
// It wraps the *clients.StatusError of the answer, so clients.IsPermanent, clients.RetryAfter and errors.As onto
// *clients.StatusError work through it, and it matches ErrNotFound (404), ErrConflict (409), ErrForbidden (403)
// and ErrUnauthorized (401) with errors.Is. The fields are read from the whole response body
// (StatusError.RawBody) after clients.Redact, so no field is lost to the excerpt's length limit and credentials
// and CPF numbers are hidden as in the excerpt. Error() shows them, or the StatusError's excerpt when the body
// held none.
type ProblemError struct {
	Type    string              // "type": a URI naming the problem kind
	Title   string              // "title": a short summary
	Status  int                 // the HTTP status (the answer's, not the body's)
	Detail  string              // "detail": this occurrence
	TraceID string              // "traceId": quote it to TCE-ES support
	Fields  map[string][]string // "errors": messages per field; nil if none
	Err     *clients.StatusError
}

// Error implements error: "cidades create_contratacao: HTTP 400 <title>: <detail> [campo: msg; msg]...".
func (e *ProblemError) Error() string {
	if e.Title == "" && e.Detail == "" && len(e.Fields) == 0 {
		return e.Err.Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: HTTP %d", e.Err.Target, e.Err.Operation, e.Status)
	if e.Title != "" {
		b.WriteString(" " + e.Title)
	} else {
		b.WriteString(" " + http.StatusText(e.Status))
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	for _, f := range e.FieldNames() {
		if msgs := e.Fields[f]; len(msgs) > 0 {
			fmt.Fprintf(&b, " [%s: %s]", f, strings.Join(msgs, "; "))
		} else {
			fmt.Fprintf(&b, " [%s]", f) // no message: an empty list, or the body broke off there
		}
	}
	if e.TraceID != "" {
		b.WriteString(" (traceId " + e.TraceID + ")")
	}
	return clipMessage(b.String())
}

// maxMessage bounds Error(): the answer may be up to 4 MiB, and the message goes to logs and dead letters.
const maxMessage = 2048

// clipMessage folds s onto one line and cuts it to maxMessage bytes on a rune boundary.
func clipMessage(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// Unwrap returns the *clients.StatusError.
func (e *ProblemError) Unwrap() error { return e.Err }

// Is matches the sentinel of the status: ErrNotFound, ErrConflict, ErrForbidden or ErrUnauthorized.
func (e *ProblemError) Is(target error) bool {
	switch e.Status {
	case http.StatusNotFound:
		return target == ErrNotFound
	case http.StatusConflict:
		return target == ErrConflict
	case http.StatusForbidden:
		return target == ErrForbidden
	case http.StatusUnauthorized:
		return target == ErrUnauthorized
	}
	return false
}

// FieldNames returns the names of the rejected fields, sorted; nil if none.
func (e *ProblemError) FieldNames() []string { return slices.Sorted(maps.Keys(e.Fields)) }

// FieldErrors returns the messages for field, matched without regard to case or a leading "$." (ASP.NET names
// fields "Contratado.Documento" or "$.contratado.documento" depending on its settings); nil if none.
func (e *ProblemError) FieldErrors(field string) []string {
	norm := func(s string) string { return strings.ToLower(strings.TrimPrefix(s, "$.")) }
	want := norm(field)
	for f, msgs := range e.Fields {
		if norm(f) == want {
			return msgs
		}
	}
	return nil
}

// problemOf turns a *clients.StatusError (also inside the clients wrappers, see clients.MapStatus) into a
// *ProblemError; any other error is returned unchanged.
func problemOf(err error) error {
	return clients.MapStatus(err, func(se *clients.StatusError) error {
		p := parseProblem(clients.Redact(string(se.RawBody())))
		p.Status, p.Err = se.Status, se
		return p
	})
}

// parseProblem reads what it can of a ProblemDetails body that may be malformed or cut short (at the 4 MiB read
// limit): fields complete before the break are kept.
func parseProblem(body string) *ProblemError {
	p := &ProblemError{}
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return p
	}
	str := func() (string, bool) {
		t, err := dec.Token()
		s, ok := t.(string)
		return s, err == nil && ok
	}
	for dec.More() {
		key, ok := str()
		if !ok {
			return p
		}
		switch strings.ToLower(key) {
		case "type":
			p.Type, _ = str()
		case "title":
			p.Title, _ = str()
		case "detail":
			p.Detail, _ = str()
		case "traceid":
			p.TraceID, _ = str()
		case "errors":
			if !parseFieldErrors(dec, p) {
				return p
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return p
			}
		}
	}
	return p
}

// parseFieldErrors reads {"campo":["msg",...],...} into p.Fields; it reports false if the body ended early.
func parseFieldErrors(dec *json.Decoder, p *ProblemError) bool {
	t, err := dec.Token()
	switch {
	case err != nil:
		return false
	case t == json.Delim('['): // not the documented shape: skip it
		for dec.More() {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return false
			}
		}
		_, err := dec.Token()
		return err == nil
	case t != json.Delim('{'):
		return true
	}
	for dec.More() {
		t, err := dec.Token()
		field, ok := t.(string)
		if err != nil || !ok {
			return false
		}
		if p.Fields == nil {
			p.Fields = make(map[string][]string)
		}
		if _, seen := p.Fields[field]; !seen {
			p.Fields[field] = nil
		}
		t, err = dec.Token()
		if err != nil {
			return false
		}
		switch t {
		case json.Delim('['):
			for dec.More() {
				t, err := dec.Token()
				if err != nil {
					return false
				}
				p.Fields[field] = append(p.Fields[field], tokenString(t))
			}
			if _, err := dec.Token(); err != nil {
				return false
			}
		default:
			p.Fields[field] = append(p.Fields[field], tokenString(t))
		}
	}
	_, err = dec.Token()
	return err == nil
}

func tokenString(t json.Token) string {
	switch v := t.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return "null"
	}
	return fmt.Sprint(t)
}
