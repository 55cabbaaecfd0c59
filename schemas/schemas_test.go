package schemas

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

var inputTypes = []string{
	"contract.amended", "contract.cancelled", "contract.signed",
	"person.hired", "person.moved", "person.terminated",
}

func newCatalog(t testing.TB) *Catalog {
	t.Helper()
	c, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func TestCatalogTypes(t *testing.T) {
	c := newCatalog(t)
	if got := c.Types(); !slices.Equal(got, inputTypes) {
		t.Fatalf("Types() = %q, want %q", got, inputTypes)
	}
	c.Types()[0] = "changed"
	if got := c.Types()[0]; got != inputTypes[0] {
		t.Errorf("Types() shares its slice: after a caller's change Types()[0] = %q", got)
	}
	for _, typ := range inputTypes {
		t.Run(typ, func(t *testing.T) {
			if !c.Known(typ) {
				t.Errorf("Known(%q) = false", typ)
			}
			if got, want := c.URL(typ), "https://ponte.dev/schemas/"+typ+"/v1.json"; got != want {
				t.Errorf("URL(%q) = %q, want %q", typ, got, want)
			}
		})
	}
	for _, typ := range []string{"", "result", "deadletter", "asyncapi", "person", "person.hired.processed", "Person.Hired"} {
		t.Run("unknown "+typ, func(t *testing.T) {
			if c.Known(typ) {
				t.Errorf("Known(%q) = true", typ)
			}
			if got := c.URL(typ); got != "" {
				t.Errorf("URL(%q) = %q, want \"\"", typ, got)
			}
			err := c.Validate(typ, "", []byte(`{}`))
			if !errors.Is(err, ErrUnknownType) {
				t.Fatalf("Validate(%q) = %v, want ErrUnknownType", typ, err)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", typ)) {
				t.Errorf("Validate(%q) error %q does not name the type", typ, err)
			}
		})
	}
}

func TestValidateDataschema(t *testing.T) {
	c := newCatalog(t)
	data := readValid(t, "person.hired.json")
	tests := []struct {
		name       string
		dataschema string
		wantErr    bool
	}{
		{"absent means current", "", false},
		{"v1", "https://ponte.dev/schemas/person.hired/v1.json", false},
		{"another type's schema", "https://ponte.dev/schemas/person.moved/v1.json", true},
		{"unknown version", "https://ponte.dev/schemas/person.hired/v2.json", true},
		{"http instead of https", "http://ponte.dev/schemas/person.hired/v1.json", true},
		{"with a fragment", "https://ponte.dev/schemas/person.hired/v1.json#", true},
		{"a relative reference", "person.hired/v1.json", true},
		{"an output schema", "https://ponte.dev/schemas/result/v1.json", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.Validate("person.hired", tt.dataschema, data)
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			verr := asValidationError(t, err)
			if len(verr.Errors) != 1 || verr.Errors[0].Field != "dataschema" {
				t.Fatalf("Errors = %+v, want one error on field dataschema", verr.Errors)
			}
			msg := verr.Errors[0].Message
			if !strings.Contains(msg, fmt.Sprintf("%q", tt.dataschema)) {
				t.Errorf("message %q does not name the dataschema %q", msg, tt.dataschema)
			}
			if !strings.Contains(msg, c.URL("person.hired")) {
				t.Errorf("message %q does not name the known version %q", msg, c.URL("person.hired"))
			}
		})
	}
}

func TestValidateNotAnObject(t *testing.T) {
	c := newCatalog(t)
	tests := []struct {
		name, data, want string
	}{
		{"nil", "", "data is empty; want a JSON object"},
		{"blank", " \n\t", "data is empty; want a JSON object"},
		{"truncated", `{"person":`, "data is not valid JSON: unexpected EOF"},
		{"not JSON", `person=alan`, "data is not valid JSON: invalid character 'p' looking for beginning of value"},
		{"two values", `{} {}`, "data is not valid JSON: invalid character after top-level value"},
		{"array", `[]`, "wrong type: want object, got array"},
		{"null", `null`, "wrong type: want object, got null"},
		{"string", `"{}"`, "wrong type: want object, got string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			verr := asValidationError(t, c.Validate("person.hired", "", []byte(tt.data)))
			want := []FieldError{{Field: "", Message: tt.want}}
			if !reflect.DeepEqual(verr.Errors, want) {
				t.Errorf("Errors = %+v, want %+v", verr.Errors, want)
			}
			if verr.Type != "person.hired" {
				t.Errorf("Type = %q, want person.hired", verr.Type)
			}
		})
	}
}

