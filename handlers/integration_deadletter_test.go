package handlers_test

import (
	"cmp"
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"

	"github.com/ponte-dev/ponte/clients"
	"github.com/ponte-dev/ponte/clients/cidades"
	"github.com/ponte-dev/ponte/clients/cidades/cidadessim"
	"github.com/ponte-dev/ponte/events"
	"github.com/ponte-dev/ponte/handlers"
	"github.com/ponte-dev/ponte/schemas"
)

// TestInvalidEventsBecomeDeadLetters publishes one invalid message of each kind and checks that each becomes
// exactly one dead letter on the documented subject, with the documented reason, the event id wherever one was
// readable, a message that explains every problem and errors that name each field, the original message, and
// that no request reached any simulator.
func TestInvalidEventsBecomeDeadLetters(t *testing.T) {
	e := startEnv(t, envOptions{cfg: events.Config{MaxMessageSize: 4096}})
	binary := func(ev *event.Event) *nats.Msg { return events.EncodeBinary(ev.Type(), ev, "") }
	with := func(m *nats.Msg, kv ...string) *nats.Msg {
		for i := 0; i+1 < len(kv); i += 2 {
			m.Header.Set(kv[i], kv[i+1])
		}
		return m
	}

	notCE := nats.NewMsg(handlers.PersonHired)
	notCE.Data = []byte("name;cpf\nDaniela;048.315.726-08\n")
	notCE.Header.Set("x-trace", "t-1")

	promoted := binary(inputEvent("person.promoted", "promoted-1", "E-0131", `{"person": {"id": "E-0131"}}`))

	onWrongSubject := events.EncodeBinary(handlers.PersonHired, inputEvent(handlers.PersonMoved, "moved-on-hired", "E-0131", `{}`), "")
	hiredOnOtherSubject := events.EncodeBinary("person.promoted", inputEvent(handlers.PersonHired, "hired-on-promoted", "E-0131", hiredDaniela), "")

	// Three violations: a CPF with a wrong check digit, no e-mail, a hire date without UTC offset.
	badData := binary(inputEvent(handlers.PersonHired, "hired-bad", "E-0131", `{
		"person": {"id": "E-0131", "name": "Daniela Prado Vieira", "username": "daniela.vieira", "cpf": "048.315.726-09"},
		"hireDate": "2026-12-01T08:00:00", "orgUnit": "TI", "position": "ANALISTA"}`))

	// A contract event without the ug extension, in structured mode.
	noUG, err := events.Encode(handlers.ContractSigned, inputEvent(handlers.ContractSigned, "signed-no-ug", "001001/12/2026/2026", signed12), "")
	if err != nil {
		t.Fatal(err)
	}

	big := binary(inputEvent(handlers.PersonHired, "hired-big", "E-0131",
		`{"person": {"id": "E-0131", "name": "`+strings.Repeat("x", 5000)+`"}}`))

	specV03 := with(binary(inputEvent(handlers.PersonHired, "hired-v03", "E-0131", hiredDaniela)), "ce-specversion", "0.3")
	specV20 := with(binary(inputEvent(handlers.PersonHired, "hired-v20", "E-0131", hiredDaniela)), "ce-specversion", "2.0")
	badTime := with(binary(inputEvent(handlers.PersonHired, "hired-bad-time", "E-0131", hiredDaniela)), "ce-time", "20/11/2026 14:03")
	textPlain := with(binary(inputEvent(handlers.PersonHired, "hired-text", "E-0131", hiredDaniela)), "content-type", "text/plain")
	notUTF8 := binary(inputEvent(handlers.PersonHired, "hired-latin1", "E-0131",
		strings.Replace(hiredDaniela, `"Daniela Prado Vieira"`, "\"Daniela \xff\xfe Vieira\"", 1)))
	wrongSubject := binary(inputEvent(handlers.PersonHired, "hired-wrong-subject", "E-9999", hiredDaniela))
	contractWrongSubject := binary(contractEvent(handlers.ContractSigned, "signed-wrong-subject", "001001", "13/2026", 2026, signed12))

	tests := []struct {
		name    string
		msg     *nats.Msg
		reason  string
		subject string // where the dead letter is published
		eventID string
		fields  []string // the errors' fields, in order
		message string   // a substring of the dead letter's message
	}{
		{"not a CloudEvent", notCE, events.ReasonNotCloudEvent, "ponte.dlq.person.hired", "", []string{"specversion"}, "no header ce-specversion"},
		{"specversion 0.3", specV03, events.ReasonNotCloudEvent, "ponte.dlq.person.hired", "hired-v03", []string{"specversion"}, `specversion "0.3" is not supported`},
		{"specversion 2.0", specV20, events.ReasonNotCloudEvent, "ponte.dlq.person.hired", "hired-v20", []string{"specversion"}, `specversion "2.0" is not supported`},
		{"bad ce-time", badTime, events.ReasonNotCloudEvent, "ponte.dlq.person.hired", "hired-bad-time", []string{"time"}, `"20/11/2026 14:03" is not an RFC 3339 time`},
		{"unknown type", promoted, events.ReasonUnknownType, "ponte.dlq.unrouted", "promoted-1", nil, `unknown event type "person.promoted"`},
		{"type on another type's subject", onWrongSubject, events.ReasonSubjectMismatch, "ponte.dlq.person.hired", "moved-on-hired", nil, `published on subject "person.hired"`},
		{"known type on an unrouted subject", hiredOnOtherSubject, events.ReasonSubjectMismatch, "ponte.dlq.unrouted", "hired-on-promoted", nil, `must be published on subject "person.hired"`},
		{"schema violation", badData, events.ReasonSchemaViolation, "ponte.dlq.person.hired", "hired-bad", []string{"/hireDate", "/person", "/person/cpf"}, `/person: missing property "email"; /person/cpf: not a valid cpf`},
		{"contract without ug", noUG, events.ReasonSchemaViolation, "ponte.dlq.contract.signed", "signed-no-ug", []string{"ug"}, `CloudEvent extension "ug"`},
		{"data not JSON by its content type", textPlain, events.ReasonSchemaViolation, "ponte.dlq.person.hired", "hired-text", []string{"datacontenttype"}, `"text/plain"`},
		{"data not UTF-8", notUTF8, events.ReasonSchemaViolation, "ponte.dlq.person.hired", "hired-latin1", []string{"/person/name"}, "not valid UTF-8"},
		{"subject not the person id", wrongSubject, events.ReasonSchemaViolation, "ponte.dlq.person.hired", "hired-wrong-subject", []string{"subject"}, `"E-9999" is not the entity key`},
		{"subject not the contract key", contractWrongSubject, events.ReasonSchemaViolation, "ponte.dlq.contract.signed", "signed-wrong-subject", []string{"subject"}, `want "001001/12/2026/2026"`},
		{"too large", big, events.ReasonTooLarge, "ponte.dlq.person.hired", "hired-big", nil, "the limit is 4096"},
	}
	for _, tt := range tests {
		e.publish(tt.msg)
	}
	waitFor(t, 10*time.Second, "a dead letter for each message", func() bool { return len(e.outputs("PONTE_DLQ")) >= len(tests) })
	time.Sleep(300 * time.Millisecond) // and no more: a second dead letter for one of them would show up by now
	dls := e.outputs("PONTE_DLQ")
	if len(dls) != len(tests) {
		t.Errorf("dead letters: %d, want %d", len(dls), len(tests))
	}
	catalog, err := schemas.New()
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]output{}
	for _, o := range dls {
		var dl events.DeadLetter
		if err := o.ev.DataAs(&dl); err != nil {
			t.Fatal(err)
		}
		byKey[dl.Reason+"/"+dl.EventID] = o
		if err := catalog.ValidateOutput("deadletter", o.ev.Data()); err != nil {
			t.Errorf("dead letter does not match its schema: %v\n%s", err, o.ev.Data())
		}
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, ok := byKey[tt.reason+"/"+tt.eventID]
			if !ok {
				t.Fatalf("no dead letter with reason %s for event %q; have %v", tt.reason, tt.eventID, keys(byKey))
			}
			var dl events.DeadLetter
			if err := o.ev.DataAs(&dl); err != nil {
				t.Fatal(err)
			}
			// Each output on its own subject: the channel, then the dead letter's id.
			if want := events.OutputSubject(events.DeadLetterPrefix, strings.TrimPrefix(tt.subject, events.DeadLetterPrefix), o.ev.ID()); o.msg.Subject() != want {
				t.Errorf("published on %s, want %s", o.msg.Subject(), want)
			}
			if !strings.Contains(dl.Message, tt.message) {
				t.Errorf("message = %q, want it to contain %q", dl.Message, tt.message)
			}
			if strings.ContainsAny(dl.Message, "\r\n") || strings.Contains(dl.Message, "validation error(s)") {
				t.Errorf("message = %q: want the whole explanation on one line", dl.Message)
			}
			var fields []string
			for _, fe := range dl.Errors {
				fields = append(fields, fe.Field)
				if fe.Message == "" {
					t.Errorf("error on %q has no message", fe.Field)
				}
				if !strings.Contains(dl.Message, fe.Message) {
					t.Errorf("message %q leaves out the error %q", dl.Message, fe.Message)
				}
			}
			if !reflect.DeepEqual(fields, tt.fields) {
				t.Errorf("error fields = %q, want %q (errors %+v)", fields, tt.fields, dl.Errors)
			}
			if tt.reason != events.ReasonTooLarge {
				raw, err := base64.StdEncoding.DecodeString(dl.Original.Data)
				if err != nil || string(raw) != string(tt.msg.Data) {
					t.Errorf("original data = %q (%v), want the published bytes %q", raw, err, tt.msg.Data)
				}
			} else {
				// Too large to carry: an excerpt, and where the message is.
				raw, err := base64.StdEncoding.DecodeString(dl.Original.Excerpt)
				if dl.Original.Data != "" || err != nil || len(raw) != events.ExcerptSize || !strings.HasPrefix(string(tt.msg.Data), string(raw)) || !dl.Original.Truncated {
					t.Errorf("original data %d chars, excerpt %q (%v), truncated %v: want no data and the first %d bytes", len(dl.Original.Data), raw, err, dl.Original.Truncated, events.ExcerptSize)
				}
			}
			if dl.Original.Size != len(tt.msg.Data) || dl.Original.Stream != "PONTE_EVENTS" || dl.Original.Sequence == 0 {
				t.Errorf("original size %d stream %q sequence %d: want %d, PONTE_EVENTS and the input's sequence", dl.Original.Size, dl.Original.Stream, dl.Original.Sequence, len(tt.msg.Data))
			}
			if dl.Original.Subject != tt.msg.Subject {
				t.Errorf("original subject = %q, want %q", dl.Original.Subject, tt.msg.Subject)
			}
			if !reflect.DeepEqual(dl.Original.Headers, map[string][]string(tt.msg.Header)) {
				t.Errorf("original headers = %v, want %v", dl.Original.Headers, tt.msg.Header)
			}
			if dl.Target != "" || dl.Status != 0 || dl.Attempts != 1 {
				t.Errorf("target %q status %d attempts %d: want none, none, 1", dl.Target, dl.Status, dl.Attempts)
			}
			if got := o.ev.Extensions()["causationid"]; tt.eventID != "" && got != tt.eventID || tt.eventID == "" && got != nil {
				t.Errorf("causationid = %v, want %q", got, tt.eventID)
			}
			if !strings.HasSuffix(o.ev.Type(), ".deadlettered") || strings.TrimPrefix(tt.subject, "ponte.dlq.")+".deadlettered" != o.ev.Type() {
				t.Errorf("dead letter type %q on subject %s", o.ev.Type(), o.msg.Subject())
			}
		})
	}
	// The schema violation lists every problem with its field.
	var dl events.DeadLetter
	_ = byKey[events.ReasonSchemaViolation+"/hired-bad"].ev.DataAs(&dl)
	for i, want := range []string{"UTC offset is missing", `missing property "email"`, "not a valid cpf"} {
		if i >= len(dl.Errors) || !strings.Contains(dl.Errors[i].Message, want) {
			t.Errorf("schema violation errors = %+v, want error %d to say %q", dl.Errors, i, want)
		}
	}
	e.noCalls()
	if rs := e.outputs("PONTE_RESULTS"); len(rs) > 0 {
		t.Errorf("an invalid event got a result: %s", rs[0].ev.Data())
	}
}

