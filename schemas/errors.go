package schemas

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/message"
)

// ErrUnknownType is returned, wrapped with the type, for an event type that is not in the catalogue.
// Test for it with errors.Is.
var ErrUnknownType = errors.New("schemas: unknown event type")

// ValidationError reports that an event's data does not conform to the schema of its type, with every violation
// found. Invalid JSON and an unknown dataschema are ValidationErrors too. Retrieve it with errors.As.
type ValidationError struct {
	// Type is the event type whose schema was applied, e.g. "person.hired".
	Type string
	// Errors lists every violation, sorted by Field and then Message, without duplicates. It is never empty.
	Errors []FieldError
}

// FieldError is one violation.
type FieldError struct {
	// Field says where the problem is. It is a JSON pointer into the data, "" for the data as a whole; for a
	// missing or unknown property it points at the object that should (or should not) hold it, so it always
	// resolves in the data. For a problem with a CloudEvent attribute rather than the data it is the attribute's
	// name, e.g. "dataschema", and for a NATS header that carries no attribute the header's name, e.g.
	// "content-type" (a name never starts with "/").
	Field string `json:"field"`
	// Message is a short English sentence naming the problem, e.g. `missing property "email"`. Messages never
	// quote values of personal data (CPF, CNPJ, e-mail, username), so the error can be logged as it is.
	Message string `json:"message"`
}

// Error returns the type followed by every violation, "Field: Message", joined by "; ". A violation of the data
// as a whole has no field prefix.
func (e *ValidationError) Error() string {
	return e.Type + ": " + JoinFieldErrors(e.Errors)
}

// JoinFieldErrors renders errs on one line, "Field: Message" (just the message for an empty field), joined by
// "; ": the form of ValidationError's message and of a dead letter's.
func JoinFieldErrors(errs []FieldError) string {
	var b strings.Builder
	for i, fe := range errs {
		if i > 0 {
			b.WriteString("; ")
		}
		if fe.Field != "" {
			b.WriteString(fe.Field)
			b.WriteString(": ")
		}
		b.WriteString(fe.Message)
	}
	return b.String()
}

// newValidationError builds a *ValidationError for eventType from the library's error tree. Only the leaves of the
// tree are kept: the inner nodes ("validation failed", "$ref failed") say nothing the leaves do not.
func newValidationError(eventType string, verr *jsonschema.ValidationError, p *message.Printer) *ValidationError {
	var out []FieldError
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		switch e.ErrorKind.(type) {
		case *kind.AnyOf, *kind.OneOf, *kind.Not, *kind.Contains:
			// The causes of these are the failures of alternatives, not violations on their own.
		default:
			if len(e.Causes) > 0 {
				for _, c := range e.Causes {
					walk(c)
				}
				return
			}
		}
		out = append(out, fieldErrors(e, p)...)
	}
	walk(verr)
	slices.SortFunc(out, func(a, b FieldError) int {
		return cmp.Or(cmp.Compare(a.Field, b.Field), cmp.Compare(a.Message, b.Message))
	})
	return &ValidationError{Type: eventType, Errors: slices.Compact(out)}
}

