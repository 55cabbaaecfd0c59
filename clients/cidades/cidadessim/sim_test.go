package cidadessim_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ponte-dev/ponte/clients/cidades/cidadessim"
	"github.com/ponte-dev/ponte/clients/fault/faulttest"
	"github.com/ponte-dev/ponte/examples"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func fixtures(t testing.TB) cidadessim.Fixtures {
	t.Helper()
	b, err := examples.FS.ReadFile("sandbox/cidades.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := cidadessim.LoadFixtures(b)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

type sandbox struct {
	sim   *cidadessim.Server
	url   string
	clock *clock
}

func newSandbox(t *testing.T, opts cidadessim.Options) *sandbox {
	t.Helper()
	c := &clock{t: time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)}
	if opts.Now == nil {
		opts.Now = c.Now
	}
	sim := cidadessim.New(fixtures(t), opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &sandbox{sim: sim, url: srv.URL, clock: c}
}

type response struct {
	status int
	header http.Header
	body   string
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

func send(t *testing.T, method, u string, header http.Header, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, string(b)}
}

var formHeader = http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}

// token gets a token for a development key with the form body.
func (s *sandbox) token(t *testing.T, id, secret string) string {
	t.Helper()
	r := send(t, "POST", s.url+"/oauth/token", formHeader,
		"grant_type=client_credentials&client_id="+url.QueryEscape(id)+"&client_secret="+url.QueryEscape(secret))
	if r.status != 200 {
		t.Fatalf("token: %d %s", r.status, r.body)
	}
	return r.json(t)["access_token"].(string)
}

func bearer(tok string) http.Header {
	return http.Header{"Authorization": {"Bearer " + tok}, "Content-Type": {"application/json"}}
}

var traceID = regexp.MustCompile(`^00-[0-9a-f]{32}-[0-9a-f]{16}-00$`)

// wantProblem checks a ProblemDetails answer and returns its errors.
func wantProblem(t *testing.T, r response, status int) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d (%s)", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	m := r.json(t)
	if m["status"] != float64(status) || m["title"] == "" || !strings.HasPrefix(m["type"].(string), "https://tools.ietf.org/html/rfc9110#section-15.") {
		t.Errorf("problem = %v", m)
	}
	if !traceID.MatchString(fmt.Sprint(m["traceId"])) {
		t.Errorf("traceId = %v", m["traceId"])
	}
	errs, _ := m["errors"].(map[string]any)
	return errs
}

func TestToken(t *testing.T) {
	s := newSandbox(t, cidadessim.Options{})
	basic := func(id, secret string) http.Header {
		return http.Header{
			"Content-Type":  {"application/x-www-form-urlencoded"},
			"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))},
		}
	}
	tests := []struct {
		name   string
		header http.Header
		body   string
		status int
		want   map[string]any // fields of the answer, besides access_token
	}{
		{"read and send, form", formHeader, "grant_type=client_credentials&client_id=ug-001001-rw&client_secret=cidades-dev-001001-rw",
			200, map[string]any{"token_type": "Bearer", "expires_in": float64(3600), "scope": "cidades.leitura cidades.escrita"}},
		{"read only, form", formHeader, "grant_type=client_credentials&client_id=ug-001001-ro&client_secret=cidades-dev-001001-ro",
			200, map[string]any{"token_type": "Bearer", "expires_in": float64(3600), "scope": "cidades.leitura"}},
		{"HTTP Basic", basic("ug-001000-rw", "cidades-dev-001000-rw"), "grant_type=client_credentials",
			200, map[string]any{"token_type": "Bearer", "expires_in": float64(3600), "scope": "cidades.leitura cidades.escrita"}},
		{"wrong secret", formHeader, "grant_type=client_credentials&client_id=ug-001001-rw&client_secret=cidades-dev-001001-ro",
			401, map[string]any{"error": "invalid_client"}},
		{"unknown client", formHeader, "grant_type=client_credentials&client_id=ug-009999-rw&client_secret=x",
			401, map[string]any{"error": "invalid_client"}},
		{"no credentials", formHeader, "grant_type=client_credentials", 401, map[string]any{"error": "invalid_client"}},
		{"wrong Basic secret", basic("ug-001000-rw", "nope"), "grant_type=client_credentials", 401, map[string]any{"error": "invalid_client"}},
		{"password grant", formHeader, "grant_type=password&client_id=ug-001001-rw&client_secret=cidades-dev-001001-rw&username=a&password=b",
			400, map[string]any{"error": "unsupported_grant_type"}},
		{"no grant", formHeader, "client_id=ug-001001-rw&client_secret=cidades-dev-001001-rw", 400, map[string]any{"error": "invalid_request"}},
		{"JSON body", http.Header{"Content-Type": {"application/json"}},
			`{"grant_type":"client_credentials","client_id":"ug-001001-rw","client_secret":"cidades-dev-001001-rw"}`,
			401, map[string]any{"error": "invalid_client"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := send(t, "POST", s.url+"/oauth/token", tt.header, tt.body)
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d: %s", r.status, tt.status, r.body)
			}
			m := r.json(t)
			for k, v := range tt.want {
				if m[k] != v {
					t.Errorf("%s = %v, want %v", k, m[k], v)
				}
			}
			if tok, _ := m["access_token"].(string); (tok != "") != (tt.status == 200) {
				t.Errorf("access_token = %q", tok)
			}
			if r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q", r.header.Get("Cache-Control"))
			}
		})
	}
	issued := s.sim.IssuedTokens()
	if len(issued) != 3 || issued[2].ClientID != "ug-001000-rw" || issued[2].UnidadeGestora != "001000" ||
		!issued[2].Expiry.Equal(s.clock.Now().Add(time.Hour)) {
		t.Errorf("issued = %+v", issued)
	}
	t.Run("GET is 405", func(t *testing.T) {
		r := send(t, "GET", s.url+"/oauth/token", nil, "")
		wantProblem(t, r, 405)
		if r.header.Get("Allow") != "POST" {
			t.Errorf("Allow = %q", r.header.Get("Allow"))
		}
	})
	t.Run("Options.ExpiresIn and Options.Keys", func(t *testing.T) {
		s := newSandbox(t, cidadessim.Options{ExpiresIn: 5 * time.Minute, Keys: []cidadessim.Key{
			{ClientID: "mine", ClientSecret: "s", UnidadeGestora: "001002", Permissao: cidadessim.PermissaoLeitura},
		}})
		r := send(t, "POST", s.url+"/oauth/token", formHeader, "grant_type=client_credentials&client_id=mine&client_secret=s")
		if m := r.json(t); m["expires_in"] != float64(300) || m["scope"] != "cidades.leitura" {
			t.Errorf("answer = %v", m)
		}
		r = send(t, "POST", s.url+"/oauth/token", formHeader, "grant_type=client_credentials&client_id=ug-001001-rw&client_secret=cidades-dev-001001-rw")
		if r.status != 401 {
			t.Errorf("a fixtures key still works with Options.Keys: %d", r.status)
		}
	})
}

