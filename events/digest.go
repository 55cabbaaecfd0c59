package events

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
)

// Digest returns what identifies the content of ev: a SHA-256 of its type, subject, the extensions named (those
// its type requires, such as ug) and its data in canonical form (object keys sorted, no insignificant space,
// numbers by value), so that the same event published again in another mode, or re-serialised by its publisher,
// has the same digest. Data that is not JSON is digested as it is.
func Digest(ev *event.Event, extensions []string) string { return digestOf(ev, extensions, nil) }

// digestOf is Digest, with the event's data already decoded (JSON numbers as json.Number, as the schema
// validation decodes it) when decoded is not nil, so that the data is not decoded a second time.
func digestOf(ev *event.Event, extensions []string, decoded any) string {
	h := sha256.New()
	write := func(s string) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	write(ev.Type())
	write(ev.Subject())
	for _, x := range extensions {
		v, _ := Extension(ev, x)
		write(x + "=" + fmt.Sprint(v))
	}
	var c []byte
	var err error
	if decoded != nil {
		c, err = appendCanonical(make([]byte, 0, len(ev.Data())), decoded)
	} else {
		c, err = canonicalJSON(ev.Data())
	}
	if err == nil {
		h.Write(c)
	} else {
		h.Write(ev.Data())
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Extension returns the CloudEvent extension name (lower case) of ev, without copying every extension as
// ev.Extensions() does.
func Extension(ev *event.Event, name string) (any, bool) {
	if c, ok := ev.Context.(*event.EventContextV1); ok {
		v, ok := c.Extensions[name]
		return v, ok
	}
	v, ok := ev.Extensions()[name]
	return v, ok
}

// canonicalJSON re-encodes JSON with object keys sorted, no insignificant white space and every number written
// as its exact value (150000.00 and 150000 are the same number).
func canonicalJSON(data []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return appendCanonical(make([]byte, 0, len(data)), v)
}

// appendCanonical appends the canonical form of v (decoded with json.Number numbers) to b: strings and keys as
// encoding/json writes them, numbers as big.Rat's RatString of their value. Ledger records keep digests made this
// way, so its output must never change.
func appendCanonical(b []byte, v any) ([]byte, error) {
	var err error
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			if b, err = appendCanonical(b, v[k]); err != nil {
				return nil, err
			}
		}
		b = append(b, '}')
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendCanonical(b, e); err != nil {
				return nil, err
			}
		}
		b = append(b, ']')
	case json.Number:
		return appendNumber(b, v)
	case string:
		b = appendJSONString(b, v)
	case bool:
		b = strconv.AppendBool(b, v)
	case nil:
		b = append(b, "null"...)
	default:
		vb, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		b = append(b, vb...)
	}
	return b, nil
}

// appendNumber appends the exact value of n as big.Rat's RatString writes it: an integer as itself ("-0" as
// "0"), any other number as the lowest fraction ("1.50" as "3/2", "150000.00" as "150000").
func appendNumber(b []byte, n json.Number) ([]byte, error) {
	s := string(n)
	if s != "" && !strings.ContainsAny(s, ".eE") {
		if s == "-0" {
			return append(b, '0'), nil
		}
		return append(b, s...), nil // JSON integers have no leading zeros: already RatString's form
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, fmt.Errorf("number %s", s)
	}
	return append(b, r.RatString()...), nil
}

// appendJSONString appends s quoted as json.Marshal quotes it (HTML characters, U+2028, U+2029 and invalid
// UTF-8 escaped), copying it as it is when it holds nothing to escape.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return appendMarshalled(b, s)
		}
	}
	if !isASCII(s) && (!utf8.ValidString(s) || strings.ContainsRune(s, '\u2028') || strings.ContainsRune(s, '\u2029')) {
		return appendMarshalled(b, s)
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendMarshalled(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always encodes
	return append(b, q...)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
