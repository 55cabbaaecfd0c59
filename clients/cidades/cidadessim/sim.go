// Package cidadessim simulates the CidadES API of TCE-ES for tests, `ponte sandbox` and `ponte dev`, following the
// contract ASSUMED in TARGET-APIS.md section 3.1 (the public documentation gives no wire details):
//
//	POST   /oauth/token                                  client credentials (form body or HTTP Basic)
//	GET    /v1/contratacoes                              ?numeroContrato&ano&documentoContratado&dataAssinaturaInicio&dataAssinaturaFim
//	POST   /v1/contratacoes                              201 + Location; 400; 403; 409 duplicate (UG, numero, ano)
//	GET    /v1/contratacoes/{id}                         200; 404 (also another UG's id)
//	PUT    /v1/contratacoes/{id}                         200 full replace; 400; 403; 404; 409
//	DELETE /v1/contratacoes/{id}                         204; 403; 404
//	GET    /v1/atos-pessoal/admissoes                    ?cpf&numeroProcessoTcees&numeroCertidao&numeroDecisao&anoReferencia
//	GET    /v1/atos-pessoal/concessoes                   the same plus tipoBeneficio
//	GET    /v1/unidades-gestoras                         the UGs in the token's scope
//	GET    /v1/unidades-gestoras/{codigo}/responsaveis   403 outside the token's scope
//
// Every /v1 call needs "Authorization: Bearer <token>" (else 401); a write needs a token of a read-and-send key
// (else 403). ?codigoUnidadeGestora=<ug> selects the UG a call acts for: allowed for the token's own UG and, for
// an aggregator's key, for its subordinates (else 403). Without it, reads see the token's UG plus, for an
// aggregator, its subordinates, and writes act for the token's UG. Lists are paged with pagina (1-based) and
// tamanhoPagina (default 50, at most 100). Errors are RFC 7807 ProblemDetails in the ASP.NET shape; a request body
// over MaxBodyBytes (1 MiB) is a 413.
//
// A Server keeps its state in memory and serves every request through a fault.Injector (Faults) that logs it.
// Revoke, Restore and SetTokenTTL (also served at /_sim/auth, see fault.AuthControls) revoke and restore a
// credential and shorten the life of the tokens issued, while the simulator runs.
package cidadessim

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ponte-dev/ponte/clients/fault"
	"github.com/ponte-dev/ponte/schemas"
)

// The development integration keys of examples/sandbox/cidades.yaml, as returned by DefaultKeys. They are fixed
// so that a sandbox configuration can name them; they protect nothing.
const (
	// DefaultClientID001000 and DefaultClientSecret001000 are the read-and-send key of the aggregator UG 001000
	// (Prefeitura Municipal de Vitória - Consolidadora), which sees 001001 and 001002.
	DefaultClientID001000     = "ug-001000-rw"
	DefaultClientSecret001000 = "cidades-dev-001000-rw"
	// DefaultClientID001001 and DefaultClientSecret001001 are the read-and-send key of UG 001001 (Secretaria
	// Municipal de Saúde).
	DefaultClientID001001     = "ug-001001-rw"
	DefaultClientSecret001001 = "cidades-dev-001001-rw"
	// DefaultClientID001001RO and DefaultClientSecret001001RO are the read-only key of UG 001001.
	DefaultClientID001001RO     = "ug-001001-ro"
	DefaultClientSecret001001RO = "cidades-dev-001001-ro"
	// DefaultClientID001002 and DefaultClientSecret001002 are the read-and-send key of UG 001002 (Secretaria
	// Municipal de Educação).
	DefaultClientID001002     = "ug-001002-rw"
	DefaultClientSecret001002 = "cidades-dev-001002-rw"
	// DefaultClientID500100 and DefaultClientSecret500100 are the read-and-send key of UG 500100 (Instituto de
	// Previdência dos Servidores do Estado do Espírito Santo), which no aggregator above sees.
	DefaultClientID500100     = "ug-500100-rw"
	DefaultClientSecret500100 = "cidades-dev-500100-rw"
)

// DefaultExpiresIn is the lifetime of the tokens the simulator issues unless Options.ExpiresIn says otherwise.
const DefaultExpiresIn = time.Hour