func errorMessages(dl events.DeadLetter) []string {
	var out []string
	for _, fe := range dl.Errors {
		out = append(out, fe.Message)
	}
	return out
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestPermanentErrorsBecomeDeadLetters checks that a problem no retry can fix is dead-lettered at once: a
// downstream refusal as permanent_error with its target, operation, HTTP status and response excerpt, a gap in
// ponte's own configuration as config_error naming the key to fix, each with the event's fields at fault.
func TestPermanentErrorsBecomeDeadLetters(t *testing.T) {
	readOnly001001 := map[string]cidades.UGConfig{
		"001001": {ClientID: cidadessim.DefaultClientID001001RO, ClientSecret: clients.SecretValue(cidadessim.DefaultClientSecret001001RO)},
	}
	tests := []struct {
		name      string
		ugs       map[string]cidades.UGConfig
		ev        *event.Event
		reason    string // default permanent_error
		target    string
		operation string
		status    int
		excerpt   string
		message   string      // a substring of the message
		errors    [][2]string // field, a substring of the message
		zeev      []call
		senior    []call
		cidades   []call
	}{
		{
			// UG 001001 is configured with its read-only key: CidadES answers 403 to the POST.
			name:      "CidadES refuses a read-only key",
			ugs:       readOnly001001,
			ev:        contractEvent(handlers.ContractSigned, "signed-ro", "001001", "12/2026", 2026, signed12),
			target:    "cidades",
			operation: "create_contratacao",
			status:    403,
			excerpt:   "somente leitura",
			cidades:   []call{login(cidadesToken), post("/v1/contratacoes", 403, create12)},
		},
		{
			// The vigência ends before it starts: the schema cannot compare dates, CidadES rejects it and its
			// field is named as the event names it.
			name: "CidadES rejects a field",
			ev: contractEvent(handlers.ContractSigned, "signed-bad-vigencia", "001001", "13/2026", 2026, `{"contrato": {
				"numero": "13/2026", "ano": 2026, "objeto": "Fornecimento de material de escritório",
				"contratado": {"documento": "11.444.777/0001-61", "nome": "Papelaria Exemplo Ltda"},
				"valorGlobal": 8200.50, "dataAssinatura": "2026-04-02",
				"vigencia": {"inicio": "2026-04-02", "fim": "2026-04-01"}}}`),
			target:    "cidades",
			operation: "create_contratacao",
			status:    400,
			excerpt:   "dataFimVigencia",
			errors:    [][2]string{{"/contrato/vigencia/fim", "CidadES: "}},
			cidades: []call{login(cidadesToken), post("/v1/contratacoes", 400, `{
				"numeroContrato": "13/2026", "anoContrato": 2026, "objeto": "Fornecimento de material de escritório",
				"contratado": {"tipoDocumento": "CNPJ", "documento": "11444777000161", "nome": "Papelaria Exemplo Ltda"},
				"valorGlobal": 8200.50, "dataAssinatura": "2026-04-02",
				"dataInicioVigencia": "2026-04-02", "dataFimVigencia": "2026-04-01"}`)},
		},
		{
			// No profile for MARKETING/ESTAGIARIO and no explicit access: nothing is called.
			name: "no access profile",
			ev: inputEvent(handlers.PersonHired, "hired-no-profile", "E-0131", strings.Replace(
				strings.Replace(hiredDaniela, `"TI"`, `"MARKETING"`, 1), `"ANALISTA"`, `"ESTAGIARIO"`, 1)),
			reason:  events.ReasonConfig,
			message: "(profiles)",
			errors:  [][2]string{{"/orgUnit", `no access profile for orgUnit "MARKETING" and position "ESTAGIARIO"`}, {"/position", "no access profile"}},
		},
		{
			// UG 500100 exists at CidadES but ponte has no key for it: nothing is called.
			name:      "UG without a key",
			ev:        contractEvent(handlers.ContractSigned, "signed-unknown-ug", "500100", "12/2026", 2026, signed12),
			reason:    events.ReasonConfig,
			target:    "cidades",
			operation: "create_contratacao",
			message:   "cidades.ugs.500100",
			errors:    [][2]string{{"ug", `UG "500100" has no CidadES key`}},
		},
		{
			// The event names a Senior person id that does not exist: Senior's 404 is the refusal, with its status.
			name: "person id unknown to Senior",
			ev: inputEvent(handlers.PersonHired, "hired-unknown-id", "E-0131", strings.Replace(hiredDaniela,
				`"position": "ANALISTA"`, `"position": "ANALISTA", "senior": {"personId": 999}`, 1)),
			target:    "senior",
			operation: "find_person",
			status:    404,
			errors:    [][2]string{{"/senior/personId", "Senior has no person 999"}},
			zeev:      []call{post("/api/2/users", 200, upsertDaniela)},
			senior:    []call{login(seniorLogin), get("/api/v1/person/999", 404)},
		},
		{
			// Senior knows neither the CPF nor the registry: the Zeev user is created (a replay after the
			// person is registered in Senior replays it), then the event is dead-lettered naming both fields.
			name:      "person unknown to Senior",
			target:    "senior",
			operation: "find_person",
			ev: inputEvent(handlers.PersonHired, "hired-unknown", "E-0999", `{
				"person": {"id": "E-0999", "name": "Pessoa Desconhecida", "username": "pessoa.desconhecida",
				           "email": "pessoa.desconhecida@ponte.dev", "cpf": "123.456.789-09", "registry": "000999"},
				"hireDate": "2026-12-01T08:00:00-03:00", "orgUnit": "TI", "position": "ANALISTA"}`),
			errors: [][2]string{{"/person/cpf", "Senior has no person with CPF 123.***.***-09"}, {"/person/registry", `registry "000999"`}},
			zeev: []call{post("/api/2/users", 200, `{
				"ifExists": "update", "username": "pessoa.desconhecida", "name": "Pessoa Desconhecida",
				"email": "pessoa.desconhecida@ponte.dev", "identification": "000999", "document": "12345678909",
				"isActive": true, "licenseType": "actor",
				"positions": {"ifExistsUser": "append", "items": [{"teamCode": "TI", "positionCode": "ANALISTA"}]},
				"groups": {"ifExistsUser": "append", "items": [{"groupCode": "colaboradores"}]}}`)},
			senior: []call{
				login(seniorLogin),
				get("/api/v1/person/search?term=12345678909", 200),
				get("/api/v1/person/search?term=000999", 200),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := startEnv(t, envOptions{ugs: tt.ugs})
			e.publishBinary(tt.ev)
			dl := e.waitDeadLetter(tt.ev.ID())
			reason := cmp.Or(tt.reason, events.ReasonPermanent)
			if dl.Reason != reason || dl.Attempts != 1 || dl.EventID != tt.ev.ID() {
				t.Errorf("reason %q attempts %d event %q: want %q, 1, %q", dl.Reason, dl.Attempts, dl.EventID, reason, tt.ev.ID())
			}
			if reason == events.ReasonPermanent && (dl.Target == "" || dl.Operation == "") {
				t.Errorf("a permanent error without target (%q) or operation (%q)", dl.Target, dl.Operation)
			}
			if !strings.Contains(dl.Message, tt.message) || strings.ContainsAny(dl.Message, "\n\r") {
				t.Errorf("message %q: want one line with %q", dl.Message, tt.message)
			}
			if dl.Target != tt.target || dl.Operation != tt.operation || dl.Status != tt.status || !strings.Contains(dl.Excerpt, tt.excerpt) {
				t.Errorf("target %q operation %q status %d excerpt %q: want %q %q %d and an excerpt with %q",
					dl.Target, dl.Operation, dl.Status, dl.Excerpt, tt.target, tt.operation, tt.status, tt.excerpt)
			}
			ok := len(dl.Errors) == len(tt.errors)
			for i := 0; ok && i < len(dl.Errors); i++ {
				ok = dl.Errors[i].Field == tt.errors[i][0] && strings.Contains(dl.Errors[i].Message, tt.errors[i][1])
			}
			if !ok {
				t.Errorf("errors = %+v, want (field, message containing) %q", dl.Errors, tt.errors)
			}
			for _, text := range append([]string{dl.Message}, errorMessages(dl)...) {
				if strings.Contains(text, "12345678909") || strings.Contains(text, "123.456.789-09") {
					t.Errorf("the dead letter shows a CPF unmasked: %s", text)
				}
			}
			raw, _ := base64.StdEncoding.DecodeString(dl.Original.Data)
			if string(raw) != string(tt.ev.Data()) {
				t.Errorf("original data = %s, want %s", raw, tt.ev.Data())
			}
			assertCalls(t, "zeev", e.zeevSim.Faults().Requests(), tt.zeev)
			assertCalls(t, "senior", e.seniorSim.Faults().Requests(), tt.senior)
			assertCalls(t, "cidades", e.cidSim.Faults().Requests(), tt.cidades)
			if rs := e.outputs("PONTE_RESULTS"); len(rs) > 0 {
				t.Errorf("a dead-lettered event got a result: %s", rs[0].ev.Data())
			}
		})
	}
}

// TestOutageDelaysWithoutDeadLetter takes Zeev down while a person.hired is processed, alone: nothing answers,
// so its failures are Zeev's, not the event's. It spends no attempt (MaxAttempts is 3), is dead-lettered never,
// and cannot open the breaker by itself (one event's repeated failures say nothing about the target): it is
// delayed with the backoff instead. When Zeev is back the event completes with one write per step.
func TestOutageDelaysWithoutDeadLetter(t *testing.T) {
	e := startEnv(t, envOptions{
		cfg:      events.Config{MaxAttempts: 3},
		breakers: clients.BreakerSettings{ConsecutiveFailures: 2, OpenTimeout: 300 * time.Millisecond},
	})
	e.zeevSim.Faults().SetDown(true)
	outageStart := time.Now()
	ev := inputEvent(handlers.PersonHired, "hired-in-outage", "E-0131", hiredDaniela)
	e.publishBinary(ev)
	waitFor(t, 10*time.Second, "6 calls during the outage", func() bool { return len(e.zeevSim.Faults().Requests()) >= 6 })
	if n := len(e.outputs("PONTE_DLQ")); n > 0 {
		t.Fatalf("the outage dead-lettered %d event(s): %s", n, e.outputs("PONTE_DLQ")[0].ev.Data())
	}
	if n := len(e.outputs("PONTE_RESULTS")); n > 0 {
		t.Fatalf("a result during the outage")
	}
	// The event's retries alone never open the breaker; the breakers' probes of Zeev, failing too, may: they are
	// requests of their own, and the proof of an outage.
	duringOutage := len(e.zeevSim.Faults().Requests())
	outage := time.Since(outageStart)
	e.zeevSim.Faults().SetDown(false)

	res := e.waitResult(ev.ID())
	assertSteps(t, res.Steps, []events.StepOutcome{
		step("zeev", "upsert_user", "done", "Created", "zeevUserId", 4324),
		step("senior", "find_person", "done", "", "personId", 131),
		step("senior", "add_role", "done", "", "roleId", 3, "personRoleId", 40),
		step("senior", "add_role", "done", "", "roleId", 4, "personRoleId", 41),
	})
	// While down, every call was a POST that got no answer (status 0), held back by the backoff (20ms doubling
	// up to 200ms: at most the first 4 plus one per 160ms); then exactly one succeeded.
	log := e.zeevSim.Faults().Requests()
	if most := 5 + int(outage/(160*time.Millisecond)) + 1 + int(outage/clients.ProbeInterval); duringOutage > most {
		t.Errorf("zeev got %d requests during a %s outage: want at most %d (the backoff)", duringOutage, outage.Round(time.Millisecond), most)
	}
	var ok, probes int
	for _, en := range log {
		switch {
		case en.String() == "GET /api/2/tokens": // the breakers' probe: is Zeev answering anyone?
			probes++
		case en.String() != "POST /api/2/users":
			t.Errorf("zeev got %s", en)
		case en.Status == 200:
			ok++
		case en.Status != 0:
			t.Errorf("zeev answered %d", en.Status)
		}
	}
	if ok != 1 {
		t.Errorf("zeev upserts answered: %d, want 1", ok)
	}
	if most := 1 + int(outage/clients.ProbeInterval); probes > most {
		t.Errorf("zeev was probed %d times during a %s outage, want at most %d (one per %s)", probes, outage.Round(time.Millisecond), most, clients.ProbeInterval)
	}
	assertCalls(t, "senior", e.seniorSim.Faults().Requests(), []call{
		login(seniorLogin),
		get("/api/v1/person/search?term=04831572608", 200),
		get("/api/v1/person/131/roles", 200),
		linkDaniela(3, 200),
		linkDaniela(4, 200),
	})
	if n := len(e.outputs("PONTE_DLQ")); n > 0 {
		t.Errorf("dead letters after the outage: %d", n)
	}
}

// TestLongOutageDeadLettersNothing keeps Zeev down for longer than the attempt budget lasts: the design says an
// outage of any length dead-letters nothing.
func TestLongOutageDeadLettersNothing(t *testing.T) {
	e := startEnv(t, envOptions{
		cfg:      events.Config{MaxAttempts: 3},
		breakers: clients.BreakerSettings{ConsecutiveFailures: 2, OpenTimeout: 300 * time.Millisecond},
	})
	e.zeevSim.Faults().SetDown(true)
	ev := inputEvent(handlers.PersonHired, "hired-in-long-outage", "E-0131", hiredDaniela)
	e.publishBinary(ev)
	time.Sleep(2 * time.Second)
	if dls := e.outputs("PONTE_DLQ"); len(dls) > 0 {
		t.Fatalf("the outage dead-lettered the event: %s", dls[0].ev.Data())
	}
	e.zeevSim.Faults().SetDown(false)
	e.waitResult(ev.ID())
}
