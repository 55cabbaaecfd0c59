package zeevsim

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ponte-dev/ponte/examples"
)

// FixturesPath is the path of the example fixtures in examples.FS.
const FixturesPath = "sandbox/zeev.yaml"

// Fixtures is the initial state of a Server: license seats, work shifts, teams, positions (funções), maintenance
// groups and people. It is read from YAML by LoadFixtures; LoadDefaultFixtures reads the sandbox's,
// examples/sandbox/zeev.yaml. Codes and usernames are matched case-insensitively, as Zeev does (ASSUMED).
type Fixtures struct {
	// Licenses is the number of seats per license type ("actor", "requester"). An active person takes one seat of
	// their type. A type left out has no limit.
	Licenses map[string]int `yaml:"licenses"`
	// BusinessShifts are the work shifts a person's businessShiftId may name.
	BusinessShifts []BusinessShift `yaml:"businessShifts"`
	// Teams are the teams (times), referenced by id or code in positions items.
	Teams []Team `yaml:"teams"`
	// Positions are the positions (funções), referenced by id or code in positions items.
	Positions []Position `yaml:"positions"`
	// Groups are the maintenance groups (grupos de manutenção), referenced by id or code in groups items.
	Groups []Group `yaml:"groups"`
	// Users are the people that exist at start, including the integration person the tokens represent.
	Users []User `yaml:"users"`
}

// BusinessShift is a work shift (turno de trabalho).
type BusinessShift struct {
	ID   int    `yaml:"id"`   // required, int32, unique
	Name string `yaml:"name"` // display name
}

// Team is a team (time) as served by GET /api/2/teams/{id}.
type Team struct {
	ID            int      `yaml:"id"`            // required, int32, unique
	Code          string   `yaml:"code"`          // required, unique: the "código original / integração"
	Name          string   `yaml:"name"`          // required
	Level         int      `yaml:"level"`         // depth in the org chart, 1 for the root
	Sign          string   `yaml:"sign"`          // short name (sigla)
	Parent        string   `yaml:"parent"`        // code of the parent team, "" for none
	AlwaysVisible bool     `yaml:"alwaysVisible"` // shown to everyone in the UI
	Active        *bool    `yaml:"active"`        // default true
	Description   string   `yaml:"description"`   // free text
	Type          string   `yaml:"type"`          // free text, e.g. "Departamento"
	State         string   `yaml:"state"`         // UF
	City          string   `yaml:"city"`          // city name
	Positions     []string `yaml:"positions"`     // codes of the positions offered in the team (GET /api/2/teams/{id}/positions)
}

// Position is a position (função) as served by GET /api/2/positions/{id}.
type Position struct {
	ID          int    `yaml:"id"`          // required, int32, unique
	Code        string `yaml:"code"`        // required, unique
	Name        string `yaml:"name"`        // required
	Level       int    `yaml:"level"`       // hierarchy level
	Parent      string `yaml:"parent"`      // code of the parent position, "" for none
	Description string `yaml:"description"` // free text
	Active      *bool  `yaml:"active"`      // default true
}

// Group is a maintenance group (grupo de manutenção) as served by GET /api/2/groups/{id}.
type Group struct {
	ID   int    `yaml:"id"`   // required, int32, unique
	Code string `yaml:"code"` // required, unique
	Name string `yaml:"name"` // required
}

// User is a person present at start.
type User struct {
	ID                 int          `yaml:"id"`                 // required, int32, unique
	Username           string       `yaml:"username"`           // required, unique (login)
	Name               string       `yaml:"name"`               // required
	Email              string       `yaml:"email"`              // required
	Identification     string       `yaml:"identification"`     // employee number
	Document           string       `yaml:"document"`           // CPF or CNPJ
	IsActive           *bool        `yaml:"isActive"`           // default true
	IsSuperAdmin       bool         `yaml:"isSuperAdmin"`       // may create, update, activate and deactivate people
	IsLocked           bool         `yaml:"isLocked"`           // account locked
	AuthenticationType string       `yaml:"authenticationType"` // default "default"
	LicenseType        string       `yaml:"licenseType"`        // required: "actor" or "requester"
	TimeZone           *int         `yaml:"timeZone"`           // optional
	BusinessShiftID    *int         `yaml:"businessShiftId"`    // optional; must name a BusinessShift
	LeadershipID       *int         `yaml:"leadershipId"`       // optional; the id of the direct manager, another user
	CreateDate         string       `yaml:"createDate"`         // RFC 3339; default the server's start time
	Positions          []Assignment `yaml:"positions"`          // team/position pairs, by code
	Groups             []string     `yaml:"groups"`             // group codes
}

// Assignment is one team/position pair of a person, by code.
type Assignment struct {
	Team     string `yaml:"team"`
	Position string `yaml:"position"`
}

// LoadFixtures parses YAML fixtures strictly (an unknown key is an error naming it) and validates them.
func LoadFixtures(b []byte) (Fixtures, error) {
	var f Fixtures
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return Fixtures{}, fmt.Errorf("zeev fixtures: %w", err)
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
		return Fixtures{}, fmt.Errorf("zeev fixtures: %w", err)
	}
	return LoadFixtures(b)
}