func TestValidateOutput(t *testing.T) {
	c := newCatalog(t)
	if err := c.ValidateOutput("result", readValid(t, "result.json")); err != nil {
		t.Errorf("ValidateOutput(result): %v", err)
	}
	verr := asValidationError(t, c.ValidateOutput("result", []byte(`{"eventId":"x","eventType":"person.hired","steps":[{"target":"ldap","operation":"x","status":"done"}]}`)))
	want := []FieldError{
		{Field: "", Message: `missing property "completedAt"`},
		{Field: "/steps/0/target", Message: `must be one of "zeev", "senior", "cidades"`},
	}
	if !reflect.DeepEqual(verr.Errors, want) {
		t.Errorf("Errors = %+v, want %+v", verr.Errors, want)
	}
	// A key with "/" and "~" is escaped in the pointer (RFC 6901).
	verr = asValidationError(t, c.ValidateOutput("result", []byte(`{"eventId":"x","eventType":"person.hired","completedAt":"2026-12-01T08:00:00Z","steps":[{"target":"zeev","operation":"x","status":"done","ids":{"a/b~c":true}}]}`)))
	want = []FieldError{{Field: "/steps/0/ids/a~1b~0c", Message: "wrong type: want integer or string, got boolean"}}
	if !reflect.DeepEqual(verr.Errors, want) {
		t.Errorf("Errors = %+v, want %+v", verr.Errors, want)
	}
	for _, name := range []string{"person.hired", "asyncapi", ""} {
		err := c.ValidateOutput(name, []byte(`{}`))
		if err == nil || errors.As(err, new(*ValidationError)) {
			t.Errorf("ValidateOutput(%q) = %v, want an error that is not a *ValidationError", name, err)
		}
	}
}

func TestValidateConcurrently(t *testing.T) {
	c := newCatalog(t)
	valid := readValid(t, "person.hired.json")
	invalid := []byte(`{"person":{"id":"1","name":"Al","username":"a b","email":"x","cpf":"1"},"hireDate":"2026-12-01T08:00:00"}`)
	want := c.Validate("person.hired", "", invalid).Error()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if err := c.Validate("person.hired", "", valid); err != nil {
					t.Errorf("valid: %v", err)
					return
				}
				if got := c.Validate("person.hired", "", invalid); got == nil || got.Error() != want {
					t.Errorf("invalid: got %v, want %s", got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestNames(t *testing.T) {
	want := append([]string{"asyncapi", "deadletter", "result"}, inputTypes...)
	slices.Sort(want)
	if got := Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
}

func TestDocument(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			b, err := Document(name)
			if err != nil {
				t.Fatalf("Document: %v", err)
			}
			if name == "asyncapi" {
				if !strings.Contains(string(b), "asyncapi: 3.0.0") {
					t.Errorf("Document(asyncapi) is not the AsyncAPI document:\n%.200s", b)
				}
				return
			}
			var doc map[string]any
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatalf("not JSON: %v", err)
			}
			if got, want := doc["$id"], "https://ponte.dev/schemas/"+name+"/v1.json"; got != want {
				t.Errorf("$id = %v, want %s", got, want)
			}
			if got := doc["title"]; got != name {
				t.Errorf("title = %v, want %s", got, name)
			}
		})
	}
	for _, name := range []string{"", "person", "v1/person.hired", "person.hired.json", "asyncapi.yaml"} {
		t.Run("unknown "+name, func(t *testing.T) {
			_, err := Document(name)
			if !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("Document(%q) = %v, want fs.ErrNotExist", name, err)
			}
			if !strings.Contains(err.Error(), "person.hired") {
				t.Errorf("error %q does not list the known names", err)
			}
		})
	}
}

