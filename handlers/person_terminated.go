package handlers

import (
	"context"
	"errors"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/ponte-dev/ponte/clients/zeev"
	"github.com/ponte-dev/ponte/events"
)

// terminatedData is the data of person.terminated.
type terminatedData struct {
	Person          person    `json:"person"`
	TerminationDate time.Time `json:"terminationDate"`
}

// personTerminated deactivates the Zeev user and ends every Senior link at the termination date: links that
// start in the future (at or after the termination) are deleted, the others get endDate. A person unknown to
// either system is nothing to do there.
func (d Deps) personTerminated(ctx context.Context, ev event.Event) error {
	var data terminatedData
	if err := decode(ev, &data); err != nil {
		return err
	}
	_, err := events.Step(ctx, events.StepSpec{Target: zeev.Target, Operation: "deactivate_user"},
		func(ctx context.Context) (events.StepOutcome, error) {
			u, err := d.Zeev.GetUserByUsername(ctx, data.Person.Username)
			if errors.Is(err, zeev.ErrNotFound) {
				return events.Skipped("Zeev has no such user"), nil
			}
			if err != nil {
				return events.StepOutcome{}, err
			}
			if !u.IsActive {
				return events.Skipped("already inactive", "zeevUserId", u.ID), nil
			}
			if err := d.Zeev.DeactivateUser(ctx, u.ID); err != nil {
				return events.StepOutcome{}, err
			}
			return events.Done("zeevUserId", u.ID), nil
		})
	if err != nil {
		return err
	}
	personID, err := d.findSeniorPerson(ctx, data.Person, nil, false)
	if err != nil || personID == 0 {
		return err
	}
	links, err := d.Senior.ListPersonRoles(ctx, personID)
	if err != nil {
		return err
	}
	for _, l := range links {
		if err := d.endLink(ctx, personID, l, data.TerminationDate); err != nil {
			return err
		}
	}
	return nil
}
