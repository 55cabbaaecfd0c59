package schemas

import (
	"encoding/json"
	"io/fs"
	"path"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func asyncAPI(t *testing.T) map[string]any {
	t.Helper()
	b, err := Document("asyncapi")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("asyncapi.yaml: %v", err)
	}
	return doc
}

func TestAsyncAPIDocument(t *testing.T) {
	doc := asyncAPI(t)
	if got := doc["asyncapi"]; got != "3.0.0" {
		t.Fatalf("asyncapi = %v, want 3.0.0", got)
	}
	info, _ := doc["info"].(map[string]any)
	if info["title"] != "ponte" || info["version"] != "1.0.0" || info["description"] == nil {
		t.Errorf("info = %v, want title ponte, version 1.0.0 and a description", info)
	}
	server, _ := lookup(doc, "/servers/nats").(map[string]any)
	if server["protocol"] != "nats" || server["host"] == nil {
		t.Errorf("servers.nats = %v, want protocol nats and a host", server)
	}

	// channel address -> channel id, and channel id -> the actions of the operations on it.
	channels, _ := doc["channels"].(map[string]any)
	byAddress := map[string]string{}
	for id, ch := range channels {
		addr, _ := ch.(map[string]any)["address"].(string)
		byAddress[addr] = id
	}
	actions := map[string][]string{}
	operations, _ := doc["operations"].(map[string]any)
	for id, op := range operations {
		op, _ := op.(map[string]any)
		ref, _ := lookup(op, "/channel/$ref").(string)
		chID, ok := strings.CutPrefix(ref, "#/channels/")
		if !ok {
			t.Errorf("operation %s: channel is %v, want a #/channels/ reference", id, op["channel"])
			continue
		}
		actions[chID] = append(actions[chID], op["action"].(string))
	}

	c := newCatalog(t)
	for _, typ := range c.Types() {
		t.Run(typ, func(t *testing.T) {
			for _, ch := range []struct {
				address, action, payload string
			}{
				{typ, "receive", "./v1/" + typ + ".json"},
				{"ponte.result." + typ + ".{outputId}", "send", "./v1/result.json"},
				{"ponte.dlq." + typ + ".{outputId}", "send", "./v1/deadletter.json"},
			} {
				id, ok := byAddress[ch.address]
				if !ok {
					t.Errorf("no channel with address %s", ch.address)
					continue
				}
				if got := actions[id]; !reflect.DeepEqual(got, []string{ch.action}) {
					t.Errorf("channel %s (%s): operations %v, want one %s", id, ch.address, got, ch.action)
				}
				msgs, _ := lookup(doc, "/channels/"+id+"/messages").(map[string]any)
				if len(msgs) == 0 {
					t.Errorf("channel %s has no messages", id)
				}
				// Every message reaches the type's data schema: directly (binary mode) or as data (structured).
				for mid, m := range msgs {
					ref, _ := m.(map[string]any)["$ref"].(string)
					msg, _ := resolve(doc, ref).(map[string]any)
					payload, _ := lookup(msg, "/payload/schema").(map[string]any)
					if payload["$ref"] != ch.payload && !hasRef(payload, ch.payload) {
						t.Errorf("channel %s message %s: payload %v does not refer to %s", id, mid, payload, ch.payload)
					}
				}
			}
		})
	}
}

// TestAsyncAPIReferences resolves every $ref of the document: a local one to a node of the document, any other to
// an embedded schema file.
func TestAsyncAPIReferences(t *testing.T) {
	doc := asyncAPI(t)
	refs := 0
	walk(doc, func(node map[string]any) {
		ref, ok := node["$ref"].(string)
		if !ok {
			return
		}
		refs++
		if strings.HasPrefix(ref, "#") {
			if resolve(doc, ref) == nil {
				t.Errorf("$ref %s does not resolve in the document", ref)
			}
			return
		}
		p := path.Clean(ref)
		if _, err := fs.Stat(files, p); err != nil || !strings.HasSuffix(p, ".json") {
			t.Errorf("$ref %s is not an embedded schema: %v", ref, err)
		}
	})
	if refs < 50 {
		t.Errorf("found only %d $refs; the walk is broken", refs)
	}
}

// TestAsyncAPIExamples checks that the message examples are the testdata examples, valid against their schema, with
// headers that match the message.
func TestAsyncAPIExamples(t *testing.T) {
	doc := asyncAPI(t)
	c := newCatalog(t)
	for _, typ := range c.Types() {
		t.Run(typ, func(t *testing.T) {
			id := ""
			for chID, ch := range doc["channels"].(map[string]any) {
				if ch.(map[string]any)["address"] == typ {
					id = chID
				}
			}
			examples, _ := lookup(doc, "/components/messages/"+id+"/examples").([]any)
			if len(examples) == 0 {
				t.Fatalf("message %s has no examples", id)
			}
			for i, ex := range examples {
				ex := ex.(map[string]any)
				payload, err := json.Marshal(ex["payload"])
				if err != nil {
					t.Fatal(err)
				}
				if err := c.Validate(typ, "", payload); err != nil {
					t.Errorf("example %d: %v", i, err)
				}
				if !sameJSON(t, payload, readValid(t, typ+".json")) {
					t.Errorf("example %d differs from testdata/valid/%s.json", i, typ)
				}
				h, _ := ex["headers"].(map[string]any)
				if h["ce-type"] != typ || h["ce-dataschema"] != c.URL(typ) {
					t.Errorf("example %d: ce-type %v, ce-dataschema %v; want %s, %s", i, h["ce-type"], h["ce-dataschema"], typ, c.URL(typ))
				}
				if _, ok := h["ce-ug"]; ok != strings.HasPrefix(typ, "contract.") {
					t.Errorf("example %d: ce-ug present = %v, want it on contract events only", i, ok)
				}
			}
		})
	}
}

// lookup returns the node at a JSON pointer below node, or nil.
func lookup(node any, ptr string) any {
	if ptr == "" {
		return node
	}
	for _, tok := range strings.Split(ptr, "/")[1:] {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch n := node.(type) {
		case map[string]any:
			node = n[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n) {
				return nil
			}
			node = n[i]
		default:
			return nil
		}
	}
	return node
}

// resolve returns the node a local reference ("#/a/b") points at, or nil.
func resolve(doc any, ref string) any {
	ptr, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil
	}
	return lookup(doc, ptr)
}

// walk calls fn for every object in node.
func walk(node any, fn func(map[string]any)) {
	switch n := node.(type) {
	case map[string]any:
		fn(n)
		for _, v := range n {
			walk(v, fn)
		}
	case []any:
		for _, v := range n {
			walk(v, fn)
		}
	}
}

func hasRef(node any, ref string) bool {
	found := false
	walk(node, func(m map[string]any) { found = found || m["$ref"] == ref })
	return found
}

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}