// TestSchemaConventions checks what makes the schemas good public documentation and strict contracts: a title
// and description on each document, a description on every property, closed objects, and no format that nothing
// asserts (the library silently ignores unknown formats).
func TestSchemaConventions(t *testing.T) {
	asserted := map[string]bool{"email": true, "uri": true}
	for _, f := range formats() {
		asserted[f.Name] = true
	}
	for _, name := range Names() {
		if name == "asyncapi" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			doc := document(t, name)
			if doc["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
				t.Errorf("$schema = %v, want draft 2020-12", doc["$schema"])
			}
			for _, k := range []string{"title", "description"} {
				if s, _ := doc[k].(string); s == "" {
					t.Errorf("no %s", k)
				}
			}
			walkSchemas(doc, "", func(ptr string, s map[string]any) {
				if props, ok := s["properties"].(map[string]any); ok {
					if s["additionalProperties"] != false {
						t.Errorf("%s: has properties but additionalProperties is %v, want false", ptr, s["additionalProperties"])
					}
					for p, ps := range props {
						if d, _ := ps.(map[string]any)["description"].(string); d == "" {
							t.Errorf("%s/properties/%s: no description", ptr, p)
						}
					}
				}
				if f, ok := s["format"].(string); ok && !asserted[f] {
					t.Errorf("%s: format %q is not asserted by the catalogue", ptr, f)
				}
				if req, ok := s["required"].([]any); ok {
					props, _ := s["properties"].(map[string]any)
					for _, r := range req {
						if _, ok := props[r.(string)]; !ok {
							t.Errorf("%s: required %q is not among the properties", ptr, r)
						}
					}
				}
			})
		})
	}
}

// TestSharedDefinitions keeps the $defs that several documents repeat (each document is self-contained) identical.
func TestSharedDefinitions(t *testing.T) {
	seen := map[string]any{}
	from := map[string]string{}
	for _, name := range Names() {
		if name == "asyncapi" {
			continue
		}
		defs, _ := document(t, name)["$defs"].(map[string]any)
		for k, v := range defs {
			if prev, ok := seen[k]; ok && !reflect.DeepEqual(prev, v) {
				t.Errorf("$defs/%s differs between %s and %s", k, from[k], name)
			}
			seen[k], from[k] = v, name
		}
	}
	if len(seen) < 6 {
		t.Errorf("found only %d shared definitions; the walk is broken", len(seen))
	}
}

func TestFormats(t *testing.T) {
	tests := []struct {
		format, value string
		ok            bool
	}{
		{"cpf", "529.982.247-25", true},
		{"cpf", "52998224725", true},
		{"cpf", "529.982.247-26", false},
		{"cpf", "11.222.333/0001-81", false},
		{"cnpj", "11.222.333/0001-81", true},
		{"cnpj", "11444777000161", true},
		{"cnpj", "11.222.333/0001-82", false},
		{"cnpj", "529.982.247-25", false},
		{"cpf-or-cnpj", "529.982.247-25", true},
		{"cpf-or-cnpj", "11.222.333/0001-81", true},
		{"cpf-or-cnpj", "111.444.777-36", false},
		{"cpf-or-cnpj", "11.444.777/0001-62", false},
		{"cpf-or-cnpj", "529.982.247/25", false},
		{"date", "2026-12-01", true},
		{"date", "2028-02-29", true},
		{"date", "2026-02-29", false},
		{"date", "2026-12-1", false},
		{"date", "01/12/2026", false},
		{"date", "2026-12-01T00:00:00Z", false},
		{"date-time", "2026-12-01T08:00:00-03:00", true},
		{"date-time", "2026-12-01T11:00:00Z", true},
		{"date-time", "2026-12-01T08:00:00.123456789+05:30", true},
		{"date-time", "2026-12-01T08:00:00", false},
		{"date-time", "2026-12-01T08:00:00.000", false},
		{"date-time", "2026-12-01T08:00:00-0300", false},
		{"date-time", "2026-12-01 08:00:00-03:00", false},
		{"date-time", "2026-12-01T24:00:00Z", false},
		{"date-time", "2026-12-01", false},
		{"date-time", "2026-12-01T08:00-03:00", false},
	}
	byName := map[string]func(any) error{}
	for _, f := range formats() {
		byName[f.Name] = f.Validate
	}
	for _, tt := range tests {
		t.Run(tt.format+" "+tt.value, func(t *testing.T) {
			err := byName[tt.format](tt.value)
			if (err == nil) != tt.ok {
				t.Errorf("%s(%q) = %v, want ok=%v", tt.format, tt.value, err, tt.ok)
			}
		})
	}
	t.Run("non-strings are left to type", func(t *testing.T) {
		for name, validate := range byName {
			if err := validate(json.Number("52998224725")); err != nil {
				t.Errorf("%s(number) = %v, want nil", name, err)
			}
		}
	})
}

