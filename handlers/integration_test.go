package handlers_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/ponte-dev/ponte/clients/senior"
	"github.com/ponte-dev/ponte/clients/senior/seniorsim"
	"github.com/ponte-dev/ponte/clients/zeev/zeevsim"
	"github.com/ponte-dev/ponte/events"
	"github.com/ponte-dev/ponte/handlers"
	"github.com/ponte-dev/ponte/schemas"
)

// Event data used by several tests.
const (
	// A new hire: Senior person 131, no links, no Zeev user.
	hiredDaniela = `{
		"person": {"id": "E-0131", "name": "Daniela Prado Vieira", "username": "daniela.vieira",
		           "email": "daniela.vieira@ponte.dev", "cpf": "048.315.726-08", "registry": "000131"},
		"hireDate": "2026-12-01T08:00:00-03:00", "orgUnit": "TI", "position": "ANALISTA"}`
	// Daniela's Zeev upsert: ifExists=update, the TI/ANALISTA profile appended, the CPF sent as digits.
	upsertDaniela = `{
		"ifExists": "update", "username": "daniela.vieira", "name": "Daniela Prado Vieira",
		"email": "daniela.vieira@ponte.dev", "identification": "000131", "document": "04831572608",
		"isActive": true, "licenseType": "actor",
		"positions": {"ifExistsUser": "append", "items": [{"teamCode": "TI", "positionCode": "ANALISTA"}]},
		"groups": {"ifExistsUser": "append", "items": [{"groupCode": "colaboradores"}]}}`
	// A new contract of UG 001001 (schemas/testdata/valid/contract.signed.json).
	signed12 = `{"contrato": {
		"numero": "12/2026", "ano": 2026, "objeto": "Prestação de serviços de manutenção predial",
		"contratado": {"documento": "11.222.333/0001-81", "nome": "Construtora Exemplo Ltda"},
		"valorGlobal": 150000.00, "dataAssinatura": "2026-03-10",
		"vigencia": {"inicio": "2026-03-10", "fim": "2027-03-09"},
		"modalidadeLicitacao": "Pregão eletrônico", "numeroProcessoAdministrativo": "2026.001.0042",
		"fundamentoLegal": "Lei 14.133/2021, art. 28, I"}}`
	// What CidadES receives for signed12: the CNPJ as digits with its type, vigência split in two dates.
	create12 = `{
		"numeroContrato": "12/2026", "anoContrato": 2026, "objeto": "Prestação de serviços de manutenção predial",
		"contratado": {"tipoDocumento": "CNPJ", "documento": "11222333000181", "nome": "Construtora Exemplo Ltda"},
		"valorGlobal": 150000.00, "dataAssinatura": "2026-03-10",
		"dataInicioVigencia": "2026-03-10", "dataFimVigencia": "2027-03-09",
		"modalidadeLicitacao": "Pregão eletrônico", "numeroProcessoAdministrativo": "2026.001.0042",
		"fundamentoLegal": "Lei 14.133/2021, art. 28, I"}`
)

func step(target, op, status, detail string, ids ...any) events.StepOutcome {
	o := events.StepOutcome{Target: target, Operation: op, Status: status, Detail: detail}
	for i := 0; i+1 < len(ids); i += 2 {
		if o.IDs == nil {
			o.IDs = map[string]int64{}
		}
		o.IDs[ids[i].(string)] = int64(ids[i+1].(int))
	}
	return o
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// assertSteps compares the result's steps with want, in order.
func assertSteps(t *testing.T, got, want []events.StepOutcome) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("result steps:")
		for i := range max(len(got), len(want)) {
			var g, w any = "-", "-"
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			t.Errorf("\t%d: got  %+v\n\t   want %+v", i, g, w)
		}
	}
}

