package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// canonicalBefore is canonicalJSON as it was first written (json.Marshal for every key and string, big.Rat for
// every number). Ledger records keep digests made with it, so the faster writer must give the same bytes.
func canonicalBefore(data []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	var write func(v any) error
	write = func(v any) error {
		switch v := v.(type) {
		case map[string]any:
			b.WriteByte('{')
			for i, k := range slices.Sorted(maps.Keys(v)) {
				if i > 0 {
					b.WriteByte(',')
				}
				kb, _ := json.Marshal(k)
				b.Write(kb)
				b.WriteByte(':')
				if err := write(v[k]); err != nil {
					return err
				}
			}
			b.WriteByte('}')
		case []any:
			b.WriteByte('[')
			for i, e := range v {
				if i > 0 {
					b.WriteByte(',')
				}
				if err := write(e); err != nil {
					return err
				}
			}
			b.WriteByte(']')
		case json.Number:
			r, ok := new(big.Rat).SetString(v.String())
			if !ok {
				return fmt.Errorf("number %s", v)
			}
			b.WriteString(r.RatString())
		default:
			vb, err := json.Marshal(v)
			if err != nil {
				return err
			}
			b.Write(vb)
		}
		return nil
	}
	if err := write(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// TestDigestOfADecodedEventIsTheDigest pins the digest of a whole event (type, subject, extension and data framing):
// the one the ledger's records hold, whichever path computes it.
func TestDigestOfADecodedEventIsTheDigest(t *testing.T) {
	ev := event.New()
	ev.SetID("ev-1")
	ev.SetSource("urn:example:hr")
	ev.SetType("person.hired")
	ev.SetSubject("E-1042")
	ev.SetExtension("ug", "001001")
	if err := ev.SetData(event.ApplicationJSON, json.RawMessage(`{"b":1.50,"a":"Prestação"}`)); err != nil {
		t.Fatal(err)
	}
	const want = "f87f649f220c020e09f1dbd21f0c082f" // Digest as written before the fast canonical form (6dda6d0)
	if got := Digest(&ev, []string{"ug"}); got != want {
		t.Errorf("Digest = %s, want %s", got, want)
	}
	decoded, err := jsonschema.UnmarshalJSON(bytes.NewReader(ev.Data()))
	if err != nil {
		t.Fatal(err)
	}
	if got := digestOf(&ev, []string{"ug"}, decoded); got != want {
		t.Errorf("digestOf with the decoded data = %s, want %s", got, want)
	}
}

// TestCanonicalJSONKeepsItsForm checks that the canonical form digests are made of is byte for byte the one the
// ledger's records were made with, on the cases where a faster writer could differ.
func TestCanonicalJSONKeepsItsForm(t *testing.T) {
	for _, in := range []string{
		`{"b":1,"a":[true,false,null],"c":{"z":"x","y":""}}`,
		`[0, -0, 1, -1, 12345678901234567890123, 150000.00, 1.50, -2.5e3, 1E-2, 0.0, 1e400]`,
		`{"html":"<a href=\"x\">&amp;</a>","ctl":"tab\there\nnl\u0001","bs":"c:\\dir"}`,
		`{"pt":"Prestação de serviços","ls":"a\u2028b\u2029c","emoji":"😀","nul":"\u0000"}`,
		`{"bad":"\udc00 lone surrogate","keys":{"ç":1,"c":2,"<":3,"Z":4}}`,
		`"just a string"`, `42`, `null`, `{}`, `[]`,
	} {
		want, werr := canonicalBefore([]byte(in))
		got, gerr := canonicalJSON([]byte(in))
		if (werr != nil) != (gerr != nil) || !bytes.Equal(got, want) {
			t.Errorf("canonicalJSON(%s)\n got %s (%v)\nwant %s (%v)", in, got, gerr, want, werr)
		}
		// The worker's path: the value the schema validation decoded (jsonschema.UnmarshalJSON), written by
		// appendCanonical (digestOf with decoded data).
		decoded, err := jsonschema.UnmarshalJSON(strings.NewReader(in))
		if err != nil {
			t.Fatalf("jsonschema.UnmarshalJSON(%s): %v", in, err)
		}
		if got, gerr := appendCanonical(nil, decoded); (werr != nil) != (gerr != nil) || !bytes.Equal(got, want) {
			t.Errorf("appendCanonical of the validator's value (%s)\n got %s (%v)\nwant %s (%v)", in, got, gerr, want, werr)
		}
	}
	// Invalid UTF-8 is not JSON a decoder refuses: it becomes U+FFFD, as json.Marshal writes it.
	in := []byte("{\"k\":\"a\xffb\"}")
	want, _ := canonicalBefore(in)
	if got, _ := canonicalJSON(in); !bytes.Equal(got, want) {
		t.Errorf("invalid UTF-8: got %q, want %q", got, want)
	}
}
