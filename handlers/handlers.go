// Package handlers turns each type of the event catalogue into the calls it needs on Zeev, Senior Ronda
// senior X and CidadES. There is one file per event type; Routes returns the type → handler table the
// events.Worker consumes.
//
// Every side effect runs inside events.Step, so that a redelivered event runs only the steps not yet done, and
// every step is idempotent on its own: Zeev upserts with ifExists=update, Senior links are added only when the
// person does not already hold the role (read before write), CidadES treats 409 on create as "already there".
//
// Errors: a problem the event itself causes (no access profile, a person Senior does not know, data CidadES
// rejects) is permanent and names the field; everything else comes from the clients with their own
// classification.
package handlers

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/ponte-dev/ponte/clients/cidades"
	"github.com/ponte-dev/ponte/clients/senior"
	"github.com/ponte-dev/ponte/clients/zeev"
	"github.com/ponte-dev/ponte/events"
)

// The event types of the catalogue (v1).
const (
	PersonHired       = "person.hired"
	PersonMoved       = "person.moved"
	PersonTerminated  = "person.terminated"
	ContractSigned    = "contract.signed"
	ContractAmended   = "contract.amended"
	ContractCancelled = "contract.cancelled"
)

// Deps are the collaborators of the handlers.
type Deps struct {
	Zeev     *zeev.Client
	Senior   *senior.Client
	CidadES  *cidades.Client
	Profiles *Profiles
	// Now is the clock; nil for time.Now. It decides which Senior links have started.
	Now func() time.Time
}

func (d Deps) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// Routes returns the handler of every event type, with the targets each needs (its consumer pauses while one of
// their breakers is open) and the CloudEvent extensions it requires.
func Routes(d Deps) []events.Route {
	person := []string{zeev.Target, senior.Target}
	return []events.Route{
		{Type: PersonHired, Handler: events.HandlerFunc(d.personHired), Targets: person},
		{Type: PersonMoved, Handler: events.HandlerFunc(d.personMoved), Targets: person},
		{Type: PersonTerminated, Handler: events.HandlerFunc(d.personTerminated), Targets: person},
		{Type: ContractSigned, Handler: events.HandlerFunc(d.contractSigned), Extensions: []string{"ug"}},
		{Type: ContractAmended, Handler: events.HandlerFunc(d.contractAmended), Extensions: []string{"ug"}},
		{Type: ContractCancelled, Handler: events.HandlerFunc(d.contractCancelled), Extensions: []string{"ug"}},
	}
}

// EventError is a problem with the event itself that no retry can fix. It names the fields involved (JSON
// pointers into data, or CloudEvent attributes), which the dead letter lists.
type EventError struct {
	Fields  []string
	Message string
}

// Error implements error.
func (e *EventError) Error() string { return e.Message }

// Permanent always reports true.
func (e *EventError) Permanent() bool { return true }

// FieldPairs returns (field, message) for every field, for the dead letter's errors list.
func (e *EventError) FieldPairs() [][2]string {
	out := make([][2]string, 0, len(e.Fields))
	for _, f := range e.Fields {
		out = append(out, [2]string{f, e.Message})
	}
	return out
}

func eventErrorf(fields []string, format string, args ...any) error {
	return &EventError{Fields: fields, Message: fmt.Sprintf(format, args...)}
}

// decode reads the event's data into v. The data was validated against its schema before the handler runs, so
// a failure here is a bug or a schema drift; it is reported as permanent.
func decode(ev event.Event, v any) error {
	if err := json.Unmarshal(ev.Data(), v); err != nil {
		return &EventError{Fields: []string{""}, Message: fmt.Sprintf("%s data: %v", ev.Type(), err)}
	}
	return nil
}

// ugOf returns the CloudEvent extension ug.
func ugOf(ev event.Event) (string, error) {
	v, ok := ev.Extensions()["ug"]
	s, _ := v.(string)
	if !ok || s == "" {
		return "", &EventError{Fields: []string{"ug"}, Message: "CloudEvent extension \"ug\" (the CidadES UG) is required"}
	}
	return s, nil
}