func document(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := Document(name)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return doc
}

// walkSchemas calls fn for s and every subschema below it (properties, items, additionalProperties, $defs, allOf).
func walkSchemas(s map[string]any, ptr string, fn func(ptr string, s map[string]any)) {
	fn(ptr, s)
	for _, kw := range []string{"properties", "$defs"} {
		if m, ok := s[kw].(map[string]any); ok {
			for k, v := range m {
				if sub, ok := v.(map[string]any); ok {
					walkSchemas(sub, ptr+"/"+kw+"/"+k, fn)
				}
			}
		}
	}
	for _, kw := range []string{"items", "additionalProperties"} {
		if sub, ok := s[kw].(map[string]any); ok {
			walkSchemas(sub, ptr+"/"+kw, fn)
		}
	}
	if all, ok := s["allOf"].([]any); ok {
		for i, v := range all {
			if sub, ok := v.(map[string]any); ok {
				walkSchemas(sub, fmt.Sprintf("%s/allOf/%d", ptr, i), fn)
			}
		}
	}
}

func asValidationError(t *testing.T, err error) *ValidationError {
	t.Helper()
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("error = %v (%T), want a *ValidationError", err, err)
	}
	if len(verr.Errors) == 0 {
		t.Fatalf("*ValidationError with no Errors")
	}
	return verr
}

// TestValidateInvalidUTF8 checks that bytes that are not UTF-8 anywhere in data are a violation at their JSON
// pointer, not silently replaced by U+FFFD (which is what decoding JSON in Go does).
func TestValidateInvalidUTF8(t *testing.T) {
	c := newCatalog(t)
	valid := readValid(t, "person.hired.json")
	tests := []struct {
		name string
		data string
		ptrs []string
	}{
		{"in a value", strings.Replace(string(valid), `"Alan Cooper"`, "\"Alan \xff\xfe Cooper\"", 1), []string{"/person/name"}},
		{"in two values", strings.Replace(strings.Replace(string(valid), `"TI"`, "\"T\xc3\"", 1), `"ANALISTA"`, "\"AN\x80\"", 1), []string{"/orgUnit", "/position"}},
		{"in a key", strings.Replace(string(valid), `"orgUnit"`, "\"org\xffUnit\"", 1), []string{""}},
		{"in an array item", "{\"person\":{},\"zeev\":{\"groups\":[\"G-TI\",\"G-\xe2\x82\"]}}", []string{"/zeev/groups/1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			verr := asValidationError(t, c.Validate("person.hired", "", []byte(tt.data)))
			var ptrs []string
			for _, fe := range verr.Errors {
				ptrs = append(ptrs, fe.Field)
				if !strings.Contains(fe.Message, "not valid UTF-8") {
					t.Errorf("%s: %q does not say it is not UTF-8", fe.Field, fe.Message)
				}
			}
			if !reflect.DeepEqual(ptrs, tt.ptrs) {
				t.Errorf("fields %q, want %q (%+v)", ptrs, tt.ptrs, verr.Errors)
			}
		})
	}
}
