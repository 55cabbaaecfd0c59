package handlers

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/ponte-dev/ponte/clients/cidades"
	"github.com/ponte-dev/ponte/events"
)

// contractAmended finds the contract by (UG, número, ano) and updates it with the fields the event changes. A
// contract not found yet is retried (its contract.signed may still be on its way), then dead-lettered when the
// attempt budget runs out.
func (d Deps) contractAmended(ctx context.Context, ev event.Event) error {
	ug, c, err := contractEvent(ev)
	if err != nil {
		return err
	}
	_, err = events.Step(ctx, events.StepSpec{Target: cidades.Target, Operation: "update_contratacao"},
		func(ctx context.Context) (events.StepOutcome, error) {
			found, err := d.CidadES.FindContratacao(ctx, ug, c.Numero, c.Ano)
			if errors.Is(err, cidades.ErrNotFound) {
				return events.StepOutcome{}, fmt.Errorf("amend contract %s/%d of UG %s: not registered in CidadES yet (retrying: its contract.signed may not be processed yet)", c.Numero, c.Ano, ug)
			}
			if err != nil {
				return events.StepOutcome{}, err
			}
			want := *found
			c.apply(&want)
			if reflect.DeepEqual(want, *found) {
				return events.Skipped("no change", "contratacaoId", found.ID), nil
			}
			if _, err := d.CidadES.UpdateContratacao(ctx, ug, found.ID, want); err != nil {
				return events.StepOutcome{}, withEventFields(err)
			}
			return events.Done("contratacaoId", found.ID), nil
		})
	return err
}
