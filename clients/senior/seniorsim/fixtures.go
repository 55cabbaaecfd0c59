package seniorsim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ponte-dev/ponte/examples"
)

// FixturesPath is the path of the example fixtures in examples.FS.
const FixturesPath = "sandbox/senior.yaml"

// Fixtures is the initial state of a Server, usually read from YAML with LoadFixtures.
type Fixtures struct {
	// DocumentTypes are served by GET /documenttype; required types make a person's mandatoryDocuments.
	DocumentTypes []DocumentType `yaml:"documentTypes"`
	// Roles are served by GET /role and can be linked to people.
	Roles []Role `yaml:"roles"`
	// People are served by GET /person/{id} and the searches.
	People []Person `yaml:"people"`
	// PersonRoles are the person/role links that exist at start.
	PersonRoles []PersonRoleFixture `yaml:"personRoles"`
	// NextPersonRoleID is the id the next POST /person/role gets; 0 means one above the highest fixture id.
	NextPersonRoleID int64 `yaml:"nextPersonRoleId"`
}

// DocumentType is a kind of document, in the shape of GET /documenttype.
type DocumentType struct {
	ID            int64  `yaml:"id" json:"id"`
	Name          string `yaml:"name" json:"name"`
	Label         string `yaml:"label" json:"label"`
	Mask          string `yaml:"mask" json:"mask"`
	Required      bool   `yaml:"required" json:"required"`
	DocumentToREP bool   `yaml:"documentToREP" json:"documentToREP"`
}

// Role is an access role, in the shape of GET /role (the fields the importer reads that matter here).
type Role struct {
	ID                    int64  `yaml:"id" json:"id"`
	Name                  string `yaml:"name" json:"name"`
	UsesProvisory         bool   `yaml:"usesProvisory" json:"usesProvisory"`
	ReceivesVisit         bool   `yaml:"receivesVisit" json:"receivesVisit"`
	UsesFacialRecognition bool   `yaml:"usesFacialRecognition" json:"usesFacialRecognition"`
	Integrated            bool   `yaml:"integrated" json:"integrated"`
}

// Person is a person fixture, in the API's shape: GET /person/{id} serves it with its documents expanded (they
// name their type by id here) and hasValidRole computed from the links.
type Person struct {
	ID                   int64      `yaml:"id" json:"id"`
	Name                 string     `yaml:"name" json:"name"`
	Documents            []Document `yaml:"documents" json:"-"` // served as documentOut
	Emails               []Email    `yaml:"emails" json:"emails"`
	Phones               []Phone    `yaml:"phones" json:"phones"`
	Gender               int        `yaml:"gender" json:"gender"`
	Birthday             string     `yaml:"birthday" json:"birthday"`
	Registry             string     `yaml:"registry" json:"registry"`
	RegisterDate         string     `yaml:"registerDate" json:"registerDate"`
	LastModificationDate string     `yaml:"lastModificationDate" json:"lastModificationDate"`
	Address              string     `yaml:"address" json:"address"`
	Number               string     `yaml:"number" json:"number"`
	District             string     `yaml:"district" json:"district"`
	City                 string     `yaml:"city" json:"city"`
	UF                   string     `yaml:"uf" json:"uf"`
	CEP                  string     `yaml:"cep" json:"cep"`
	Nationality          string     `yaml:"nationality" json:"nationality"`
	LastAccessDate       string     `yaml:"lastAccessDate" json:"lastAccessDate"`
	Situation            int        `yaml:"situation" json:"situation"` // 0 active, 1 blocked
	HasProvisoryRole     bool       `yaml:"hasProvisoryRole" json:"hasProvisoryRole"`
}

// Document is a person's document fixture.
type Document struct {
	ID             int64  `yaml:"id"`
	DocumentTypeID int64  `yaml:"documentTypeId"`
	Document       string `yaml:"document"`
}

// Email is a person's e-mail, in the API's shape.
type Email struct {
	ID           int64  `yaml:"id" json:"id"`
	Preferential bool   `yaml:"preferential" json:"preferential"`
	EmailAddress string `yaml:"emailAddress" json:"emailAddress"`
}

// Phone is a person's phone, in the API's shape.
type Phone struct {
	ID            int64  `yaml:"id" json:"id"`
	Preferential  bool   `yaml:"preferential" json:"preferential"`
	DDI           int    `yaml:"ddi" json:"ddi"`
	PhoneNumber   string `yaml:"phoneNumber" json:"phoneNumber"`
	ExtensionLine string `yaml:"extensionLine" json:"extensionLine"`
}

// PersonRoleFixture is a person/role link fixture; dates are in the API's form ("2017-03-24T10:09:00-03:00" or
// "...-0300"), EndDate "" for none.
type PersonRoleFixture struct {
	ID        int64  `yaml:"id"`
	PersonID  int64  `yaml:"personId"`
	RoleID    int64  `yaml:"roleId"`
	StartDate string `yaml:"startDate"`
	EndDate   string `yaml:"endDate"`
	Suspended bool   `yaml:"suspended"`
}

