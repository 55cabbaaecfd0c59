package main

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const chartSchema = "../../charts/ponte/values.schema.json"

// chartOwnedKeys are the configuration keys the chart (charts/ponte) sets itself, so that its values schema
// refuses them under config: the secrets (files of a mounted Secret, never inline values), the NATS
// credentials and TLS files, the collector's headers and TLS files, the drain timeouts and the spans' flush
// at shutdown (set beside the grace period) and http.listen (from opsPort).
func chartOwnedKeys() []string {
	return []string{
		"nats.credsFile", "nats.nkeySeedFile", "nats.userFile", "nats.passwordFile",
		"nats.tls.caFile", "nats.tls.certFile", "nats.tls.keyFile", "nats.drainTimeout",
		"worker.drainTimeout", "http.listen",
		"tracing.headersFile", "tracing.tls.caFile", "tracing.tls.certFile", "tracing.tls.keyFile", "tracing.shutdownTimeout",
		"zeev.token", "zeev.tokenFile", "zeev.password", "zeev.passwordFile",
		"senior.token", "senior.tokenFile", "senior.secret", "senior.secretFile", "senior.password", "senior.passwordFile",
		"cidades.ugs.<ug>.clientSecret", "cidades.ugs.<ug>.clientSecretFile",
	}
}

// schemaNode is the part of a JSON Schema the walk reads.
type schemaNode struct {
	Type                 any                    `json:"type"`
	Ref                  string                 `json:"$ref"`
	Properties           map[string]*schemaNode `json:"properties"`
	PatternProperties    map[string]*schemaNode `json:"patternProperties"`
	AdditionalProperties any                    `json:"additionalProperties"`
	Items                *schemaNode            `json:"items"`
}

// types returns the node's JSON types, "null" left out.
func (n *schemaNode) types() []string {
	var ts []string
	switch t := n.Type.(type) {
	case string:
		ts = []string{t}
	case []any:
		for _, v := range t {
			if v != "null" {
				ts = append(ts, v.(string))
			}
		}
	}
	return ts
}

// docTypeOf is the type column of docs/configuration.md for a schema node: durations are strings with the
// duration pattern (#/definitions/duration or signedDuration), the other definitions are strings.
func docTypeOf(t *testing.T, path string, n *schemaNode, defs map[string]*schemaNode) string {
	if n.Ref != "" {
		name := strings.TrimPrefix(n.Ref, "#/definitions/")
		if name == "duration" || name == "signedDuration" {
			return "duration"
		}
		d, ok := defs[name]
		if !ok {
			t.Fatalf("%s: $ref %s is not defined", path, n.Ref)
		}
		return docTypeOf(t, path, d, defs)
	}
	ts := n.types()
	if len(ts) != 1 {
		return "types " + strings.Join(ts, ",")
	}
	switch ts[0] {
	case "array":
		if n.Items == nil {
			return "array of anything"
		}
		return "list of " + docTypeOf(t, path, n.Items, defs) + "s"
	case "string", "integer", "number", "boolean":
		return ts[0]
	}
	return ts[0]
}