// MaxBodyBytes is the largest request body the simulator reads (1 MiB): a larger one, announced by Content-Length
// or found while reading, is answered 413 as a ProblemDetails. TCE-ES does not publish its limit; this one
// protects the sandbox and is far above any request of the contract (a contratação is a few KiB: objeto has at
// most 2000 characters).
const MaxBodyBytes = 1 << 20

// The paging limits: tamanhoPagina defaults to DefaultTamanhoPagina and may not exceed MaxTamanhoPagina.
const (
	DefaultTamanhoPagina = 50
	MaxTamanhoPagina     = 100
)

// DefaultKeys returns the development integration keys, the same as the keys of examples/sandbox/cidades.yaml.
func DefaultKeys() []Key {
	return []Key{
		{ClientID: DefaultClientID001000, ClientSecret: DefaultClientSecret001000, UnidadeGestora: "001000", Permissao: PermissaoLeituraEnvio, Descricao: "ponte (consolidadora)"},
		{ClientID: DefaultClientID001001, ClientSecret: DefaultClientSecret001001, UnidadeGestora: "001001", Permissao: PermissaoLeituraEnvio, Descricao: "ponte"},
		{ClientID: DefaultClientID001001RO, ClientSecret: DefaultClientSecret001001RO, UnidadeGestora: "001001", Permissao: PermissaoLeitura, Descricao: "painel de consulta"},
		{ClientID: DefaultClientID001002, ClientSecret: DefaultClientSecret001002, UnidadeGestora: "001002", Permissao: PermissaoLeituraEnvio, Descricao: "ponte"},
		{ClientID: DefaultClientID500100, ClientSecret: DefaultClientSecret500100, UnidadeGestora: "500100", Permissao: PermissaoLeituraEnvio, Descricao: "ponte"},
	}
}

// Options configures a Server. Every field is optional.
type Options struct {
	// Keys are the integration keys the token endpoint accepts. nil: the fixtures' keys.
	Keys []Key
	// ExpiresIn is the lifetime of issued tokens, sent as expires_in. Default DefaultExpiresIn (1h).
	ExpiresIn time.Duration
	// Now is the simulator's clock: token expiry and dataCadastro/dataAtualizacao. nil: time.Now.
	Now func() time.Time
}

// IssuedToken is a token the simulator issued.
type IssuedToken struct {
	Value          string
	ClientID       string
	UnidadeGestora string
	Scope          string
	Expiry         time.Time
}

// Server is the simulated CidadES API, an http.Handler. Every request goes through Faults. Safe for concurrent
// use.
type Server struct {
	// TokenLife is the lifetime of the tokens issued from now on (TokenTTL, SetTokenTTL; PUT /_sim/auth).
	*fault.TokenLife
	faults *fault.Injector
	now    func() time.Time

	mu           sync.Mutex
	revoked      map[string]bool // client ids whose secret the token endpoint refuses
	ugs          map[string]UnidadeGestora
	ugCodes      []string // sorted
	keys         map[string]Key
	tokens       map[string]IssuedToken
	issued       []IssuedToken
	admissoes    []Ato
	concessoes   []Ato
	contratacoes map[int64]Contratacao
	byKey        map[contratoKey]int64 // the id of each natural key (UG, numeroContrato, anoContrato) in contratacoes
	nextID       int64
}

