package handlers

import (
	"context"
	"errors"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/ponte-dev/ponte/clients/cidades"
	"github.com/ponte-dev/ponte/events"
)

// contractSigned registers the contract with CidadES for the event's UG. A 409 means the contract (UG, número,
// ano) is already registered, by an earlier delivery or by hand: it is read back and counts as success.
func (d Deps) contractSigned(ctx context.Context, ev event.Event) error {
	ug, c, err := contractEvent(ev)
	if err != nil {
		return err
	}
	var ct cidades.Contratacao
	c.apply(&ct)
	_, err = events.Step(ctx, events.StepSpec{Target: cidades.Target, Operation: "create_contratacao"},
		func(ctx context.Context) (events.StepOutcome, error) {
			created, err := d.CidadES.CreateContratacao(ctx, ug, ct)
			if err == nil {
				return events.Done("contratacaoId", created.ID), nil
			}
			if !errors.Is(err, cidades.ErrConflict) {
				return events.StepOutcome{}, withEventFields(err)
			}
			existing, ferr := d.CidadES.FindContratacao(ctx, ug, ct.NumeroContrato, ct.AnoContrato)
			if ferr != nil {
				return events.StepOutcome{}, ferr
			}
			return events.Skipped("already registered", "contratacaoId", existing.ID), nil
		})
	return err
}
