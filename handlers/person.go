package handlers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ponte-dev/ponte/clients"
	"github.com/ponte-dev/ponte/clients/senior"
	"github.com/ponte-dev/ponte/clients/zeev"
	"github.com/ponte-dev/ponte/events"
)

// person is the person object of the person.* events.
type person struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Username string `json:"username"`
	Email    string `json:"email"`
	CPF      string `json:"cpf"`
	Registry string `json:"registry"`
}

// zeevOverride is the optional "zeev" object of person.hired and person.moved.
type zeevOverride struct {
	LicenseType        string         `json:"licenseType"`
	AuthenticationType string         `json:"authenticationType"`
	Positions          []ZeevPosition `json:"positions"`
	Groups             []string       `json:"groups"`
	LeadershipID       *int           `json:"leadershipId"`
	BusinessShiftID    *int           `json:"businessShiftId"`
	TimeZone           *int           `json:"timeZone"`
	SendWelcome        *bool          `json:"sendWelcome"`
}

// seniorOverride is the optional "senior" object of person.hired and person.moved.
type seniorOverride struct {
	PersonID int64   `json:"personId"`
	RoleIDs  []int64 `json:"roleIds"`
}

// upsertZeevUser creates or updates the person in Zeev with ifExists=update. setMode is the ifExistsUser of the
// positions and groups: append on hire (keep what the person has), replace on a move. activate sends
// isActive=true (a hire, or a rehire of a leaver); a move leaves the account's state alone, so that a move
// processed after a termination does not reactivate the person. Positions or groups the
// event sets explicitly (zeev.positions, zeev.groups) always replace the person's, as the event schemas document
// ("an empty list removes them all").
func (d Deps) upsertZeevUser(ctx context.Context, p person, a access, z *zeevOverride, setMode string, activate bool) (int, error) {
	u := zeev.AddUser{
		IfExists:           zeev.IfExistsUpdate,
		Username:           p.Username,
		Name:               p.Name,
		Email:              p.Email,
		Identification:     p.Registry,
		Document:           p.CPF,
		AuthenticationType: a.auth,
		LicenseType:        a.license,
	}
	if activate {
		u.IsActive = new(true)
	}
	positionsMode, groupsMode := setMode, setMode
	if z != nil && z.Positions != nil {
		positionsMode = zeev.IfExistsUserReplace
	}
	if z != nil && z.Groups != nil {
		groupsMode = zeev.IfExistsUserReplace
	}
	if len(a.zeevPositions) > 0 || positionsMode == zeev.IfExistsUserReplace {
		items := make([]zeev.PositionItem, 0, len(a.zeevPositions))
		for _, zp := range a.zeevPositions {
			items = append(items, zeev.PositionItem{TeamCode: zp.TeamCode, PositionCode: zp.PositionCode})
		}
		u.Positions = &zeev.PositionSet{IfExistsUser: positionsMode, Items: items}
	}
	if len(a.zeevGroups) > 0 || groupsMode == zeev.IfExistsUserReplace {
		items := make([]zeev.GroupItem, 0, len(a.zeevGroups))
		for _, g := range a.zeevGroups {
			items = append(items, zeev.GroupItem{GroupCode: g})
		}
		u.Groups = &zeev.GroupSet{IfExistsUser: groupsMode, Items: items}
	}
	if z != nil {
		u.LeadershipID, u.BusinessShiftID, u.TimeZone = z.LeadershipID, z.BusinessShiftID, z.TimeZone
		if z.SendWelcome != nil {
			u.WelcomeMessage = &zeev.WelcomeMessage{Send: *z.SendWelcome}
		}
	}
	o, err := events.Step(ctx, events.StepSpec{Target: zeev.Target, Operation: "upsert_user"},
		func(ctx context.Context) (events.StepOutcome, error) {
			res, err := d.Zeev.UpsertUser(ctx, u)
			if err != nil {
				return events.StepOutcome{}, err
			}
			o := events.Done("zeevUserId", res.ID)
			o.Detail = res.Action
			return o, nil
		})
	if err != nil {
		return 0, err
	}
	return int(o.IDs["zeevUserId"]), nil
}

