package handlers

import (
	"context"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/ponte-dev/ponte/clients/zeev"
)

// hiredData is the data of person.hired.
type hiredData struct {
	Person   person          `json:"person"`
	HireDate time.Time       `json:"hireDate"`
	OrgUnit  string          `json:"orgUnit"`
	Position string          `json:"position"`
	Zeev     *zeevOverride   `json:"zeev"`
	Senior   *seniorOverride `json:"senior"`
}

// personHired creates or updates the person in Zeev with the positions and groups of the access profile
// (ifExists=update, ifExistsUser=append; explicit zeev.positions and zeev.groups replace instead), then links the
// Senior person to each role of the profile it does not hold yet, from the hire date.
func (d Deps) personHired(ctx context.Context, ev event.Event) error {
	var data hiredData
	if err := decode(ev, &data); err != nil {
		return err
	}
	a, err := d.resolveAccess(data.OrgUnit, data.Position, data.Zeev, data.Senior)
	if err != nil {
		return err
	}
	if _, err := d.upsertZeevUser(ctx, data.Person, a, data.Zeev, zeev.IfExistsUserAppend, true); err != nil {
		return err
	}
	if len(a.seniorRoles) == 0 {
		return nil
	}
	personID, err := d.findSeniorPerson(ctx, data.Person, data.Senior, true)
	if err != nil {
		return err
	}
	links, err := d.Senior.ListPersonRoles(ctx, personID)
	if err != nil {
		return err
	}
	return d.grantRoles(ctx, personID, a.seniorRoles, data.HireDate, links)
}
