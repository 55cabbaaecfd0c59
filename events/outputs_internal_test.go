package events

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// TestFitDeadLetter checks that a dead letter is cut down only as far as the limit needs, in order: the body to
// an excerpt, then header values and count, then the message and errors; and that a limit nothing can meet is an
// error, not a dead letter too large to publish.
func TestFitDeadLetter(t *testing.T) {
	raw := []byte(strings.Repeat("b", 300<<10))
	build := func() *DeadLetter {
		h := map[string][]string{}
		for i := range 100 {
			h[strings.Repeat("k", 3)+string(rune('a'+i%26))+strings.Repeat("x", i)] = []string{strings.Repeat("v", 2<<10)}
		}
		errs := make([]FieldError, 500)
		for i := range errs {
			errs[i] = FieldError{Field: "/f", Message: strings.Repeat("m", 100)}
		}
		return &DeadLetter{Reason: ReasonSchemaViolation, Message: strings.Repeat("é", 20<<10), Errors: errs, Attempts: 1,
			Original: Original{Subject: "person.hired", Headers: h, Data: base64.StdEncoding.EncodeToString(raw), Size: len(raw)}}
	}
	tests := []struct {
		name              string
		limit             int
		data, shortHeader bool // whole body kept; headers untouched
		shortMessage      bool
	}{
		{"fits whole", 2 << 20, true, true, false},
		{"body to an excerpt", 400 << 10, false, true, false},
		{"headers shortened", 200 << 10, false, false, false},
		{"message and errors shortened", 40 << 10, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dl := build()
			b, err := fitDeadLetter(dl, raw, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > tt.limit {
				t.Fatalf("%d bytes, limit %d", len(b), tt.limit)
			}
			var got DeadLetter
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			o := got.Original
			if (o.Data != "") != tt.data || o.Truncated == tt.data {
				t.Errorf("data kept %v, truncated %v; want data %v", o.Data != "", o.Truncated, tt.data)
			}
			if !tt.data {
				ex, _ := base64.StdEncoding.DecodeString(o.Excerpt)
				if len(ex) != ExcerptSize || o.Size != len(raw) {
					t.Errorf("excerpt %d bytes, size %d", len(ex), o.Size)
				}
			}
			if untouched := len(o.Headers) == 100; untouched != tt.shortHeader {
				t.Errorf("%d headers, want them untouched: %v", len(o.Headers), tt.shortHeader)
			}
			if short := len(got.Message) <= maxMessage && len(got.Errors) == maxErrors; short != tt.shortMessage {
				t.Errorf("message %d bytes, %d errors; want shortened: %v", len(got.Message), len(got.Errors), tt.shortMessage)
			}
			if !strings.HasSuffix(got.Message, "é") && !strings.HasSuffix(got.Message, "…") {
				t.Errorf("message cut inside a character: %q", got.Message[len(got.Message)-4:])
			}
		})
	}
	if _, err := fitDeadLetter(build(), raw, 1<<10); err == nil {
		t.Error("a 1 KiB limit was met")
	}
}
