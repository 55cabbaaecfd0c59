package schemas

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The valid examples live in testdata/valid/<name>[.<variant>].json, where <name> is an input type or "result" or
// "deadletter". docs/events.md shows the same documents (see docs_test.go).

func readValid(t testing.TB, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "valid", file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// schemaOf returns the catalogue name a testdata file is an example of: its name without ".json", shortened at
// the last dot until it is a known name.
func schemaOf(file string) string {
	name := strings.TrimSuffix(file, ".json")
	known := map[string]bool{}
	for _, n := range Names() {
		known[n] = true
	}
	for !known[name] {
		i := strings.LastIndexByte(name, '.')
		if i < 0 {
			return ""
		}
		name = name[:i]
	}
	return name
}

// validate checks data against name, an input type or an output document.
func validate(c *Catalog, name string, data []byte) error {
	if c.Known(name) {
		return c.Validate(name, "", data)
	}
	return c.ValidateOutput(name, data)
}

func TestValidExamples(t *testing.T) {
	c := newCatalog(t)
	files, err := filepath.Glob(filepath.Join("testdata", "valid", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, path := range files {
		file := filepath.Base(path)
		t.Run(file, func(t *testing.T) {
			name := schemaOf(file)
			if name == "" {
				t.Fatalf("%s is not named after a catalogue document", file)
			}
			covered[name] = true
			if err := validate(c, name, readValid(t, file)); err != nil {
				t.Errorf("%v", err)
			}
			if c.Known(name) {
				if err := c.Validate(name, c.URL(name), readValid(t, file)); err != nil {
					t.Errorf("with dataschema: %v", err)
				}
			}
		})
	}
	for _, name := range Names() {
		if name != "asyncapi" && !covered[name] {
			t.Errorf("no example of %s in testdata/valid", name)
		}
	}
}

// deleted, as an edit's value, removes the property.
var deleted = &struct{}{}

// edit sets (or deletes) the value at a JSON pointer of a document.
type edit struct {
	ptr   string
	value any
}

// example returns the valid example file with the edits applied, as JSON.
func example(t *testing.T, file string, edits ...edit) []byte {
	t.Helper()
	var doc any
	if err := json.Unmarshal(readValid(t, file), &doc); err != nil {
		t.Fatal(err)
	}
	for _, e := range edits {
		tokens := strings.Split(e.ptr, "/")[1:]
		parent := doc
		for _, tok := range tokens[:len(tokens)-1] {
			switch p := parent.(type) {
			case map[string]any:
				parent = p[tok]
			case []any:
				i, _ := strconv.Atoi(tok)
				parent = p[i]
			}
		}
		last := tokens[len(tokens)-1]
		switch p := parent.(type) {
		case map[string]any:
			if e.value == deleted {
				delete(p, last)
			} else {
				p[last] = e.value
			}
		case []any:
			i, _ := strconv.Atoi(last)
			p[i] = e.value
		default:
			t.Fatalf("edit %s: no object or array at its parent", e.ptr)
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestValidVariants(t *testing.T) {
	c := newCatalog(t)
	tests := []struct {
		name  string
		typ   string
		file  string
		edits []edit
	}{
		{"hired without registry", "person.hired", "person.hired.json", []edit{{"/person/registry", deleted}}},
		{"hired with bare CPF", "person.hired", "person.hired.json", []edit{{"/person/cpf", "11144477735"}}},
		{"hired in UTC", "person.hired", "person.hired.json", []edit{{"/hireDate", "2026-12-01T11:00:00Z"}}},
		{"hired with fractional seconds", "person.hired", "person.hired.json", []edit{{"/hireDate", "2026-12-01T08:00:00.5-03:00"}}},
		{"hired with no groups", "person.hired", "person.hired.overrides.json", []edit{{"/zeev/groups", []any{}}}},
		{"hired with username of symbols", "person.hired", "person.hired.json", []edit{{"/person/username", "a_b@c-d.e"}}},
		{"hired with an empty zeev override", "person.hired", "person.hired.json", []edit{{"/zeev", map[string]any{}}}},
		{"moved with overrides", "person.moved", "person.moved.json", []edit{
			{"/zeev", map[string]any{"positions": []any{map[string]any{"teamCode": "FIN", "positionCode": "COORD"}}}},
			{"/senior", map[string]any{"roleIds": []any{12, 15}}},
		}},
		{"terminated with the whole person", "person.terminated", "person.terminated.json", []edit{
			{"/person/name", "Alan Cooper"}, {"/person/email", "alan.cooper@example.com"}, {"/person/registry", "000123"},
		}},
		{"signed by a person (CPF)", "contract.signed", "contract.signed.json", []edit{{"/contrato/contratado/documento", "529.982.247-25"}}},
		{"signed with a bare CNPJ", "contract.signed", "contract.signed.json", []edit{{"/contrato/contratado/documento", "11444777000161"}}},
		{"signed with the smallest value", "contract.signed", "contract.signed.json", []edit{{"/contrato/valorGlobal", 0.01}}},
		{"signed with cents", "contract.signed", "contract.signed.json", []edit{{"/contrato/valorGlobal", json.Number("1234567.89")}}},
		{"signed in 1900", "contract.signed", "contract.signed.json", []edit{{"/contrato/ano", 1900}}},
		{"signed in 2100", "contract.signed", "contract.signed.json", []edit{{"/contrato/ano", 2100}}},
		{"signed without the optional fields", "contract.signed", "contract.signed.json", []edit{
			{"/contrato/modalidadeLicitacao", deleted}, {"/contrato/numeroProcessoAdministrativo", deleted}, {"/contrato/fundamentoLegal", deleted},
		}},
		{"amended objeto only", "contract.amended", "contract.amended.json", []edit{
			{"/contrato/valorGlobal", deleted}, {"/contrato/vigencia", deleted}, {"/contrato/objeto", "Novo objeto"},
		}},
		{"cancelled without motivo", "contract.cancelled", "contract.cancelled.json", []edit{{"/motivo", deleted}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := c.Validate(tt.typ, "", example(t, tt.file, tt.edits...)); err != nil {
				t.Errorf("%v", err)
			}
		})
	}
}

func TestInvalidExamples(t *testing.T) {
	c := newCatalog(t)
	const (
		cpfMessage  = "not a valid cpf: want 11 digits, optionally punctuated as ddd.ddd.ddd-dd, with valid check digits"
		docMessage  = "not a valid cpf-or-cnpj: want a CPF (11 digits) or a CNPJ (14 digits) with valid check digits"
		dateMessage = " is not a valid date: want a calendar date as YYYY-MM-DD, e.g. 2026-12-01"
	)
	tests := []struct {
		name  string
		typ   string
		file  string
		edits []edit
		want  []FieldError // Message "" checks the field only
	}{
		// person.hired
		{"missing email", "person.hired", "person.hired.json", []edit{{"/person/email", deleted}},
			[]FieldError{{"/person", `missing property "email"`}}},
		{"missing hireDate", "person.hired", "person.hired.json", []edit{{"/hireDate", deleted}},
			[]FieldError{{"", `missing property "hireDate"`}}},
		{"missing everything", "person.hired", "person.hired.json", []edit{
			{"/person", deleted}, {"/hireDate", deleted}, {"/orgUnit", deleted}, {"/position", deleted},
		}, []FieldError{
			{"", `missing property "hireDate"`}, {"", `missing property "orgUnit"`},
			{"", `missing property "person"`}, {"", `missing property "position"`},
		}},
		{"bad CPF check digit", "person.hired", "person.hired.json", []edit{{"/person/cpf", "529.982.247-24"}},
			[]FieldError{{"/person/cpf", cpfMessage}}},
		{"CPF of one repeated digit", "person.hired", "person.hired.json", []edit{{"/person/cpf", "111.111.111-11"}},
			[]FieldError{{"/person/cpf", cpfMessage}}},
		{"CPF as a number", "person.hired", "person.hired.json", []edit{{"/person/cpf", 52998224725}},
			[]FieldError{{"/person/cpf", "wrong type: want string, got number"}}},
		{"hireDate without offset", "person.hired", "person.hired.json", []edit{{"/hireDate", "2026-12-01T08:00:00"}},
			[]FieldError{{"/hireDate", `"2026-12-01T08:00:00" is not a valid date-time: the UTC offset is missing; want e.g. 2026-12-01T08:00:00-03:00 or 2026-12-01T11:00:00Z`}}},
		{"hireDate as a date", "person.hired", "person.hired.json", []edit{{"/hireDate", "2026-12-01"}},
			[]FieldError{{"/hireDate", `"2026-12-01" is not a valid date-time: want an RFC 3339 date-time with a UTC offset, e.g. 2026-12-01T08:00:00-03:00`}}},
		{"bad email", "person.hired", "person.hired.json", []edit{{"/person/email", "alan.cooper.example.com"}},
			[]FieldError{{"/person/email", "not a valid email: missing @"}}},
		{"email too long", "person.hired", "person.hired.json", []edit{{"/person/email", strings.Repeat("a", 60) + "@" + strings.Repeat("b", 56) + ".example.com"}},
			[]FieldError{{"/person/email", "too long: want at most 128 characters, got 129"}}},
		{"unknown property at the root", "person.hired", "person.hired.json", []edit{{"/salary", 1000}},
			[]FieldError{{"", `unknown property "salary"`}}},
		{"unknown property in person", "person.hired", "person.hired.json", []edit{{"/person/nickname", "Al"}},
			[]FieldError{{"/person", `unknown property "nickname"`}}},
		{"username with a space", "person.hired", "person.hired.json", []edit{{"/person/username", "alan cooper"}},
			[]FieldError{{"/person/username", `does not match the pattern "^[A-Za-z0-9._@-]+$"`}}},
		{"name too short", "person.hired", "person.hired.json", []edit{{"/person/name", "Al"}},
			[]FieldError{{"/person/name", "too short: want at least 3 characters, got 2"}}},
		{"empty id", "person.hired", "person.hired.json", []edit{{"/person/id", ""}},
			[]FieldError{{"/person/id", "too short: want at least 1 character, got 0"}}},
		{"bad licenseType", "person.hired", "person.hired.overrides.json", []edit{{"/zeev/licenseType", "admin"}},
			[]FieldError{{"/zeev/licenseType", `must be one of "actor", "requester"`}}},
		{"no positions", "person.hired", "person.hired.overrides.json", []edit{{"/zeev/positions", []any{}}},
			[]FieldError{{"/zeev/positions", "too few items: want at least 1, got 0"}}},
		{"position without team", "person.hired", "person.hired.overrides.json", []edit{{"/zeev/positions/0/teamCode", deleted}},
			[]FieldError{{"/zeev/positions/0", `missing property "teamCode"`}}},
		{"duplicate role", "person.hired", "person.hired.overrides.json", []edit{{"/senior/roleIds", []any{2, 3, 2}}},
			[]FieldError{{"/senior/roleIds", "items 0 and 2 are equal; items must be unique"}}},
		{"role id zero", "person.hired", "person.hired.overrides.json", []edit{{"/senior/roleIds/1", 0}},
			[]FieldError{{"/senior/roleIds/1", "must be at least 1, got 0"}}},
		{"fractional personId", "person.hired", "person.hired.overrides.json", []edit{{"/senior/personId", 29.5}},
			[]FieldError{{"/senior/personId", "wrong type: want integer, got number"}}},
		{"unknown zeev field", "person.hired", "person.hired.overrides.json", []edit{{"/zeev/isAdmin", true}},
			[]FieldError{{"/zeev", `unknown property "isAdmin"`}}},
		// person.moved and person.terminated
		{"moved without effectiveDate", "person.moved", "person.moved.json", []edit{{"/effectiveDate", deleted}},
			[]FieldError{{"", `missing property "effectiveDate"`}}},
		{"moved with hireDate", "person.moved", "person.moved.json", []edit{{"/hireDate", "2026-12-01T08:00:00-03:00"}},
			[]FieldError{{"", `unknown property "hireDate"`}}},
		{"terminated without cpf", "person.terminated", "person.terminated.json", []edit{{"/person/cpf", deleted}},
			[]FieldError{{"/person", `missing property "cpf"`}}},
		{"terminated with orgUnit", "person.terminated", "person.terminated.json", []edit{{"/orgUnit", "TI"}},
			[]FieldError{{"", `unknown property "orgUnit"`}}},
		{"terminationDate without offset", "person.terminated", "person.terminated.json", []edit{{"/terminationDate", "2026-12-01T08:00:00"}},
			[]FieldError{{"/terminationDate", ""}}},
		// contract.signed
		{"negative valorGlobal", "contract.signed", "contract.signed.json", []edit{{"/contrato/valorGlobal", -5}},
			[]FieldError{{"/contrato/valorGlobal", "must be greater than 0, got -5"}}},
		{"zero valorGlobal", "contract.signed", "contract.signed.json", []edit{{"/contrato/valorGlobal", 0}},
			[]FieldError{{"/contrato/valorGlobal", "must be greater than 0, got 0"}}},
		{"valorGlobal with fractions of a cent", "contract.signed", "contract.signed.json", []edit{{"/contrato/valorGlobal", json.Number("10.005")}},
			[]FieldError{{"/contrato/valorGlobal", "must be a multiple of 0.01, got 10.005"}}},
		{"valorGlobal as text", "contract.signed", "contract.signed.json", []edit{{"/contrato/valorGlobal", "150000.00"}},
			[]FieldError{{"/contrato/valorGlobal", "wrong type: want number, got string"}}},
		{"vigencia.fim not a date", "contract.signed", "contract.signed.json", []edit{{"/contrato/vigencia/fim", "09/03/2027"}},
			[]FieldError{{"/contrato/vigencia/fim", `"09/03/2027"` + dateMessage}}},
		{"vigencia.fim on 30 February", "contract.signed", "contract.signed.json", []edit{{"/contrato/vigencia/fim", "2027-02-30"}},
			[]FieldError{{"/contrato/vigencia/fim", `"2027-02-30"` + dateMessage}}},
		{"dataAssinatura as a date-time", "contract.signed", "contract.signed.json", []edit{{"/contrato/dataAssinatura", "2026-03-10T00:00:00-03:00"}},
			[]FieldError{{"/contrato/dataAssinatura", `"2026-03-10T00:00:00-03:00"` + dateMessage}}},
		{"bad CNPJ", "contract.signed", "contract.signed.json", []edit{{"/contrato/contratado/documento", "11.222.333/0001-82"}},
			[]FieldError{{"/contrato/contratado/documento", docMessage}}},
		{"document of 12 digits", "contract.signed", "contract.signed.json", []edit{{"/contrato/contratado/documento", "112223330001"}},
			[]FieldError{{"/contrato/contratado/documento", docMessage}}},
		{"ano before 1900", "contract.signed", "contract.signed.json", []edit{{"/contrato/ano", 1899}},
			[]FieldError{{"/contrato/ano", "must be at least 1900, got 1899"}}},
		{"ano after 2100", "contract.signed", "contract.signed.json", []edit{{"/contrato/ano", 2101}},
			[]FieldError{{"/contrato/ano", "must be at most 2100, got 2101"}}},
		{"ano as text", "contract.signed", "contract.signed.json", []edit{{"/contrato/ano", "2026"}},
			[]FieldError{{"/contrato/ano", "wrong type: want integer, got string"}}},
		{"numero too long", "contract.signed", "contract.signed.json", []edit{{"/contrato/numero", strings.Repeat("9", 31)}},
			[]FieldError{{"/contrato/numero", "too long: want at most 30 characters, got 31"}}},
		{"missing objeto and vigencia", "contract.signed", "contract.signed.json", []edit{{"/contrato/objeto", deleted}, {"/contrato/vigencia", deleted}},
			[]FieldError{{"/contrato", `missing property "objeto"`}, {"/contrato", `missing property "vigencia"`}}},
		{"vigencia without fim", "contract.signed", "contract.signed.json", []edit{{"/contrato/vigencia/fim", deleted}},
			[]FieldError{{"/contrato/vigencia", `missing property "fim"`}}},
		{"ug in data", "contract.signed", "contract.signed.json", []edit{{"/ug", "042"}},
			[]FieldError{{"", `unknown property "ug"`}}},
		// contract.amended and contract.cancelled
		{"amendment without a change", "contract.amended", "contract.amended.json", []edit{{"/contrato/valorGlobal", deleted}, {"/contrato/vigencia", deleted}},
			[]FieldError{{"/contrato", "too few properties: want at least 3, got 2"}}},
		{"amendment without ano", "contract.amended", "contract.amended.json", []edit{{"/contrato/ano", deleted}, {"/contrato/vigencia", deleted}},
			[]FieldError{{"/contrato", `missing property "ano"`}, {"/contrato", "too few properties: want at least 3, got 2"}}},
		{"amendment with a negative value", "contract.amended", "contract.amended.json", []edit{{"/contrato/valorGlobal", -1}},
			[]FieldError{{"/contrato/valorGlobal", "must be greater than 0, got -1"}}},
		{"amendment with half a vigencia", "contract.amended", "contract.amended.json", []edit{{"/contrato/vigencia/inicio", deleted}},
			[]FieldError{{"/contrato/vigencia", `missing property "inicio"`}}},
		{"cancellation with objeto", "contract.cancelled", "contract.cancelled.json", []edit{{"/contrato/objeto", "x"}},
			[]FieldError{{"/contrato", `unknown property "objeto"`}}},
		{"motivo too long", "contract.cancelled", "contract.cancelled.json", []edit{{"/motivo", strings.Repeat("é", 501)}},
			[]FieldError{{"/motivo", "too long: want at most 500 characters, got 501"}}},
		{"cancellation without numero", "contract.cancelled", "contract.cancelled.json", []edit{{"/contrato/numero", deleted}},
			[]FieldError{{"/contrato", `missing property "numero"`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			verr := asValidationError(t, c.Validate(tt.typ, "", example(t, tt.file, tt.edits...)))
			if verr.Type != tt.typ {
				t.Errorf("Type = %q, want %q", verr.Type, tt.typ)
			}
			got := verr.Errors
			if len(got) != len(tt.want) {
				t.Fatalf("Errors = %+v, want %+v", got, tt.want)
			}
			for i, w := range tt.want {
				if got[i].Field != w.Field || (w.Message != "" && got[i].Message != w.Message) {
					t.Errorf("Errors[%d] = %+v, want %+v", i, got[i], w)
				}
			}
		})
	}
}

func TestEveryViolationIsReported(t *testing.T) {
	c := newCatalog(t)
	data := example(t, "person.hired.overrides.json",
		edit{"/person/email", deleted},
		edit{"/person/cpf", "123.456.789-00"},
		edit{"/person/username", "x"},
		edit{"/person/nickname", "Al"},
		edit{"/hireDate", "2026-12-01T08:00:00"},
		edit{"/orgUnit", ""},
		edit{"/zeev/licenseType", "admin"},
		edit{"/zeev/positions/0/teamCode", deleted},
		edit{"/senior/roleIds", []any{2, 2}},
		edit{"/extra", true},
	)
	verr := asValidationError(t, c.Validate("person.hired", "", data))
	want := []FieldError{
		{"", `unknown property "extra"`},
		{"/hireDate", `"2026-12-01T08:00:00" is not a valid date-time: the UTC offset is missing; want e.g. 2026-12-01T08:00:00-03:00 or 2026-12-01T11:00:00Z`},
		{"/orgUnit", "too short: want at least 1 character, got 0"},
		{"/person", `missing property "email"`},
		{"/person", `unknown property "nickname"`},
		{"/person/cpf", "not a valid cpf: want 11 digits, optionally punctuated as ddd.ddd.ddd-dd, with valid check digits"},
		{"/person/username", "too short: want at least 3 characters, got 1"},
		{"/senior/roleIds", "items 0 and 1 are equal; items must be unique"},
		{"/zeev/licenseType", `must be one of "actor", "requester"`},
		{"/zeev/positions/0", `missing property "teamCode"`},
	}
	if !reflect.DeepEqual(verr.Errors, want) {
		t.Errorf("Errors:\n%s\nwant:\n%s", fieldErrorLines(verr.Errors), fieldErrorLines(want))
	}
}

func TestValidationErrorString(t *testing.T) {
	c := newCatalog(t)
	data := example(t, "person.hired.json", edit{"/person/email", deleted}, edit{"/hireDate", "2026-12-01"}, edit{"/x", 1})
	got := c.Validate("person.hired", "", data).Error()
	want := `person.hired: unknown property "x"; ` +
		`/hireDate: "2026-12-01" is not a valid date-time: want an RFC 3339 date-time with a UTC offset, e.g. 2026-12-01T08:00:00-03:00; ` +
		`/person: missing property "email"`
	if got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
}

// TestMessagesKeepPersonalDataOut checks that no message quotes a CPF, CNPJ, e-mail address or username, so that
// a validation error can be logged.
func TestMessagesKeepPersonalDataOut(t *testing.T) {
	c := newCatalog(t)
	tests := []struct {
		typ, file, ptr, value string
	}{
		{"person.hired", "person.hired.json", "/person/cpf", "529.982.247-24"},
		{"person.hired", "person.hired.json", "/person/email", "alan cooper@example.com"},
		{"person.hired", "person.hired.json", "/person/username", "alan cooper"},
		{"contract.signed", "contract.signed.json", "/contrato/contratado/documento", "11.222.333/0001-82"},
	}
	for _, tt := range tests {
		t.Run(tt.ptr, func(t *testing.T) {
			err := c.Validate(tt.typ, "", example(t, tt.file, edit{tt.ptr, tt.value}))
			asValidationError(t, err)
			if strings.Contains(err.Error(), tt.value) {
				t.Errorf("error quotes the value %q: %s", tt.value, err)
			}
		})
	}
}

func fieldErrorLines(errs []FieldError) string {
	var b strings.Builder
	for _, e := range errs {
		b.WriteString("\t" + strconv.Quote(e.Field) + ": " + e.Message + "\n")
	}
	return b.String()
}

// BenchmarkValidate measures the schema step of every input: validating the data of each type (the
// examples/data payloads), and a person.hired with explicit zeev and senior overrides.
func BenchmarkValidate(b *testing.B) {
	c := newCatalog(b)
	type input struct{ name, typ string }
	var inputs []input
	for _, typ := range c.Types() {
		inputs = append(inputs, input{typ, typ})
	}
	inputs = append(inputs, input{"person.hired+overrides", "person.hired"})
	for _, in := range inputs {
		var data []byte
		if in.name == in.typ {
			var err error
			if data, err = os.ReadFile(filepath.Join("..", "examples", "data", in.typ+".json")); err != nil {
				b.Fatal(err)
			}
		} else {
			data = readValid(b, "person.hired.overrides.json")
		}
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := c.Validate(in.typ, "", data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestDeadLetterExampleMatchesValidation checks that the schema-violation dead letter shown to publishers is what
// Validate really reports for its original data.
func TestDeadLetterExampleMatchesValidation(t *testing.T) {
	c := newCatalog(t)
	var dl struct {
		EventType string       `json:"eventType"`
		Message   string       `json:"message"`
		Errors    []FieldError `json:"errors"`
		Original  struct {
			Data []byte `json:"data"` // base64 in JSON
		} `json:"original"`
	}
	if err := json.Unmarshal(readValid(t, "deadletter.json"), &dl); err != nil {
		t.Fatal(err)
	}
	verr := asValidationError(t, c.Validate(dl.EventType, "", dl.Original.Data))
	if !reflect.DeepEqual(verr.Errors, dl.Errors) {
		t.Errorf("errors:\n%s\nValidate reports:\n%s", fieldErrorLines(dl.Errors), fieldErrorLines(verr.Errors))
	}
	if verr.Error() != dl.Message {
		t.Errorf("message:\n%s\nValidate reports:\n%s", dl.Message, verr.Error())
	}
}

// TestExampleDataIsTheCatalogue checks that the data files users publish from (examples/data, shown in the README)
// are the catalogue's examples, so that they cannot drift from docs/events.md.
func TestExampleDataIsTheCatalogue(t *testing.T) {
	files, err := filepath.Glob("../examples/data/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("examples/data: %v (%d files)", err, len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !sameJSON(t, b, readValid(t, filepath.Base(f))) {
			t.Errorf("%s differs from testdata/valid/%s", f, filepath.Base(f))
		}
	}
}