func TestBearer(t *testing.T) {
	s := newSandbox(t, cidadessim.Options{})
	tok := s.token(t, cidadessim.DefaultClientID001001, cidadessim.DefaultClientSecret001001)
	tests := []struct {
		name   string
		header http.Header
		status int
		www    string
	}{
		{"valid", bearer(tok), 200, ""},
		{"lower-case scheme", http.Header{"Authorization": {"bearer " + tok}}, 200, ""},
		{"missing", nil, 401, "Bearer"},
		{"not bearer", http.Header{"Authorization": {"Basic " + tok}}, 401, "Bearer"},
		{"unknown", bearer("x" + tok), 401, `Bearer error="invalid_token"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := send(t, "GET", s.url+"/v1/contratacoes/1", tt.header, "")
			if tt.status == 200 {
				if r.status != 200 {
					t.Fatalf("status = %d: %s", r.status, r.body)
				}
				return
			}
			wantProblem(t, r, tt.status)
			if got := r.header.Get("WWW-Authenticate"); got != tt.www {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.www)
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		s.clock.Advance(time.Hour - time.Second)
		if r := send(t, "GET", s.url+"/v1/contratacoes/1", bearer(tok), ""); r.status != 200 {
			t.Fatalf("a second before expiry: %d", r.status)
		}
		s.clock.Advance(time.Second)
		wantProblem(t, send(t, "GET", s.url+"/v1/contratacoes/1", bearer(tok), ""), 401)
	})
}

func TestRoutes(t *testing.T) {
	s := newSandbox(t, cidadessim.Options{})
	tok := s.token(t, cidadessim.DefaultClientID001001, cidadessim.DefaultClientSecret001001)
	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{"POST", "/v1/atos-pessoal/admissoes", 405, "GET"},
		{"PUT", "/v1/atos-pessoal/concessoes", 405, "GET"},
		{"DELETE", "/v1/unidades-gestoras", 405, "GET"},
		{"POST", "/v1/unidades-gestoras/001001/responsaveis", 405, "GET"},
		{"PATCH", "/v1/contratacoes/1", 405, "DELETE, GET, PUT"},
		{"DELETE", "/v1/contratacoes", 405, "GET, POST"},
		{"GET", "/v1/contratos", 404, ""},
		{"GET", "/v1/contratacoes/abc", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := send(t, tt.method, s.url+tt.path, bearer(tok), `{}`)
			wantProblem(t, r, tt.status)
			if r.header.Get("Allow") != tt.allow {
				t.Errorf("Allow = %q, want %q", r.header.Get("Allow"), tt.allow)
			}
		})
	}
}

// The body of a valid contratação, as a client system would send it.
const contratacaoJSON = `{
  "numeroContrato": "033/2025",
  "anoContrato": 2025,
  "objeto": "Aquisição de equipamentos de informática",
  "contratado": {"tipoDocumento": "CNPJ", "documento": "11222333000181", "nome": "Tecnologia Capixaba Ltda"},
  "valorGlobal": 1234.50,
  "dataAssinatura": "2025-03-01",
  "dataInicioVigencia": "2025-03-01",
  "dataFimVigencia": "2026-02-28",
  "modalidadeLicitacao": "PREGAO_ELETRONICO"
}`

func TestContratacoes(t *testing.T) {
	s := newSandbox(t, cidadessim.Options{})
	rw := s.token(t, cidadessim.DefaultClientID001001, cidadessim.DefaultClientSecret001001)
	ro := s.token(t, cidadessim.DefaultClientID001001RO, cidadessim.DefaultClientSecret001001RO)
	other := s.token(t, cidadessim.DefaultClientID001002, cidadessim.DefaultClientSecret001002)

	t.Run("POST creates", func(t *testing.T) {
		r := send(t, "POST", s.url+"/v1/contratacoes", bearer(rw), contratacaoJSON)
		if r.status != 201 {
			t.Fatalf("status = %d: %s", r.status, r.body)
		}
		if r.header.Get("Location") != "/v1/contratacoes/6" {
			t.Errorf("Location = %q", r.header.Get("Location"))
		}
		want := `{"id":6,"codigoUnidadeGestora":"001001","numeroContrato":"033/2025","anoContrato":2025,` +
			`"objeto":"Aquisição de equipamentos de informática",` +
			`"contratado":{"tipoDocumento":"CNPJ","documento":"11222333000181","nome":"Tecnologia Capixaba Ltda"},` +
			`"valorGlobal":1234.50,"dataAssinatura":"2025-03-01","dataInicioVigencia":"2025-03-01","dataFimVigencia":"2026-02-28",` +
			`"modalidadeLicitacao":"PREGAO_ELETRONICO","situacao":"ATIVA",` +
			`"dataCadastro":"2025-03-10T09:00:00-03:00","dataAtualizacao":"2025-03-10T09:00:00-03:00"}` + "\n"
		if r.body != want {
			t.Errorf("body:\n got %s\nwant %s", r.body, want)
		}
		if r.header.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Errorf("Content-Type = %q", r.header.Get("Content-Type"))
		}
	})
	t.Run("POST of the same (UG, numero, ano) is 409", func(t *testing.T) {
		r := send(t, "POST", s.url+"/v1/contratacoes", bearer(rw), contratacaoJSON)
		wantProblem(t, r, 409)
		if d := r.json(t)["detail"]; !strings.Contains(fmt.Sprint(d), "033/2025") {
			t.Errorf("detail = %v", d)
		}
		// Another UG may use the same number.
		if r := send(t, "POST", s.url+"/v1/contratacoes", bearer(other), contratacaoJSON); r.status != 201 {
			t.Errorf("another UG: %d %s", r.status, r.body)
		}
	})
	t.Run("a read-only key cannot write, whatever the body", func(t *testing.T) {
		for _, req := range []struct{ method, path, body string }{
			{"POST", "/v1/contratacoes", contratacaoJSON},
			{"POST", "/v1/contratacoes", `{}`},
			{"PUT", "/v1/contratacoes/1", contratacaoJSON},
			{"DELETE", "/v1/contratacoes/1", ""},
		} {
			r := send(t, req.method, s.url+req.path, bearer(ro), req.body)
			wantProblem(t, r, 403)
		}
		if r := send(t, "GET", s.url+"/v1/contratacoes/1", bearer(ro), ""); r.status != 200 {
			t.Errorf("a read-only key cannot read: %d", r.status)
		}
	})
	t.Run("validation", func(t *testing.T) {
		tests := []struct {
			name string
			body string
			want map[string]any
		}{
			{"every rule", `{
  "numeroContrato": "",
  "anoContrato": "2025",
  "objeto": "x",
  "contratado": {"tipoDocumento": "CNPJ", "documento": "11.222.333/0001-81", "nome": "ACME"},
  "valorGlobal": 10.005,
  "dataAssinatura": "01/03/2025",
  "dataInicioVigencia": "2025-03-01",
  "dataFimVigencia": "2025-02-28"
}`, map[string]any{
				"numeroContrato":       []any{"O campo numeroContrato é obrigatório."},
				"anoContrato":          []any{"O valor informado para anoContrato não é válido."},
				"contratado.documento": []any{"O campo contratado.documento deve conter somente dígitos."},
				"valorGlobal":          []any{"O campo valorGlobal deve ter no máximo 2 casas decimais."},
				"dataAssinatura":       []any{"O campo dataAssinatura deve ser uma data no formato AAAA-MM-DD."},
				"dataFimVigencia":      []any{"O campo dataFimVigencia não pode ser anterior a dataInicioVigencia."},
			}},
			{"check digits and lengths", `{"numeroContrato":"1","anoContrato":2025,"objeto":"x",
"contratado":{"tipoDocumento":"CPF","documento":"5299822472","nome":"Fulano"},
"valorGlobal":-1,"dataAssinatura":"2025-02-30","dataInicioVigencia":"2025-03-01","dataFimVigencia":"2025-03-01"}`, map[string]any{
				"contratado.documento": []any{"O CPF deve ter 11 dígitos."},
				"valorGlobal":          []any{"O campo valorGlobal deve ser maior que zero."},
				"dataAssinatura":       []any{"O campo dataAssinatura deve ser uma data no formato AAAA-MM-DD."},
			}},
			{"bad CNPJ", strings.Replace(contratacaoJSON, "11222333000181", "11222333000182", 1), map[string]any{
				"contratado.documento": []any{"O CNPJ informado é inválido (dígitos verificadores)."},
			}},
			{"bad CPF", strings.Replace(strings.Replace(contratacaoJSON, "11222333000181", "52998224724", 1), `"CNPJ"`, `"CPF"`, 1), map[string]any{
				"contratado.documento": []any{"O CPF informado é inválido (dígitos verificadores)."},
			}},
			{"repeated digits", strings.Replace(contratacaoJSON, "11222333000181", "11111111111111", 1), map[string]any{
				"contratado.documento": []any{"O CNPJ informado é inválido (dígitos verificadores)."},
			}},
			{"unknown document type", strings.Replace(contratacaoJSON, `"CNPJ"`, `"RG"`, 1), map[string]any{
				"contratado.tipoDocumento": []any{"O campo contratado.tipoDocumento deve ser CPF ou CNPJ."},
			}},
			{"objeto too long", strings.Replace(contratacaoJSON, "Aquisição de equipamentos de informática", strings.Repeat("ç", 2001), 1), map[string]any{
				"objeto": []any{"O campo objeto deve ter no máximo 2000 caracteres."},
			}},
			{"contratado not an object", strings.Replace(contratacaoJSON,
				`{"tipoDocumento": "CNPJ", "documento": "11222333000181", "nome": "Tecnologia Capixaba Ltda"}`, `"ACME"`, 1), map[string]any{
				"contratado": []any{"O valor informado para contratado não é válido."},
			}},
			{"empty object", `{}`, map[string]any{
				"numeroContrato":     []any{"O campo numeroContrato é obrigatório."},
				"anoContrato":        []any{"O campo anoContrato é obrigatório."},
				"objeto":             []any{"O campo objeto é obrigatório."},
				"contratado":         []any{"O campo contratado é obrigatório."},
				"valorGlobal":        []any{"O campo valorGlobal é obrigatório."},
				"dataAssinatura":     []any{"O campo dataAssinatura é obrigatório."},
				"dataInicioVigencia": []any{"O campo dataInicioVigencia é obrigatório."},
				"dataFimVigencia":    []any{"O campo dataFimVigencia é obrigatório."},
			}},
			{"not JSON", `numeroContrato=1`, map[string]any{"$": []any{"O corpo da requisição deve ser um objeto JSON válido."}}},
			{"an array", `[]`, map[string]any{"$": []any{"O corpo da requisição deve ser um objeto JSON válido."}}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := send(t, "POST", s.url+"/v1/contratacoes", bearer(rw), tt.body)
				errs := wantProblem(t, r, 400)
				if !reflect.DeepEqual(errs, tt.want) {
					t.Errorf("errors:\n got %v\nwant %v", errs, tt.want)
				}
				if m := r.json(t); m["title"] != "One or more validation errors occurred." ||
					m["type"] != "https://tools.ietf.org/html/rfc9110#section-15.5.1" {
					t.Errorf("problem = %v", m)
				}
			})
		}
		if n := len(s.sim.Contratacoes("001001")); n != 3 {
			t.Errorf("001001 has %d contratacoes, want 3", n)
		}
	})
	t.Run("PUT replaces, DELETE removes", func(t *testing.T) {
		s.clock.Advance(30 * time.Minute)
		body := strings.Replace(contratacaoJSON, `"valorGlobal": 1234.50`, `"valorGlobal": 2000`, 1)
		body = strings.Replace(body, `"modalidadeLicitacao": "PREGAO_ELETRONICO"`, `"id": 99, "situacao": "X", "codigoUnidadeGestora": "001002"`, 1)
		r := send(t, "PUT", s.url+"/v1/contratacoes/6", bearer(rw), body)
		if r.status != 200 {
			t.Fatalf("status = %d: %s", r.status, r.body)
		}
		m := r.json(t)
		if m["id"] != float64(6) || m["codigoUnidadeGestora"] != "001001" || m["situacao"] != "ATIVA" ||
			m["dataCadastro"] != "2025-03-10T09:00:00-03:00" || m["dataAtualizacao"] != "2025-03-10T09:30:00-03:00" ||
			m["modalidadeLicitacao"] != nil || !strings.Contains(r.body, `"valorGlobal":2000.00,`) {
			t.Errorf("updated = %s", r.body)
		}
		// Renaming onto contratação 1's key is a conflict.
		dup := strings.Replace(strings.Replace(contratacaoJSON, "033/2025", "012/2024", 1), `"anoContrato": 2025`, `"anoContrato": 2024`, 1)
		wantProblem(t, send(t, "PUT", s.url+"/v1/contratacoes/6", bearer(rw), dup), 409)
		// Another UG's contratação is not found, for writes as for reads.
		wantProblem(t, send(t, "PUT", s.url+"/v1/contratacoes/6", bearer(other), contratacaoJSON), 404)
		wantProblem(t, send(t, "DELETE", s.url+"/v1/contratacoes/6", bearer(other), ""), 404)
		wantProblem(t, send(t, "GET", s.url+"/v1/contratacoes/6", bearer(other), ""), 404)

		r = send(t, "DELETE", s.url+"/v1/contratacoes/6", bearer(rw), "")
		if r.status != 204 || r.body != "" {
			t.Errorf("DELETE = %d %q", r.status, r.body)
		}
		wantProblem(t, send(t, "DELETE", s.url+"/v1/contratacoes/6", bearer(rw), ""), 404)
		if _, ok := s.sim.Contratacao(6); ok {
			t.Error("still stored")
		}
	})
}

func TestScope(t *testing.T) {
	s := newSandbox(t, cidadessim.Options{})
	ug001001 := s.token(t, cidadessim.DefaultClientID001001, cidadessim.DefaultClientSecret001001)
	agg := s.token(t, cidadessim.DefaultClientID001000, cidadessim.DefaultClientSecret001000)
	ids := func(t *testing.T, r response) []float64 {
		t.Helper()
		if r.status != 200 {
			t.Fatalf("status = %d: %s", r.status, r.body)
		}
		var p struct {
			Dados []struct {
				ID float64 `json:"id"`
			} `json:"dados"`
		}
		if err := json.Unmarshal([]byte(r.body), &p); err != nil {
			t.Fatal(err)
		}
		out := []float64{}
		for _, d := range p.Dados {
			out = append(out, d.ID)
		}
		return out
	}
	tests := []struct {
		name   string
		tok    string
		query  string
		status int
		want   []float64
	}{
		{"own UG", ug001001, "", 200, []float64{1, 2}},
		{"own UG named", ug001001, "?codigoUnidadeGestora=001001", 200, []float64{1, 2}},
		{"a sibling", ug001001, "?codigoUnidadeGestora=001002", 403, nil},
		{"its aggregator", ug001001, "?codigoUnidadeGestora=001000", 403, nil},
		{"aggregator, whole scope", agg, "", 200, []float64{1, 2, 3, 4}},
		{"aggregator, one subordinate", agg, "?codigoUnidadeGestora=001002", 200, []float64{3, 4}},
		{"aggregator, itself", agg, "?codigoUnidadeGestora=001000", 200, []float64{}},
		{"aggregator, an unrelated UG", agg, "?codigoUnidadeGestora=500100", 403, nil},
		{"aggregator, an unknown UG", agg, "?codigoUnidadeGestora=999999", 403, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := send(t, "GET", s.url+"/v1/contratacoes"+tt.query, bearer(tt.tok), "")
			if tt.status != 200 {
				wantProblem(t, r, tt.status)
				return
			}
			if got := ids(t, r); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ids = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("aggregator writes", func(t *testing.T) {
		r := send(t, "POST", s.url+"/v1/contratacoes?codigoUnidadeGestora=001001", bearer(agg), contratacaoJSON)
		if r.status != 201 || r.json(t)["codigoUnidadeGestora"] != "001001" {
			t.Fatalf("POST for a subordinate: %d %s", r.status, r.body)
		}
		r = send(t, "POST", s.url+"/v1/contratacoes", bearer(agg), contratacaoJSON)
		if r.status != 201 || r.json(t)["codigoUnidadeGestora"] != "001000" {
			t.Fatalf("POST without the parameter: %d %s", r.status, r.body)
		}
		// Without the parameter a write acts for the aggregator itself: 001001's contratação is not found.
		wantProblem(t, send(t, "DELETE", s.url+"/v1/contratacoes/1", bearer(agg), ""), 404)
		if r := send(t, "DELETE", s.url+"/v1/contratacoes/1?codigoUnidadeGestora=001001", bearer(agg), ""); r.status != 204 {
			t.Errorf("DELETE for a subordinate: %d %s", r.status, r.body)
		}
	})
	t.Run("unidades gestoras", func(t *testing.T) {
		r := send(t, "GET", s.url+"/v1/unidades-gestoras", bearer(agg), "")
		var ugs []map[string]any
		if err := json.Unmarshal([]byte(r.body), &ugs); err != nil || len(ugs) != 3 {
			t.Fatalf("%s: %v", r.body, err)
		}
		want := map[string]any{"codigo": "001001", "nome": "Secretaria Municipal de Saúde", "cnpj": "27142058000207",
			"esfera": "MUNICIPAL", "municipio": "Vitória", "agregadora": false, "subordinadas": []any{}}
		if !reflect.DeepEqual(ugs[1], want) {
			t.Errorf("001001 = %v, want %v", ugs[1], want)
		}
		r = send(t, "GET", s.url+"/v1/unidades-gestoras", bearer(ug001001), "")
		if err := json.Unmarshal([]byte(r.body), &ugs); err != nil || len(ugs) != 1 || ugs[0]["codigo"] != "001001" {
			t.Errorf("001001 sees %s", r.body)
		}
	})
	t.Run("responsaveis", func(t *testing.T) {
		r := send(t, "GET", s.url+"/v1/unidades-gestoras/001001/responsaveis", bearer(ug001001), "")
		want := `[{"cpf":"62839405105","nome":"Helena Duarte Rocha","cargo":"Secretária Municipal de Saúde",` +
			`"tipoResponsabilidade":"ORDENADOR_DESPESA","dataInicio":"2023-04-01","dataFim":null},` +
			`{"cpf":"73940516252","nome":"Marcos Vinícius Teixeira","cargo":"Secretário Municipal de Saúde",` +
			`"tipoResponsabilidade":"ORDENADOR_DESPESA","dataInicio":"2021-01-04","dataFim":"2023-03-31"}]` + "\n"
		if r.status != 200 || r.body != want {
			t.Errorf("got %d %s\nwant %s", r.status, r.body, want)
		}
		wantProblem(t, send(t, "GET", s.url+"/v1/unidades-gestoras/001002/responsaveis", bearer(ug001001), ""), 403)
		wantProblem(t, send(t, "GET", s.url+"/v1/unidades-gestoras/001001/responsaveis?codigoUnidadeGestora=001002", bearer(agg), ""), 403)
		if r := send(t, "GET", s.url+"/v1/unidades-gestoras/001002/responsaveis", bearer(agg), ""); r.status != 200 {
			t.Errorf("aggregator: %d", r.status)
		}
	})
}

func TestPaging(t *testing.T) {
	s := newSandbox(t, cidadessim.Options{})
	agg := s.token(t, cidadessim.DefaultClientID001000, cidadessim.DefaultClientSecret001000)
	tests := []struct {
		query  string
		status int
		field  string
		want   string // the envelope without dados
	}{
		{"", 200, "", `"pagina":1,"tamanhoPagina":50,"totalRegistros":6,"totalPaginas":1`},
		{"?pagina=2&tamanhoPagina=4", 200, "", `"pagina":2,"tamanhoPagina":4,"totalRegistros":6,"totalPaginas":2`},
		{"?pagina=3&tamanhoPagina=4", 200, "", `"pagina":3,"tamanhoPagina":4,"totalRegistros":6,"totalPaginas":2`},
		{"?tamanhoPagina=100", 200, "", `"pagina":1,"tamanhoPagina":100,"totalRegistros":6,"totalPaginas":1`},
		{"?anoReferencia=2030", 200, "", `"pagina":1,"tamanhoPagina":50,"totalRegistros":0,"totalPaginas":0`},
		{"?tamanhoPagina=101", 400, "tamanhoPagina", ""},
		{"?tamanhoPagina=0", 400, "tamanhoPagina", ""},
		{"?tamanhoPagina=dez", 400, "tamanhoPagina", ""},
		{"?pagina=0", 400, "pagina", ""},
		{"?pagina=-1", 400, "pagina", ""},
		{"?anoReferencia=dois", 400, "anoReferencia", ""},
		{"?pagina=9223372036854775807", 400, "pagina", ""},
		{"?pagina=9223372036854775808", 400, "pagina", ""},
		{"?pagina=42949673&tamanhoPagina=100", 400, "pagina", ""},
		{"?tamanhoPagina=9223372036854775807", 400, "tamanhoPagina", ""},
		{"?pagina=21474836&tamanhoPagina=100", 200, "", `"pagina":21474836,"tamanhoPagina":100,"totalRegistros":6,"totalPaginas":1`},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := send(t, "GET", s.url+"/v1/atos-pessoal/admissoes"+tt.query, bearer(agg), "")
			if tt.status != 200 {
				errs := wantProblem(t, r, tt.status)
				if _, ok := errs[tt.field]; !ok || len(errs) != 1 {
					t.Errorf("errors = %v, want %s", errs, tt.field)
				}
				return
			}
			if r.status != 200 || !strings.HasPrefix(r.body, `{"dados":[`) || !strings.HasSuffix(r.body, ","+tt.want+"}\n") {
				t.Errorf("got %d %s", r.status, r.body)
			}
		})
	}
	for _, q := range []string{"?dataAssinaturaInicio=2024-13-01", "?dataAssinaturaFim=ontem", "?ano=x"} {
		wantProblem(t, send(t, "GET", s.url+"/v1/contratacoes"+q, bearer(agg), ""), 400)
	}
	wantProblem(t, send(t, "GET", s.url+"/v1/atos-pessoal/concessoes?tipoBeneficio=PENSAO", bearer(agg), ""), 400)
	// tipoBeneficio means nothing to admissões: ignored, like any unknown parameter.
	if r := send(t, "GET", s.url+"/v1/atos-pessoal/admissoes?tipoBeneficio=PENSAO", bearer(agg), ""); r.status != 200 {
		t.Errorf("admissoes?tipoBeneficio: %d", r.status)
	}
}

// TestNaturalKeyIndex follows one natural key (UG, numeroContrato, anoContrato) through create, update, delete
// and recreate: the 409 of a duplicate and the ?numeroContrato&ano lookup must agree with the store at every step.
func TestNaturalKeyIndex(t *testing.T) {
	s := newSandbox(t, cidadessim.Options{})
	rw := s.token(t, cidadessim.DefaultClientID001001, cidadessim.DefaultClientSecret001001)
	agg := s.token(t, cidadessim.DefaultClientID001000, cidadessim.DefaultClientSecret001000)
	other := s.token(t, cidadessim.DefaultClientID001002, cidadessim.DefaultClientSecret001002)
	withNumero := func(numero string) string { return strings.Replace(contratacaoJSON, "033/2025", numero, 1) }
	// find returns the ids that ?numeroContrato=numero&ano=2025 lists for tok.
	find := func(t *testing.T, tok, numero string) []any {
		t.Helper()
		r := send(t, "GET", s.url+"/v1/contratacoes?ano=2025&numeroContrato="+url.QueryEscape(numero), bearer(tok), "")
		if r.status != 200 {
			t.Fatalf("find %s: %d %s", numero, r.status, r.body)
		}
		var ids []any
		for _, row := range r.json(t)["dados"].([]any) {
			ids = append(ids, row.(map[string]any)["id"])
		}
		return ids
	}
	create := func(t *testing.T, tok, body string, status int) float64 {
		t.Helper()
		r := send(t, "POST", s.url+"/v1/contratacoes", bearer(tok), body)
		if r.status != status {
			t.Fatalf("POST: %d, want %d: %s", r.status, status, r.body)
		}
		id, _ := r.json(t)["id"].(float64)
		return id
	}
	eqIDs := func(t *testing.T, got []any, want ...float64) {
		t.Helper()
		w := []any{}
		for _, id := range want {
			w = append(w, id)
		}
		if got == nil {
			got = []any{}
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("ids = %v, want %v", got, w)
		}
	}

	first := create(t, rw, withNumero("100/2025"), 201)
	create(t, rw, withNumero("100/2025"), 409)
	second := create(t, other, withNumero("100/2025"), 201) // same número and ano, another UG
	eqIDs(t, find(t, rw, "100/2025"), first)
	eqIDs(t, find(t, other, "100/2025"), second)
	eqIDs(t, find(t, agg, "100/2025"), first, second) // the aggregator sees both UGs under it
	eqIDs(t, find(t, rw, "100/202"))                  // exact match only

	// An update that renames the key frees the old one and takes the new one.
	path := fmt.Sprintf("%s/v1/contratacoes/%d", s.url, int64(first))
	if r := send(t, "PUT", path, bearer(rw), withNumero("101/2025")); r.status != 200 {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	eqIDs(t, find(t, rw, "100/2025"))
	eqIDs(t, find(t, rw, "101/2025"), first)
	create(t, rw, withNumero("101/2025"), 409)
	third := create(t, rw, withNumero("100/2025"), 201)
	wantProblem(t, send(t, "PUT", path, bearer(rw), withNumero("100/2025")), 409)
	eqIDs(t, find(t, rw, "100/2025"), third)

	// Delete and recreate: the key is free after the delete and names the new id after the recreate.
	if r := send(t, "DELETE", path, bearer(rw), ""); r.status != 204 {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	eqIDs(t, find(t, rw, "101/2025"))
	again := create(t, rw, withNumero("101/2025"), 201)
	if again == first {
		t.Errorf("the recreated contratação reuses id %v", first)
	}
	eqIDs(t, find(t, rw, "101/2025"), again)
	create(t, rw, withNumero("101/2025"), 409)

	// The fixtures' contratações are indexed too.
	dup := strings.Replace(strings.Replace(contratacaoJSON, "033/2025", "012/2024", 1), `"anoContrato": 2025`, `"anoContrato": 2024`, 1)
	create(t, rw, dup, 409)
}

// TestInjectedErrorsInProblemShape: a failure the fault injector answers is an RFC 7807 ProblemDetails, as every
// error of the API, on the token endpoint as on /v1.
func TestInjectedErrorsInProblemShape(t *testing.T) {
	tests := []struct {
		name, method, path string
		header             http.Header
		body               string
		status             int
	}{
		{"429 on /v1", "GET", "/v1/contratacoes/1", nil, "", 429},
		{"503 on /v1", "POST", "/v1/contratacoes", nil, contratacaoJSON, 503},
		{"502 on the token endpoint", "POST", "/oauth/token", formHeader, "grant_type=client_credentials", 502},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSandbox(t, cidadessim.Options{})
			s.sim.Faults().FailNext(1, tt.status, 2*time.Second)
			r := send(t, tt.method, s.url+tt.path, tt.header, tt.body)
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d (%s)", r.status, tt.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/problem+json; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			m := r.json(t)
			if m["status"] != float64(tt.status) || m["title"] != http.StatusText(tt.status) || m["detail"] == nil ||
				!traceID.MatchString(fmt.Sprint(m["traceId"])) {
				t.Errorf("problem = %v", m)
			}
			if r.header.Get("Retry-After") != "2" {
				t.Errorf("Retry-After = %q", r.header.Get("Retry-After"))
			}
		})
	}
}

// TestBodyLimit: a request body over MaxBodyBytes is a 413 ProblemDetails, on /v1 and on the token endpoint,
// whether its length is announced or not, and costs the simulator no more than the limit.
func TestBodyLimit(t *testing.T) {
	s := newSandbox(t, cidadessim.Options{})
	tok := s.token(t, cidadessim.DefaultClientID001001, cidadessim.DefaultClientSecret001001)
	huge := func() io.Reader { return faulttest.BigBody(`{"numeroContrato":"`, 100<<20) }
	over := func() io.Reader { return faulttest.BigBody(`{"objeto":"`, cidadessim.MaxBodyBytes+1) }
	tests := []struct {
		name, method, path string
		body               func() io.Reader
		length             int64
	}{
		{"POST contratacoes, 100 MiB announced", "POST", "/v1/contratacoes", huge, 100 << 20},
		{"POST contratacoes, 100 MiB chunked", "POST", "/v1/contratacoes", huge, -1},
		{"PUT contratacao, one byte over", "PUT", "/v1/contratacoes/1", over, -1},
		{"token, 100 MiB chunked", "POST", "/oauth/token", func() io.Reader { return faulttest.BigBody("grant_type=client_credentials&client_id=", 100<<20) }, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, tt.body())
			req.ContentLength = tt.length
			req.Header = bearer(tok)
			rec := httptest.NewRecorder()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			s.sim.ServeHTTP(rec, req)
			runtime.ReadMemStats(&after)
			wantProblem(t, response{rec.Code, rec.Header(), rec.Body.String()}, 413)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
				t.Errorf("refusing the body allocated %d MiB", alloc>>20)
			}
		})
	}
	t.Run("a body within the limit is read whole", func(t *testing.T) {
		body := strings.Repeat(" ", cidadessim.MaxBodyBytes-len(contratacaoJSON)) + strings.Replace(contratacaoJSON, "033/2025", "099/2025", 1)
		if r := send(t, "POST", s.url+"/v1/contratacoes", bearer(tok), body); r.status != 201 {
			t.Errorf("%d %s", r.status, r.body)
		}
	})
}

func TestConcurrentWrites(t *testing.T) {
	s := newSandbox(t, cidadessim.Options{})
	tok := s.token(t, cidadessim.DefaultClientID001002, cidadessim.DefaultClientSecret001002)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			body := strings.Replace(contratacaoJSON, "033/2025", fmt.Sprintf("%03d/2025", i), 1)
			if r := send(t, "POST", s.url+"/v1/contratacoes", bearer(tok), body); r.status != 201 {
				t.Errorf("%d: %s", r.status, r.body)
			}
			send(t, "GET", s.url+"/v1/contratacoes", bearer(tok), "")
		})
	}
	wg.Wait()
	seen := map[int64]bool{}
	for _, c := range s.sim.Contratacoes("001002") {
		if seen[c.ID] {
			t.Errorf("id %d twice", c.ID)
		}
		seen[c.ID] = true
	}
	if len(seen) != 22 {
		t.Errorf("001002 has %d contratacoes, want 22", len(seen))
	}
}