// LoadFixtures decodes YAML fixtures strictly (an unknown field is an error that names it) and checks them with
// Validate.
func LoadFixtures(b []byte) (Fixtures, error) {
	var f Fixtures
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return Fixtures{}, fmt.Errorf("seniorsim fixtures: %w", err)
	}
	if err := f.Validate(); err != nil {
		return Fixtures{}, err
	}
	return f, nil
}

// LoadDefaultFixtures returns the example fixtures shipped in examples.FS (FixturesPath).
func LoadDefaultFixtures() (Fixtures, error) {
	b, err := examples.FS.ReadFile(FixturesPath)
	if err != nil {
		return Fixtures{}, fmt.Errorf("seniorsim fixtures: %w", err)
	}
	return LoadFixtures(b)
}

// Validate reports the first inconsistency, naming the field: a missing or duplicate id, a reference to an
// unknown person, role or document type, an unparsable date or an end before the start.
func (f Fixtures) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("seniorsim fixtures: "+format, args...)
	}
	types := map[int64]bool{}
	for i, t := range f.DocumentTypes {
		if t.ID <= 0 || types[t.ID] {
			return bad("documentTypes[%d].id: %d is not a positive unique id", i, t.ID)
		}
		types[t.ID] = true
	}
	roles := map[int64]bool{}
	for i, r := range f.Roles {
		if r.ID <= 0 || roles[r.ID] {
			return bad("roles[%d].id: %d is not a positive unique id", i, r.ID)
		}
		if r.Name == "" {
			return bad("roles[%d].name: required", i)
		}
		roles[r.ID] = true
	}
	people := map[int64]bool{}
	for i, p := range f.People {
		if p.ID <= 0 || people[p.ID] {
			return bad("people[%d].id: %d is not a positive unique id", i, p.ID)
		}
		if p.Name == "" {
			return bad("people[%d].name: required", i)
		}
		if p.Situation != 0 && p.Situation != 1 {
			return bad("people[%d].situation: %d is not 0 (active) or 1 (blocked)", i, p.Situation)
		}
		for j, d := range p.Documents {
			if !types[d.DocumentTypeID] {
				return bad("people[%d].documents[%d].documentTypeId: unknown document type %d", i, j, d.DocumentTypeID)
			}
		}
		people[p.ID] = true
	}
	links := map[int64]bool{}
	var maxID int64
	for i, l := range f.PersonRoles {
		if l.ID <= 0 || links[l.ID] {
			return bad("personRoles[%d].id: %d is not a positive unique id", i, l.ID)
		}
		links[l.ID] = true
		maxID = max(maxID, l.ID)
		if !people[l.PersonID] {
			return bad("personRoles[%d].personId: unknown person %d", i, l.PersonID)
		}
		if !roles[l.RoleID] {
			return bad("personRoles[%d].roleId: unknown role %d", i, l.RoleID)
		}
		start, err := parseDate(l.StartDate)
		if err != nil || start.IsZero() {
			return bad("personRoles[%d].startDate: %q is not like 2017-03-24T10:09:00-03:00", i, l.StartDate)
		}
		end, err := parseDate(l.EndDate)
		if err != nil {
			return bad("personRoles[%d].endDate: %q is not like 2017-03-24T10:09:00-03:00", i, l.EndDate)
		}
		if !end.IsZero() && end.Before(start) {
			return bad("personRoles[%d].endDate: before startDate", i)
		}
	}
	if f.NextPersonRoleID < 0 || (f.NextPersonRoleID != 0 && f.NextPersonRoleID <= maxID) {
		return bad("nextPersonRoleId: %d must be above the highest personRoles id %d", f.NextPersonRoleID, maxID)
	}
	return nil
}

// dateLayout is the form the API writes; parseDate also reads the colon-less offset ("-0300").
const dateLayout = "2006-01-02T15:04:05-07:00"

// dateForm is the shape of a date-time the API takes: whole seconds, then "Z" or an offset with or without its
// colon. time.Parse alone would also take a fraction of a second, which the API's form does not have and
// formatDate would drop.
var dateForm = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:?\d{2})$`)

// parseDate parses an API date-time; "" is the zero time.
func parseDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if !dateForm.MatchString(s) {
		return time.Time{}, fmt.Errorf("date-time %q is not like 2017-03-24T10:09:00-03:00", s)
	}
	t, err := time.Parse("2006-01-02T15:04:05Z07:00", s)
	if err != nil {
		t, err = time.Parse("2006-01-02T15:04:05Z0700", s)
	}
	return t, err
}

func formatDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(dateLayout)
}
