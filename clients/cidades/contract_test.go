package cidades_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ponte-dev/ponte/clients"
	"github.com/ponte-dev/ponte/clients/cidades"
	"github.com/ponte-dev/ponte/clients/cidades/cidadessim"
	"github.com/ponte-dev/ponte/clients/fault"
	"github.com/ponte-dev/ponte/examples"
)

// clock is the simulator's clock, moved by the tests.
type clock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration // added after every reading
}

func newClock() *clock {
	return &clock{t: time.Date(2025, 3, 10, 9, 30, 0, 0, time.FixedZone("-03", -3*60*60))}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.t
	c.t = c.t.Add(c.step)
	return t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a simulator behind a real HTTP server, with the development fixtures.
type env struct {
	sim   *cidadessim.Server
	srv   *httptest.Server
	clock *clock
}

func loadFixtures(t *testing.T) cidadessim.Fixtures {
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

func newEnv(t *testing.T, opts cidadessim.Options) *env {
	t.Helper()
	e := &env{clock: newClock()}
	if opts.Now == nil {
		opts.Now = e.clock.Now
	}
	e.sim = cidadessim.New(loadFixtures(t), opts)
	e.srv = httptest.NewServer(e.sim)
	t.Cleanup(e.srv.Close)
	return e
}

// The development keys, by UG.
var devKeys = map[string]cidades.UGConfig{
	"001000": {ClientID: cidadessim.DefaultClientID001000, ClientSecret: clients.SecretValue(cidadessim.DefaultClientSecret001000)},
	"001001": {ClientID: cidadessim.DefaultClientID001001, ClientSecret: clients.SecretValue(cidadessim.DefaultClientSecret001001)},
	"001002": {ClientID: cidadessim.DefaultClientID001002, ClientSecret: clients.SecretValue(cidadessim.DefaultClientSecret001002)},
	"500100": {ClientID: cidadessim.DefaultClientID500100, ClientSecret: clients.SecretValue(cidadessim.DefaultClientSecret500100)},
}

var readOnly001001 = cidades.UGConfig{ClientID: cidadessim.DefaultClientID001001RO, ClientSecret: clients.SecretValue(cidadessim.DefaultClientSecret001001RO)}

// allSecrets are every development secret: none may appear in an error.
var allSecrets = []string{
	cidadessim.DefaultClientSecret001000, cidadessim.DefaultClientSecret001001, cidadessim.DefaultClientSecret001001RO,
	cidadessim.DefaultClientSecret001002, cidadessim.DefaultClientSecret500100,
}

// client returns a client of e with every UG on its own development key, changed by mod.
func (e *env) client(t *testing.T, mod func(*cidades.Config), opts clients.EndpointOptions) *cidades.Client {
	t.Helper()
	cfg := cidades.Config{
		EndpointConfig: clients.EndpointConfig{BaseURL: e.srv.URL, Timeout: 2 * time.Second},
		UGs:            make(map[string]cidades.UGConfig),
	}
	for ug, k := range devKeys {
		cfg.UGs[ug] = k
	}
	if mod != nil {
		mod(&cfg)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c, err := cidades.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// log returns the requests the simulator got, as "METHOD /path?query STATUS".
func (e *env) log() []string {
	var out []string
	for _, r := range e.sim.Faults().Requests() {
		out = append(out, fmt.Sprintf("%s %d", r, r.Status))
	}
	return out
}

func (e *env) requests() []fault.Entry { return e.sim.Faults().Requests() }

func equal(t *testing.T, what string, got, want any) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s:\n got %v\nwant %v", what, got, want)
	}
}

// noSecret fails if err mentions any client secret.
func noSecret(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
		for _, secret := range allSecrets {
			if strings.Contains(s, secret) {
				t.Errorf("error reveals a client secret: %s", s)
			}
		}
	}
}

// checkErr checks err against the behaviour a caller branches on.
func checkErr(t *testing.T, err error, status int, sentinel error, permanent bool) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want HTTP %d", status)
	}
	noSecret(t, err)
	if got := clients.HTTPStatus(err); got != status {
		t.Errorf("HTTPStatus = %d, want %d (%v)", got, status, err)
	}
	if sentinel != nil && !errors.Is(err, sentinel) {
		t.Errorf("errors.Is(%v, %v) = false", err, sentinel)
	}
	if got := clients.IsPermanent(err); got != permanent {
		t.Errorf("IsPermanent = %v, want %v (%v)", got, permanent, err)
	}
	var se *clients.StatusError
	if status != 0 && !errors.As(err, &se) {
		t.Errorf("errors.As(*clients.StatusError) = false for %v", err)
	}
}

// wantErr checks an API call's error: for an HTTP answer, a *ProblemError wrapping the *clients.StatusError.
func wantErr(t *testing.T, err error, status int, sentinel error, permanent bool) *cidades.ProblemError {
	t.Helper()
	checkErr(t, err, status, sentinel, permanent)
	var pe *cidades.ProblemError
	if status != 0 && !errors.As(err, &pe) {
		t.Fatalf("errors.As(*ProblemError) = false for %v", err)
	}
	if pe != nil && pe.Status != status {
		t.Errorf("ProblemError.Status = %d, want %d", pe.Status, status)
	}
	return pe
}

// wantTokenErr checks the error of a refused token request: a *clients.StatusError with the OAuth2 body, not a
// ProblemDetails.
func wantTokenErr(t *testing.T, err error, status int) {
	t.Helper()
	// A refused key is an auth failure: the target's, retryable once the secret is fixed.
	checkErr(t, err, status, cidades.ErrUnauthorized, false)
	if ae := (*clients.AuthError)(nil); !errors.As(err, &ae) || !clients.IsOutage(err) {
		t.Errorf("token error %v is not a *clients.AuthError", err)
	}
	var pe *cidades.ProblemError
	if errors.As(err, &pe) {
		t.Errorf("token error %v is a *ProblemError", err)
	}
	if !strings.Contains(err.Error(), "cidades token for ug ") {
		t.Errorf("error %v does not name the token request", err)
	}
}

func newContratacao(numero string) cidades.Contratacao {
	return cidades.Contratacao{
		NumeroContrato: numero,
		AnoContrato:    2025,
		Objeto:         "Aquisição de equipamentos de informática para as unidades de saúde",
		Contratado: cidades.Contratado{
			TipoDocumento: cidades.TipoCNPJ,
			Documento:     "11222333000181",
			Nome:          "Tecnologia Capixaba Ltda",
		},
		ValorGlobal:                  123450,
		DataAssinatura:               cidades.NewDate(2025, time.March, 1),
		DataInicioVigencia:           cidades.NewDate(2025, time.March, 1),
		DataFimVigencia:              cidades.NewDate(2026, time.February, 28),
		ModalidadeLicitacao:          "PREGAO_ELETRONICO",
		NumeroProcessoAdministrativo: "2025/000101",
		FundamentoLegal:              "Lei 14.133/2021, art. 28, I",
	}
}

func ids[T any](rows []T, id func(T) int64) []int64 {
	out := []int64{}
	for _, r := range rows {
		out = append(out, id(r))
	}
	return out
}

func contratoID(c cidades.Contratacao) int64 { return c.ID }
func atoID(a cidades.AtoPessoal) int64       { return a.ID }