func TestFixtures(t *testing.T) {
	t.Run("the embedded fixtures hold the default keys", func(t *testing.T) {
		f := fixtures(t)
		if !reflect.DeepEqual(f.Keys, cidadessim.DefaultKeys()) {
			t.Errorf("keys:\n got %+v\nwant %+v", f.Keys, cidadessim.DefaultKeys())
		}
		if len(f.UnidadesGestoras) != 4 || len(f.Admissoes) == 0 || len(f.Concessoes) == 0 || len(f.Contratacoes) == 0 {
			t.Errorf("fixtures = %+v", f)
		}
	})

	valid := `
unidadesGestoras:
  - {codigo: "001000", nome: A, cnpj: "27142058000126", agregadora: true, subordinadas: ["001001"]}
  - codigo: "001001"
    nome: B
    cnpj: "27142058000207"
    responsaveis: [{cpf: "52998224725", nome: C, dataInicio: 2024-01-01}]
keys: [{clientId: a, clientSecret: b, unidadeGestora: "001001", permissao: LEITURA}]
admissoes: [{codigoUnidadeGestora: "001001", cpf: "52998224725", nomeServidor: D, anoReferencia: 2024}]
concessoes: [{codigoUnidadeGestora: "001001", cpf: "52998224725", nomeServidor: D, anoReferencia: 2024, tipoBeneficio: APOSENTADORIA}]
contratacoes:
  - codigoUnidadeGestora: "001001"
    numeroContrato: "1/2024"
    anoContrato: 2024
    objeto: x
    contratado: {tipoDocumento: CNPJ, documento: "11222333000181", nome: E}
    valorGlobal: 10.5
    dataAssinatura: 2024-01-01
    dataInicioVigencia: 2024-01-01
    dataFimVigencia: 2024-12-31
`
	if _, err := cidadessim.LoadFixtures([]byte(valid)); err != nil {
		t.Fatalf("valid fixtures: %v", err)
	}
	tests := []struct {
		name, old, new, want string
	}{
		{"unknown field", "nome: B", "nome: B\n    sigla: SMS", "field sigla not found"},
		{"bad UG CNPJ", `"27142058000207"`, `"27142058000208"`, "unidadesGestoras[1].cnpj"},
		{"unknown subordinate", `subordinadas: ["001001"]`, `subordinadas: ["001009"]`, "unidadesGestoras[0].subordinadas[0]"},
		{"subordinates of a non-aggregator", "agregadora: true", "agregadora: false", "unidadesGestoras[0].subordinadas"},
		{"bad responsavel CPF", `responsaveis: [{cpf: "52998224725"`, `responsaveis: [{cpf: "529.982.247-25"`, "unidadesGestoras[1].responsaveis[0].cpf"},
		{"key of an unknown UG", `unidadeGestora: "001001"`, `unidadeGestora: "009999"`, "keys[0].unidadeGestora"},
		{"bad permission", "permissao: LEITURA", "permissao: ESCRITA", "keys[0].permissao"},
		{"admissao with a benefit", `nomeServidor: D, anoReferencia: 2024}]`, `nomeServidor: D, anoReferencia: 2024, tipoBeneficio: REFORMA}]`, "admissoes[0].tipoBeneficio"},
		{"concessao without a benefit", ", tipoBeneficio: APOSENTADORIA", "", "concessoes[0].tipoBeneficio"},
		{"bad contracted CNPJ", `documento: "11222333000181"`, `documento: "11222333000182"`, "contratacoes[0].contratado.documento"},
		{"money with 3 decimals", "valorGlobal: 10.5", "valorGlobal: 10.555", "more than two decimal places"},
		{"end before start", "dataFimVigencia: 2024-12-31", "dataFimVigencia: 2023-12-31", "contratacoes[0].dataFimVigencia"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := strings.Replace(valid, tt.old, tt.new, 1)
			if in == valid {
				t.Fatalf("%q not in the fixtures", tt.old)
			}
			_, err := cidadessim.LoadFixtures([]byte(in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
	t.Run("duplicate contract", func(t *testing.T) {
		f, err := cidadessim.LoadFixtures([]byte(valid))
		if err != nil {
			t.Fatal(err)
		}
		f.Contratacoes = append(f.Contratacoes, f.Contratacoes[0])
		if err := f.Validate(); err == nil || !strings.Contains(err.Error(), "contratacoes[1].numeroContrato") {
			t.Errorf("err = %v", err)
		}
	})
}

// FuzzPaging: whatever pagina and tamanhoPagina say, a list answers 200 with a page envelope of at most
// tamanhoPagina rows or a 400 ProblemDetails, and never panics.
func FuzzPaging(f *testing.F) {
	for _, seed := range [][2]string{
		{"1", "50"}, {"9223372036854775807", "100"}, {"-9223372036854775808", "1"}, {"21474836", "100"},
		{"0", "0"}, {"+2", "+4"}, {"", ""},
	} {
		f.Add(seed[0], seed[1])
	}
	sim := cidadessim.New(fixtures(f), cidadessim.Options{})
	req := httptest.NewRequest("POST", "/oauth/token", strings.NewReader(
		"grant_type=client_credentials&client_id="+cidadessim.DefaultClientID001000+"&client_secret="+cidadessim.DefaultClientSecret001000))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, req)
	tok, _ := response{status: rec.Code, body: rec.Body.String()}.json(f)["access_token"].(string)
	f.Fuzz(func(t *testing.T, pagina, tamanho string) {
		q := url.Values{"pagina": {pagina}, "tamanhoPagina": {tamanho}}
		req := httptest.NewRequest("GET", "/v1/atos-pessoal/admissoes?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, req)
		switch rec.Code {
		case 200:
			var p struct {
				Dados         []any `json:"dados"`
				TamanhoPagina int   `json:"tamanhoPagina"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Dados == nil || len(p.Dados) > p.TamanhoPagina {
				t.Errorf("%s: 200 with %s", q.Encode(), rec.Body)
			}
		case 400:
			var p map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p["status"] != float64(400) || p["errors"] == nil {
				t.Errorf("%s: 400 with %s", q.Encode(), rec.Body)
			}
		default:
			t.Errorf("%s: status %d %s", q.Encode(), rec.Code, rec.Body)
		}
	})
}

// TestRevokeRestoreAndTokenTTL drives /_sim/auth over HTTP: a revoked key's client secret is refused with 401
// invalid_client and its tokens answer 401, other keys of the same UG keep working, Restore lets the key obtain
// tokens again, and a short token lifetime set at run time is the expires_in of the tokens issued after it.
func TestRevokeRestoreAndTokenTTL(t *testing.T) {
	s := newSandbox(t, cidadessim.Options{})
	control := func(method, path, body string, want int) string {
		t.Helper()
		r := send(t, method, s.url+path, nil, body)
		if r.status != want {
			t.Fatalf("%s %s %s: want %d, got %d: %s", method, path, body, want, r.status, r.body)
		}
		return r.body
	}
	tokenRequest := func(id, secret string) response {
		return send(t, "POST", s.url+"/oauth/token", formHeader,
			"grant_type=client_credentials&client_id="+url.QueryEscape(id)+"&client_secret="+url.QueryEscape(secret))
	}
	list := func(tok string) response { return send(t, "GET", s.url+"/v1/unidades-gestoras", bearer(tok), "") }
	rw := s.token(t, cidadessim.DefaultClientID001001, cidadessim.DefaultClientSecret001001)
	ro := s.token(t, cidadessim.DefaultClientID001001RO, cidadessim.DefaultClientSecret001001RO)
	cred := `{"kind":"clientId","value":"` + cidadessim.DefaultClientID001001 + `"}`

	t.Run("client secret", func(t *testing.T) {
		control("POST", "/_sim/auth/revoke", cred, 204)
		r := tokenRequest(cidadessim.DefaultClientID001001, cidadessim.DefaultClientSecret001001)
		if r.status != 401 || r.json(t)["error"] != "invalid_client" {
			t.Errorf("token of a revoked key: %d %s", r.status, r.body)
		}
		if detail := wantProblem(t, list(rw), 401); detail != nil {
			t.Errorf("errors = %v", detail)
		}
		if r := list(ro); r.status != 200 {
			t.Errorf("the other key of the UG: %d %s", r.status, r.body)
		}
		control("POST", "/_sim/auth/restore", cred, 204)
		if r := list(s.token(t, cidadessim.DefaultClientID001001, cidadessim.DefaultClientSecret001001)); r.status != 200 {
			t.Errorf("a token of the restored key: %d %s", r.status, r.body)
		}
		if r := list(rw); r.status != 401 {
			t.Errorf("a token dropped by the revoke: want 401, got %d", r.status)
		}
	})
	t.Run("token", func(t *testing.T) {
		if err := s.sim.Revoke(cidadessim.KindToken, ro); err != nil {
			t.Fatal(err)
		}
		wantProblem(t, list(ro), 401)
	})
	t.Run("unknown kind", func(t *testing.T) {
		if b := control("POST", "/_sim/auth/revoke", `{"kind":"ug","value":"001001"}`, 400); !strings.Contains(b, `\"ug\"`) {
			t.Errorf("the error should name the kind: %s", b)
		}
	})
	t.Run("token TTL", func(t *testing.T) {
		if b := control("GET", "/_sim/auth", "", 200); !strings.Contains(b, `"tokenTTL":"1h0m0s"`) {
			t.Errorf("GET /_sim/auth: %s", b)
		}
		control("PUT", "/_sim/auth", `{"tokenTTL":"30s"}`, 200)
		r := tokenRequest(cidadessim.DefaultClientID001002, cidadessim.DefaultClientSecret001002)
		if r.status != 200 || r.json(t)["expires_in"] != float64(30) {
			t.Fatalf("token after PUT 30s: %d %s", r.status, r.body)
		}
		tok := r.json(t)["access_token"].(string)
		s.clock.Advance(29 * time.Second)
		if r := list(tok); r.status != 200 {
			t.Errorf("at 29s: %d %s", r.status, r.body)
		}
		s.clock.Advance(time.Second)
		wantProblem(t, list(tok), 401)
	})
}
