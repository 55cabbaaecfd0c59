package events_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/ponte-dev/ponte/events"
	"github.com/ponte-dev/ponte/schemas"
)

// TestReasonsAreOneTaxonomy checks that the dead-letter reasons are the same, in the same order, in the code
// (events.Reasons), the dead-letter JSON Schema, the table of docs/events.md and the AsyncAPI document (whose
// dead-letter messages all refer to that schema, the unrouted channel included).
func TestReasonsAreOneTaxonomy(t *testing.T) {
	b, err := schemas.Document("deadletter")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties struct {
			Reason struct {
				Enum        []string `json:"enum"`
				Description string   `json:"description"`
			} `json:"reason"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatal(err)
	}
	if got := schema.Properties.Reason.Enum; !slices.Equal(got, events.Reasons) {
		t.Errorf("schema enum %q, want events.Reasons %q", got, events.Reasons)
	}
	for _, r := range events.Reasons {
		if !strings.Contains(schema.Properties.Reason.Description, "`"+r+"`") {
			t.Errorf("the schema's reason description does not explain %s", r)
		}
	}

	md, err := os.ReadFile("../docs/events.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(md)[strings.Index(string(md), "### Dead letters"):]
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z]+_[a-z_]+)` \\|").FindAllStringSubmatch(section, -1) {
		documented = append(documented, m[1])
	}
	if !slices.Equal(documented, events.Reasons) {
		t.Errorf("docs/events.md explains %q, want events.Reasons %q", documented, events.Reasons)
	}

	a, err := schemas.Document("asyncapi")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Channels map[string]struct {
			Address  string         `yaml:"address"`
			Messages map[string]any `yaml:"messages"`
		} `yaml:"channels"`
		Components struct {
			Messages map[string]struct {
				Payload struct {
					Schema struct {
						Ref string `yaml:"$ref"`
					} `yaml:"schema"`
				} `yaml:"payload"`
			} `yaml:"messages"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(a, &doc); err != nil {
		t.Fatal(err)
	}
	dlq := map[string]bool{}
	for _, ch := range doc.Channels {
		if strings.HasPrefix(ch.Address, events.DeadLetterPrefix) {
			dlq[ch.Address] = true
		}
	}
	if !dlq[events.OutputSubject(events.DeadLetterPrefix, events.UnroutedType, "{outputId}")] {
		t.Errorf("the AsyncAPI document has no %s%s channel; dead-letter channels: %v", events.DeadLetterPrefix, events.UnroutedType, dlq)
	}
	for name, m := range doc.Components.Messages {
		if strings.HasSuffix(name, "Deadlettered") && m.Payload.Schema.Ref != "./v1/deadletter.json" {
			t.Errorf("AsyncAPI message %s: payload %q, want the dead-letter schema", name, m.Payload.Schema.Ref)
		}
	}
}