func TestToken(t *testing.T) {
	ctx := context.Background()

	t.Run("one token for many calls, sent as a form", func(t *testing.T) {
		e := newEnv(t, cidadessim.Options{})
		c := e.client(t, nil, clients.EndpointOptions{})
		for range 3 {
			if _, err := c.GetContratacao(ctx, "001001", 1); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := c.FindContratacoes(ctx, "001001", cidades.ContratacaoFilter{}); err != nil {
			t.Fatal(err)
		}
		equal(t, "requests", e.log(), []string{
			"POST /oauth/token 200",
			"GET /v1/contratacoes/1 200", "GET /v1/contratacoes/1 200", "GET /v1/contratacoes/1 200",
			"GET /v1/contratacoes 200",
		})
		r := e.requests()
		form, err := url.ParseQuery(string(r[0].Body))
		if err != nil {
			t.Fatal(err)
		}
		// The log keeps credentials masked: Mask tells which one was sent.
		mask := e.sim.Faults().Mask
		equal(t, "token form", form, url.Values{
			"grant_type": {"client_credentials"}, "client_id": {"ug-001001-rw"}, "client_secret": {mask("cidades-dev-001001-rw")},
		})
		equal(t, "token content type", r[0].Header.Get("Content-Type"), "application/x-www-form-urlencoded")
		tok := e.sim.IssuedTokens()[0].Value
		for _, req := range r[1:] {
			equal(t, "authorization", req.Header.Get("Authorization"), "Bearer "+mask(tok))
		}
	})

	t.Run("HTTP Basic client authentication", func(t *testing.T) {
		e := newEnv(t, cidadessim.Options{})
		c := e.client(t, func(cfg *cidades.Config) { cfg.TokenAuth = cidades.TokenAuthBasic }, clients.EndpointOptions{})
		if _, err := c.GetContratacao(ctx, "001001", 1); err != nil {
			t.Fatal(err)
		}
		r := e.requests()[0]
		equal(t, "basic credentials", r.Header.Get("Authorization"),
			"Basic "+e.sim.Faults().Mask(base64.StdEncoding.EncodeToString([]byte("ug-001001-rw:cidades-dev-001001-rw"))))
		equal(t, "token form", string(r.Body), "grant_type=client_credentials")
	})

	t.Run("a token within the leeway of its expiry is replaced", func(t *testing.T) {
		tests := []struct {
			name      string
			expiresIn time.Duration
			leeway    time.Duration
			want      int
		}{
			{"expires in 1h, default leeway", time.Hour, 0, 1},
			{"expires in 60s, default leeway 60s", time.Minute, 0, 3},
			{"expires in 60s, no leeway", time.Minute, -1, 1},
			{"expires in 5m, leeway 5m", 5 * time.Minute, 5 * time.Minute, 3},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := newEnv(t, cidadessim.Options{ExpiresIn: tt.expiresIn})
				c := e.client(t, func(cfg *cidades.Config) { cfg.TokenLeeway = tt.leeway }, clients.EndpointOptions{})
				for range 3 {
					if _, err := c.ListUnidadesGestoras(ctx, "001001"); err != nil {
						t.Fatal(err)
					}
				}
				equal(t, "tokens issued", len(e.sim.IssuedTokens()), tt.want)
			})
		}
	})

	t.Run("a 401 drops the token and retries once with a new one", func(t *testing.T) {
		e := newEnv(t, cidadessim.Options{})
		c := e.client(t, nil, clients.EndpointOptions{})
		if _, err := c.GetContratacao(ctx, "001001", 1); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(2 * time.Hour) // the simulator now sees the cached token as expired
		got, err := c.GetContratacao(ctx, "001001", 1)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "contratacao", got.NumeroContrato, "012/2024")
		equal(t, "requests", e.log(), []string{
			"POST /oauth/token 200", "GET /v1/contratacoes/1 200",
			"GET /v1/contratacoes/1 401", "POST /oauth/token 200", "GET /v1/contratacoes/1 200",
		})
		toks := e.sim.IssuedTokens()
		equal(t, "authorization of the retry", e.requests()[4].Header.Get("Authorization"), "Bearer "+e.sim.Faults().Mask(toks[1].Value))
	})

	t.Run("a second 401 is returned", func(t *testing.T) {
		e := newEnv(t, cidadessim.Options{})
		e.clock.step = 2 * time.Hour // every token is expired by the time it is used
		c := e.client(t, nil, clients.EndpointOptions{})
		_, err := c.GetContratacao(ctx, "001001", 1)
		// Refused even with a fresh token: an auth failure, the target's, not the event's.
		wantErr(t, err, 401, cidades.ErrUnauthorized, false)
		if ae := (*clients.AuthError)(nil); !errors.As(err, &ae) || ae.Tenant != "001001" || !clients.IsOutage(err) {
			t.Errorf("err = %v, want a *clients.AuthError of tenant 001001, an outage", err)
		}
		equal(t, "requests", e.log(), []string{
			"POST /oauth/token 200", "GET /v1/contratacoes/1 401", "POST /oauth/token 200", "GET /v1/contratacoes/1 401",
		})
	})

	t.Run("bad credentials", func(t *testing.T) {
		e := newEnv(t, cidadessim.Options{})
		const secret = "not-the-secret-0xDEADBEEF"
		for _, auth := range []cidades.TokenAuth{cidades.TokenAuthForm, cidades.TokenAuthBasic} {
			t.Run(string(auth), func(t *testing.T) {
				c := e.client(t, func(cfg *cidades.Config) {
					cfg.TokenAuth = auth
					cfg.UGs["001001"] = cidades.UGConfig{ClientID: "ug-001001-rw", ClientSecret: clients.SecretValue(secret)}
				}, clients.EndpointOptions{})
				_, err := c.CreateContratacao(ctx, "001001", newContratacao("900/2025"))
				wantTokenErr(t, err, 401)
				if strings.Contains(err.Error(), secret) || strings.Contains(fmt.Sprintf("%#v", err), secret) {
					t.Errorf("error reveals the secret: %v", err)
				}
				if !strings.Contains(err.Error(), "invalid_client") || !strings.Contains(err.Error(), "ug 001001") {
					t.Errorf("error does not say what failed: %v", err)
				}
				_, err = c.CanWrite(ctx, "001001")
				wantTokenErr(t, err, 401)
			})
		}
		equal(t, "contratacoes of 001001", len(e.sim.Contratacoes("001001")), 2)
	})

	t.Run("a token endpoint that echoes the secret", func(t *testing.T) {
		const secret = "s3cr3t-echoed-by-a-bad-server"
		echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.ParseForm() //nolint:errcheck
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"error":"invalid_client","client_secret":%q,"clientSecret":%q,"password":%q}`,
				r.PostForm.Get("client_secret"), r.PostForm.Get("client_secret"), r.PostForm.Get("client_secret"))
		}))
		defer echo.Close()
		e := newEnv(t, cidadessim.Options{})
		c := e.client(t, func(cfg *cidades.Config) {
			cfg.TokenURL = echo.URL + "/connect/token"
			cfg.UGs["001001"] = cidades.UGConfig{ClientID: "ug-001001-rw", ClientSecret: clients.SecretValue(secret)}
		}, clients.EndpointOptions{})
		_, err := c.GetContratacao(ctx, "001001", 1)
		wantTokenErr(t, err, 401)
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error reveals the secret: %v", err)
		}
		if !strings.Contains(err.Error(), "[REDACTED]") {
			t.Errorf("error = %v, want the redacted body", err)
		}
		equal(t, "requests to the simulator", len(e.requests()), 0)
	})

	t.Run("an unreachable token endpoint", func(t *testing.T) {
		e := newEnv(t, cidadessim.Options{})
		c := e.client(t, nil, clients.EndpointOptions{})
		e.sim.Faults().SetDown(true)
		_, err := c.GetContratacao(ctx, "001001", 1)
		wantErr(t, err, 0, nil, false)
		var te *clients.TransportError
		if !errors.As(err, &te) {
			t.Errorf("error = %v, want a *clients.TransportError", err)
		}
	})
}

func TestCanWrite(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, cidadessim.Options{})
	tests := []struct {
		name string
		ug   string
		ugc  cidades.UGConfig
		want bool
	}{
		{"read-and-send key", "001001", devKeys["001001"], true},
		{"read-only key", "001001", readOnly001001, false},
		{"through the aggregator's key", "001002", cidades.UGConfig{Via: "001000"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.client(t, func(cfg *cidades.Config) { cfg.UGs[tt.ug] = tt.ugc }, clients.EndpointOptions{})
			got, err := c.CanWrite(ctx, tt.ug)
			if err != nil {
				t.Fatal(err)
			}
			equal(t, "CanWrite", got, tt.want)
		})
	}
	t.Run("unknown UG", func(t *testing.T) {
		c := e.client(t, nil, clients.EndpointOptions{})
		_, err := c.CanWrite(ctx, "999999")
		if !errors.Is(err, cidades.ErrUnknownUG) || !clients.IsPermanent(err) {
			t.Errorf("err = %v, want permanent ErrUnknownUG", err)
		}
	})
}

func TestCreateContratacao(t *testing.T) {
	ctx := context.Background()

	t.Run("created with the server-set fields", func(t *testing.T) {
		e := newEnv(t, cidadessim.Options{})
		c := e.client(t, nil, clients.EndpointOptions{})
		in := newContratacao("033/2025")
		in.ID, in.Situacao, in.CodigoUnidadeGestora = 77, "ENCERRADA", "001002" // server-set: not sent
		got, err := c.CreateContratacao(ctx, "001001", in)
		if err != nil {
			t.Fatal(err)
		}
		want := newContratacao("033/2025")
		want.ID, want.CodigoUnidadeGestora, want.Situacao = 6, "001001", "ATIVA"
		stamp := cidades.Timestamp{Time: e.clock.Now()}
		want.DataCadastro, want.DataAtualizacao = stamp, stamp
		equal(t, "created", fmt.Sprintf("%+v", *got), fmt.Sprintf("%+v", want))
		if !got.DataCadastro.Equal(stamp.Time) {
			t.Errorf("dataCadastro = %v, want %v", got.DataCadastro, stamp)
		}

		r := e.requests()[1]
		equal(t, "request", r.String(), "POST /v1/contratacoes")
		equal(t, "status", r.Status, 201)
		equal(t, "body", string(r.Body), `{"numeroContrato":"033/2025","anoContrato":2025,`+
			`"objeto":"Aquisição de equipamentos de informática para as unidades de saúde",`+
			`"contratado":{"tipoDocumento":"CNPJ","documento":"11222333000181","nome":"Tecnologia Capixaba Ltda"},`+
			`"valorGlobal":1234.50,"dataAssinatura":"2025-03-01","dataInicioVigencia":"2025-03-01","dataFimVigencia":"2026-02-28",`+
			`"modalidadeLicitacao":"PREGAO_ELETRONICO","numeroProcessoAdministrativo":"2025/000101","fundamentoLegal":"Lei 14.133/2021, art. 28, I"}`)
		equal(t, "content type", r.Header.Get("Content-Type"), "application/json")

		stored, ok := e.sim.Contratacao(6)
		if !ok {
			t.Fatal("contratacao 6 not stored")
		}
		equal(t, "stored", []any{stored.CodigoUnidadeGestora, stored.NumeroContrato, stored.AnoContrato, stored.ValorGlobal,
			stored.Contratado.Documento, stored.DataFimVigencia, stored.Situacao},
			[]any{"001001", "033/2025", 2025, cidadessim.Money(123450), "11222333000181", cidadessim.Date("2026-02-28"), "ATIVA"})
		equal(t, "contratacoes of 001001", ids(e.sim.Contratacoes("001001"), func(c cidadessim.Contratacao) int64 { return c.ID }), []int64{1, 2, 6})
	})

	t.Run("403 with a read-only key", func(t *testing.T) {
		e := newEnv(t, cidadessim.Options{})
		c := e.client(t, func(cfg *cidades.Config) { cfg.UGs["001001"] = readOnly001001 }, clients.EndpointOptions{})
		_, err := c.CreateContratacao(ctx, "001001", newContratacao("033/2025"))
		pe := wantErr(t, err, 403, cidades.ErrForbidden, true)
		if pe != nil && !strings.Contains(pe.Detail, "somente leitura") {
			t.Errorf("detail = %q", pe.Detail)
		}
		equal(t, "contratacoes of 001001", len(e.sim.Contratacoes("001001")), 2)
		// Reading still works with the same key.
		if _, err := c.GetContratacao(ctx, "001001", 1); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("409 on a duplicate (UG, numero, ano)", func(t *testing.T) {
		e := newEnv(t, cidadessim.Options{})
		c := e.client(t, nil, clients.EndpointOptions{})
		dup := newContratacao("012/2024")
		dup.AnoContrato = 2024
		_, err := c.CreateContratacao(ctx, "001001", dup)
		wantErr(t, err, 409, cidades.ErrConflict, true)
		if errors.Is(err, cidades.ErrNotFound) {
			t.Error("409 matches ErrNotFound")
		}
		equal(t, "contratacoes of 001001", len(e.sim.Contratacoes("001001")), 2)
		// The same number in another year, or in another UG, is not a duplicate.
		dup.AnoContrato = 2025
		if _, err := c.CreateContratacao(ctx, "001001", dup); err != nil {
			t.Fatal(err)
		}
		dup.AnoContrato = 2024
		if _, err := c.CreateContratacao(ctx, "001002", dup); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("400 names the fields", func(t *testing.T) {
		e := newEnv(t, cidadessim.Options{})
		c := e.client(t, nil, clients.EndpointOptions{})
		tests := []struct {
			name   string
			mod    func(*cidades.Contratacao)
			fields []string
		}{
			{"CNPJ check digit", func(c *cidades.Contratacao) { c.Contratado.Documento = "11222333000182" }, []string{"contratado.documento"}},
			{"CPF check digit", func(c *cidades.Contratacao) {
				c.Contratado = cidades.Contratado{TipoDocumento: cidades.TipoCPF, Documento: "52998224724", Nome: "Fulano"}
			}, []string{"contratado.documento"}},
			{"punctuated CNPJ", func(c *cidades.Contratacao) { c.Contratado.Documento = "11.222.333/0001-81" }, []string{"contratado.documento"}},
			{"CPF given as CNPJ", func(c *cidades.Contratacao) { c.Contratado.Documento = "52998224725" }, []string{"contratado.documento"}},
			{"unknown document type", func(c *cidades.Contratacao) { c.Contratado.TipoDocumento = "RG" }, []string{"contratado.tipoDocumento"}},
			{"objeto over 2000 characters", func(c *cidades.Contratacao) { c.Objeto = strings.Repeat("á", 2001) }, []string{"objeto"}},
			{"valorGlobal zero", func(c *cidades.Contratacao) { c.ValorGlobal = 0 }, []string{"valorGlobal"}},
			{"valorGlobal negative", func(c *cidades.Contratacao) { c.ValorGlobal = -1 }, []string{"valorGlobal"}},
			{"end before start", func(c *cidades.Contratacao) { c.DataFimVigencia = cidades.NewDate(2025, time.February, 28) }, []string{"dataFimVigencia"}},
			{"missing dates and number", func(c *cidades.Contratacao) {
				c.NumeroContrato, c.DataAssinatura, c.DataInicioVigencia = "", cidades.Date{}, cidades.Date{}
			}, []string{"dataAssinatura", "dataInicioVigencia", "numeroContrato"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				in := newContratacao("400/2025")
				tt.mod(&in)
				_, err := c.CreateContratacao(ctx, "001001", in)
				pe := wantErr(t, err, 400, nil, true)
				if pe == nil {
					return
				}
				equal(t, "fields", pe.FieldNames(), tt.fields)
				for _, f := range tt.fields {
					if len(pe.FieldErrors(f)) == 0 || !strings.Contains(err.Error(), f) {
						t.Errorf("field %s: no message in %v", f, err)
					}
				}
				equal(t, "title", pe.Title, "One or more validation errors occurred.")
				if !strings.HasPrefix(pe.TraceID, "00-") {
					t.Errorf("traceId = %q", pe.TraceID)
				}
			})
		}
		t.Run("exactly 2000 characters", func(t *testing.T) {
			in := newContratacao("401/2025")
			in.Objeto = strings.Repeat("á", 2000)
			if _, err := c.CreateContratacao(ctx, "001001", in); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("empty contratacao: every field, beyond the excerpt", func(t *testing.T) {
			_, err := c.CreateContratacao(ctx, "001001", cidades.Contratacao{})
			pe := wantErr(t, err, 400, nil, true)
			equal(t, "fields", pe.FieldNames(), []string{"anoContrato", "contratado.documento", "contratado.nome",
				"contratado.tipoDocumento", "dataAssinatura", "dataFimVigencia", "dataInicioVigencia", "numeroContrato",
				"objeto", "valorGlobal"})
			if !strings.HasSuffix(pe.Err.Body, "…") {
				t.Errorf("the answer fits the excerpt, so this test proves nothing: %s", pe.Err.Body)
			}
		})
		equal(t, "contratacoes of 001001", len(e.sim.Contratacoes("001001")), 3)
	})
}

func TestGetContratacao(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, cidadessim.Options{})
	c := e.client(t, nil, clients.EndpointOptions{})

	got, err := c.GetContratacao(ctx, "001001", 2)
	if err != nil {
		t.Fatal(err)
	}
	want := cidades.Contratacao{
		ID: 2, CodigoUnidadeGestora: "001001", NumeroContrato: "027/2024", AnoContrato: 2024,
		Objeto:                       "Prestação de serviços contínuos de limpeza e conservação nas unidades de saúde",
		Contratado:                   cidades.Contratado{TipoDocumento: "CNPJ", Documento: "04567890000179", Nome: "Conserva Serviços Gerais Ltda"},
		ValorGlobal:                  48000050,
		DataAssinatura:               cidades.NewDate(2024, time.June, 10),
		DataInicioVigencia:           cidades.NewDate(2024, time.June, 15),
		DataFimVigencia:              cidades.NewDate(2025, time.June, 14),
		ModalidadeLicitacao:          "PREGAO_ELETRONICO",
		NumeroProcessoAdministrativo: "2024/001455",
		FundamentoLegal:              "Lei 14.133/2021, art. 28, I",
		Situacao:                     "ATIVA",
	}
	cad, atu := got.DataCadastro, got.DataAtualizacao
	got.DataCadastro, got.DataAtualizacao = cidades.Timestamp{}, cidades.Timestamp{}
	equal(t, "contratacao", fmt.Sprintf("%+v", *got), fmt.Sprintf("%+v", want))
	equal(t, "dataCadastro", cad.Format(time.RFC3339), "2024-06-11T09:00:00-03:00")
	equal(t, "dataAtualizacao", atu.Format(time.RFC3339), "2024-07-01T16:42:10-03:00")

	tests := []struct {
		name string
		ug   string
		id   int64
	}{
		{"unknown id", "001001", 999},
		{"another UG's contratacao", "001002", 1},
		{"another UG's contratacao, seen by an unrelated UG", "500100", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.GetContratacao(ctx, tt.ug, tt.id)
			wantErr(t, err, 404, cidades.ErrNotFound, true)
		})
	}
	t.Run("invalid id: no request", func(t *testing.T) {
		e.sim.Faults().ClearLog()
		_, err := c.GetContratacao(ctx, "001001", 0)
		if !errors.Is(err, cidades.ErrInvalid) || !clients.IsPermanent(err) {
			t.Errorf("err = %v, want ErrInvalid", err)
		}
		equal(t, "requests", len(e.requests()), 0)
	})
	t.Run("unknown UG: no request", func(t *testing.T) {
		e.sim.Faults().ClearLog()
		_, err := c.GetContratacao(ctx, "999999", 1)
		if !errors.Is(err, cidades.ErrUnknownUG) || !clients.IsPermanent(err) {
			t.Errorf("err = %v, want ErrUnknownUG", err)
		}
		equal(t, "requests", len(e.requests()), 0)
	})
}

func TestUpdateContratacao(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, cidadessim.Options{})
	c := e.client(t, nil, clients.EndpointOptions{})

	cur, err := c.GetContratacao(ctx, "001001", 2)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(24 * time.Hour)
	upd := *cur
	upd.ValorGlobal = 520000
	upd.DataFimVigencia = cidades.NewDate(2025, time.December, 31)
	upd.Situacao = "ENCERRADA" // server-set: not sent, not changed
	got, err := c.UpdateContratacao(ctx, "001001", 2, upd)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "updated", []any{got.ID, got.ValorGlobal.String(), got.DataFimVigencia, got.Situacao, got.DataCadastro.Format(time.RFC3339)},
		[]any{int64(2), "5200.00", "2025-12-31", "ATIVA", "2024-06-11T09:00:00-03:00"})
	if !got.DataAtualizacao.Equal(e.clock.Now()) {
		t.Errorf("dataAtualizacao = %v, want the simulator's now", got.DataAtualizacao)
	}
	r := e.requests()[2]
	equal(t, "request", r.String(), "PUT /v1/contratacoes/2")
	if !strings.Contains(string(r.Body), `"valorGlobal":5200.00,`) || strings.Contains(string(r.Body), `"id"`) ||
		strings.Contains(string(r.Body), "situacao") || strings.Contains(string(r.Body), "dataCadastro") {
		t.Errorf("body = %s", r.Body)
	}
	stored, _ := e.sim.Contratacao(2)
	equal(t, "stored", []any{stored.ValorGlobal, stored.DataFimVigencia}, []any{cidadessim.Money(520000), cidadessim.Date("2025-12-31")})

	t.Run("409 when the new key is another contratacao's", func(t *testing.T) {
		dup := upd
		dup.NumeroContrato = "012/2024"
		_, err := c.UpdateContratacao(ctx, "001001", 2, dup)
		wantErr(t, err, 409, cidades.ErrConflict, true)
		stored, _ := e.sim.Contratacao(2)
		equal(t, "numero unchanged", stored.NumeroContrato, "027/2024")
	})
	t.Run("keeping its own key is not a conflict", func(t *testing.T) {
		if _, err := c.UpdateContratacao(ctx, "001001", 2, upd); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("404", func(t *testing.T) {
		_, err := c.UpdateContratacao(ctx, "001001", 999, upd)
		wantErr(t, err, 404, cidades.ErrNotFound, true)
		_, err = c.UpdateContratacao(ctx, "001002", 2, upd)
		wantErr(t, err, 404, cidades.ErrNotFound, true)
		stored, _ := e.sim.Contratacao(2)
		equal(t, "owner unchanged", stored.CodigoUnidadeGestora, "001001")
	})
	t.Run("400", func(t *testing.T) {
		bad := upd
		bad.Contratado.Documento = "11222333000182"
		_, err := c.UpdateContratacao(ctx, "001001", 2, bad)
		pe := wantErr(t, err, 400, nil, true)
		equal(t, "fields", pe.FieldNames(), []string{"contratado.documento"})
	})
	t.Run("403 with a read-only key", func(t *testing.T) {
		ro := e.client(t, func(cfg *cidades.Config) { cfg.UGs["001001"] = readOnly001001 }, clients.EndpointOptions{})
		_, err := ro.UpdateContratacao(ctx, "001001", 2, upd)
		wantErr(t, err, 403, cidades.ErrForbidden, true)
	})
}

func TestDeleteContratacao(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, cidadessim.Options{})
	c := e.client(t, nil, clients.EndpointOptions{})

	t.Run("another UG's contratacao is not found", func(t *testing.T) {
		err := c.DeleteContratacao(ctx, "001002", 1)
		wantErr(t, err, 404, cidades.ErrNotFound, true)
		if _, ok := e.sim.Contratacao(1); !ok {
			t.Error("contratacao 1 deleted by another UG")
		}
	})
	t.Run("403 with a read-only key", func(t *testing.T) {
		ro := e.client(t, func(cfg *cidades.Config) { cfg.UGs["001001"] = readOnly001001 }, clients.EndpointOptions{})
		wantErr(t, ro.DeleteContratacao(ctx, "001001", 1), 403, cidades.ErrForbidden, true)
	})
	t.Run("deleted", func(t *testing.T) {
		e.sim.Faults().ClearLog()
		if err := c.DeleteContratacao(ctx, "001001", 1); err != nil {
			t.Fatal(err)
		}
		equal(t, "requests", e.log(), []string{"POST /oauth/token 200", "DELETE /v1/contratacoes/1 204"})
		if _, ok := e.sim.Contratacao(1); ok {
			t.Error("contratacao 1 still stored")
		}
		wantErr(t, c.DeleteContratacao(ctx, "001001", 1), 404, cidades.ErrNotFound, true)
		_, err := c.GetContratacao(ctx, "001001", 1)
		wantErr(t, err, 404, cidades.ErrNotFound, true)
	})
	t.Run("its key is free again", func(t *testing.T) {
		again := newContratacao("012/2024")
		again.AnoContrato = 2024
		if _, err := c.CreateContratacao(ctx, "001001", again); err != nil {
			t.Fatal(err)
		}
	})
}

func TestFindContratacoes(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, cidadessim.Options{})
	c := e.client(t, nil, clients.EndpointOptions{})

	t.Run("filters", func(t *testing.T) {
		// 001000 is the aggregator: it sees 1 and 2 (001001) and 3 and 4 (001002), not 5 (500100).
		tests := []struct {
			name  string
			f     cidades.ContratacaoFilter
			query string
			want  []int64
		}{
			{"none", cidades.ContratacaoFilter{}, "", []int64{1, 2, 3, 4}},
			{"numeroContrato", cidades.ContratacaoFilter{NumeroContrato: "012/2024"}, "numeroContrato=012%2F2024", []int64{1}},
			{"ano", cidades.ContratacaoFilter{Ano: 2024}, "ano=2024", []int64{1, 2, 3, 4}},
			{"ano without rows", cidades.ContratacaoFilter{Ano: 2023}, "ano=2023", []int64{}},
			{"documentoContratado", cidades.ContratacaoFilter{DocumentoContratado: "24681357928"}, "documentoContratado=24681357928", []int64{4}},
			{"dataAssinaturaInicio", cidades.ContratacaoFilter{DataAssinaturaInicio: cidades.NewDate(2024, time.June, 1)},
				"dataAssinaturaInicio=2024-06-01", []int64{2, 4}},
			{"dataAssinaturaFim", cidades.ContratacaoFilter{DataAssinaturaFim: cidades.NewDate(2024, time.March, 1)},
				"dataAssinaturaFim=2024-03-01", []int64{1, 3}},
			{"inclusive date range", cidades.ContratacaoFilter{
				DataAssinaturaInicio: cidades.NewDate(2024, time.March, 1), DataAssinaturaFim: cidades.NewDate(2024, time.June, 10),
			}, "dataAssinaturaFim=2024-06-10&dataAssinaturaInicio=2024-03-01", []int64{1, 2}},
			{"numero and ano", cidades.ContratacaoFilter{NumeroContrato: "011/2024", Ano: 2024}, "ano=2024&numeroContrato=011%2F2024", []int64{4}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e.sim.Faults().ClearLog()
				p, err := c.FindContratacoes(ctx, "001000", tt.f)
				if err != nil {
					t.Fatal(err)
				}
				equal(t, "ids", ids(p.Dados, contratoID), tt.want)
				equal(t, "page", []int{p.Pagina, p.TamanhoPagina, p.TotalRegistros}, []int{1, 50, len(tt.want)})
				want := "GET /v1/contratacoes 200"
				if tt.query != "" {
					want = "GET /v1/contratacoes?" + tt.query + " 200"
				}
				equal(t, "request", e.log()[len(e.log())-1], want)
			})
		}
	})

	t.Run("a UG sees only its own rows", func(t *testing.T) {
		p, err := c.FindContratacoes(ctx, "001002", cidades.ContratacaoFilter{})
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "ids", ids(p.Dados, contratoID), []int64{3, 4})
		for _, ct := range p.Dados {
			equal(t, "codigoUnidadeGestora", ct.CodigoUnidadeGestora, "001002")
		}
	})

	t.Run("pagination", func(t *testing.T) {
		for i := range 5 {
			if _, err := c.CreateContratacao(ctx, "001001", newContratacao(fmt.Sprintf("%03d/2025", i+100))); err != nil {
				t.Fatal(err)
			}
		}
		// 001001 now has 1, 2 and 6..10.
		pages := []struct {
			pagina int
			want   []int64
		}{{1, []int64{1, 2, 6}}, {2, []int64{7, 8, 9}}, {3, []int64{10}}, {4, []int64{}}}
		for _, pg := range pages {
			p, err := c.FindContratacoes(ctx, "001001", cidades.ContratacaoFilter{Pagina: pg.pagina, TamanhoPagina: 3})
			if err != nil {
				t.Fatal(err)
			}
			equal(t, fmt.Sprintf("page %d", pg.pagina), ids(p.Dados, contratoID), pg.want)
			equal(t, "envelope", []int{p.Pagina, p.TamanhoPagina, p.TotalRegistros, p.TotalPaginas}, []int{pg.pagina, 3, 7, 3})
		}

		e.sim.Faults().ClearLog()
		all, err := c.AllContratacoes(ctx, "001001", cidades.ContratacaoFilter{TamanhoPagina: 3})
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "all", ids(all, contratoID), []int64{1, 2, 6, 7, 8, 9, 10})
		equal(t, "requests", e.log(), []string{
			"GET /v1/contratacoes?pagina=1&tamanhoPagina=3 200",
			"GET /v1/contratacoes?pagina=2&tamanhoPagina=3 200",
			"GET /v1/contratacoes?pagina=3&tamanhoPagina=3 200",
		})

		e.sim.Faults().ClearLog()
		all, err = c.AllContratacoes(ctx, "001001", cidades.ContratacaoFilter{Ano: 2025})
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "all of 2025", ids(all, contratoID), []int64{6, 7, 8, 9, 10})
		equal(t, "requests", e.log(), []string{"GET /v1/contratacoes?ano=2025&pagina=1&tamanhoPagina=100 200"})
	})

	t.Run("paging out of range is 400", func(t *testing.T) {
		tests := []struct {
			name  string
			f     cidades.ContratacaoFilter
			field string
		}{
			{"tamanhoPagina over 100", cidades.ContratacaoFilter{TamanhoPagina: 101}, "tamanhoPagina"},
			{"negative tamanhoPagina", cidades.ContratacaoFilter{TamanhoPagina: -5}, "tamanhoPagina"},
			{"negative pagina", cidades.ContratacaoFilter{Pagina: -1}, "pagina"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := c.FindContratacoes(ctx, "001001", tt.f)
				pe := wantErr(t, err, 400, nil, true)
				equal(t, "fields", pe.FieldNames(), []string{tt.field})
			})
		}
		p, err := c.FindContratacoes(ctx, "001001", cidades.ContratacaoFilter{TamanhoPagina: 100})
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "tamanhoPagina 100", p.TamanhoPagina, 100)
	})
}

func TestFindContratacao(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, cidadessim.Options{})
	c := e.client(t, nil, clients.EndpointOptions{})

	got, err := c.FindContratacao(ctx, "001001", "027/2024", 2024)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "found", got.ID, 2)
	equal(t, "requests", e.log()[1:], []string{"GET /v1/contratacoes?ano=2024&numeroContrato=027%2F2024&pagina=1&tamanhoPagina=100 200"})

	tests := []struct {
		name   string
		ug     string
		numero string
		ano    int
	}{
		{"no such number", "001001", "999/2024", 2024},
		{"wrong year", "001001", "027/2024", 2023},
		{"another UG's number", "001002", "027/2024", 2024},
		// The aggregator's own key lists its subordinates' rows too: the UG must match as well.
		{"a subordinate's number, asked by the aggregator", "001000", "027/2024", 2024},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.FindContratacao(ctx, tt.ug, tt.numero, tt.ano)
			if !errors.Is(err, cidades.ErrNotFound) || !clients.IsPermanent(err) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
		})
	}
	t.Run("every page is read", func(t *testing.T) {
		c := e.client(t, func(cfg *cidades.Config) { cfg.PageSize = 1 }, clients.EndpointOptions{})
		e.sim.Faults().ClearLog()
		// The simulator matches numeroContrato exactly, so one page holds it; a server that matched by prefix
		// would need more. Ask by year through the aggregator view to cross pages.
		all, err := c.AllContratacoes(ctx, "001000", cidades.ContratacaoFilter{Ano: 2024})
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "all", ids(all, contratoID), []int64{1, 2, 3, 4})
		equal(t, "requests", len(e.requests()), 5) // a token and four pages of one row
	})
	t.Run("maxPages", func(t *testing.T) {
		c := e.client(t, func(cfg *cidades.Config) { cfg.PageSize, cfg.MaxPages = 1, 2 }, clients.EndpointOptions{})
		if _, err := c.AllContratacoes(ctx, "001000", cidades.ContratacaoFilter{}); err == nil || !strings.Contains(err.Error(), "maxPages") {
			t.Errorf("err = %v, want the maxPages limit", err)
		}
	})
}

func TestAtosPessoal(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, cidadessim.Options{})
	c := e.client(t, nil, clients.EndpointOptions{})

	t.Run("an admissao in full", func(t *testing.T) {
		p, err := c.ListAdmissoes(ctx, "001001", cidades.AtoFilter{Cpf: "52998224725"})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Dados) != 1 {
			t.Fatalf("dados = %+v", p.Dados)
		}
		want := cidades.AtoPessoal{
			ID: 101, CodigoUnidadeGestora: "001001", Cpf: "52998224725", NomeServidor: "Maria das Graças Souza",
			Cargo: "Enfermeira", TipoAto: "ADMISSAO_EFETIVO",
			DataHomologacao: cidades.NewDate(2024, time.May, 20), DataPublicacao: cidades.NewDate(2024, time.May, 27),
			SituacaoAto: "REGISTRADO", ProcessoAdministrativo: cidades.ProcessoAdministrativo{Numero: "2023/004512", Ano: 2023},
			ProcessoTcees: "04521/2023-1", NumeroCertidao: "00312/2024-8", NumeroDecisao: "00877/2024-1", AnoReferencia: 2023,
		}
		equal(t, "admissao", fmt.Sprintf("%+v", p.Dados[0]), fmt.Sprintf("%+v", want))
		p, err = c.ListAdmissoes(ctx, "001001", cidades.AtoFilter{Cpf: "39053344705"})
		if err != nil {
			t.Fatal(err)
		}
		if !p.Dados[0].DataHomologacao.IsZero() || p.Dados[0].NumeroCertidao != "" {
			t.Errorf("an act under analysis: %+v", p.Dados[0])
		}
	})

	admissoes := []struct {
		name  string
		ug    string
		f     cidades.AtoFilter
		query string
		want  []int64
	}{
		{"own UG", "001001", cidades.AtoFilter{}, "", []int64{101, 102, 103}},
		{"aggregator", "001000", cidades.AtoFilter{}, "", []int64{101, 102, 103, 104, 105, 106}},
		{"cpf", "001000", cidades.AtoFilter{Cpf: "12345678909"}, "cpf=12345678909", []int64{104}},
		{"numeroProcessoTcees", "001000", cidades.AtoFilter{NumeroProcessoTcees: "04521/2023-1"}, "numeroProcessoTcees=04521%2F2023-1", []int64{101, 102}},
		{"numeroCertidao", "001000", cidades.AtoFilter{NumeroCertidao: "00781/2024-2"}, "numeroCertidao=00781%2F2024-2", []int64{104}},
		{"numeroDecisao", "001000", cidades.AtoFilter{NumeroDecisao: "00877/2024-1"}, "numeroDecisao=00877%2F2024-1", []int64{101, 102}},
		{"anoReferencia", "001000", cidades.AtoFilter{AnoReferencia: 2023}, "anoReferencia=2023", []int64{101, 102, 105}},
		{"anoReferencia and cpf", "001000", cidades.AtoFilter{AnoReferencia: 2022, Cpf: "13579246828"}, "anoReferencia=2022&cpf=13579246828", []int64{106}},
		{"another UG's servant", "001002", cidades.AtoFilter{Cpf: "52998224725"}, "cpf=52998224725", []int64{}},
		{"paged", "001000", cidades.AtoFilter{Pagina: 2, TamanhoPagina: 4}, "pagina=2&tamanhoPagina=4", []int64{105, 106}},
	}
	for _, tt := range admissoes {
		t.Run("admissoes/"+tt.name, func(t *testing.T) {
			e.sim.Faults().ClearLog()
			p, err := c.ListAdmissoes(ctx, tt.ug, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			equal(t, "ids", ids(p.Dados, atoID), tt.want)
			want := "GET /v1/atos-pessoal/admissoes 200"
			if tt.query != "" {
				want = "GET /v1/atos-pessoal/admissoes?" + tt.query + " 200"
			}
			log := e.log()
			equal(t, "request", log[len(log)-1], want)
		})
	}

	concessoes := []struct {
		name string
		ug   string
		f    cidades.AtoFilter
		want []int64
	}{
		{"aggregator", "001000", cidades.AtoFilter{}, []int64{201, 202}},
		{"tipoBeneficio APOSENTADORIA", "001000", cidades.AtoFilter{TipoBeneficio: cidades.BeneficioAposentadoria}, []int64{201, 202}},
		{"tipoBeneficio RESERVA", "500100", cidades.AtoFilter{TipoBeneficio: cidades.BeneficioReserva}, []int64{203}},
		{"tipoBeneficio REFORMA", "500100", cidades.AtoFilter{TipoBeneficio: cidades.BeneficioReforma}, []int64{204}},
		{"cpf", "500100", cidades.AtoFilter{Cpf: "14142135651"}, []int64{203}},
		{"numeroProcessoTcees", "001002", cidades.AtoFilter{NumeroProcessoTcees: "06120/2023-0"}, []int64{202}},
		{"numeroCertidao", "001001", cidades.AtoFilter{NumeroCertidao: "00633/2024-1"}, []int64{201}},
		{"numeroDecisao", "500100", cidades.AtoFilter{NumeroDecisao: "00912/2024-4"}, []int64{203}},
		{"anoReferencia", "500100", cidades.AtoFilter{AnoReferencia: 2023}, []int64{204}},
	}
	for _, tt := range concessoes {
		t.Run("concessoes/"+tt.name, func(t *testing.T) {
			p, err := c.ListConcessoes(ctx, tt.ug, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			equal(t, "ids", ids(p.Dados, atoID), tt.want)
			for _, a := range p.Dados {
				if a.TipoBeneficio == "" {
					t.Errorf("concessao %d without tipoBeneficio", a.ID)
				}
			}
		})
	}
	t.Run("all concessoes", func(t *testing.T) {
		all, err := c.AllConcessoes(ctx, "500100", cidades.AtoFilter{TamanhoPagina: 1})
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "ids", ids(all, atoID), []int64{203, 204})
		all, err = c.AllAdmissoes(ctx, "001000", cidades.AtoFilter{AnoReferencia: 2024})
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "ids", ids(all, atoID), []int64{103, 104})
	})
	t.Run("unknown tipoBeneficio is 400", func(t *testing.T) {
		_, err := c.ListConcessoes(ctx, "001001", cidades.AtoFilter{TipoBeneficio: "PENSAO"})
		pe := wantErr(t, err, 400, nil, true)
		equal(t, "fields", pe.FieldNames(), []string{"tipoBeneficio"})
	})
	t.Run("tipoBeneficio on admissoes: no request", func(t *testing.T) {
		e.sim.Faults().ClearLog()
		_, err := c.ListAdmissoes(ctx, "001001", cidades.AtoFilter{TipoBeneficio: cidades.BeneficioAposentadoria})
		if !errors.Is(err, cidades.ErrInvalid) {
			t.Errorf("err = %v, want ErrInvalid", err)
		}
		equal(t, "requests", len(e.requests()), 0)
	})
}

func TestUnidadesGestoras(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, cidadessim.Options{})
	c := e.client(t, nil, clients.EndpointOptions{})

	t.Run("list", func(t *testing.T) {
		tests := []struct {
			ug   string
			want []string
		}{
			{"001001", []string{"001001"}},
			{"500100", []string{"500100"}},
			{"001000", []string{"001000", "001001", "001002"}},
		}
		for _, tt := range tests {
			t.Run(tt.ug, func(t *testing.T) {
				ugs, err := c.ListUnidadesGestoras(ctx, tt.ug)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, u := range ugs {
					got = append(got, u.Codigo)
				}
				equal(t, "codes", got, tt.want)
			})
		}
		ugs, err := c.ListUnidadesGestoras(ctx, "001000")
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "aggregator", fmt.Sprintf("%+v", ugs[0]), fmt.Sprintf("%+v", cidades.UnidadeGestora{
			Codigo: "001000", Nome: "Prefeitura Municipal de Vitória - Consolidadora", Cnpj: "27142058000126",
			Esfera: "MUNICIPAL", Municipio: "Vitória", Agregadora: true, Subordinadas: []string{"001001", "001002"},
		}))
	})

	t.Run("responsaveis", func(t *testing.T) {
		rs, err := c.ListResponsaveis(ctx, "001001", "001001")
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "responsaveis", fmt.Sprintf("%+v", rs), fmt.Sprintf("%+v", []cidades.Responsavel{
			{Cpf: "62839405105", Nome: "Helena Duarte Rocha", Cargo: "Secretária Municipal de Saúde",
				TipoResponsabilidade: "ORDENADOR_DESPESA", DataInicio: cidades.NewDate(2023, time.April, 1)},
			{Cpf: "73940516252", Nome: "Marcos Vinícius Teixeira", Cargo: "Secretário Municipal de Saúde",
				TipoResponsabilidade: "ORDENADOR_DESPESA", DataInicio: cidades.NewDate(2021, time.January, 4),
				DataFim: cidades.NewDate(2023, time.March, 31)},
		}))
		rs, err = c.ListResponsaveis(ctx, "001000", "001002")
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "a subordinate's, asked by the aggregator", rs[0].Nome, "Júlio César Barbosa")

		for _, tt := range []struct{ ug, codigo string }{{"001001", "001002"}, {"001001", "001000"}, {"001000", "500100"}, {"001001", "999999"}} {
			t.Run(tt.ug+" asks for "+tt.codigo, func(t *testing.T) {
				_, err := c.ListResponsaveis(ctx, tt.ug, tt.codigo)
				wantErr(t, err, 403, cidades.ErrForbidden, true)
			})
		}
	})
}

func TestAggregator(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, cidadessim.Options{})
	c := e.client(t, func(cfg *cidades.Config) {
		cfg.UGs = map[string]cidades.UGConfig{
			"001000": devKeys["001000"],
			"001002": {Via: "001000"},
			"500100": {Via: "001000"}, // not a subordinate of 001000
		}
	}, clients.EndpointOptions{})

	t.Run("a subordinate through Via", func(t *testing.T) {
		created, err := c.CreateContratacao(ctx, "001002", newContratacao("050/2025"))
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "codigoUnidadeGestora", created.CodigoUnidadeGestora, "001002")
		equal(t, "stored", ids(e.sim.Contratacoes("001002"), func(c cidadessim.Contratacao) int64 { return c.ID }), []int64{3, 4, 6})
		equal(t, "requests", e.log(), []string{"POST /oauth/token 200", "POST /v1/contratacoes?codigoUnidadeGestora=001002 201"})
		form, _ := url.ParseQuery(string(e.requests()[0].Body))
		equal(t, "client_id", form.Get("client_id"), "ug-001000-rw")

		got, err := c.GetContratacao(ctx, "001002", 3)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "get", got.NumeroContrato, "005/2024")
		p, err := c.FindContratacoes(ctx, "001002", cidades.ContratacaoFilter{})
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "find", ids(p.Dados, contratoID), []int64{3, 4, 6})
		ugs, err := c.ListUnidadesGestoras(ctx, "001002")
		if err != nil || len(ugs) != 1 || ugs[0].Codigo != "001002" {
			t.Errorf("unidades gestoras = %+v, %v", ugs, err)
		}
		adm, err := c.ListAdmissoes(ctx, "001002", cidades.AtoFilter{})
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "admissoes", ids(adm.Dados, atoID), []int64{104, 105})
		if err := c.DeleteContratacao(ctx, "001002", created.ID); err != nil {
			t.Fatal(err)
		}
		equal(t, "tokens", len(e.sim.IssuedTokens()), 1)
	})

	t.Run("Via scopes the call to the subordinate", func(t *testing.T) {
		_, err := c.GetContratacao(ctx, "001002", 1) // 001001's
		wantErr(t, err, 404, cidades.ErrNotFound, true)
	})

	t.Run("the aggregator's own key writes to the aggregator", func(t *testing.T) {
		created, err := c.CreateContratacao(ctx, "001000", newContratacao("051/2025"))
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "codigoUnidadeGestora", created.CodigoUnidadeGestora, "001000")
		// ... and reads see its subordinates too.
		got, err := c.GetContratacao(ctx, "001000", 3)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "subordinate's row", got.CodigoUnidadeGestora, "001002")
	})

	t.Run("403 for a UG that is not a subordinate", func(t *testing.T) {
		e.sim.Faults().ClearLog()
		_, err := c.FindContratacoes(ctx, "500100", cidades.ContratacaoFilter{})
		wantErr(t, err, 403, cidades.ErrForbidden, true)
		_, err = c.CreateContratacao(ctx, "500100", newContratacao("052/2025"))
		wantErr(t, err, 403, cidades.ErrForbidden, true)
		equal(t, "requests", e.log(), []string{
			"GET /v1/contratacoes?codigoUnidadeGestora=500100 403",
			"POST /v1/contratacoes?codigoUnidadeGestora=500100 403",
		})
		equal(t, "contratacoes of 500100", len(e.sim.Contratacoes("500100")), 1)
	})

	t.Run("a custom UG parameter name", func(t *testing.T) {
		c := e.client(t, func(cfg *cidades.Config) {
			cfg.UGs = map[string]cidades.UGConfig{"001000": devKeys["001000"], "001002": {Via: "001000"}}
			cfg.Params.UnidadeGestora = "ug"
		}, clients.EndpointOptions{})
		e.sim.Faults().ClearLog()
		// The simulator ignores the unknown parameter, so the aggregator sees its whole scope.
		p, err := c.FindContratacoes(ctx, "001002", cidades.ContratacaoFilter{})
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "request", e.log()[1], "GET /v1/contratacoes?ug=001002 200")
		equal(t, "rows", len(p.Dados), 5)
	})
}

func TestIsolation(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, cidadessim.Options{})
	c := e.client(t, nil, clients.EndpointOptions{})

	// 001002, on its own key, cannot see, change or delete 001001's contratação 1.
	_, err := c.GetContratacao(ctx, "001002", 1)
	wantErr(t, err, 404, cidades.ErrNotFound, true)
	_, err = c.UpdateContratacao(ctx, "001002", 1, newContratacao("012/2024"))
	wantErr(t, err, 404, cidades.ErrNotFound, true)
	wantErr(t, c.DeleteContratacao(ctx, "001002", 1), 404, cidades.ErrNotFound, true)
	_, err = c.FindContratacao(ctx, "001002", "012/2024", 2024)
	if !errors.Is(err, cidades.ErrNotFound) {
		t.Errorf("find: err = %v, want ErrNotFound", err)
	}
	stored, _ := e.sim.Contratacao(1)
	equal(t, "unchanged", []any{stored.CodigoUnidadeGestora, stored.NumeroContrato, stored.AnoContrato, stored.ValorGlobal},
		[]any{"001001", "012/2024", 2024, cidadessim.Money(125000000)})
	// The same number in 001002 is not a conflict with 001001's.
	dup := newContratacao("012/2024")
	dup.AnoContrato = 2024
	created, err := c.CreateContratacao(ctx, "001002", dup)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.FindContratacao(ctx, "001002", "012/2024", 2024)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "found its own", got.ID, created.ID)
}

func TestRetryableErrors(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, cidadessim.Options{})
	c := e.client(t, nil, clients.EndpointOptions{Breakers: clients.NewBreakers(clients.BreakerSettings{ConsecutiveFailures: 100}, nil)})
	if _, err := c.GetContratacao(ctx, "001001", 1); err != nil { // cache the token
		t.Fatal(err)
	}

	// A 429, or a 503 with Retry-After, closes the throttling gate of its UG: those come last, on UGs of their own.
	tests := []struct {
		name       string
		ug         string
		status     int
		retryAfter time.Duration
		permanent  bool
	}{
		{"500", "001001", 500, 0, false},
		{"502", "001001", 502, 0, false},
		{"504", "001001", 504, 0, false},
		{"501 is permanent", "001001", 501, 0, true},
		{"503 with Retry-After", "001000", 503, 5 * time.Second, false},
		{"429 with Retry-After", "001002", 429, 2 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.ug != "001001" {
				if _, err := c.CanWrite(ctx, tt.ug); err != nil { // cache its token
					t.Fatal(err)
				}
			}
			e.sim.Faults().FailNext(1, tt.status, tt.retryAfter)
			_, err := c.GetContratacao(ctx, tt.ug, 1)
			// The injected failure is a ProblemDetails, like every error of the API.
			if pe := wantErr(t, err, tt.status, nil, tt.permanent); pe.Title != http.StatusText(tt.status) || pe.TraceID == "" {
				t.Errorf("ProblemError = %+v, want the fields of a ProblemDetails", pe)
			}
			equal(t, "RetryAfter", clients.RetryAfter(err), tt.retryAfter)
			for _, s := range []error{cidades.ErrNotFound, cidades.ErrConflict, cidades.ErrForbidden, cidades.ErrUnauthorized} {
				if errors.Is(err, s) {
					t.Errorf("HTTP %d matches %v", tt.status, s)
				}
			}
			if tt.retryAfter > 0 {
				// The gate of the UG is closed: the next call is not sent.
				before := len(e.sim.Faults().Requests())
				_, err := c.GetContratacao(ctx, tt.ug, 1)
				if !clients.IsThrottled(err) || clients.RetryAfter(err) <= 0 || len(e.sim.Faults().Requests()) != before {
					t.Errorf("call inside Retry-After: %v, requests %d -> %d; want throttled and not sent", err, before, len(e.sim.Faults().Requests()))
				}
			}
		})
	}
	t.Run("network failure", func(t *testing.T) {
		e.sim.Faults().SetDown(true)
		defer e.sim.Faults().SetDown(false)
		_, err := c.GetContratacao(ctx, "001001", 1)
		wantErr(t, err, 0, nil, false)
		var te *clients.TransportError
		if !errors.As(err, &te) {
			t.Errorf("err = %v, want *clients.TransportError", err)
		}
	})
}

func TestBreakerPerUG(t *testing.T) {
	ctx := context.Background()
	newClient := func(t *testing.T, e *env) (*cidades.Client, *clients.Breakers) {
		reg := prometheus.NewRegistry()
		br := clients.NewBreakers(clients.BreakerSettings{ConsecutiveFailures: 3, OpenTimeout: 200 * time.Millisecond}, reg)
		c := e.client(t, nil, clients.EndpointOptions{Breakers: br, Registerer: reg})
		for _, ug := range []string{"001001", "001002"} { // cache both tokens
			if _, err := c.ListUnidadesGestoras(ctx, ug); err != nil {
				t.Fatal(err)
			}
		}
		return c, br
	}
	key := func(ug string) clients.BreakerKey { return clients.BreakerKey{Target: "cidades", Tenant: ug} }

	t.Run("one UG's failures open only its breaker", func(t *testing.T) {
		e := newEnv(t, cidadessim.Options{})
		c, br := newClient(t, e)
		e.sim.Faults().FailNext(3, 503, 0)
		for range 3 {
			_, err := c.GetContratacao(ctx, "001001", 1)
			wantErr(t, err, 503, nil, false)
		}
		equal(t, "001001", br.State(key("001001")), clients.StateOpen)
		equal(t, "001002", br.State(key("001002")), clients.StateClosed)

		e.sim.Faults().ClearLog()
		_, err := c.GetContratacao(ctx, "001001", 1)
		var oe *clients.OpenError
		if !errors.As(err, &oe) || !clients.IsBreakerOpen(err) || clients.IsPermanent(err) {
			t.Fatalf("err = %v, want a retryable *clients.OpenError", err)
		}
		if d := clients.RetryAfter(err); d <= 0 || d > 200*time.Millisecond {
			t.Errorf("RetryAfter = %v", d)
		}
		equal(t, "requests while open", len(e.requests()), 0)

		// UG 001002 is unaffected.
		got, err := c.GetContratacao(ctx, "001002", 3)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "001002 works", got.NumeroContrato, "005/2024")
		equal(t, "requests", e.log(), []string{"GET /v1/contratacoes/3 200"})

		time.Sleep(250 * time.Millisecond)
		if _, err := c.GetContratacao(ctx, "001001", 1); err != nil {
			t.Fatalf("probe: %v", err)
		}
		equal(t, "001001 after the probe", br.State(key("001001")), clients.StateClosed)
	})

	t.Run("an unreachable API opens the breaker", func(t *testing.T) {
		e := newEnv(t, cidadessim.Options{})
		c, br := newClient(t, e)
		e.sim.Faults().SetDown(true)
		for range 3 {
			_, err := c.GetContratacao(ctx, "001002", 3)
			wantErr(t, err, 0, nil, false)
		}
		equal(t, "001002", br.State(key("001002")), clients.StateOpen)
		e.sim.Faults().SetDown(false)
		e.sim.Faults().ClearLog()
		_, err := c.GetContratacao(ctx, "001002", 3)
		if !clients.IsBreakerOpen(err) {
			t.Fatalf("err = %v, want breaker open", err)
		}
		equal(t, "requests while open", len(e.requests()), 0)
		time.Sleep(250 * time.Millisecond)
		if _, err := c.GetContratacao(ctx, "001002", 3); err != nil {
			t.Fatal(err)
		}
		equal(t, "001002 after the probe", br.State(key("001002")), clients.StateClosed)
	})

	t.Run("permanent errors do not open it", func(t *testing.T) {
		e := newEnv(t, cidadessim.Options{})
		c, br := newClient(t, e)
		e.sim.Faults().ClearLog()
		for range 5 {
			_, err := c.GetContratacao(ctx, "001001", 999)
			wantErr(t, err, 404, cidades.ErrNotFound, true)
			_, err = c.FindContratacoes(ctx, "001001", cidades.ContratacaoFilter{TamanhoPagina: 500})
			wantErr(t, err, 400, nil, true)
			_, err = c.CreateContratacao(ctx, "001001", newContratacao("012/2024"))
			if err != nil {
				if !errors.Is(err, cidades.ErrConflict) {
					t.Fatal(err)
				}
			}
		}
		equal(t, "001001", br.State(key("001001")), clients.StateClosed)
		equal(t, "requests", len(e.requests()), 15)
	})
}

func TestConfig(t *testing.T) {
	key := func() cidades.UGConfig { return devKeys["001001"] }
	valid := func() cidades.Config {
		return cidades.Config{
			EndpointConfig: clients.EndpointConfig{BaseURL: "https://cidades.example/api"},
			UGs:            map[string]cidades.UGConfig{"001001": key(), "001000": devKeys["001000"], "001002": {Via: "001000"}},
		}
	}
	tests := []struct {
		name string
		mod  func(*cidades.Config)
		want string
	}{
		{"valid", func(*cidades.Config) {}, ""},
		{"missing base URL", func(c *cidades.Config) { c.BaseURL = "" }, "cidades.baseURL: required"},
		{"relative base URL", func(c *cidades.Config) { c.BaseURL = "/api" }, "cidades.baseURL:"},
		{"bad token URL", func(c *cidades.Config) { c.TokenURL = "oauth/token" }, "cidades.tokenURL:"},
		{"bad token auth", func(c *cidades.Config) { c.TokenAuth = "jwt" }, "cidades.tokenAuth:"},
		{"two write scopes", func(c *cidades.Config) { c.WriteScope = "a b" }, "cidades.writeScope:"},
		{"relative path", func(c *cidades.Config) { c.Paths.Contratacoes = "v1/contratacoes" }, "cidades.paths.contratacoes:"},
		{"responsaveis without {codigo}", func(c *cidades.Config) { c.Paths.Responsaveis = "/v1/responsaveis" }, "cidades.paths.responsaveis:"},
		{"negative page size", func(c *cidades.Config) { c.PageSize = -1 }, "cidades.pageSize:"},
		{"no UGs", func(c *cidades.Config) { c.UGs = nil }, "cidades.ugs: at least one UG"},
		{"no client id", func(c *cidades.Config) {
			c.UGs["001001"] = cidades.UGConfig{ClientSecret: clients.SecretValue("x")}
		}, "cidades.ugs.001001.clientId:"},
		{"no client secret", func(c *cidades.Config) { c.UGs["001001"] = cidades.UGConfig{ClientID: "x"} }, "cidades.ugs.001001.clientSecret:"},
		{"neither key nor via", func(c *cidades.Config) { c.UGs["001001"] = cidades.UGConfig{} }, "cidades.ugs.001001.clientId:"},
		{"both key and via", func(c *cidades.Config) {
			k := key()
			k.Via = "001000"
			c.UGs["001001"] = k
		}, "cidades.ugs.001001.via: set either"},
		{"via an unknown UG", func(c *cidades.Config) { c.UGs["001002"] = cidades.UGConfig{Via: "009999"} }, "cidades.ugs.001002.via: aggregator UG \"009999\" is not configured"},
		{"via a UG without a key", func(c *cidades.Config) {
			c.UGs["001003"] = cidades.UGConfig{Via: "001002"}
		}, "cidades.ugs.001003.via: aggregator UG \"001002\" has no key"},
		{"via itself", func(c *cidades.Config) { c.UGs["001002"] = cidades.UGConfig{Via: "001002"} }, "cidades.ugs.001002.via:"},
		{"bad UG code", func(c *cidades.Config) { c.UGs["00 1"] = key() }, "cidades.ugs:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid()
			tt.mod(&cfg)
			err := cfg.Validate()
			_, nerr := cidades.New(cfg, clients.EndpointOptions{})
			for _, err := range []error{err, nerr} {
				switch {
				case tt.want == "" && err != nil:
					t.Errorf("unexpected error: %v", err)
				case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
					t.Errorf("err = %v, want prefix %q", err, tt.want)
				}
			}
			noSecret(t, err)
		})
	}
}

func TestConfiguredPaths(t *testing.T) {
	ctx := context.Background()
	// A reverse proxy that serves the API under /cidades/api and the token endpoint elsewhere.
	e := newEnv(t, cidadessim.Options{})
	mux := http.NewServeMux()
	mux.Handle("/cidades/api/", http.StripPrefix("/cidades/api", e.sim))
	mux.Handle("/auth/", http.StripPrefix("/auth", e.sim))
	proxy := httptest.NewServer(mux)
	defer proxy.Close()
	c := e.client(t, func(cfg *cidades.Config) {
		cfg.BaseURL = proxy.URL + "/cidades/api"
		cfg.TokenURL = proxy.URL + "/auth/oauth/token"
	}, clients.EndpointOptions{})
	if _, err := c.GetContratacao(ctx, "001001", 1); err != nil {
		t.Fatal(err)
	}
	equal(t, "requests", e.log(), []string{"POST /oauth/token 200", "GET /v1/contratacoes/1 200"})

	c = e.client(t, func(cfg *cidades.Config) {
		cfg.Paths.Contratacoes = "/v2/contratos"
		cfg.Params.Pagina, cfg.Params.TamanhoPagina = "page", "size"
	}, clients.EndpointOptions{})
	e.sim.Faults().ClearLog()
	_, err := c.FindContratacoes(ctx, "001001", cidades.ContratacaoFilter{Pagina: 2, TamanhoPagina: 10})
	wantErr(t, err, 404, cidades.ErrNotFound, true)
	equal(t, "requests", e.log()[1:], []string{"GET /v2/contratos?page=2&size=10 404"})
}