// fieldErrors describes one leaf of the library's error tree in ponte's words, for the keywords the catalogue uses.
// A missing or unknown property becomes one FieldError per property.
func fieldErrors(e *jsonschema.ValidationError, p *message.Printer) []FieldError {
	field := pointer(e.InstanceLocation)
	one := func(format string, args ...any) []FieldError {
		return []FieldError{{Field: field, Message: fmt.Sprintf(format, args...)}}
	}
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		out := make([]FieldError, len(k.Missing))
		for i, name := range k.Missing {
			out[i] = FieldError{Field: field, Message: fmt.Sprintf("missing property %q", name)}
		}
		return out
	case *kind.AdditionalProperties:
		out := make([]FieldError, len(k.Properties))
		for i, name := range k.Properties {
			out[i] = FieldError{Field: field, Message: fmt.Sprintf("unknown property %q", name)}
		}
		return out
	case *kind.Type:
		return one("wrong type: want %s, got %s", strings.Join(k.Want, " or "), k.Got)
	case *kind.Enum:
		if len(k.Want) == 1 {
			return one("must be %s", jsonText(k.Want[0]))
		}
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = jsonText(w)
		}
		return one("must be one of %s", strings.Join(want, ", "))
	case *kind.Format:
		reason := ""
		if k.Err != nil {
			reason = ": " + k.Err.Error()
		}
		if s, ok := k.Got.(string); ok && !piiFormat(k.Want) {
			return one("%q is not a valid %s%s", s, k.Want, reason)
		}
		return one("not a valid %s%s", k.Want, reason)
	case *kind.MinLength:
		return one("too short: want at least %s, got %d", plural(k.Want, "character"), k.Got)
	case *kind.MaxLength:
		return one("too long: want at most %s, got %d", plural(k.Want, "character"), k.Got)
	case *kind.Pattern:
		return one("does not match the pattern %q", k.Want)
	case *kind.Minimum:
		return one("must be at least %s, got %s", number(k.Want), number(k.Got))
	case *kind.Maximum:
		return one("must be at most %s, got %s", number(k.Want), number(k.Got))
	case *kind.ExclusiveMinimum:
		return one("must be greater than %s, got %s", number(k.Want), number(k.Got))
	case *kind.MultipleOf:
		return one("must be a multiple of %s, got %s", number(k.Want), number(k.Got))
	case *kind.MinItems:
		return one("too few items: want at least %d, got %d", k.Want, k.Got)
	case *kind.UniqueItems:
		return one("items %d and %d are equal; items must be unique", k.Duplicates[0], k.Duplicates[1])
	case *kind.MinProperties:
		return one("too few properties: want at least %d, got %d", k.Want, k.Got)
	default: // a keyword the catalogue does not use yet: the library's own wording
		return one("%s", k.LocalizedString(p))
	}
}

// pointer returns the JSON pointer (RFC 6901) of a location given as its reference tokens.
func pointer(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		if strings.ContainsAny(t, "~/") {
			t = strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1")
		}
		b.WriteString(t)
	}
	return b.String()
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func number(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// invalidUTF8 returns a violation at the JSON pointer of every string in data (a value, or an object key: then the
// pointer is the object's) whose bytes are not UTF-8. data is not UTF-8; if it is not JSON either, the JSON error.
func invalidUTF8(data []byte) []FieldError {
	dec := json.NewDecoder(bytes.NewReader(data))
	// stack holds one frame per open object or array: the key or index of the value being read, and, in an
	// object, whether the next string is a key.
	type frame struct {
		array bool
		key   string
		index int
		inKey bool
	}
	var stack []frame
	ptr := func() string {
		tokens := make([]string, len(stack))
		for i, f := range stack {
			if f.array {
				tokens[i] = strconv.Itoa(f.index)
			} else {
				tokens[i] = f.key
			}
		}
		return pointer(tokens)
	}
	parent := func() string {
		if len(stack) == 0 {
			return ""
		}
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		p := ptr()
		stack = append(stack, top)
		return p
	}
	var out []FieldError
	prev := int64(0)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return []FieldError{{Message: "data is not valid JSON: " + err.Error()}}
		}
		end := dec.InputOffset()
		raw := data[prev:end]
		prev = end
		var top *frame
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				stack = append(stack, frame{array: t == '[', inKey: t == '{'})
				continue
			case '}', ']':
				stack = stack[:len(stack)-1]
			}
		case string:
			if top != nil && !top.array && top.inKey {
				top.key, top.inKey = t, false
				if !utf8.Valid(raw) {
					out = append(out, FieldError{Field: parent(), Message: "a property name is not valid UTF-8"})
				}
				continue
			}
			if !utf8.Valid(raw) {
				out = append(out, FieldError{Field: ptr(), Message: "not valid UTF-8: the text has bytes that are not characters"})
			}
		}
		// A value ended: advance the enclosing array or object.
		if len(stack) > 0 {
			f := &stack[len(stack)-1]
			if f.array {
				f.index++
			} else {
				f.inKey = true
			}
		}
	}
	if len(out) == 0 {
		// Only possible if the bad bytes are outside any string, which is not JSON.
		return []FieldError{{Message: "data is not valid UTF-8"}}
	}
	return out
}
