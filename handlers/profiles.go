package handlers

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ponte-dev/ponte/events"
)

// Profile maps an org unit and position, as HR systems know them, to the access a person gets downstream. A
// Position of "*" matches every position of the unit that has no profile of its own.
type Profile struct {
	OrgUnit  string       `yaml:"orgUnit"`
	Position string       `yaml:"position"`
	Zeev     ZeevAccess   `yaml:"zeev"`
	Senior   SeniorAccess `yaml:"senior"`
}

// ZeevAccess is what a profile grants in Zeev.
type ZeevAccess struct {
	// Positions are the team/position pairs, by code.
	Positions []ZeevPosition `yaml:"positions"`
	// Groups are maintenance group codes.
	Groups []string `yaml:"groups"`
	// LicenseType is actor (default) or requester.
	LicenseType string `yaml:"licenseType"`
	// AuthenticationType is default (when empty), internal, network or ssoonly.
	AuthenticationType string `yaml:"authenticationType"`
}

// ZeevPosition is a team and a position in Zeev, by code.
type ZeevPosition struct {
	TeamCode     string `yaml:"teamCode" json:"teamCode"`
	PositionCode string `yaml:"positionCode" json:"positionCode"`
}

// SeniorAccess is what a profile grants in Senior Ronda senior X.
type SeniorAccess struct {
	// RoleIDs are the access roles (papéis) to link the person to.
	RoleIDs []int64 `yaml:"roleIds"`
}

// Validate reports the first unusable field, naming its key.
func (p Profile) Validate() error {
	switch {
	case strings.TrimSpace(p.OrgUnit) == "":
		return errors.New("orgUnit: required")
	case strings.TrimSpace(p.Position) == "":
		return errors.New("position: required (\"*\" for every position of the unit)")
	}
	switch p.Zeev.LicenseType {
	case "", "actor", "requester":
	default:
		return fmt.Errorf("zeev.licenseType: %q is not actor or requester", p.Zeev.LicenseType)
	}
	switch p.Zeev.AuthenticationType {
	case "", "default", "internal", "network", "ssoonly":
	default:
		return fmt.Errorf("zeev.authenticationType: %q is not default, internal, network or ssoonly", p.Zeev.AuthenticationType)
	}
	for i, zp := range p.Zeev.Positions {
		if zp.TeamCode == "" || zp.PositionCode == "" {
			return fmt.Errorf("zeev.positions[%d]: teamCode and positionCode are required", i)
		}
	}
	for i, id := range p.Senior.RoleIDs {
		if id <= 0 {
			return fmt.Errorf("senior.roleIds[%d]: must be a positive role id", i)
		}
	}
	return nil
}

// Profiles looks profiles up by org unit and position. Safe for concurrent use (read-only after NewProfiles).
type Profiles struct {
	byKey map[[2]string]Profile
}

// NewProfiles indexes ps; a duplicate (orgUnit, position) is an error naming it.
func NewProfiles(ps []Profile) (*Profiles, error) {
	p := &Profiles{byKey: make(map[[2]string]Profile, len(ps))}
	for i, pr := range ps {
		if err := pr.Validate(); err != nil {
			return nil, fmt.Errorf("profiles[%d].%w", i, err)
		}
		k := [2]string{norm(pr.OrgUnit), norm(pr.Position)}
		if _, dup := p.byKey[k]; dup {
			return nil, fmt.Errorf("profiles[%d]: a profile for orgUnit %q position %q already exists", i, pr.OrgUnit, pr.Position)
		}
		p.byKey[k] = pr
	}
	return p, nil
}

func norm(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// Lookup returns the profile of (orgUnit, position), else the unit's "*" profile.
func (p *Profiles) Lookup(orgUnit, position string) (Profile, bool) {
	if p == nil {
		return Profile{}, false
	}
	if pr, ok := p.byKey[[2]string{norm(orgUnit), norm(position)}]; ok {
		return pr, true
	}
	pr, ok := p.byKey[[2]string{norm(orgUnit), "*"}]
	return pr, ok
}

// access is what a person gets, after explicit event fields override the profile.
type access struct {
	zeevPositions []ZeevPosition
	zeevGroups    []string
	license       string
	auth          string
	seniorRoles   []int64
}

// resolveAccess combines the profile of (orgUnit, position) with the event's explicit fields, which win field
// by field. Without a profile, the event must say explicitly what to grant, else the error names the fields.
func (d Deps) resolveAccess(orgUnit, position string, z *zeevOverride, s *seniorOverride) (access, error) {
	pr, found := d.Profiles.Lookup(orgUnit, position)
	a := access{
		zeevPositions: pr.Zeev.Positions,
		zeevGroups:    pr.Zeev.Groups,
		license:       pr.Zeev.LicenseType,
		auth:          pr.Zeev.AuthenticationType,
		seniorRoles:   pr.Senior.RoleIDs,
	}
	explicit := false
	if z != nil {
		if z.Positions != nil {
			a.zeevPositions, explicit = z.Positions, true
		}
		if z.Groups != nil {
			a.zeevGroups = z.Groups
		}
		if z.LicenseType != "" {
			a.license = z.LicenseType
		}
		if z.AuthenticationType != "" {
			a.auth = z.AuthenticationType
		}
	}
	if s != nil && s.RoleIDs != nil {
		a.seniorRoles, explicit = s.RoleIDs, true
	}
	if !found && !explicit {
		return a, &events.ConfigError{Key: "profiles", Fields: []string{"/orgUnit", "/position"}, Message: fmt.Sprintf(
			"no access profile for orgUnit %q and position %q, and the event sets neither zeev.positions nor senior.roleIds: add a profile to the configuration (profiles) and replay this event (ponte dlq replay), or send the access explicitly", orgUnit, position)}
	}
	if a.license == "" {
		a.license = "actor"
	}
	a.seniorRoles = slices.Compact(slices.Sorted(slices.Values(a.seniorRoles)))
	return a, nil
}
