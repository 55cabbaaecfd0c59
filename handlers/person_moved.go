package handlers

import (
	"context"
	"slices"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/ponte-dev/ponte/clients/zeev"
)

// movedData is the data of person.moved.
type movedData struct {
	Person        person          `json:"person"`
	EffectiveDate time.Time       `json:"effectiveDate"`
	OrgUnit       string          `json:"orgUnit"`
	Position      string          `json:"position"`
	Zeev          *zeevOverride   `json:"zeev"`
	Senior        *seniorOverride `json:"senior"`
}

// personMoved replaces the person's Zeev positions and groups with those of the new profile
// (ifExistsUser=replace), ends at the effective date the Senior links to roles the new profile does not grant,
// and adds the new roles from the effective date.
func (d Deps) personMoved(ctx context.Context, ev event.Event) error {
	var data movedData
	if err := decode(ev, &data); err != nil {
		return err
	}
	a, err := d.resolveAccess(data.OrgUnit, data.Position, data.Zeev, data.Senior)
	if err != nil {
		return err
	}
	if _, err := d.upsertZeevUser(ctx, data.Person, a, data.Zeev, zeev.IfExistsUserReplace, false); err != nil {
		return err
	}
	personID, err := d.findSeniorPerson(ctx, data.Person, data.Senior, len(a.seniorRoles) > 0)
	if err != nil || personID == 0 {
		return err
	}
	links, err := d.Senior.ListPersonRoles(ctx, personID)
	if err != nil {
		return err
	}
	for _, l := range links {
		if !slices.Contains(a.seniorRoles, l.RoleID) {
			if err := d.endLink(ctx, personID, l, data.EffectiveDate); err != nil {
				return err
			}
		}
	}
	return d.grantRoles(ctx, personID, a.seniorRoles, data.EffectiveDate, links)
}