// assertLinks compares a Senior person's links with want (id, role, start, end; an empty end is no end date).
func assertLinks(t *testing.T, got []seniorsim.Link, want ...[4]any) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		w := want[i]
		end := time.Time{}
		if w[3].(string) != "" {
			end = at(w[3].(string))
		}
		l := got[i]
		ok = l.ID == int64(w[0].(int)) && l.RoleID == int64(w[1].(int)) && l.StartDate.Equal(at(w[2].(string))) &&
			l.EndDate.Equal(end) && (l.EndDate.IsZero() == end.IsZero())
	}
	if !ok {
		t.Errorf("senior links = %+v\nwant (id, role, start, end) %v", got, want)
	}
}

func zeevUser(t *testing.T, e *env, username string) zeevsim.UserState {
	t.Helper()
	u, ok := e.zeevSim.User(username)
	if !ok {
		t.Fatalf("zeev has no user %s", username)
	}
	return u
}

// TestEachTypeCallsAndState publishes one valid event of every type (and of the notable cases of some) and checks
// the result's steps, the exact calls each simulator received, and the simulators' state after.
func TestEachTypeCallsAndState(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(t *testing.T, e *env) // before publishing; the request logs are cleared after it
		ev         *event.Event
		structured bool // publish in structured mode instead of binary
		steps      []events.StepOutcome
		zeev       []call
		senior     []call
		cidades    []call
		state      func(t *testing.T, e *env)
	}{
		{
			name: "person.hired/new person",
			ev:   inputEvent(handlers.PersonHired, "hired-daniela", "E-0131", hiredDaniela),
			steps: []events.StepOutcome{
				step("zeev", "upsert_user", "done", "Created", "zeevUserId", 4324),
				step("senior", "find_person", "done", "", "personId", 131),
				step("senior", "add_role", "done", "", "roleId", 3, "personRoleId", 40),
				step("senior", "add_role", "done", "", "roleId", 4, "personRoleId", 41),
			},
			zeev: []call{post("/api/2/users", 200, upsertDaniela)},
			senior: []call{
				login(seniorLogin),
				get("/api/v1/person/search?term=04831572608", 200),
				get("/api/v1/person/131/roles", 200),
				linkDaniela(3, 200),
				linkDaniela(4, 200),
			},
			state: func(t *testing.T, e *env) {
				u := zeevUser(t, e, "daniela.vieira")
				if u.ID != 4324 || !u.IsActive || u.LicenseType != "actor" || u.Document != "04831572608" || u.Identification != "000131" ||
					!reflect.DeepEqual(u.Positions, []zeevsim.Assignment{{Team: "TI", Position: "ANALISTA"}}) ||
					!reflect.DeepEqual(u.Groups, []string{"colaboradores"}) {
					t.Errorf("zeev user = %+v", u)
				}
				assertLinks(t, e.seniorSim.PersonLinks(131),
					[4]any{40, 3, "2026-12-01T08:00:00-03:00", ""},
					[4]any{41, 4, "2026-12-01T08:00:00-03:00", ""})
			},
		},
		{
			// Senior person 123 holds role 4 (link 36) since 2024: only role 3 is added.
			name: "person.hired/holds one of the roles",
			ev: inputEvent(handlers.PersonHired, "hired-alan", "E-1042", `{
				"person": {"id": "E-1042", "name": "Alan Cooper", "username": "alan.cooper",
				           "email": "alan.cooper@example.com", "cpf": "111.444.777-35", "registry": "000123"},
				"hireDate": "2026-12-01T08:00:00-03:00", "orgUnit": "ti", "position": "analista"}`),
			steps: []events.StepOutcome{
				step("zeev", "upsert_user", "done", "Created", "zeevUserId", 4324),
				step("senior", "find_person", "done", "", "personId", 123),
				step("senior", "add_role", "done", "", "roleId", 3, "personRoleId", 40),
				step("senior", "add_role", "skipped", "already holds the role", "roleId", 4, "personRoleId", 36),
			},
			zeev: []call{post("/api/2/users", 200, `{
				"ifExists": "update", "username": "alan.cooper", "name": "Alan Cooper", "email": "alan.cooper@example.com",
				"identification": "000123", "document": "11144477735", "isActive": true, "licenseType": "actor",
				"positions": {"ifExistsUser": "append", "items": [{"teamCode": "TI", "positionCode": "ANALISTA"}]},
				"groups": {"ifExistsUser": "append", "items": [{"groupCode": "colaboradores"}]}}`)},
			senior: []call{
				login(seniorLogin),
				get("/api/v1/person/search?term=11144477735", 200),
				get("/api/v1/person/123/roles", 200),
				post("/api/v1/person/role", 200, `{"id": 0, "personId": 123, "roleId": 3, "startDate": "2026-12-01T08:00:00-03:00"}`),
			},
			state: func(t *testing.T, e *env) {
				if u := zeevUser(t, e, "alan.cooper"); !u.IsActive || !reflect.DeepEqual(u.Positions, []zeevsim.Assignment{{Team: "TI", Position: "ANALISTA"}}) {
					t.Errorf("zeev user = %+v", u)
				}
				assertLinks(t, e.seniorSim.PersonLinks(123),
					[4]any{36, 4, "2024-02-01T08:00:00-03:00", ""},
					[4]any{37, 5, "2024-02-01T08:00:00-03:00", ""},
					[4]any{40, 3, "2026-12-01T08:00:00-03:00", ""})
			},
		},
		{
			// carla.menezes is hired again with explicit zeev and senior fields, which win over the TI/ANALISTA
			// profile and, as the schema documents, replace her Zeev positions and groups (an empty list removes
			// them all). The explicit Senior person id is used without a search; role 5 is held already.
			name: "person.hired/explicit fields on an existing user",
			ev: inputEvent(handlers.PersonHired, "hired-carla-overrides", "E-0123", `{
				"person": {"id": "E-0123", "name": "Carla Menezes", "username": "carla.menezes",
				           "email": "carla.menezes@ponte.dev", "cpf": "111.444.777-35", "registry": "000123"},
				"hireDate": "2026-12-01T08:00:00-03:00", "orgUnit": "TI", "position": "ANALISTA",
				"zeev": {"licenseType": "requester", "positions": [{"teamCode": "RH", "positionCode": "ANALISTA"}],
				         "groups": [], "leadershipId": 1, "businessShiftId": 190, "timeZone": -3, "sendWelcome": true},
				"senior": {"personId": 123, "roleIds": [5, 2]}}`),
			steps: []events.StepOutcome{
				step("zeev", "upsert_user", "done", "Update", "zeevUserId", 4321),
				step("senior", "find_person", "done", "", "personId", 123),
				step("senior", "add_role", "done", "", "roleId", 2, "personRoleId", 40),
				step("senior", "add_role", "skipped", "already holds the role", "roleId", 5, "personRoleId", 37),
			},
			zeev: []call{post("/api/2/users", 200, `{
				"ifExists": "update", "username": "carla.menezes", "name": "Carla Menezes", "email": "carla.menezes@ponte.dev",
				"identification": "000123", "document": "11144477735", "isActive": true, "licenseType": "requester",
				"timeZone": -3, "businessShiftId": 190, "leadershipId": 1, "welcomeMessage": {"send": true},
				"positions": {"ifExistsUser": "replace", "items": [{"teamCode": "RH", "positionCode": "ANALISTA"}]},
				"groups": {"ifExistsUser": "replace", "items": []}}`)},
			senior: []call{
				login(seniorLogin),
				get("/api/v1/person/123", 200),
				get("/api/v1/person/123/roles", 200),
				post("/api/v1/person/role", 200, `{"id": 0, "personId": 123, "roleId": 2, "startDate": "2026-12-01T08:00:00-03:00"}`),
			},
			state: func(t *testing.T, e *env) {
				u := zeevUser(t, e, "carla.menezes")
				if u.ID != 4321 || !u.IsActive || u.LicenseType != "requester" || u.AuthenticationType != "ssoonly" ||
					u.LeadershipID == nil || *u.LeadershipID != 1 || u.BusinessShiftID == nil || *u.BusinessShiftID != 190 ||
					u.TimeZone == nil || *u.TimeZone != -3 || u.WelcomeMessages != 1 ||
					!reflect.DeepEqual(u.Positions, []zeevsim.Assignment{{Team: "RH", Position: "ANALISTA"}}) || len(u.Groups) != 0 {
					t.Errorf("zeev user = %+v", u)
				}
				assertLinks(t, e.seniorSim.PersonLinks(123),
					[4]any{36, 4, "2024-02-01T08:00:00-03:00", ""},
					[4]any{37, 5, "2024-02-01T08:00:00-03:00", ""},
					[4]any{40, 2, "2026-12-01T08:00:00-03:00", ""})
			},
		},
		{
			// carla.menezes moves from TI/GERENTE to RH/ANALISTA: Zeev positions and groups are replaced; in
			// Senior role 5 (link 37, started) ends at the effective date and role 4 (link 36) is kept.
			name: "person.moved",
			ev: inputEvent(handlers.PersonMoved, "moved-carla", "E-0123", `{
				"person": {"id": "E-0123", "name": "Carla Menezes", "username": "carla.menezes",
				           "email": "carla.menezes@ponte.dev", "cpf": "111.444.777-35", "registry": "000123"},
				"effectiveDate": "2027-03-01T00:00:00-03:00", "orgUnit": "RH", "position": "ANALISTA"}`),
			structured: true,
			steps: []events.StepOutcome{
				step("zeev", "upsert_user", "done", "Update", "zeevUserId", 4321),
				step("senior", "find_person", "done", "", "personId", 123),
				step("senior", "end_role", "done", "", "roleId", 5, "personRoleId", 37),
				step("senior", "add_role", "skipped", "already holds the role", "roleId", 4, "personRoleId", 36),
			},
			zeev: []call{post("/api/2/users", 200, `{
				"ifExists": "update", "username": "carla.menezes", "name": "Carla Menezes", "email": "carla.menezes@ponte.dev",
				"identification": "000123", "document": "11144477735", "licenseType": "actor",
				"positions": {"ifExistsUser": "replace", "items": [{"teamCode": "RH", "positionCode": "ANALISTA"}]},
				"groups": {"ifExistsUser": "replace", "items": [{"groupCode": "colaboradores"}]}}`)},
			senior: []call{
				login(seniorLogin),
				get("/api/v1/person/search?term=11144477735", 200),
				get("/api/v1/person/123/roles", 200),
				put("/api/v1/person/role", 200, `{"id": 37, "personId": 123, "roleId": 5,
					"startDate": "2024-02-01T08:00:00-03:00", "endDate": "2027-03-01T00:00:00-03:00"}`),
			},
			state: func(t *testing.T, e *env) {
				u := zeevUser(t, e, "carla.menezes")
				if u.ID != 4321 || !u.IsActive || u.AuthenticationType != "ssoonly" ||
					!reflect.DeepEqual(u.Positions, []zeevsim.Assignment{{Team: "RH", Position: "ANALISTA"}}) ||
					!reflect.DeepEqual(u.Groups, []string{"colaboradores"}) {
					t.Errorf("zeev user = %+v", u)
				}
				assertLinks(t, e.seniorSim.PersonLinks(123),
					[4]any{36, 4, "2024-02-01T08:00:00-03:00", ""},
					[4]any{37, 5, "2024-02-01T08:00:00-03:00", "2027-03-01T00:00:00-03:00"})
			},
		},
		{
			// carla.menezes leaves on 2027-06-30. Besides her started links 36 and 37 she has link 40, granted
			// from 2027-07-01 (after the termination, not started by handlersNow): it is deleted, the others end.
			name: "person.terminated",
			setup: func(t *testing.T, e *env) {
				l, err := e.senior.CreatePersonRole(context.Background(), senior.PersonRoleInput{
					PersonID: 123, RoleID: 3, StartDate: senior.Time{Time: at("2027-07-01T08:00:00-03:00")},
				})
				if err != nil || l.ID != 40 {
					t.Fatalf("create future link: %+v, %v", l, err)
				}
			},
			ev: inputEvent(handlers.PersonTerminated, "terminated-carla", "E-0123", `{
				"person": {"id": "E-0123", "username": "carla.menezes", "cpf": "111.444.777-35"},
				"terminationDate": "2027-06-30T18:00:00-03:00"}`),
			steps: []events.StepOutcome{
				step("zeev", "deactivate_user", "done", "", "zeevUserId", 4321),
				step("senior", "find_person", "done", "", "personId", 123),
				step("senior", "end_role", "done", "", "roleId", 4, "personRoleId", 36),
				step("senior", "end_role", "done", "", "roleId", 5, "personRoleId", 37),
				step("senior", "delete_role", "done", "", "roleId", 3, "personRoleId", 40),
			},
			zeev: []call{
				get("/api/2/users/username/carla.menezes", 200),
				patch("/api/2/users/4321/account/deactivate", 200),
			},
			senior: []call{ // logged in already by the setup
				get("/api/v1/person/search?term=11144477735", 200),
				get("/api/v1/person/123/roles", 200),
				put("/api/v1/person/role", 200, `{"id": 36, "personId": 123, "roleId": 4,
					"startDate": "2024-02-01T08:00:00-03:00", "endDate": "2027-06-30T18:00:00-03:00"}`),
				put("/api/v1/person/role", 200, `{"id": 37, "personId": 123, "roleId": 5,
					"startDate": "2024-02-01T08:00:00-03:00", "endDate": "2027-06-30T18:00:00-03:00"}`),
				del("/api/v1/person/role/40", 200),
			},
			state: func(t *testing.T, e *env) {
				if u := zeevUser(t, e, "carla.menezes"); u.IsActive {
					t.Errorf("zeev user still active: %+v", u)
				}
				assertLinks(t, e.seniorSim.PersonLinks(123),
					[4]any{36, 4, "2024-02-01T08:00:00-03:00", "2027-06-30T18:00:00-03:00"},
					[4]any{37, 5, "2024-02-01T08:00:00-03:00", "2027-06-30T18:00:00-03:00"})
			},
		},
		{
			name:    "contract.signed/new",
			ev:      contractEvent(handlers.ContractSigned, "signed-12", "001001", "12/2026", 2026, signed12),
			steps:   []events.StepOutcome{step("cidades", "create_contratacao", "done", "", "contratacaoId", 6)},
			cidades: []call{login(cidadesToken), post("/v1/contratacoes", 201, create12)},
			state: func(t *testing.T, e *env) {
				c, ok := e.cidSim.Contratacao(6)
				if !ok || c.CodigoUnidadeGestora != "001001" || c.NumeroContrato != "12/2026" || c.AnoContrato != 2026 ||
					c.ValorGlobal != 15000000 || c.Contratado.Documento != "11222333000181" || c.DataFimVigencia != "2027-03-09" ||
					c.Situacao != "ATIVA" {
					t.Errorf("contratação 6 = %+v, %v", c, ok)
				}
			},
		},
		{
			// 012/2024 of UG 001001 is contratação 1 of the fixtures: 409, read back, success.
			name: "contract.signed/already registered",
			ev: contractEvent(handlers.ContractSigned, "signed-012", "001001", "012/2024", 2024, `{"contrato": {
				"numero": "012/2024", "ano": 2024,
				"objeto": "Aquisição de medicamentos da farmácia básica para as unidades de saúde do município",
				"contratado": {"documento": "11.222.333/0001-81", "nome": "Distribuidora Capixaba de Medicamentos Ltda"},
				"valorGlobal": 1250000.00, "dataAssinatura": "2024-03-01",
				"vigencia": {"inicio": "2024-03-01", "fim": "2025-02-28"}}}`),
			steps: []events.StepOutcome{step("cidades", "create_contratacao", "skipped", "already registered", "contratacaoId", 1)},
			cidades: []call{
				login(cidadesToken),
				post("/v1/contratacoes", 409, `{
					"numeroContrato": "012/2024", "anoContrato": 2024,
					"objeto": "Aquisição de medicamentos da farmácia básica para as unidades de saúde do município",
					"contratado": {"tipoDocumento": "CNPJ", "documento": "11222333000181", "nome": "Distribuidora Capixaba de Medicamentos Ltda"},
					"valorGlobal": 1250000.00, "dataAssinatura": "2024-03-01",
					"dataInicioVigencia": "2024-03-01", "dataFimVigencia": "2025-02-28"}`),
				get("/v1/contratacoes?ano=2024&numeroContrato=012%2F2024&pagina=1&tamanhoPagina=100", 200),
			},
			state: func(t *testing.T, e *env) {
				if cs := e.cidSim.Contratacoes("001001"); len(cs) != 2 || cs[0].ID != 1 || cs[1].ID != 2 {
					t.Errorf("contratações of 001001 = %+v, want the fixtures' 1 and 2 only", cs)
				}
			},
		},
		{
			// 027/2024 of UG 001001 is contratação 2: found, then replaced with the amended value and vigência.
			name: "contract.amended",
			ev: contractEvent(handlers.ContractAmended, "amended-027", "001001", "027/2024", 2024, `{"contrato": {
				"numero": "027/2024", "ano": 2024, "valorGlobal": 520000.50,
				"vigencia": {"inicio": "2024-06-15", "fim": "2025-12-14"}}}`),
			structured: true,
			steps:      []events.StepOutcome{step("cidades", "update_contratacao", "done", "", "contratacaoId", 2)},
			cidades: []call{
				login(cidadesToken),
				get("/v1/contratacoes?ano=2024&numeroContrato=027%2F2024&pagina=1&tamanhoPagina=100", 200),
				put("/v1/contratacoes/2", 200, `{
					"numeroContrato": "027/2024", "anoContrato": 2024,
					"objeto": "Prestação de serviços contínuos de limpeza e conservação nas unidades de saúde",
					"contratado": {"tipoDocumento": "CNPJ", "documento": "04567890000179", "nome": "Conserva Serviços Gerais Ltda"},
					"valorGlobal": 520000.50, "dataAssinatura": "2024-06-10",
					"dataInicioVigencia": "2024-06-15", "dataFimVigencia": "2025-12-14",
					"modalidadeLicitacao": "PREGAO_ELETRONICO", "numeroProcessoAdministrativo": "2024/001455",
					"fundamentoLegal": "Lei 14.133/2021, art. 28, I"}`),
			},
			state: func(t *testing.T, e *env) {
				c, _ := e.cidSim.Contratacao(2)
				if c.ValorGlobal != 52000050 || c.DataInicioVigencia != "2024-06-15" || c.DataFimVigencia != "2025-12-14" ||
					c.Contratado.Nome != "Conserva Serviços Gerais Ltda" || c.DataAssinatura != "2024-06-10" {
					t.Errorf("contratação 2 = %+v", c)
				}
			},
		},
		{
			// The amendment sets what contratação 2 already holds: no write.
			name: "contract.amended/no change",
			ev: contractEvent(handlers.ContractAmended, "amended-027-same", "001001", "027/2024", 2024, `{"contrato": {
				"numero": "027/2024", "ano": 2024, "valorGlobal": 480000.50,
				"vigencia": {"inicio": "2024-06-15", "fim": "2025-06-14"}}}`),
			steps: []events.StepOutcome{step("cidades", "update_contratacao", "skipped", "no change", "contratacaoId", 2)},
			cidades: []call{
				login(cidadesToken),
				get("/v1/contratacoes?ano=2024&numeroContrato=027%2F2024&pagina=1&tamanhoPagina=100", 200),
			},
			state: func(t *testing.T, e *env) {
				if c, _ := e.cidSim.Contratacao(2); c.ValorGlobal != 48000050 || !c.DataAtualizacao.Equal(at("2024-07-01T16:42:10-03:00")) {
					t.Errorf("contratação 2 = %+v", c)
				}
			},
		},
		{
			// 005/2024 of UG 001002 is contratação 3.
			name:  "contract.cancelled",
			ev:    contractEvent(handlers.ContractCancelled, "cancelled-005", "001002", "005/2024", 2024, `{"contrato": {"numero": "005/2024", "ano": 2024}, "motivo": "Rescisão amigável"}`),
			steps: []events.StepOutcome{step("cidades", "delete_contratacao", "done", "", "contratacaoId", 3)},
			cidades: []call{
				login(cidadesToken),
				get("/v1/contratacoes?ano=2024&numeroContrato=005%2F2024&pagina=1&tamanhoPagina=100", 200),
				del("/v1/contratacoes/3", 204),
			},
			state: func(t *testing.T, e *env) {
				if c, ok := e.cidSim.Contratacao(3); ok {
					t.Errorf("contratação 3 still there: %+v", c)
				}
				if cs := e.cidSim.Contratacoes("001002"); len(cs) != 1 || cs[0].ID != 4 {
					t.Errorf("contratações of 001002 = %+v, want 4 only", cs)
				}
			},
		},
		{
			name:  "contract.cancelled/already gone",
			ev:    contractEvent(handlers.ContractCancelled, "cancelled-099", "001002", "099/2024", 2024, `{"contrato": {"numero": "099/2024", "ano": 2024}}`),
			steps: []events.StepOutcome{step("cidades", "delete_contratacao", "skipped", "not registered: nothing to cancel")},
			cidades: []call{
				login(cidadesToken),
				get("/v1/contratacoes?ano=2024&numeroContrato=099%2F2024&pagina=1&tamanhoPagina=100", 200),
			},
			state: func(t *testing.T, e *env) {
				if cs := e.cidSim.Contratacoes(""); len(cs) != 5 {
					t.Errorf("contratações = %d, want the fixtures' 5", len(cs))
				}
			},
		},
	}
	catalog, err := schemas.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := startEnv(t, envOptions{})
			if tt.setup != nil {
				tt.setup(t, e)
			}
			e.clearLogs()
			if tt.structured {
				m, err := events.Encode(tt.ev.Type(), tt.ev, "")
				if err != nil {
					t.Fatal(err)
				}
				e.publish(m)
			} else {
				e.publishBinary(tt.ev)
			}
			res := e.waitResult(tt.ev.ID())

			out := forEvent(e.outputs("PONTE_RESULTS"), tt.ev.ID())
			if len(out) != 1 {
				t.Fatalf("results for the event: %d, want 1", len(out))
			}
			if ev := out[0].ev; ev.Type() != tt.ev.Type()+".processed" || ev.Subject() != tt.ev.Subject() ||
				ev.Extensions()["ug"] != tt.ev.Extensions()["ug"] {
				t.Errorf("result attributes: %s", ev)
			}
			if err := catalog.ValidateOutput("result", out[0].ev.Data()); err != nil {
				t.Errorf("result does not match its schema: %v", err)
			}
			if res.EventID != tt.ev.ID() || res.EventType != tt.ev.Type() {
				t.Errorf("result names event %s %s", res.EventType, res.EventID)
			}
			assertSteps(t, res.Steps, tt.steps)
			assertCalls(t, "zeev", e.zeevSim.Faults().Requests(), tt.zeev)
			assertCalls(t, "senior", e.seniorSim.Faults().Requests(), tt.senior)
			assertCalls(t, "cidades", e.cidSim.Faults().Requests(), tt.cidades)
			tt.state(t, e)
			if dls := e.outputs("PONTE_DLQ"); len(dls) > 0 {
				t.Errorf("dead letters: %s", dls[0].ev.Data())
			}
		})
	}
}
