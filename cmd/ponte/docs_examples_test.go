package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/ponte-dev/ponte/events"
	"github.com/ponte-dev/ponte/schemas"
)

// docExample is one publishable example of docs/events.md: its name, and how to publish it.
type docExample struct {
	name    string
	id      string // the CloudEvent id its outcome is found by ("" until published, for ponte publish)
	publish func(t *testing.T, d *devInstance) string
}

// docExamples reads docs/events.md and returns, in the page's order, every example an upstream team could publish:
// the `nats pub` command, the structured events, and the data examples of the input types.
func docExamples(t *testing.T) []docExample {
	t.Helper()
	md, err := os.ReadFile("../../docs/events.md")
	if err != nil {
		t.Fatal(err)
	}
	catalog, err := schemas.New()
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)(<!-- (example|structured): (\\S+) -->\\s*)?```(json|sh)\\n(.*?)```")
	var out []docExample
	for _, m := range block.FindAllStringSubmatch(string(md), -1) {
		kind, ref, lang, body := m[2], m[3], m[4], m[5]
		switch {
		case lang == "sh" && strings.Contains(body, "nats pub "):
			subject, headers, payload := parseNATSPub(t, body)
			out = append(out, docExample{name: "nats pub " + subject, id: headers.Get("ce-id"), publish: func(t *testing.T, d *devInstance) string {
				msg := &nats.Msg{Subject: subject, Header: headers, Data: []byte(payload)}
				if _, err := d.js.PublishMsg(context.Background(), msg); err != nil {
					t.Fatal(err)
				}
				return headers.Get("ce-id")
			}})
		case kind == "structured":
			var env struct {
				ID   string `json:"id"`
				Type string `json:"type"`
			}
			if err := json.Unmarshal([]byte(body), &env); err != nil {
				t.Fatalf("structured %s: %v", ref, err)
			}
			out = append(out, docExample{name: "structured " + ref, id: env.ID, publish: func(t *testing.T, d *devInstance) string {
				msg := nats.NewMsg(env.Type)
				msg.Header.Set("content-type", events.ContentTypeStructured)
				msg.Data = []byte(body)
				if _, err := d.js.PublishMsg(context.Background(), msg); err != nil {
					t.Fatal(err)
				}
				return env.ID
			}})
		case kind == "example":
			typ := strings.TrimSuffix(ref, ".json")
			if i := strings.IndexByte(typ[strings.IndexByte(typ, '.')+1:], '.'); i >= 0 {
				typ = typ[:strings.IndexByte(typ, '.')+1+i] // person.hired.overrides → person.hired
			}
			if !catalog.Known(typ) {
				continue // an output example (result, dead letter)
			}
			id := "docs-" + strings.TrimSuffix(ref, ".json")
			out = append(out, docExample{name: "example " + ref, id: id, publish: func(t *testing.T, d *devInstance) string {
				args := []string{typ, "--id", id, "--data", body}
				if strings.HasPrefix(typ, "contract.") {
					args = append(args, "--ug", "001001")
				}
				if out, err := d.publishCLI(args...); err != nil {
					t.Fatalf("ponte publish: %v\n%s", err, out)
				}
				return id
			}})
		}
	}
	return out
}

// parseNATSPub reads a `nats pub SUBJECT -H 'k:v'... 'BODY'` command as a shell would: lines joined at a
// trailing backslash, words split at spaces outside single quotes.
func parseNATSPub(t *testing.T, script string) (string, nats.Header, string) {
	t.Helper()
	line := strings.ReplaceAll(script, "\\\n", " ")
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for _, r := range line {
		switch {
		case r == '\'':
			quoted, inWord = !quoted, true
		case !quoted && (r == ' ' || r == '\n' || r == '\t'):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	if len(words) < 4 || words[0] != "nats" || words[1] != "pub" {
		t.Fatalf("not a nats pub command: %q", words)
	}
	h := nats.Header{}
	var rest []string
	for i := 3; i < len(words); i++ {
		if words[i] == "-H" && i+1 < len(words) {
			k, v, _ := strings.Cut(words[i+1], ":")
			h.Add(k, v)
			i++
			continue
		}
		rest = append(rest, words[i])
	}
	if len(rest) != 1 {
		t.Fatalf("nats pub: want one body argument, got %q", rest)
	}
	return words[2], h, rest[0]
}

// TestDocsExamplesWorkAgainstPonteDev publishes every example of docs/events.md, unchanged and in the order of the
// page, to `ponte dev` with the shipped configuration and fixtures, and requires the outcome the page documents
// for each: a result.
func TestDocsExamplesWorkAgainstPonteDev(t *testing.T) {
	examples := docExamples(t)
	if len(examples) < 9 {
		t.Fatalf("found %d publishable examples in docs/events.md; the parser is broken", len(examples))
	}
	d := startDev(t)
	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			id := ex.publish(t, d)
			o := d.waitOutcome(id)
			if o.stream != "PONTE_RESULTS" {
				t.Fatalf("dead-lettered: %s", o.ev.Data())
			}
			r := o.result(t)
			var steps []string
			for _, s := range r.Steps {
				steps = append(steps, fmt.Sprintf("%s.%s %s", s.Target, s.Operation, s.Status))
			}
			t.Logf("%s: %s", id, strings.Join(steps, ", "))
		})
	}
}