// New returns a Server holding a copy of f, which should have passed Validate (LoadFixtures does that).
func New(f Fixtures, opts Options) *Server {
	s := &Server{
		now:          opts.Now,
		ugs:          make(map[string]UnidadeGestora),
		keys:         make(map[string]Key),
		tokens:       make(map[string]IssuedToken),
		revoked:      make(map[string]bool),
		contratacoes: make(map[int64]Contratacao),
		byKey:        make(map[contratoKey]int64),
		nextID:       1,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if opts.ExpiresIn <= 0 {
		opts.ExpiresIn = DefaultExpiresIn
	}
	s.TokenLife = fault.NewTokenLife(opts.ExpiresIn, true)
	for _, ug := range f.UnidadesGestoras {
		ug.Subordinadas = slices.Clone(ug.Subordinadas)
		if ug.Subordinadas == nil {
			ug.Subordinadas = []string{}
		}
		ug.Responsaveis = slices.Clone(ug.Responsaveis)
		s.ugs[ug.Codigo] = ug
		s.ugCodes = append(s.ugCodes, ug.Codigo)
	}
	slices.Sort(s.ugCodes)
	keys := opts.Keys
	if keys == nil {
		keys = f.Keys
	}
	for _, k := range keys {
		s.keys[k.ClientID] = k
	}
	s.admissoes = numbered(f.Admissoes)
	s.concessoes = numbered(f.Concessoes)
	for _, c := range f.Contratacoes {
		s.nextID = max(s.nextID, c.ID+1)
	}
	now := s.stamp()
	for _, c := range f.Contratacoes {
		if c.ID == 0 {
			c.ID = s.nextID
			s.nextID++
		}
		if c.Situacao == "" {
			c.Situacao = "ATIVA"
		}
		if c.DataCadastro.IsZero() {
			c.DataCadastro = now
		}
		if c.DataAtualizacao.IsZero() {
			c.DataAtualizacao = c.DataCadastro
		}
		s.store(c)
	}

	mux := http.NewServeMux()
	route := func(path string, handlers map[string]http.HandlerFunc) {
		allow := make([]string, 0, len(handlers))
		for method, h := range handlers {
			mux.HandleFunc(method+" "+path, h)
			allow = append(allow, method)
		}
		slices.Sort(allow)
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			s.problem(w, http.StatusMethodNotAllowed, "", fmt.Sprintf("O método %s não é permitido em %s.", r.Method, r.URL.Path), nil)
		})
	}
	route("/oauth/token", map[string]http.HandlerFunc{http.MethodPost: s.locked(s.token)})
	route("/v1/contratacoes", map[string]http.HandlerFunc{
		http.MethodGet:  s.api(false, s.listContratacoes),
		http.MethodPost: s.api(true, s.createContratacao),
	})
	route("/v1/contratacoes/{id}", map[string]http.HandlerFunc{
		http.MethodGet:    s.api(false, s.getContratacao),
		http.MethodPut:    s.api(true, s.updateContratacao),
		http.MethodDelete: s.api(true, s.deleteContratacao),
	})
	route("/v1/atos-pessoal/admissoes", map[string]http.HandlerFunc{http.MethodGet: s.api(false, s.listAtos(false))})
	route("/v1/atos-pessoal/concessoes", map[string]http.HandlerFunc{http.MethodGet: s.api(false, s.listAtos(true))})
	route("/v1/unidades-gestoras", map[string]http.HandlerFunc{http.MethodGet: s.api(false, s.listUGs)})
	route("/v1/unidades-gestoras/{codigo}/responsaveis", map[string]http.HandlerFunc{http.MethodGet: s.api(false, s.listResponsaveis)})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.problem(w, http.StatusNotFound, "", fmt.Sprintf("O recurso %s não existe.", r.URL.Path), nil)
	})
	limited := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBodyBytes {
			s.tooLarge(w)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		mux.ServeHTTP(w, r)
	})
	s.faults = fault.New(limited, fault.Options{ErrorBody: func(w http.ResponseWriter, _ *http.Request, status int) {
		s.problem(w, status, "", fmt.Sprintf("O serviço não pôde atender a requisição (HTTP %d). Tente novamente mais tarde.", status), nil)
	}, Controls: fault.AuthControls(s)})
	return s
}

