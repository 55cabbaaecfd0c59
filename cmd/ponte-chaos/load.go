package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ponte-dev/ponte/cmd/internal/harness"
	"github.com/ponte-dev/ponte/events"
)

// The dates of the events of every generated person and contract. The rank of an entity's events (0, 1, 2) is
// also the order its writes must reach the simulators in.
var (
	hireDate = time.Date(2025, 2, 3, 8, 0, 0, 0, brt)
	moveDate = time.Date(2025, 6, 2, 0, 0, 0, 0, brt)
	termDate = time.Date(2025, 10, 31, 18, 0, 0, 0, brt)
	brt      = time.FixedZone("-03", -3*3600)
)

// input is one message the harness publishes, with its unique id (the CloudEvent id, and Nats-Msg-Id) and what
// it must end as.
type input struct {
	key    string
	entity string
	rank   int
	msg    *nats.Msg
	// poison is the kind of a message that must end as exactly one dead letter ("" for a good event).
	poison string
}

// load is the events of one scenario run.
type load struct {
	run     string // unique per run: every id starts with it
	persons int
	inputs  []input
}

// personID is the HR id of generated person i (the entity key of its events); its Senior personId is 700000+i.
func personID(i int) string { return fmt.Sprintf("E-7%05d", i) }
func username(i int) string { return fmt.Sprintf("chaos.p%05d", i) }

// contractNumber is generated contract j's número; its UG alternates between 001001 and 001002.
func contractNumber(j int) string { return fmt.Sprintf("%d/2025", 1000+j) }
func contractUG(j int) string {
	if j%2 == 0 {
		return "001001"
	}
	return "001002"
}

// newLoad generates persons × (hired, moved, terminated) and contracts × (signed, amended, cancelled), the events
// of one entity in that order with increasing times, interleaved across entities as upstream systems would
// publish them; and poison messages of each kind spread among them.
func newLoad(run string, persons, contracts, poison int) (*load, error) {
	l := &load{run: run, persons: persons}
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	var perEntity [][]input
	for i := range persons {
		var evs []input
		for rank, typ := range []string{"person.hired", "person.moved", "person.terminated"} {
			in, err := l.person(i, rank, typ, base.Add(time.Duration(rank)*time.Minute))
			if err != nil {
				return nil, err
			}
			evs = append(evs, in)
		}
		perEntity = append(perEntity, evs)
	}
	for j := range contracts {
		var evs []input
		for rank, typ := range []string{"contract.signed", "contract.amended", "contract.cancelled"} {
			in, err := l.contract(j, rank, typ, base.Add(time.Duration(rank)*time.Minute))
			if err != nil {
				return nil, err
			}
			evs = append(evs, in)
		}
		perEntity = append(perEntity, evs)
	}
	// Round-robin over the entities: an entity's three events are far apart in the stream, with others between.
	for rank := range 3 {
		for _, evs := range perEntity {
			l.inputs = append(l.inputs, evs[rank])
		}
	}
	if poison > 0 {
		every := len(l.inputs) / poison
		var mixed []input
		k := 0
		for n, in := range l.inputs {
			mixed = append(mixed, in)
			if k < poison && (n+1)%every == 0 {
				p, err := l.poison(k)
				if err != nil {
					return nil, err
				}
				mixed = append(mixed, p)
				k++
			}
		}
		l.inputs = mixed
	}
	return l, nil
}

func (l *load) id(kind string, n, rank int) string {
	return fmt.Sprintf("%s-%s%05d-%d", l.run, kind, n, rank)
}

func (l *load) event(id, typ, subject string, t time.Time, data any, ext map[string]string) (*nats.Msg, error) {
	ev := event.New()
	ev.SetID(id)
	ev.SetSource("urn:ponte:chaos")
	ev.SetType(typ)
	ev.SetSubject(subject)
	ev.SetTime(t)
	for k, v := range ext {
		ev.SetExtension(k, v)
	}
	if err := ev.SetData(event.ApplicationJSON, data); err != nil {
		return nil, err
	}
	return events.EncodeBinary(typ, &ev, id), nil
}

func (l *load) person(i, rank int, typ string, t time.Time) (input, error) {
	p := map[string]any{"id": personID(i), "name": harness.PersonName(i), "username": username(i),
		"email": username(i) + "@ponte.dev", "cpf": harness.CPF(i), "registry": harness.Registry(i)}
	var data map[string]any
	switch rank {
	case 0:
		data = map[string]any{"person": p, "hireDate": hireDate, "orgUnit": "TI", "position": "ANALISTA"}
	case 1:
		data = map[string]any{"person": p, "effectiveDate": moveDate, "orgUnit": "RH", "position": "ANALISTA"}
	default:
		data = map[string]any{"person": map[string]any{"id": personID(i), "username": username(i), "cpf": harness.CPF(i)}, "terminationDate": termDate}
	}
	id := l.id("p", i, rank)
	m, err := l.event(id, typ, personID(i), t, data, nil)
	return input{key: id, entity: personID(i), rank: rank, msg: m}, err
}

