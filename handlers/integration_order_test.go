package handlers_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/ponte-dev/ponte/clients/fault"
	"github.com/ponte-dev/ponte/events"
	"github.com/ponte-dev/ponte/handlers"
	"github.com/ponte-dev/ponte/schemas"
)

// zeevWrites returns the writes the Zeev simulator answered, in the order it received them.
func zeevWrites(log []fault.Entry) []string {
	var out []string
	for _, en := range log {
		if en.Method != "GET" && en.Status < 300 {
			line := en.String()
			if en.Method == "POST" && strings.Contains(string(en.Body), `"replace"`) {
				line += " (replace)"
			}
			out = append(out, line)
		}
	}
	return out
}

// TestPerEntityOrderAcrossTypesAndWorkers is defect 6 of the settlement issue: a hire, a move and a termination of
// one person, published in a burst and consumed by two workers, are applied in that order; a hire published later
// with an older time than the termination is skipped as stale and leaves the leaver deactivated.
func TestPerEntityOrderAcrossTypesAndWorkers(t *testing.T) {
	e := startEnv(t, envOptions{workers: 2})
	base := time.Date(2026, 11, 20, 14, 0, 0, 0, brt)
	hire := inputEvent(handlers.PersonHired, "order-hire", "E-0131", hiredDaniela)
	hire.SetTime(base)
	move := inputEvent(handlers.PersonMoved, "order-move", "E-0131", `{
		"person": {"id": "E-0131", "name": "Daniela Prado Vieira", "username": "daniela.vieira",
		           "email": "daniela.vieira@ponte.dev", "cpf": "048.315.726-08", "registry": "000131"},
		"effectiveDate": "2026-12-15T00:00:00-03:00", "orgUnit": "RH", "position": "ANALISTA"}`)
	move.SetTime(base.Add(time.Minute))
	term := inputEvent(handlers.PersonTerminated, "order-terminate", "E-0131", `{
		"person": {"id": "E-0131", "username": "daniela.vieira", "cpf": "048.315.726-08"},
		"terminationDate": "2026-12-31T18:00:00-03:00"}`)
	term.SetTime(base.Add(2 * time.Minute))
	for _, ev := range []*event.Event{hire, move, term} {
		e.publishBinary(ev)
	}
	for _, id := range []string{"order-hire", "order-move", "order-terminate"} {
		e.waitResult(id)
	}
	want := []string{"POST /api/2/users", "POST /api/2/users (replace)", "PATCH /api/2/users/4324/account/deactivate"}
	if got := zeevWrites(e.zeevSim.Faults().Requests()); !slices.Equal(got, want) {
		t.Fatalf("zeev writes in the order received:\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}

	late := inputEvent(handlers.PersonHired, "order-late-hire", "E-0131", hiredDaniela)
	late.SetTime(base.Add(30 * time.Second)) // older than the termination already applied
	e.clearLogs()
	e.publishBinary(late)
	res := e.waitResult("order-late-hire")
	if len(res.Steps) != 2 || res.Steps[0].Status != events.StatusStale || res.Steps[0].Target != "zeev" ||
		res.Steps[1].Target != "senior" || !strings.Contains(res.Steps[0].Detail, "order-terminate") {
		t.Errorf("late hire steps = %+v, want zeev and senior, stale, naming the termination", res.Steps)
	}
	catalog, err := schemas.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := catalog.ValidateOutput("result", e.waitOutput("PONTE_RESULTS", "order-late-hire", time.Second).ev.Data()); err != nil {
		t.Errorf("the stale result does not match its schema: %v", err)
	}
	if got := zeevWrites(e.zeevSim.Faults().Requests()); len(got) > 0 {
		t.Errorf("the late hire wrote to Zeev: %v", got)
	}
	if u := zeevUser(t, e, "daniela.vieira"); u.IsActive {
		t.Errorf("the late hire reactivated the leaver: %+v", u)
	}
}