// TestChartSchemaMirrorsConfig fails when the config section of the chart's values.schema.json and the
// configuration (the yaml tags of Config) differ: a key of Config neither in the schema nor set by the chart,
// a key of the schema Config does not have, a type that disagrees, an object of the schema that lets unknown
// keys through, or a key the chart sets that Config does not have.
func TestChartSchemaMirrorsConfig(t *testing.T) {
	b, err := os.ReadFile(chartSchema)
	if err != nil {
		t.Fatal(err)
	}
	var root struct {
		Properties  map[string]*schemaNode `json:"properties"`
		Definitions map[string]*schemaNode `json:"definitions"`
	}
	if err := json.Unmarshal(b, &root); err != nil {
		t.Fatal(err)
	}
	schema := map[string]string{} // key path -> doc type
	var walk func(path string, n *schemaNode)
	walk = func(path string, n *schemaNode) {
		switch {
		case n.Ref == "" && slices.Contains(n.types(), "object"):
			if n.AdditionalProperties != false {
				t.Errorf("%s: additionalProperties is not false: unknown keys would pass", path)
			}
			for k, c := range n.Properties {
				walk(path+"."+k, c)
			}
			// Map entries: the configuration's only map is cidades.ugs, whose keys are UG codes.
			for _, c := range n.PatternProperties {
				walk(path+".<ug>", c)
			}
		case n.Ref == "" && slices.Contains(n.types(), "array") && n.Items != nil && slices.Contains(n.Items.types(), "object"):
			walk(path+"[]", n.Items)
		default:
			schema[strings.TrimPrefix(path, "config.")] = docTypeOf(t, path, n, root.Definitions)
		}
	}
	cfg, ok := root.Properties["config"]
	if !ok {
		t.Fatal("the schema has no config")
	}
	walk("config", cfg)

	owned := chartOwnedKeys()
	keys := map[string]string{}
	for _, k := range configKeys(t) {
		keys[k.path] = docType(k.typ)
	}
	for path, typ := range keys {
		switch want, inSchema := schema[path]; {
		case slices.Contains(owned, path) && inSchema:
			t.Errorf("%s: the chart sets it, but its schema lets config.%s through", chartSchema, path)
		case slices.Contains(owned, path):
		case !inSchema:
			t.Errorf("%s: no config.%s (%s): add it to the schema, or to chartOwnedKeys if the chart sets it", chartSchema, path, typ)
		case want != typ:
			t.Errorf("%s: config.%s is %s, the configuration's is %s", chartSchema, path, want, typ)
		}
	}
	for path := range schema {
		if _, ok := keys[path]; !ok {
			t.Errorf("%s: config.%s is not a key of the configuration", chartSchema, path)
		}
	}
	for _, path := range owned {
		if _, ok := keys[path]; !ok {
			t.Errorf("chartOwnedKeys: %s is not a key of the configuration", path)
		}
	}
}

// chartReadKeys are keys of config that the chart reads itself, beside those it sets: tracing.enabled decides the
// collector's mounts, the grace period and the NetworkPolicy's rule, tracing.endpoint that rule's port.
func chartReadKeys() []string { return []string{"tracing.enabled", "tracing.endpoint"} }

// TestChartRefusesOwnedVariables: the chart's extraEnv cannot set the variable of a key the chart sets or reads
// (chartOwnedKeys, chartReadKeys), which would override it behind the chart's back: drain and flush timeouts
// the grace period does not cover, a secret in plain text in the Deployment, tracing without its mounts. The
// variables of the other keys stay allowed.
func TestChartRefusesOwnedVariables(t *testing.T) {
	b, err := os.ReadFile(chartSchema)
	if err != nil {
		t.Fatal(err)
	}
	var root struct {
		Properties struct {
			ExtraEnv struct {
				Items struct {
					Properties struct {
						Name struct {
							Not struct {
								AnyOf []struct {
									Enum    []string `json:"enum"`
									Pattern string   `json:"pattern"`
								} `json:"anyOf"`
							} `json:"not"`
						} `json:"name"`
					} `json:"properties"`
				} `json:"items"`
			} `json:"extraEnv"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(b, &root); err != nil {
		t.Fatal(err)
	}
	refused := func(name string) bool {
		for _, alt := range root.Properties.ExtraEnv.Items.Properties.Name.Not.AnyOf {
			if slices.Contains(alt.Enum, name) {
				return true
			}
			if alt.Pattern != "" && regexp.MustCompile(alt.Pattern).MatchString(name) {
				return true
			}
		}
		return false
	}
	keys := map[string]configKey{}
	for _, k := range configKeys(t) {
		keys[k.path] = k
	}
	for _, path := range append(chartOwnedKeys(), chartReadKeys()...) {
		k, ok := keys[path]
		if !ok {
			t.Errorf("%s is not a key of the configuration", path)
			continue
		}
		env := slices.Clone(k.env)
		for i, p := range env {
			if p == "<ug>" {
				env[i] = "001001"
			}
		}
		if name := envName(env); !refused(name) {
			t.Errorf("%s: extraEnv may set %s (%s), which the chart sets or reads", chartSchema, name, path)
		}
	}
	for _, name := range []string{"PONTE_WORKER_CONCURRENCY", "PONTE_TRACING_SAMPLE_RATIO", "PONTE_CIDADES_UGS_001001_CLIENT_ID", "GOGC", "HTTPS_PROXY"} {
		if refused(name) {
			t.Errorf("%s: extraEnv may not set %s, a variable the chart leaves to the values", chartSchema, name)
		}
	}
	if !refused("GOMEMLIMIT") {
		t.Errorf("%s: extraEnv may set GOMEMLIMIT, which the chart sets from goMemLimitPercent", chartSchema)
	}
}