// findSeniorPerson resolves the person in Senior: the explicit personId, else by CPF, else by registry. It is a
// step so that the id found is reported and reused by redeliveries. A person Senior does not know is an
// *EventError when required, else (0, nil).
func (d Deps) findSeniorPerson(ctx context.Context, p person, s *seniorOverride, required bool) (int64, error) {
	o, err := events.Step(ctx, events.StepSpec{Target: senior.Target, Operation: "find_person"},
		func(ctx context.Context) (events.StepOutcome, error) {
			if s != nil && s.PersonID > 0 {
				if _, err := d.Senior.GetPerson(ctx, s.PersonID); err != nil {
					if errors.Is(err, senior.ErrNotFound) {
						return events.StepOutcome{}, eventErrorFrom(err, []string{"/senior/personId"}, "Senior has no person %d", s.PersonID)
					}
					return events.StepOutcome{}, err
				}
				return events.Done("personId", s.PersonID), nil
			}
			found, err := d.Senior.FindPersonByCPF(ctx, p.CPF)
			if err == nil {
				return events.Done("personId", found.ID), nil
			}
			if !errors.Is(err, senior.ErrNotFound) {
				return events.StepOutcome{}, err
			}
			if p.Registry != "" {
				byReg, rerr := d.Senior.FindPersonByRegistry(ctx, p.Registry)
				if rerr == nil {
					return events.Done("personId", byReg.ID), nil
				}
				if !errors.Is(rerr, senior.ErrNotFound) {
					return events.StepOutcome{}, rerr
				}
			}
			if required {
				return events.StepOutcome{}, eventErrorf([]string{"/person/cpf", "/person/registry"},
					"Senior has no person with CPF %s or registry %q: register the person in Ronda senior X (or send senior.personId), then replay this event",
					clients.MaskCPF(p.CPF), p.Registry)
			}
			return events.Skipped("Senior has no such person"), nil
		})
	if err != nil {
		return 0, err
	}
	return o.IDs["personId"], nil
}

// grantRoles links the person to every role in want that it does not hold from `from` on (read before write:
// POST /person/role is not idempotent).
func (d Deps) grantRoles(ctx context.Context, personID int64, want []int64, from time.Time, links []senior.PersonRole) error {
	for _, roleID := range want {
		_, err := events.Step(ctx, events.StepSpec{Target: senior.Target, Operation: "add_role", Item: strconv.FormatInt(roleID, 10)},
			func(ctx context.Context) (events.StepOutcome, error) {
				for _, l := range links {
					// Held: a link to the role that has begun by `from` and has not ended by then. A link that
					// only starts later leaves a gap, so a link from `from` is added (SAM allows overlaps).
					if l.RoleID == roleID && !l.StartDate.After(from) && (l.EndDate.IsZero() || l.EndDate.After(from)) {
						return events.Skipped("already holds the role", "roleId", roleID, "personRoleId", l.PersonRoleID), nil
					}
				}
				link, err := d.Senior.CreatePersonRole(ctx, senior.PersonRoleInput{PersonID: personID, RoleID: roleID, StartDate: senior.Time{Time: from}})
				if err != nil {
					if errors.Is(err, senior.ErrNotFound) {
						return events.StepOutcome{}, eventErrorFrom(err, []string{"/senior/roleIds", "/orgUnit", "/position"},
							"Senior has no role %d (from the event or its access profile)", roleID)
					}
					return events.StepOutcome{}, err
				}
				return events.Done("roleId", roleID, "personRoleId", link.ID), nil
			})
		if err != nil {
			return err
		}
	}
	return nil
}

// endLink ends one link at `at`: a link that has not started and would start at or after `at` is deleted (it
// never grants anything); any other gets endDate = at (SAM lets a started link change only its end date). A link
// already ended by then is left alone.
func (d Deps) endLink(ctx context.Context, personID int64, l senior.PersonRole, at time.Time) error {
	id := strconv.FormatInt(l.PersonRoleID, 10)
	if !l.EndDate.IsZero() && !l.EndDate.After(at) {
		return nil
	}
	now := d.now()
	if !l.Started(now) && !l.StartDate.Before(at) {
		_, err := events.Step(ctx, events.StepSpec{Target: senior.Target, Operation: "delete_role", Item: id},
			func(ctx context.Context) (events.StepOutcome, error) {
				err := d.Senior.DeletePersonRole(ctx, l.PersonRoleID)
				if errors.Is(err, senior.ErrNotFound) {
					return events.Skipped("link already gone", "roleId", l.RoleID, "personRoleId", l.PersonRoleID), nil
				}
				if err != nil {
					return events.StepOutcome{}, err
				}
				return events.Done("roleId", l.RoleID, "personRoleId", l.PersonRoleID), nil
			})
		return err
	}
	end := at
	if end.Before(l.StartDate.Time) {
		end = l.StartDate.Time // a retroactive end before the link began: end it where it began
	}
	_, err := events.Step(ctx, events.StepSpec{Target: senior.Target, Operation: "end_role", Item: id},
		func(ctx context.Context) (events.StepOutcome, error) {
			err := d.Senior.UpdatePersonRole(ctx, senior.PersonRoleInput{
				ID: l.PersonRoleID, PersonID: personID, RoleID: l.RoleID, StartDate: l.StartDate, EndDate: senior.Time{Time: end},
			})
			if err != nil {
				return events.StepOutcome{}, fmt.Errorf("end person-role link %d: %w", l.PersonRoleID, err)
			}
			return events.Done("roleId", l.RoleID, "personRoleId", l.PersonRoleID), nil
		})
	return err
}