// Validate reports the first inconsistency, naming the entry and field: a missing or duplicate id or code, an id
// outside int32, a reference to a team, position, group, shift or user that does not exist, a bad license type,
// or more active people than license seats.
func (f Fixtures) Validate() error {
	bad := func(format string, a ...any) error { return fmt.Errorf("zeev fixtures: "+format, a...) }
	checkID := func(kind string, i, id int, seen map[int]bool) error {
		if id <= 0 || id > math.MaxInt32 {
			return bad("%s[%d].id: must be between 1 and %d", kind, i, math.MaxInt32)
		}
		if seen[id] {
			return bad("%s[%d].id: duplicate id %d", kind, i, id)
		}
		seen[id] = true
		return nil
	}
	checkCode := func(kind string, i int, code string, seen map[string]bool) error {
		if code == "" {
			return bad("%s[%d].code: required", kind, i)
		}
		k := strings.ToLower(code)
		if seen[k] {
			return bad("%s[%d].code: duplicate code %q", kind, i, code)
		}
		seen[k] = true
		return nil
	}
	for lt, n := range f.Licenses {
		if lt != LicenseActor && lt != LicenseRequester {
			return bad("licenses.%s: unknown license type (want actor or requester)", lt)
		}
		if n < 0 {
			return bad("licenses.%s: must not be negative", lt)
		}
	}
	shifts := map[int]bool{}
	for i, s := range f.BusinessShifts {
		if err := checkID("businessShifts", i, s.ID, shifts); err != nil {
			return err
		}
	}
	positions, posIDs := map[string]bool{}, map[int]bool{}
	for i, p := range f.Positions {
		if err := checkID("positions", i, p.ID, posIDs); err != nil {
			return err
		}
		if err := checkCode("positions", i, p.Code, positions); err != nil {
			return err
		}
		if p.Name == "" {
			return bad("positions[%d].name: required", i)
		}
	}
	for i, p := range f.Positions {
		if p.Parent != "" && !positions[strings.ToLower(p.Parent)] {
			return bad("positions[%d].parent: unknown position code %q", i, p.Parent)
		}
	}
	teams, teamIDs := map[string]bool{}, map[int]bool{}
	for i, t := range f.Teams {
		if err := checkID("teams", i, t.ID, teamIDs); err != nil {
			return err
		}
		if err := checkCode("teams", i, t.Code, teams); err != nil {
			return err
		}
		if t.Name == "" {
			return bad("teams[%d].name: required", i)
		}
		for j, pc := range t.Positions {
			if !positions[strings.ToLower(pc)] {
				return bad("teams[%d].positions[%d]: unknown position code %q", i, j, pc)
			}
		}
	}
	for i, t := range f.Teams {
		if t.Parent != "" && !teams[strings.ToLower(t.Parent)] {
			return bad("teams[%d].parent: unknown team code %q", i, t.Parent)
		}
	}
	groups, groupIDs := map[string]bool{}, map[int]bool{}
	for i, g := range f.Groups {
		if err := checkID("groups", i, g.ID, groupIDs); err != nil {
			return err
		}
		if err := checkCode("groups", i, g.Code, groups); err != nil {
			return err
		}
		if g.Name == "" {
			return bad("groups[%d].name: required", i)
		}
	}
	userIDs, usernames := map[int]bool{}, map[string]bool{}
	seats := map[string]int{}
	for i, u := range f.Users {
		if err := checkID("users", i, u.ID, userIDs); err != nil {
			return err
		}
		if u.Username == "" {
			return bad("users[%d].username: required", i)
		}
		if usernames[strings.ToLower(u.Username)] {
			return bad("users[%d].username: duplicate username %q", i, u.Username)
		}
		usernames[strings.ToLower(u.Username)] = true
		if u.Name == "" {
			return bad("users[%d].name: required", i)
		}
		if u.Email == "" {
			return bad("users[%d].email: required", i)
		}
		if u.LicenseType != LicenseActor && u.LicenseType != LicenseRequester {
			return bad("users[%d].licenseType: %q is not actor or requester", i, u.LicenseType)
		}
		if u.AuthenticationType != "" && !slices.Contains(authenticationTypes, u.AuthenticationType) {
			return bad("users[%d].authenticationType: %q is not one of %s", i, u.AuthenticationType, strings.Join(authenticationTypes, ", "))
		}
		if u.Document != "" && !documentPattern.MatchString(u.Document) {
			return bad("users[%d].document: %q does not match [0-9.-/]+", i, u.Document)
		}
		if u.BusinessShiftID != nil && !shifts[*u.BusinessShiftID] {
			return bad("users[%d].businessShiftId: unknown shift %d", i, *u.BusinessShiftID)
		}
		if u.CreateDate != "" {
			if _, err := time.Parse(time.RFC3339, u.CreateDate); err != nil {
				return bad("users[%d].createDate: %q is not RFC 3339", i, u.CreateDate)
			}
		}
		for j, a := range u.Positions {
			if !teams[strings.ToLower(a.Team)] {
				return bad("users[%d].positions[%d].team: unknown team code %q", i, j, a.Team)
			}
			if !positions[strings.ToLower(a.Position)] {
				return bad("users[%d].positions[%d].position: unknown position code %q", i, j, a.Position)
			}
		}
		for j, g := range u.Groups {
			if !groups[strings.ToLower(g)] {
				return bad("users[%d].groups[%d]: unknown group code %q", i, j, g)
			}
		}
		if u.IsActive == nil || *u.IsActive {
			seats[u.LicenseType]++
		}
	}
	for i, u := range f.Users {
		if u.LeadershipID != nil && !userIDs[*u.LeadershipID] {
			return bad("users[%d].leadershipId: unknown user id %d", i, *u.LeadershipID)
		}
	}
	for lt, n := range seats {
		if limit, ok := f.Licenses[lt]; ok && n > limit {
			return bad("licenses.%s: %d active users need more than the %d seats", lt, n, limit)
		}
	}
	return nil
}
