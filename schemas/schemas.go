// Package schemas is ponte's event catalogue: one JSON Schema (draft 2020-12) per input event type and version, the
// schemas of ponte's result and dead-letter event data, and the AsyncAPI 3.0 document that ties them to NATS
// subjects. All of them are embedded in the binary; `ponte schemas <name>` prints them and docs/events.md explains
// them to the teams that publish events.
//
// The input types are person.hired, person.moved, person.terminated, contract.signed, contract.amended and
// contract.cancelled. The schema of version N of a type lives in vN/<type>.json and has the $id
// https://ponte.dev/schemas/<type>/vN.json, which is also the value a publisher may put in the CloudEvent
// dataschema attribute. The newest version of a type is its current version; older versions stay valid targets of
// dataschema until their file is removed. Adding a version is adding a file: New picks it up.
//
// Validation asserts formats, including ponte's own: "cpf", "cnpj" and "cpf-or-cnpj" check the check digits (see
// ValidCPF and ValidCNPJ), "date" is YYYY-MM-DD and "date-time" is RFC 3339 with an explicit UTC offset.
//
//	catalog, err := schemas.New()
//	...
//	err = catalog.Validate(event.Type(), event.DataSchema(), event.Data())
//	var verr *schemas.ValidationError
//	switch {
//	case errors.Is(err, schemas.ErrUnknownType): // no schema, so no handler either
//	case errors.As(err, &verr):                  // dead-letter with verr.Errors
//	}
package schemas

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

//go:embed v*/*.json asyncapi.yaml
var files embed.FS

// idBase is the common prefix of every schema $id.
const idBase = "https://ponte.dev/schemas/"

// Names of the documents that are not input event types.
const (
	resultName     = "result"
	deadletterName = "deadletter"
	asyncapiName   = "asyncapi"
)

// Catalog holds the compiled schemas of every embedded document. It is immutable once New returns, so it is safe
// for concurrent use.
type Catalog struct {
	inputs  map[string]family // by input event type
	outputs map[string]family // by output document name: "result", "deadletter"
	types   []string          // the keys of inputs, sorted
	printer *message.Printer  // for the library's messages that errors.go does not rewrite
}

// family is every version of one document.
type family struct {
	current string                        // the $id of the newest version
	byID    map[string]*jsonschema.Schema // every version, by $id
}

// New compiles every embedded schema, with format assertion on and ponte's formats registered. It returns an error
// if a schema does not compile, its $id does not match its file name, or it refers to a document that is not
// embedded (nothing is ever fetched).
func New() (*Catalog, error) {
	entries, err := embedded()
	if err != nil {
		return nil, err
	}
	comp := jsonschema.NewCompiler()
	comp.DefaultDraft(jsonschema.Draft2020)
	comp.AssertFormat()
	comp.UseLoader(embeddedOnly{})
	for _, f := range formats() {
		comp.RegisterFormat(f)
	}
	for _, e := range entries {
		b, err := files.ReadFile(e.path)
		if err != nil {
			return nil, fmt.Errorf("schemas: %w", err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("schemas: %s: %w", e.path, err)
		}
		obj, _ := doc.(map[string]any)
		if got, _ := obj["$id"].(string); got != e.id() {
			return nil, fmt.Errorf("schemas: %s: $id is %q, want %q", e.path, got, e.id())
		}
		if err := comp.AddResource(e.id(), doc); err != nil {
			return nil, fmt.Errorf("schemas: %s: %w", e.path, err)
		}
	}

	c := &Catalog{
		inputs:  map[string]family{},
		outputs: map[string]family{},
		printer: message.NewPrinter(language.English),
	}
	for _, e := range entries { // sorted by name, then version: the last version of a name is its current one
		sch, err := comp.Compile(e.id())
		if err != nil {
			return nil, fmt.Errorf("schemas: compile %s: %w", e.path, err)
		}
		families := c.inputs
		if e.name == resultName || e.name == deadletterName {
			families = c.outputs
		}
		f, ok := families[e.name]
		if !ok {
			f = family{byID: map[string]*jsonschema.Schema{}}
		}
		f.current = e.id()
		f.byID[e.id()] = sch
		families[e.name] = f
	}
	for t := range c.inputs {
		c.types = append(c.types, t)
	}
	slices.Sort(c.types)
	return c, nil
}

// Types returns the input event types of the catalogue, sorted. The slice is the caller's.
func (c *Catalog) Types() []string {
	return slices.Clone(c.types)
}

// Known reports whether eventType is an input event type of the catalogue.
func (c *Catalog) Known(eventType string) bool {
	_, ok := c.inputs[eventType]
	return ok
}

// URL returns the $id of the current schema of eventType, the value publishers put in the CloudEvent dataschema
// attribute, e.g. "https://ponte.dev/schemas/person.hired/v1.json". It returns "" for an unknown type.
func (c *Catalog) URL(eventType string) string {
	return c.inputs[eventType].current
}

// Validate checks data, the raw JSON bytes of an event's data, against the schema of eventType. dataschema
// selects the version: "" means the current one, otherwise it must be the $id of one of the type's versions.
//
// It returns nil if data conforms; an error wrapping ErrUnknownType if eventType is not in the catalogue; and a
// *ValidationError listing every violation if data does not conform, is not JSON, or dataschema is not a version of
// eventType (then the FieldError's Field is "dataschema").
func (c *Catalog) Validate(eventType, dataschema string, data []byte) error {
	_, err := c.ValidateDecoded(eventType, dataschema, data)
	return err
}

// ValidateDecoded is Validate that also returns data as it decoded it for the validation (objects as
// map[string]any, numbers as json.Number), nil when data is not JSON, so that a caller needing the decoded data
// does not decode it again.
func (c *Catalog) ValidateDecoded(eventType, dataschema string, data []byte) (any, error) {
	f, ok := c.inputs[eventType]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownType, eventType)
	}
	return c.validate(eventType, f, dataschema, data)
}

