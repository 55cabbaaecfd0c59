package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ponte-dev/ponte/cmd/internal/harness"
)

// load is the events of one run: binary-mode CloudEvents, built by hand as a foreign publisher would, each with
// a unique id (also its Nats-Msg-Id) and a unique entity, so that every contract.signed is a real create and
// every person.hired a real hire.
type load struct {
	ids  []string
	msgs []*nats.Msg
}

// objetoSize pads each contract's objeto so that a contract.signed message is about 1 KiB with its headers.
const objetoSize = 560

// newLoad generates n events of type typ, their ids starting with run.
func newLoad(run, typ string, n int) (*load, error) {
	l := &load{ids: make([]string, 0, n), msgs: make([]*nats.Msg, 0, n)}
	now := time.Now().UTC()
	filler := strings.Repeat("Prestação de serviços de manutenção predial, ", objetoSize/46+1)[:objetoSize]
	for i := range n {
		var (
			id, subject, ug string
			data            any
		)
		switch typ {
		case typeContractSigned:
			numero := fmt.Sprintf("B%07d/2025", i)
			ug = "001001"
			if i%2 == 1 {
				ug = "001002"
			}
			id, subject = fmt.Sprintf("%s-c%07d", run, i), ug+"/"+numero+"/2025"
			data = map[string]any{"contrato": map[string]any{"numero": numero, "ano": 2025,
				"objeto":      filler,
				"contratado":  map[string]any{"documento": "11.222.333/0001-81", "nome": "Construtora Exemplo Ltda"},
				"valorGlobal": 150000.00, "dataAssinatura": "2025-03-10",
				"vigencia":            map[string]any{"inicio": "2025-03-10", "fim": "2026-03-09"},
				"modalidadeLicitacao": "Pregão eletrônico", "numeroProcessoAdministrativo": "2025.001.0042",
				"fundamentoLegal": "Lei 14.133/2021, art. 28, I"}}
		case typePersonHired:
			// Person i as harness.WriteFixtures registers it in Senior; the profile TI/ANALISTA grants one Zeev
			// position and two Senior roles.
			username := fmt.Sprintf("bench.p%05d", i)
			id, subject = fmt.Sprintf("%s-p%05d", run, i), fmt.Sprintf("E-7%05d", i)
			data = map[string]any{"person": map[string]any{"id": subject, "name": harness.PersonName(i), "username": username,
				"email": username + "@ponte.dev", "cpf": harness.CPF(i), "registry": harness.Registry(i)},
				"hireDate": "2025-02-03T08:00:00-03:00", "orgUnit": "TI", "position": "ANALISTA"}
		default:
			return nil, fmt.Errorf("no load of type %q", typ)
		}
		body, err := json.Marshal(data)
		if err != nil {
			return nil, err
		}
		m := nats.NewMsg(typ)
		m.Header.Set("ce-specversion", "1.0")
		m.Header.Set("ce-id", id)
		m.Header.Set("ce-source", "urn:ponte:bench")
		m.Header.Set("ce-type", typ)
		m.Header.Set("ce-subject", subject)
		m.Header.Set("ce-time", now.Format(time.RFC3339Nano))
		m.Header.Set("content-type", "application/json")
		if ug != "" {
			m.Header.Set("ce-ug", ug)
		}
		m.Header.Set(nats.MsgIdHdr, id)
		m.Data = body
		l.ids, l.msgs = append(l.ids, id), append(l.msgs, m)
	}
	return l, nil
}

// publishAll publishes every event with asynchronous JetStream publishes and waits for their PubAcks.
func (l *load) publishAll(ctx context.Context, js jetstream.JetStream) error {
	futures := make([]jetstream.PubAckFuture, 0, len(l.msgs))
	for _, m := range l.msgs {
		f, err := js.PublishMsgAsync(m)
		if err != nil {
			return fmt.Errorf("publish %s: %w", m.Header.Get(nats.MsgIdHdr), err)
		}
		futures = append(futures, f)
	}
	return awaitAll(ctx, futures)
}

// publishAt publishes the events at rate per second, spread over 10 ms ticks, and waits for their PubAcks. It
// returns how many it published.
func (l *load) publishAt(ctx context.Context, js jetstream.JetStream, rate int) (int, error) {
	futures := make([]jetstream.PubAckFuture, 0, len(l.msgs))
	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	next := 0
	for next < len(l.msgs) {
		due := min(len(l.msgs), int(time.Since(start).Seconds()*float64(rate))+1)
		for ; next < due; next++ {
			f, err := js.PublishMsgAsync(l.msgs[next])
			if err != nil {
				return next, fmt.Errorf("publish %s: %w", l.ids[next], err)
			}
			futures = append(futures, f)
		}
		select {
		case <-ctx.Done():
			return next, ctx.Err()
		case <-tick.C:
		}
	}
	return next, awaitAll(ctx, futures)
}

// awaitAll waits for every PubAck.
func awaitAll(ctx context.Context, futures []jetstream.PubAckFuture) error {
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("publish %s: %w", f.Msg().Header.Get(nats.MsgIdHdr), err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