// numbered returns a copy of atos with every missing id set after the highest one, sorted by id.
func numbered(atos []Ato) []Ato {
	out := slices.Clone(atos)
	var next int64 = 1
	for _, a := range out {
		next = max(next, a.ID+1)
	}
	for i := range out {
		if out[i].ID == 0 {
			out[i].ID = next
			next++
		}
	}
	slices.SortFunc(out, func(a, b Ato) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// ServeHTTP implements http.Handler, through the fault injector.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.faults.ServeHTTP(w, r) }

// Faults returns the fault injector every request goes through, with its request log.
func (s *Server) Faults() *fault.Injector { return s.faults }

// Contratacoes returns the stored contratações of ug ("" for every UG), by id.
func (s *Server) Contratacoes(ug string) []Contratacao {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Contratacao
	for _, c := range s.contratacoes {
		if ug == "" || c.CodigoUnidadeGestora == ug {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b Contratacao) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Contratacao returns the stored contratação id.
func (s *Server) Contratacao(id int64) (Contratacao, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.contratacoes[id]
	return c, ok
}

// IssuedTokens returns every token issued so far, oldest first.
func (s *Server) IssuedTokens() []IssuedToken {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.issued)
}

// The credential kinds of Revoke and Restore (and of POST /_sim/auth/revoke and /_sim/auth/restore).
const (
	// KindClientID is an integration key, named by its client_id: revoking it is renewing or deleting the key's
	// client secret in Unidade Gestora > Ações > Integrações.
	KindClientID = "clientId"
	// KindToken is an issued access token (revoking one drops it for good).
	KindToken = "token"
)

// Revoke makes a credential stop working:
//
//   - KindClientID: POST /oauth/token with the key answers 401 {"error":"invalid_client",...} until Restore, and
//     every token issued for the key answers 401 ProblemDetails "Token de acesso inválido ou expirado." (ASSUMED:
//     the documents say a secret can be renewed, not what happens to its tokens; a renewed secret is taken to end
//     them);
//   - KindToken: the token is dropped and answers that 401 from now on.
//
// Revoking what the simulator does not hold is not an error. It fails only for an unknown kind. Also served as
// POST /_sim/auth/revoke {"kind":"clientId","value":"ug-001001-rw"}.
func (s *Server) Revoke(kind, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch kind {
	case KindClientID:
		s.revoked[value] = true
		for v, t := range s.tokens {
			if t.ClientID == value {
				delete(s.tokens, v)
			}
		}
	case KindToken:
		delete(s.tokens, value)
	default:
		return fault.UnknownKind(kind, KindClientID, KindToken)
	}
	return nil
}

// Restore makes a revoked key's client secret work again (KindClientID); the tokens Revoke dropped stay invalid.
// A KindToken is not restorable: that is a no-op. It fails only for an unknown kind. Also served as
// POST /_sim/auth/restore.
func (s *Server) Restore(kind, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch kind {
	case KindClientID:
		delete(s.revoked, value)
	case KindToken:
	default:
		return fault.UnknownKind(kind, KindClientID, KindToken)
	}
	return nil
}

var _ fault.Auth = (*Server)(nil)

// stamp is the current time as the API writes it: whole seconds, UTC-3.
func (s *Server) stamp() time.Time {
	return s.now().Truncate(time.Second).In(time.FixedZone("-03", -3*60*60))
}

// locked runs h with s.mu held. It reads the request body before taking the lock (413 if over MaxBodyBytes) and
// keeps the answer in memory until the lock is released, so that a client slow to send its body or to read its
// answer never holds up the others.
func (s *Server) locked(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			s.tooLarge(w)
			return
		}
		if err != nil {
			s.problem(w, http.StatusBadRequest, "", "O corpo da requisição não pôde ser lido.", nil)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		buf := fault.NewBuffered(w)
		func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			h(buf, r)
		}()
		buf.WriteOut(w)
	}
}

// token serves POST /oauth/token: the OAuth2 client credentials grant, with the client authenticated by the form
// fields client_id and client_secret or by HTTP Basic. It runs with s.mu held.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	oauthError := func(status int, code, desc string) {
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, status, "application/json; charset=utf-8", map[string]string{"error": code, "error_description": desc})
	}
	if err := r.ParseForm(); err != nil {
		oauthError(http.StatusBadRequest, "invalid_request", "Corpo da requisição inválido.")
		return
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		if v, err := url.QueryUnescape(id); err == nil {
			id = v
		}
		if v, err := url.QueryUnescape(secret); err == nil {
			secret = v
		}
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	k, ok := s.keys[id]
	if !ok || id == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(k.ClientSecret)) != 1 || s.revoked[id] {
		if basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="cidades"`)
		}
		oauthError(http.StatusUnauthorized, "invalid_client", "Client id ou client secret inválido.")
		return
	}
	switch g := r.PostForm.Get("grant_type"); g {
	case "client_credentials":
	case "":
		oauthError(http.StatusBadRequest, "invalid_request", "O parâmetro grant_type é obrigatório.")
		return
	default:
		oauthError(http.StatusBadRequest, "unsupported_grant_type", "Somente grant_type=client_credentials é aceito.")
		return
	}
	t := IssuedToken{
		Value:          randomHex(32),
		ClientID:       k.ClientID,
		UnidadeGestora: k.UnidadeGestora,
		Scope:          k.Scope(),
		Expiry:         s.now().Add(s.TokenTTL()),
	}
	s.tokens[t.Value] = t
	s.issued = append(s.issued, t)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, "application/json; charset=utf-8", map[string]any{
		"access_token": t.Value,
		"token_type":   "Bearer",
		"expires_in":   int64(s.TokenTTL() / time.Second),
		"scope":        t.Scope,
	})
}

// principal is the caller of a /v1 request once authenticated.
type principal struct {
	tok      IssuedToken
	target   string // the UG the call acts for: ?codigoUnidadeGestora or the token's UG
	explicit bool   // whether ?codigoUnidadeGestora was given
}

// visible returns the UGs whose rows a read sees: the selected UG; without ?codigoUnidadeGestora, the token's UG
// plus an aggregator's subordinates.
func (s *Server) visible(p principal) []string {
	if p.explicit {
		return []string{p.target}
	}
	return append([]string{p.tok.UnidadeGestora}, s.ugs[p.tok.UnidadeGestora].Subordinadas...)
}

// api wraps a /v1 handler: it authenticates the bearer token (401), checks ?codigoUnidadeGestora against the
// token's UG (403) and, for writes, the token's scope (403). The handler runs with s.mu held (see locked).
func (s *Server) api(write bool, h func(w http.ResponseWriter, r *http.Request, p principal)) http.HandlerFunc {
	return s.locked(func(w http.ResponseWriter, r *http.Request) {
		scheme, value, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || value == "" {
			w.Header().Set("WWW-Authenticate", "Bearer")
			s.problem(w, http.StatusUnauthorized, "", "Token de acesso ausente.", nil)
			return
		}
		tok, ok := s.tokens[strings.TrimSpace(value)]
		if !ok || !s.now().Before(tok.Expiry) {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			s.problem(w, http.StatusUnauthorized, "", "Token de acesso inválido ou expirado.", nil)
			return
		}
		p := principal{tok: tok, target: tok.UnidadeGestora}
		if ug := r.URL.Query().Get("codigoUnidadeGestora"); ug != "" {
			if ug != tok.UnidadeGestora && !slices.Contains(s.ugs[tok.UnidadeGestora].Subordinadas, ug) {
				s.problem(w, http.StatusForbidden, "", fmt.Sprintf("A chave de integração não tem acesso à unidade gestora %s.", ug), nil)
				return
			}
			p.target, p.explicit = ug, true
		}
		if write && !slices.Contains(strings.Fields(tok.Scope), ScopeEscrita) {
			s.problem(w, http.StatusForbidden, "", "A chave de integração não tem permissão de envio (somente leitura).", nil)
			return
		}
		h(w, r, p)
	})
}

// listContratacoes serves GET /v1/contratacoes.
func (s *Server) listContratacoes(w http.ResponseWriter, r *http.Request, p principal) {
	q := r.URL.Query()
	errs := make(map[string][]string)
	pagina, tamanho := paging(q, errs)
	ano := intParam(q, "ano", errs)
	doc := schemas.Digits(q.Get("documentoContratado"))
	inicio, fim := dateParam(q, "dataAssinaturaInicio", errs), dateParam(q, "dataAssinaturaFim", errs)
	if len(errs) > 0 {
		s.validation(w, errs)
		return
	}
	numero := q.Get("numeroContrato")
	ugs := s.visible(p)
	all := func(yield func(Contratacao) bool) {
		if numero != "" && ano != 0 {
			// The natural key names at most one contratação per UG: no scan of the store.
			for _, ug := range ugs {
				if id, ok := s.byKey[contratoKey{ug, numero, ano}]; ok && !yield(s.contratacoes[id]) {
					return
				}
			}
			return
		}
		for _, c := range s.contratacoes {
			if !yield(c) {
				return
			}
		}
	}
	var rows []Contratacao
	for c := range all {
		switch {
		case !slices.Contains(ugs, c.CodigoUnidadeGestora),
			numero != "" && c.NumeroContrato != numero,
			ano != 0 && c.AnoContrato != ano,
			doc != "" && c.Contratado.Documento != doc,
			inicio != "" && c.DataAssinatura < inicio,
			fim != "" && c.DataAssinatura > fim:
			continue
		}
		rows = append(rows, c)
	}
	slices.SortFunc(rows, func(a, b Contratacao) int { return cmp.Compare(a.ID, b.ID) })
	writeJSON(w, http.StatusOK, "", paginate(rows, pagina, tamanho))
}

// lookup returns the contratação of the {id} path value if it belongs to one of ugs.
func (s *Server) lookup(r *http.Request, ugs []string) (Contratacao, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return Contratacao{}, false
	}
	c, ok := s.contratacoes[id]
	if !ok || !slices.Contains(ugs, c.CodigoUnidadeGestora) {
		return Contratacao{}, false
	}
	return c, true
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.problem(w, http.StatusNotFound, "", fmt.Sprintf("Contratação %s não encontrada.", r.PathValue("id")), nil)
}

// getContratacao serves GET /v1/contratacoes/{id}.
func (s *Server) getContratacao(w http.ResponseWriter, r *http.Request, p principal) {
	c, ok := s.lookup(r, s.visible(p))
	if !ok {
		s.notFound(w, r)
		return
	}
	writeJSON(w, http.StatusOK, "", c)
}

// conflict reports whether another contratação than id holds c's natural key.
func (s *Server) conflict(c Contratacao, id int64) bool {
	holder, ok := s.byKey[keyOf(c)]
	return ok && holder != id
}

// store puts c in the store under its id and its natural key, replacing the contratação of that id (whose old
// key it frees). The caller has checked conflict.
func (s *Server) store(c Contratacao) {
	if old, ok := s.contratacoes[c.ID]; ok {
		delete(s.byKey, keyOf(old))
	}
	s.contratacoes[c.ID] = c
	s.byKey[keyOf(c)] = c.ID
}

func (s *Server) conflictProblem(w http.ResponseWriter, c Contratacao) {
	s.problem(w, http.StatusConflict, "", fmt.Sprintf("Já existe a contratação %s/%d na unidade gestora %s.",
		c.NumeroContrato, c.AnoContrato, c.CodigoUnidadeGestora), nil)
}

// readBody returns the request body, which locked has read already.
func readBody(r *http.Request) []byte {
	b, _ := io.ReadAll(r.Body) // a bytes.Reader: no error
	return b
}

// tooLarge answers a body over MaxBodyBytes.
func (s *Server) tooLarge(w http.ResponseWriter) {
	s.problem(w, http.StatusRequestEntityTooLarge, "", fmt.Sprintf("O corpo da requisição excede o limite de %d bytes.", MaxBodyBytes), nil)
}

// createContratacao serves POST /v1/contratacoes.
func (s *Server) createContratacao(w http.ResponseWriter, r *http.Request, p principal) {
	c, errs := decodeContratacao(readBody(r))
	if len(errs) > 0 {
		s.validation(w, errs)
		return
	}
	c.CodigoUnidadeGestora = p.target
	if s.conflict(c, 0) {
		s.conflictProblem(w, c)
		return
	}
	c.ID = s.nextID
	s.nextID++
	c.Situacao = "ATIVA"
	c.DataCadastro = s.stamp()
	c.DataAtualizacao = c.DataCadastro
	s.store(c)
	w.Header().Set("Location", "/v1/contratacoes/"+strconv.FormatInt(c.ID, 10))
	writeJSON(w, http.StatusCreated, "", c)
}

// updateContratacao serves PUT /v1/contratacoes/{id}: a full replace of the client-set fields of a contratação of
// the UG the call acts for.
func (s *Server) updateContratacao(w http.ResponseWriter, r *http.Request, p principal) {
	in, errs := decodeContratacao(readBody(r))
	if len(errs) > 0 {
		s.validation(w, errs)
		return
	}
	old, ok := s.lookup(r, []string{p.target})
	if !ok {
		s.notFound(w, r)
		return
	}
	in.ID, in.CodigoUnidadeGestora, in.Situacao, in.DataCadastro = old.ID, old.CodigoUnidadeGestora, old.Situacao, old.DataCadastro
	if s.conflict(in, old.ID) {
		s.conflictProblem(w, in)
		return
	}
	in.DataAtualizacao = s.stamp()
	s.store(in)
	writeJSON(w, http.StatusOK, "", in)
}

// deleteContratacao serves DELETE /v1/contratacoes/{id}.
func (s *Server) deleteContratacao(w http.ResponseWriter, r *http.Request, p principal) {
	c, ok := s.lookup(r, []string{p.target})
	if !ok {
		s.notFound(w, r)
		return
	}
	delete(s.contratacoes, c.ID)
	delete(s.byKey, keyOf(c))
	w.WriteHeader(http.StatusNoContent)
}

// listAtos serves GET /v1/atos-pessoal/admissoes or, with concessoes, /v1/atos-pessoal/concessoes.
func (s *Server) listAtos(concessoes bool) func(w http.ResponseWriter, r *http.Request, p principal) {
	return func(w http.ResponseWriter, r *http.Request, p principal) {
		q := r.URL.Query()
		errs := make(map[string][]string)
		pagina, tamanho := paging(q, errs)
		ano := intParam(q, "anoReferencia", errs)
		tipo := ""
		if concessoes {
			tipo = q.Get("tipoBeneficio")
			if tipo != "" && !validBeneficio(tipo) {
				errs["tipoBeneficio"] = []string{"O campo tipoBeneficio deve ser APOSENTADORIA, REFORMA ou RESERVA."}
			}
		}
		if len(errs) > 0 {
			s.validation(w, errs)
			return
		}
		all := s.admissoes
		if concessoes {
			all = s.concessoes
		}
		cpf := schemas.Digits(q.Get("cpf"))
		processo, certidao, decisao := q.Get("numeroProcessoTcees"), q.Get("numeroCertidao"), q.Get("numeroDecisao")
		ugs := s.visible(p)
		var rows []Ato
		for _, a := range all {
			switch {
			case !slices.Contains(ugs, a.CodigoUnidadeGestora),
				cpf != "" && a.Cpf != cpf,
				processo != "" && a.ProcessoTcees != processo,
				certidao != "" && a.NumeroCertidao != certidao,
				decisao != "" && a.NumeroDecisao != decisao,
				ano != 0 && a.AnoReferencia != ano,
				tipo != "" && a.TipoBeneficio != tipo:
				continue
			}
			rows = append(rows, a)
		}
		writeJSON(w, http.StatusOK, "", paginate(rows, pagina, tamanho))
	}
}

// listUGs serves GET /v1/unidades-gestoras.
func (s *Server) listUGs(w http.ResponseWriter, _ *http.Request, p principal) {
	ugs := s.visible(p)
	out := []UnidadeGestora{}
	for _, code := range s.ugCodes {
		if slices.Contains(ugs, code) {
			out = append(out, s.ugs[code])
		}
	}
	writeJSON(w, http.StatusOK, "", out)
}

// listResponsaveis serves GET /v1/unidades-gestoras/{codigo}/responsaveis.
func (s *Server) listResponsaveis(w http.ResponseWriter, r *http.Request, p principal) {
	codigo := r.PathValue("codigo")
	if !slices.Contains(s.visible(p), codigo) {
		s.problem(w, http.StatusForbidden, "", fmt.Sprintf("A chave de integração não tem acesso à unidade gestora %s.", codigo), nil)
		return
	}
	out := s.ugs[codigo].Responsaveis
	if out == nil {
		out = []Responsavel{}
	}
	writeJSON(w, http.StatusOK, "", out)
}

// page is the list envelope.
type page[T any] struct {
	Dados          []T `json:"dados"`
	Pagina         int `json:"pagina"`
	TamanhoPagina  int `json:"tamanhoPagina"`
	TotalRegistros int `json:"totalRegistros"`
	TotalPaginas   int `json:"totalPaginas"`
}

func paginate[T any](rows []T, pagina, tamanho int) page[T] {
	p := page[T]{Dados: []T{}, Pagina: pagina, TamanhoPagina: tamanho, TotalRegistros: len(rows)}
	p.TotalPaginas = (len(rows) + tamanho - 1) / tamanho
	if start := (pagina - 1) * tamanho; start < len(rows) {
		p.Dados = rows[start:min(start+tamanho, len(rows))]
	}
	return p
}

// paging reads pagina (default 1, at least 1) and tamanhoPagina (default 50, 1 to 100).
func paging(q url.Values, errs map[string][]string) (pagina, tamanho int) {
	pagina, tamanho = 1, DefaultTamanhoPagina
	if v := q.Get("pagina"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs["pagina"] = []string{"O campo pagina deve ser um número inteiro maior ou igual a 1."}
		} else {
			pagina = n
		}
	}
	if v := q.Get("tamanhoPagina"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxTamanhoPagina {
			errs["tamanhoPagina"] = []string{fmt.Sprintf("O campo tamanhoPagina deve estar entre 1 e %d.", MaxTamanhoPagina)}
		} else {
			tamanho = n
		}
	}
	if pagina > math.MaxInt32/tamanho { // keep (pagina-1)*tamanho far from overflow
		errs["pagina"] = []string{"O campo pagina é grande demais."}
	}
	return pagina, tamanho
}

func intParam(q url.Values, name string, errs map[string][]string) int {
	v := q.Get(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 9999 {
		errs[name] = []string{fmt.Sprintf("O valor '%s' não é válido para %s.", v, name)}
		return 0
	}
	return n
}

func dateParam(q url.Values, name string, errs map[string][]string) Date {
	d := Date(q.Get(name))
	if d != "" && !d.valid() {
		errs[name] = []string{fmt.Sprintf(msgData, name)}
		return ""
	}
	return d
}

// problemDetails is the ASP.NET ProblemDetails body.
type problemDetails struct {
	Type    string              `json:"type"`
	Title   string              `json:"title"`
	Status  int                 `json:"status"`
	Detail  string              `json:"detail,omitempty"`
	Errors  map[string][]string `json:"errors,omitempty"`
	TraceID string              `json:"traceId"`
}

// problemType returns the link to the status's definition that ASP.NET puts in "type": its RFC 9110 section, or
// RFC 6585 for 429, which RFC 9110 does not define.
func problemType(status int) string {
	if status == http.StatusTooManyRequests {
		return "https://tools.ietf.org/html/rfc6585#section-4"
	}
	section := map[int]string{400: "5.1", 401: "5.2", 403: "5.4", 404: "5.5", 405: "5.6", 409: "5.10", 413: "5.14",
		500: "6.1", 501: "6.2", 502: "6.3", 503: "6.4", 504: "6.5"}[status]
	if section == "" {
		return "about:blank"
	}
	return "https://tools.ietf.org/html/rfc9110#section-15." + section
}

// problem writes a ProblemDetails answer; title defaults to the status text.
func (s *Server) problem(w http.ResponseWriter, status int, title, detail string, errs map[string][]string) {
	if title == "" {
		title = http.StatusText(status)
	}
	writeJSON(w, status, "application/problem+json; charset=utf-8", problemDetails{
		Type: problemType(status), Title: title, Status: status, Detail: detail, Errors: errs,
		TraceID: "00-" + randomHex(16) + "-" + randomHex(8) + "-00",
	})
}

// validation writes the 400 answer of ASP.NET model validation.
func (s *Server) validation(w http.ResponseWriter, errs map[string][]string) {
	s.problem(w, http.StatusBadRequest, "One or more validation errors occurred.", "", errs)
}

func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	if contentType == "" {
		contentType = "application/json; charset=utf-8"
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
