package handlers

import (
	"context"
	"errors"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/ponte-dev/ponte/clients/cidades"
	"github.com/ponte-dev/ponte/events"
)

// contractCancelled finds the contract by (UG, número, ano) and deletes it. A contract already gone is success.
func (d Deps) contractCancelled(ctx context.Context, ev event.Event) error {
	ug, c, err := contractEvent(ev)
	if err != nil {
		return err
	}
	_, err = events.Step(ctx, events.StepSpec{Target: cidades.Target, Operation: "delete_contratacao"},
		func(ctx context.Context) (events.StepOutcome, error) {
			found, err := d.CidadES.FindContratacao(ctx, ug, c.Numero, c.Ano)
			if errors.Is(err, cidades.ErrNotFound) {
				return events.Skipped("not registered: nothing to cancel"), nil
			}
			if err != nil {
				return events.StepOutcome{}, err
			}
			err = d.CidadES.DeleteContratacao(ctx, ug, found.ID)
			if errors.Is(err, cidades.ErrNotFound) {
				return events.Skipped("already gone", "contratacaoId", found.ID), nil
			}
			if err != nil {
				return events.StepOutcome{}, err
			}
			return events.Done("contratacaoId", found.ID), nil
		})
	return err
}