// ValidateOutput checks data against the current schema of one of ponte's output documents, "result" or
// "deadletter". Publishers of those events use it in tests to keep their output and the catalogue in step. Errors
// are as for Validate.
func (c *Catalog) ValidateOutput(name string, data []byte) error {
	f, ok := c.outputs[name]
	if !ok {
		return fmt.Errorf("schemas: unknown output document %q; want %q or %q", name, resultName, deadletterName)
	}
	_, err := c.validate(name, f, "", data)
	return err
}

func (c *Catalog) validate(name string, f family, dataschema string, data []byte) (any, error) {
	id := dataschema
	if id == "" {
		id = f.current
	}
	sch, ok := f.byID[id]
	if !ok {
		known := make([]string, 0, len(f.byID))
		for version := range f.byID {
			known = append(known, strconv.Quote(version))
		}
		slices.Sort(known)
		return nil, &ValidationError{Type: name, Errors: []FieldError{{
			Field:   "dataschema",
			Message: fmt.Sprintf("unknown dataschema %q for %s; want %s", dataschema, name, strings.Join(known, " or ")),
		}}}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &ValidationError{Type: name, Errors: []FieldError{{Message: "data is empty; want a JSON object"}}}
	}
	if !utf8.Valid(data) {
		// Decoding would replace the bad bytes with U+FFFD and the data would pass as something it is not.
		return nil, &ValidationError{Type: name, Errors: invalidUTF8(data)}
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, &ValidationError{Type: name, Errors: []FieldError{{Message: "data is not valid JSON: " + err.Error()}}}
	}
	err = sch.Validate(v)
	if verr, ok := errors.AsType[*jsonschema.ValidationError](err); ok {
		return v, newValidationError(name, verr, c.printer)
	}
	if err != nil {
		return v, fmt.Errorf("schemas: validate %s: %w", name, err)
	}
	return v, nil
}

// Document returns the raw bytes of an embedded document: the current schema of an input type (e.g.
// "person.hired"), "result", "deadletter", or "asyncapi" (the AsyncAPI document, YAML). The bytes are the caller's.
// An unknown name gives an error wrapping fs.ErrNotExist that lists the known names.
func Document(name string) ([]byte, error) {
	if name == asyncapiName {
		return files.ReadFile("asyncapi.yaml")
	}
	entries, _ := embedded() // an embedded file New rejects is not served either
	p := ""
	for _, e := range entries {
		if e.name == name {
			p = e.path // the last one is the newest version
		}
	}
	if p == "" {
		return nil, fmt.Errorf("schemas: unknown document %q; want one of %s: %w", name, strings.Join(Names(), ", "), fs.ErrNotExist)
	}
	return files.ReadFile(p)
}

// Names returns the names Document accepts, sorted.
func Names() []string {
	entries, _ := embedded()
	names := []string{asyncapiName}
	for _, e := range entries {
		names = append(names, e.name)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// entry is one embedded schema file, vN/<name>.json.
type entry struct {
	name    string
	version int
	path    string
}

// id returns the $id the entry's schema must have.
func (e entry) id() string {
	return idBase + e.name + "/v" + strconv.Itoa(e.version) + ".json"
}

// embedded lists the embedded schema files sorted by name, then version. Files whose directory is not v<N> are
// left out and reported in the error.
func embedded() ([]entry, error) {
	paths, err := fs.Glob(files, "v*/*.json")
	if err != nil {
		return nil, fmt.Errorf("schemas: %w", err)
	}
	var entries []entry
	var errs []error
	for _, p := range paths {
		dir, file := path.Split(p)
		v, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSuffix(dir, "/"), "v"))
		if err != nil || v < 1 {
			errs = append(errs, fmt.Errorf("schemas: %s: directory is not v<N>", p))
			continue
		}
		entries = append(entries, entry{name: strings.TrimSuffix(file, ".json"), version: v, path: p})
	}
	slices.SortFunc(entries, func(a, b entry) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return a.version - b.version
	})
	return entries, errors.Join(errs...)
}

// embeddedOnly is the compiler's URLLoader: every schema is added from the embedded files before compiling, so any
// other URL (a $ref to the web, a typo) is an error rather than a download.
type embeddedOnly struct{}

func (embeddedOnly) Load(url string) (any, error) {
	return nil, fmt.Errorf("schemas: %s is not an embedded schema", url)
}