func (l *load) contract(j, rank int, typ string, t time.Time) (input, error) {
	numero := contractNumber(j)
	var data map[string]any
	switch rank {
	case 0:
		data = map[string]any{"contrato": map[string]any{"numero": numero, "ano": 2025,
			"objeto":      "Prestação de serviços de manutenção predial",
			"contratado":  map[string]any{"documento": "11.222.333/0001-81", "nome": "Construtora Exemplo Ltda"},
			"valorGlobal": 150000.00, "dataAssinatura": "2025-03-10",
			"vigencia":            map[string]any{"inicio": "2025-03-10", "fim": "2026-03-09"},
			"modalidadeLicitacao": "Pregão eletrônico", "numeroProcessoAdministrativo": "2025.001.0042",
			"fundamentoLegal": "Lei 14.133/2021, art. 28, I"}}
	case 1:
		data = map[string]any{"contrato": map[string]any{"numero": numero, "ano": 2025, "valorGlobal": 165000.00,
			"vigencia": map[string]any{"inicio": "2025-03-10", "fim": "2026-09-09"}}}
	default:
		data = map[string]any{"contrato": map[string]any{"numero": numero, "ano": 2025}, "motivo": "Rescisão amigável"}
	}
	id := l.id("c", j, rank)
	entity := contractUG(j) + "/" + numero + "/2025"
	m, err := l.event(id, typ, entity, t, data, map[string]string{"ug": contractUG(j)})
	return input{key: id, entity: entity, rank: rank, msg: m}, err
}

// The kinds of poison: a message that is no CloudEvent, one the catalogue refuses, one the API refuses (400),
// and one the API always answers 500 (the simulator's failMatch), which must use up its attempts and stop.
const (
	poisonNotCE   = "not_cloudevent"
	poisonSchema  = "schema_violation"
	poisonRefused = "permanent_error"
	poison500     = "attempts_exhausted"
	// poisonMarker is in the body of the always-500 contract; the CidadES simulator fails what holds it.
	poisonMarker = "CHAOS-POISON-500"
)

func (l *load) poison(k int) (input, error) {
	kinds := []string{poisonNotCE, poisonSchema, poisonRefused, poison500}
	kind := kinds[k%len(kinds)]
	id := l.id("x", k, 0)
	t := time.Now().Add(-time.Hour)
	var (
		m   *nats.Msg
		err error
	)
	switch kind {
	case poisonNotCE:
		m = nats.NewMsg("contract.signed")
		m.Header.Set(jetstream.MsgIDHeader, id)
		m.Data = []byte("numero;ano\n77/2025;2025\n")
	case poisonSchema:
		m, err = l.event(id, "person.hired", "E-9"+fmt.Sprintf("%05d", k), t, map[string]any{
			"person":   map[string]any{"id": "E-9" + fmt.Sprintf("%05d", k), "name": "Sem CPF Válido", "username": fmt.Sprintf("chaos.x%05d", k), "email": "x@ponte.dev", "cpf": "111.111.111-12"},
			"hireDate": hireDate, "orgUnit": "TI", "position": "ANALISTA"}, nil)
	case poisonRefused:
		// A Zeev team that does not exist: Zeev answers 400 TeamNotFound.
		n := fmt.Sprintf("%05d", k)
		m, err = l.event(id, "person.hired", "E-8"+n, t, map[string]any{
			"person":   map[string]any{"id": "E-8" + n, "name": "Time Inexistente", "username": "chaos.t" + n, "email": "chaos.t" + n + "@ponte.dev", "cpf": harness.CPF(90000 + k)},
			"hireDate": hireDate, "orgUnit": "TI", "position": "ANALISTA",
			"zeev": map[string]any{"positions": []map[string]string{{"teamCode": "NAO-EXISTE", "positionCode": "ANALISTA"}}}}, nil)
	case poison500:
		numero := fmt.Sprintf("%d/2024", 5000+k)
		m, err = l.event(id, "contract.signed", "001001/"+numero+"/2024", t, map[string]any{"contrato": map[string]any{
			"numero": numero, "ano": 2024, "objeto": poisonMarker,
			"contratado":  map[string]any{"documento": "11.222.333/0001-81", "nome": "Construtora Exemplo Ltda"},
			"valorGlobal": 1000.00, "dataAssinatura": "2024-03-10",
			"vigencia": map[string]any{"inicio": "2024-03-10", "fim": "2025-03-09"}}}, map[string]string{"ug": "001001"})
	}
	return input{key: id, entity: "poison/" + id, msg: m, poison: kind}, err
}

// publish publishes every input in order, awaiting each PubAck (so an entity's events are in the stream in
// their order), and returns the keys the server acknowledged.
func (l *load) publish(ctx context.Context, js jetstream.JetStream) (map[string]bool, error) {
	acked := map[string]bool{}
	const window = 256
	futures := make([]jetstream.PubAckFuture, 0, window)
	keys := make([]string, 0, window)
	flush := func() error {
		for n, f := range futures {
			select {
			case <-f.Ok():
				acked[keys[n]] = true
			case err := <-f.Err():
				return fmt.Errorf("publish %s: %w", keys[n], err)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		futures, keys = futures[:0], keys[:0]
		return nil
	}
	for _, in := range l.inputs {
		f, err := js.PublishMsgAsync(in.msg)
		if err != nil {
			return acked, fmt.Errorf("publish %s: %w", in.key, err)
		}
		futures, keys = append(futures, f), append(keys, in.key)
		if len(futures) == window {
			if err := flush(); err != nil {
				return acked, err
			}
		}
	}
	return acked, flush()
}

// jsonField returns the string or number field name of a JSON object body ("" when absent).
func jsonField(body []byte, name string) string {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	switch v := m[name].(type) {
	case string:
		return v
	case float64:
		return fmt.Sprint(int64(v))
	}
	return ""
}
