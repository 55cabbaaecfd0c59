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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
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

// Routes returns the handler of every event type, with the targets each needs (its events wait while one of their
// breakers is open), the systems it writes to and the CloudEvent extensions it requires.
func Routes(d Deps) []events.Route {
	person := []string{zeev.Target, senior.Target}
	ug := []string{"ug"}
	cid := []string{cidades.Target}
	return []events.Route{
		{Type: PersonHired, Handler: events.HandlerFunc(d.personHired), Targets: person, Systems: person, EntityKey: personKey},
		{Type: PersonMoved, Handler: events.HandlerFunc(d.personMoved), Targets: person, Systems: person, EntityKey: personKey},
		{Type: PersonTerminated, Handler: events.HandlerFunc(d.personTerminated), Targets: person, Systems: person, EntityKey: personKey},
		{Type: ContractSigned, Handler: d.contract(d.contractSigned), Systems: cid, Extensions: ug, EntityKey: contractKey},
		{Type: ContractAmended, Handler: d.contract(d.contractAmended), Systems: cid, Extensions: ug, EntityKey: contractKey},
		{Type: ContractCancelled, Handler: d.contract(d.contractCancelled), Systems: cid, Extensions: ug, EntityKey: contractKey},
	}
}

// EntityKey returns the entity key of an event of the catalogue, the subject it must carry, from its data and
// its ug extension: the person id for person.*, <ug>/<numero>/<ano> for contract.*. It returns "" for a type
// outside those two families, or data that names no person or contract.
func EntityKey(ev event.Event) string {
	var key string
	switch {
	case strings.HasPrefix(ev.Type(), "person."):
		key, _ = personKey(ev, nil)
	case strings.HasPrefix(ev.Type(), "contract."):
		key, _ = contractKey(ev, nil)
	}
	return key
}

// personKey is the entity key of a person event: the person's id. data is the event's data already decoded
// (see events.Route.EntityKey), nil to decode it here.
func personKey(ev event.Event, data any) (string, string) {
	const from = "data.person.id"
	if id, ok := member(data, "person", "id").(string); ok {
		return id, from
	}
	var d struct {
		Person struct {
			ID string `json:"id"`
		} `json:"person"`
	}
	_ = json.Unmarshal(ev.Data(), &d)
	return d.Person.ID, from
}

// contractKey is the entity key of a contract event: <ug>/<numero>/<ano>. data is as for personKey.
func contractKey(ev event.Event, data any) (string, string) {
	const from = "<ug>/<numero>/<ano>: the ug extension, data.contrato.numero and data.contrato.ano"
	ug, _ := ugExtension(&ev)
	numero, _ := member(data, "contrato", "numero").(string)
	if ano, ok := member(data, "contrato", "ano").(json.Number); ok && numero != "" {
		if n, err := strconv.Atoi(string(ano)); err == nil {
			return ContractKey(ug, numero, n), from
		}
	}
	var d contractData
	if json.Unmarshal(ev.Data(), &d) != nil || d.Contrato.Numero == "" {
		return "", from
	}
	return ContractKey(ug, d.Contrato.Numero, d.Contrato.Ano), from
}

// member returns the member at path in data decoded into maps (nil if data is nil or has none there).
func member(data any, path ...string) any {
	for _, name := range path {
		obj, ok := data.(map[string]any)
		if !ok {
			return nil
		}
		data = obj[name]
	}
	return data
}

// ContractKey returns the entity key of a contract, the subject of its events: "<ug>/<numero>/<ano>", e.g.
// "001001/12/2026/2026" (the número may itself hold "/").
func ContractKey(ug, numero string, ano int) string {
	return fmt.Sprintf("%s/%s/%d", ug, numero, ano)
}

// contract wraps a contract handler: a UG that ponte's configuration has no CidadES key for is a configuration
// error (config_error: replay the event once the key is configured), not a refusal by CidadES.
func (d Deps) contract(h events.HandlerFunc) events.Handler {
	return events.HandlerFunc(func(ctx context.Context, ev event.Event) error {
		err := h(ctx, ev)
		if errors.Is(err, cidades.ErrUnknownUG) {
			ug, _ := ugExtension(&ev)
			return &events.ConfigError{
				Target: cidades.Target, Key: "cidades.ugs." + ug, Fields: []string{"ug"},
				Message: fmt.Sprintf("UG %q has no CidadES key in ponte's configuration: add it under cidades.ugs.%s, then replay this event (ponte dlq replay)", ug, ug),
				Err:     err,
			}
		}
		return err
	})
}

// EventError is a problem with the event itself that no retry can fix. It names the fields involved (JSON
// pointers into data, or CloudEvent attributes), which the dead letter lists.
type EventError struct {
	Fields  []string
	Message string
	// Err is the downstream answer behind the problem, if there was one (a 404), so that the dead letter shows
	// its status and excerpt.
	Err error
}

// Error implements error.
func (e *EventError) Error() string { return e.Message }

// Unwrap returns Err.
func (e *EventError) Unwrap() error { return e.Err }

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

// eventErrorFrom is eventErrorf for a problem a downstream answer (cause) revealed.
func eventErrorFrom(cause error, fields []string, format string, args ...any) error {
	return &EventError{Fields: fields, Message: fmt.Sprintf(format, args...), Err: cause}
}

// decode reads the event's data into v. The data was validated against its schema before the handler runs, so
// a failure here is a bug or a schema drift; it is reported as permanent.
func decode(ev event.Event, v any) error {
	if err := json.Unmarshal(ev.Data(), v); err != nil {
		return &EventError{Fields: []string{""}, Message: fmt.Sprintf("%s data: %v", ev.Type(), err)}
	}
	return nil
}

// ugExtension returns the CloudEvent extension ug, and whether the event has it as a string.
func ugExtension(ev *event.Event) (string, bool) {
	v, _ := events.Extension(ev, "ug")
	s, ok := v.(string)
	return s, ok
}

// ugOf returns the CloudEvent extension ug.
func ugOf(ev event.Event) (string, error) {
	s, ok := ugExtension(&ev)
	if !ok || s == "" {
		return "", &EventError{Fields: []string{"ug"}, Message: "CloudEvent extension \"ug\" (the CidadES UG) is required"}
	}
	return s, nil
}
