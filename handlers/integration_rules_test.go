package handlers_test

import (
	"context"
	"testing"
	"time"

	"github.com/ponte-dev/ponte/clients/senior"
	"github.com/ponte-dev/ponte/events"
	"github.com/ponte-dev/ponte/handlers"
)

// TestMoveDoesNotReactivateALeaver: event types have their own consumers, so a person.moved may be processed
// after the person.terminated that followed it; the move must not switch the Zeev account back on.
func TestMoveDoesNotReactivateALeaver(t *testing.T) {
	e := startEnv(t, envOptions{})
	if u, ok := e.zeevSim.User("mariana.costa"); !ok || u.IsActive {
		t.Fatalf("fixture: mariana.costa should be an inactive leaver: %+v", u)
	}
	ev := inputEvent(handlers.PersonMoved, "moved-leaver", "E-0789", `{
		"person": {"id": "E-0789", "name": "Mariana Costa", "username": "mariana.costa",
		           "email": "mariana.costa@ponte.dev", "cpf": "935.411.347-80"},
		"effectiveDate": "2026-12-01T00:00:00-03:00", "orgUnit": "RH", "position": "ANALISTA",
		"senior": {"roleIds": []}}`)
	e.publishBinary(ev)
	res := e.waitResult(ev.ID())
	if res.Steps[0].Operation != "upsert_user" || res.Steps[0].Detail != "Update" {
		t.Fatalf("steps = %+v", res.Steps)
	}
	if u, _ := e.zeevSim.User("mariana.costa"); u.IsActive {
		t.Fatal("the move reactivated a leaver's Zeev account")
	}
}

// TestLinkStartingLaterIsNotHeld: a link to the role that only starts after the hire date leaves the person
// without access in between, so a link from the hire date is added.
func TestLinkStartingLaterIsNotHeld(t *testing.T) {
	e := startEnv(t, envOptions{})
	later, _ := time.Parse(time.RFC3339, "2027-06-01T08:00:00-03:00")
	if _, err := e.senior.CreatePersonRole(context.Background(), senior.PersonRoleInput{PersonID: 131, RoleID: 3, StartDate: senior.Time{Time: later}}); err != nil {
		t.Fatal(err)
	}
	ev := inputEvent(handlers.PersonHired, "hired-with-later-link", "E-0131", hiredDaniela)
	e.publishBinary(ev)
	res := e.waitResult(ev.ID())
	var statuses []string
	for _, s := range res.Steps {
		if s.Operation == "add_role" {
			statuses = append(statuses, s.Status)
		}
	}
	if len(statuses) != 2 || statuses[0] != events.StatusDone || statuses[1] != events.StatusDone {
		t.Fatalf("add_role statuses = %v, want both done", statuses)
	}
	hire, _ := time.Parse(time.RFC3339, "2026-12-01T08:00:00-03:00")
	var fromHire int
	for _, l := range e.seniorSim.PersonLinks(131) {
		if l.RoleID == 3 && l.StartDate.Equal(hire) {
			fromHire++
		}
	}
	if fromHire != 1 {
		t.Fatalf("links of person 131 = %+v, want one role-3 link from the hire date", e.seniorSim.PersonLinks(131))
	}
}
