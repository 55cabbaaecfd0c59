package schemas

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// docsPath is the catalogue for publishers. Its examples are marked with an HTML comment before the code block:
// "<!-- example: <testdata file> -->" for a data document, "<!-- structured: <type> -->" for a whole CloudEvent.
const docsPath = "../docs/events.md"

var docBlock = regexp.MustCompile("(?s)<!-- (example|structured): (\\S+) -->\\s*```json\\n(.*?)```")

func TestDocsExamples(t *testing.T) {
	md, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	c := newCatalog(t)
	shown := map[string]bool{}
	blocks := docBlock.FindAllSubmatch(md, -1)
	for _, m := range blocks {
		kind, ref, body := string(m[1]), string(m[2]), m[3]
		t.Run(kind+" "+ref, func(t *testing.T) {
			switch kind {
			case "example":
				name := schemaOf(ref)
				shown[name] = true
				if !sameJSON(t, body, readValid(t, ref)) {
					t.Errorf("the example differs from testdata/valid/%s", ref)
				}
				if err := validate(c, name, body); err != nil {
					t.Errorf("%v", err)
				}
			case "structured":
				checkStructured(t, c, ref, body)
			}
		})
	}
	for _, name := range Names() {
		if name != "asyncapi" && !shown[name] {
			t.Errorf("%s shows no example of %s", docsPath, name)
		}
	}
	for _, typ := range c.Types() {
		if !strings.Contains(string(md), "### `"+typ+"`") {
			t.Errorf("%s has no section for %s", docsPath, typ)
		}
	}
}

func checkStructured(t *testing.T, c *Catalog, typ string, body []byte) {
	t.Helper()
	var event map[string]json.RawMessage
	if err := json.Unmarshal(body, &event); err != nil {
		t.Fatal(err)
	}
	required := []string{"specversion", "id", "source", "type", "subject", "time", "data"}
	if strings.HasPrefix(typ, "contract.") {
		required = append(required, "ug")
	}
	for _, attr := range required {
		if _, ok := event[attr]; !ok {
			t.Errorf("no %s attribute", attr)
		}
	}
	var attrType, dataschema string
	_ = json.Unmarshal(event["type"], &attrType)
	_ = json.Unmarshal(event["dataschema"], &dataschema)
	if attrType != typ {
		t.Errorf("type = %q, want %q", attrType, typ)
	}
	if err := c.Validate(typ, dataschema, event["data"]); err != nil {
		t.Errorf("data: %v", err)
	}
}

// TestDocsPublishCommand checks the body of the `nats pub` example.
func TestDocsPublishCommand(t *testing.T) {
	md, err := os.ReadFile(docsPath)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```sh\\nnats pub (\\S+) .*'(\\{.*\\})'\\n```").FindSubmatch(md)
	if m == nil {
		t.Fatalf("%s: no nats pub example", docsPath)
	}
	if err := newCatalog(t).Validate(string(m[1]), "", m[2]); err != nil {
		t.Errorf("nats pub example: %v", err)
	}
}
