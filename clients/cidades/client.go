package cidades

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ponte-dev/ponte/clients"
)

// Target is the target name of the CidadES API in errors, metrics and breaker keys.
const Target = "cidades"

// The operation names used in errors and metrics.
const (
	opToken                = "token"
	opCreateContratacao    = "create_contratacao"
	opGetContratacao       = "get_contratacao"
	opFindContratacoes     = "find_contratacoes"
	opUpdateContratacao    = "update_contratacao"
	opDeleteContratacao    = "delete_contratacao"
	opListAdmissoes        = "list_admissoes"
	opListConcessoes       = "list_concessoes"
	opListUnidadesGestoras = "list_unidades_gestoras"
	opListResponsaveis     = "list_responsaveis"
)

// Client calls the CidadES API on behalf of the UGs of its Config. Each call names the UG it acts for: that UG is
// the tenant of the call's circuit breaker and rate limiter, and selects the integration key (the UG's own, or its
// aggregator's with ?codigoUnidadeGestora=<ug>). Tokens are fetched on first use, cached per key until
// Config.TokenLeeway before they expire, and fetched again once when a call gets HTTP 401.
//
// Every method returns, on failure, an error wrapped with the operation and identifiers that matches the typed
// errors of package clients (*clients.StatusError, *clients.TransportError, *clients.OpenError,
// *clients.OutageError), a *ProblemError for any HTTP error answer of the API (not of the token endpoint), and
// the sentinels of this package. Safe for concurrent use.
type Client struct {
	cfg  Config
	ep   *clients.Endpoint
	log  *slog.Logger
	keys map[string]*key // by the UG that owns the key
}

// key is one integration key and its token cache.
type key struct {
	ug       string
	clientID string
	secret   *clients.Secret
	tokens   *clients.TokenCache

	mu    sync.Mutex
	scope string // of the last token fetched
}

// New returns a Client for cfg, which is validated first (the error names the bad key). The client owns its
// *http.Client through a clients.Endpoint built from cfg.EndpointConfig and opts. No request is sent until the
// first call.
func New(cfg Config, opts clients.EndpointOptions) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	cfg.UGs = maps.Clone(cfg.UGs)
	ep, err := clients.NewEndpoint(Target, cfg.EndpointConfig, opts)
	if err != nil {
		return nil, err
	}
	ep.Declare(opToken, opCreateContratacao, opGetContratacao, opFindContratacoes, opUpdateContratacao,
		opDeleteContratacao, opListAdmissoes, opListConcessoes, opListUnidadesGestoras, opListResponsaveis)
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{cfg: cfg, ep: ep, log: log.With("target", Target), keys: make(map[string]*key)}
	for code, ug := range cfg.UGs {
		ep.Breakers().Ensure(clients.BreakerKey{Target: Target, Tenant: code})
		ep.DeclareTenant(code)
		if ug.Via != "" {
			continue
		}
		k := &key{ug: code, clientID: ug.ClientID, secret: ug.ClientSecret}
		k.tokens = clients.NewTokenCache(c.tokenFetcher(k), cfg.TokenLeeway, nil)
		c.keys[code] = k
	}
	ep.Breakers().SetProbe(Target, c.Probe) // tells a lone failing request from an outage
	return c, nil
}

// tokenResponse is the OAuth2 token answer.
type tokenResponse struct {
	AccessToken string      `json:"access_token"`
	TokenType   string      `json:"token_type"`
	ExpiresIn   json.Number `json:"expires_in"`
	Scope       string      `json:"scope"`
}

// tokenFetcher returns the function that obtains a token for k with the client credentials grant. A token without
// expires_in is kept until a call gets HTTP 401.
func (c *Client) tokenFetcher(k *key) func(ctx context.Context) (clients.Token, error) {
	return func(ctx context.Context) (clients.Token, error) {
		wrap := func(err error) error {
			return fmt.Errorf("cidades token for ug %s client %s: %w", k.ug, k.clientID, err)
		}
		secret, err := k.secret.Reveal()
		if err != nil {
			return clients.Token{}, wrap(fmt.Errorf("client secret: %w", err))
		}
		form := url.Values{"grant_type": {"client_credentials"}}
		header := http.Header{}
		if c.cfg.TokenAuth == TokenAuthBasic {
			cred := url.QueryEscape(k.clientID) + ":" + url.QueryEscape(secret)
			header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(cred)))
		} else {
			form.Set("client_id", k.clientID)
			form.Set("client_secret", secret)
		}
		var out tokenResponse
		start := time.Now()
		_, err = c.ep.Do(ctx, clients.Request{
			Tenant: k.ug, Operation: opToken, Method: http.MethodPost, Path: c.cfg.TokenURL,
			Header: header, Form: form, Out: &out, Login: true,
		})
		if err != nil {
			if s := clients.HTTPStatus(err); s == http.StatusBadRequest || s == http.StatusUnauthorized {
				// The auth failure first: it is retryable (the secret may be fixed), ErrUnauthorized is not.
				return clients.Token{}, wrap(fmt.Errorf("%w: %w", err, ErrUnauthorized))
			}
			return clients.Token{}, wrap(err)
		}
		bad := func(msg string) (clients.Token, error) {
			return clients.Token{}, wrap(&clients.TransportError{Target: Target, Operation: opToken, Err: errors.New(msg)})
		}
		if out.AccessToken == "" {
			return bad("token response without access_token")
		}
		if out.TokenType != "" && !strings.EqualFold(out.TokenType, "Bearer") {
			return bad(fmt.Sprintf("token_type %q is not Bearer", out.TokenType))
		}
		tok := clients.Token{Value: out.AccessToken}
		if out.ExpiresIn != "" {
			secs, err := out.ExpiresIn.Float64()
			if err != nil {
				return bad(fmt.Sprintf("expires_in %q is not a number", out.ExpiresIn))
			}
			if secs > 0 {
				tok.Expiry = start.Add(time.Duration(secs * float64(time.Second)))
			}
		}
		k.mu.Lock()
		k.scope = out.Scope
		k.mu.Unlock()
		c.log.DebugContext(ctx, "cidades token fetched", "ug", k.ug, "client_id", k.clientID, "scope", out.Scope,
			"expires_in", out.ExpiresIn.String())
		return tok, nil
	}
}

// route returns the key used for ug and whether ug is reached through an aggregator.
func (c *Client) route(ug string) (*key, bool, error) {
	u, ok := c.cfg.UGs[ug]
	if !ok {
		return nil, false, fmt.Errorf("ug %q: %w", ug, ErrUnknownUG)
	}
	if u.Via != "" {
		return c.keys[u.Via], true, nil
	}
	return c.keys[ug], false, nil
}

// do sends one API call for ug with the key's bearer token, adding ?codigoUnidadeGestora=<ug> for a UG reached
// through its aggregator. On HTTP 401 it drops the token and tries once more with a fresh one. HTTP errors come
// back as *ProblemError.
func (c *Client) do(ctx context.Context, ug, op, method, p string, q url.Values, in, out any) (*clients.Response, error) {
	k, via, err := c.route(ug)
	if err != nil {
		return nil, err
	}
	if via {
		if q == nil {
			q = url.Values{}
		}
		q.Set(c.cfg.Params.UnidadeGestora, ug)
	}
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	for attempt := 1; ; attempt++ {
		tok, err := k.tokens.Get(ctx)
		if err != nil {
			return nil, err
		}
		resp, err := c.ep.Do(ctx, clients.Request{
			Tenant: ug, Operation: op, Method: method, Path: p, Renewed: attempt > 1, // a 401 again: an *clients.AuthError
			Header: http.Header{"Authorization": {"Bearer " + tok}}, JSON: in, Out: out,
		})
		if attempt == 1 && clients.HTTPStatus(err) == http.StatusUnauthorized {
			c.log.DebugContext(ctx, "cidades token refused, fetching a new one", "ug", ug, "operation", op)
			k.tokens.Invalidate(tok)
			continue
		}
		if err != nil {
			return nil, problemOf(err)
		}
		return resp, nil
	}
}

// CanWrite reports whether the key used for ug may send data: whether its token's scope holds Config.WriteScope
// ("cidades.escrita"). It fetches a token if none is cached.
func (c *Client) CanWrite(ctx context.Context, ug string) (bool, error) {
	k, _, err := c.route(ug)
	if err == nil {
		_, err = k.tokens.Get(ctx)
	}
	if err != nil {
		return false, fmt.Errorf("cidades can write ug %s: %w", ug, err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, s := range strings.Fields(k.scope) {
		if s == c.cfg.WriteScope {
			return true, nil
		}
	}
	return false, nil
}

// CreateContratacao registers ct for ug (POST /v1/contratacoes) and returns the stored contratação with the
// server-set fields. The server-set fields of ct are not sent. A contratação with the same numeroContrato and
// anoContrato already in ug gives ErrConflict; a read-only key gives ErrForbidden; invalid fields give a
// *ProblemError whose Fields name them.
func (c *Client) CreateContratacao(ctx context.Context, ug string, ct Contratacao) (*Contratacao, error) {
	var out Contratacao
	resp, err := c.do(ctx, ug, opCreateContratacao, http.MethodPost, c.cfg.Paths.Contratacoes, nil, bodyOf(ct), &out)
	if err != nil {
		return nil, fmt.Errorf("cidades create contratacao ug %s numero %q ano %d: %w", ug, ct.NumeroContrato, ct.AnoContrato, err)
	}
	if out.ID == 0 {
		// An empty 201: the Location header names the new contratação.
		if id, err := strconv.ParseInt(path.Base(resp.Header.Get("Location")), 10, 64); err == nil {
			out = ct
			out.ID = id
		}
	}
	return &out, nil
}

// GetContratacao returns the contratação id of ug (GET /v1/contratacoes/{id}). An id that does not exist or
// belongs to another UG gives ErrNotFound.
func (c *Client) GetContratacao(ctx context.Context, ug string, id int64) (*Contratacao, error) {
	if id <= 0 {
		return nil, fmt.Errorf("cidades get contratacao ug %s id %d: %w: id must be positive", ug, id, ErrInvalid)
	}
	var out Contratacao
	if _, err := c.do(ctx, ug, opGetContratacao, http.MethodGet, c.contratacaoPath(id), nil, nil, &out); err != nil {
		return nil, fmt.Errorf("cidades get contratacao ug %s id %d: %w", ug, id, err)
	}
	return &out, nil
}

// UpdateContratacao replaces the client-set fields of contratação id of ug with those of ct (PUT
// /v1/contratacoes/{id}) and returns the stored result. ErrNotFound if id is not ug's; ErrConflict if ct's
// numeroContrato and anoContrato belong to another contratação of ug; ErrForbidden with a read-only key.
func (c *Client) UpdateContratacao(ctx context.Context, ug string, id int64, ct Contratacao) (*Contratacao, error) {
	if id <= 0 {
		return nil, fmt.Errorf("cidades update contratacao ug %s id %d: %w: id must be positive", ug, id, ErrInvalid)
	}
	var out Contratacao
	if _, err := c.do(ctx, ug, opUpdateContratacao, http.MethodPut, c.contratacaoPath(id), nil, bodyOf(ct), &out); err != nil {
		return nil, fmt.Errorf("cidades update contratacao ug %s id %d: %w", ug, id, err)
	}
	return &out, nil
}

// DeleteContratacao deletes contratação id of ug (DELETE /v1/contratacoes/{id}). ErrNotFound if it does not
// exist (also when it was already deleted) or is not ug's; ErrForbidden with a read-only key.
func (c *Client) DeleteContratacao(ctx context.Context, ug string, id int64) error {
	if id <= 0 {
		return fmt.Errorf("cidades delete contratacao ug %s id %d: %w: id must be positive", ug, id, ErrInvalid)
	}
	if _, err := c.do(ctx, ug, opDeleteContratacao, http.MethodDelete, c.contratacaoPath(id), nil, nil, nil); err != nil {
		return fmt.Errorf("cidades delete contratacao ug %s id %d: %w", ug, id, err)
	}
	return nil
}

func (c *Client) contratacaoPath(id int64) string {
	return strings.TrimRight(c.cfg.Paths.Contratacoes, "/") + "/" + strconv.FormatInt(id, 10)
}

// FindContratacoes returns one page of ug's contratações matching f (GET /v1/contratacoes). An aggregator's own
// key, used without Via, also sees its subordinates' rows.
func (c *Client) FindContratacoes(ctx context.Context, ug string, f ContratacaoFilter) (*Page[Contratacao], error) {
	q := url.Values{}
	setString(q, "numeroContrato", f.NumeroContrato)
	setInt(q, "ano", f.Ano)
	setString(q, "documentoContratado", f.DocumentoContratado)
	setString(q, "dataAssinaturaInicio", f.DataAssinaturaInicio.String())
	setString(q, "dataAssinaturaFim", f.DataAssinaturaFim.String())
	c.setPage(q, f.Pagina, f.TamanhoPagina)
	var out Page[Contratacao]
	if _, err := c.do(ctx, ug, opFindContratacoes, http.MethodGet, c.cfg.Paths.Contratacoes, q, nil, &out); err != nil {
		return nil, fmt.Errorf("cidades find contratacoes ug %s page %d: %w", ug, f.Pagina, err)
	}
	return &out, nil
}

// AllContratacoes returns every contratação matching f, reading the pages from f.Pagina (default 1) on with
// f.TamanhoPagina rows each (default Config.PageSize). It fails if there are more than Config.MaxPages pages.
func (c *Client) AllContratacoes(ctx context.Context, ug string, f ContratacaoFilter) ([]Contratacao, error) {
	return allPages(c, f.Pagina, f.TamanhoPagina, func(pagina, tamanho int) (*Page[Contratacao], error) {
		f.Pagina, f.TamanhoPagina = pagina, tamanho
		return c.FindContratacoes(ctx, ug, f)
	})
}

// FindContratacao returns ug's contratação numero/ano: it lists the matches of the numeroContrato and ano filters
// on every page and keeps the one whose numeroContrato and anoContrato are exactly numero and ano and whose
// codigoUnidadeGestora is ug (or absent). ErrNotFound if none is.
func (c *Client) FindContratacao(ctx context.Context, ug, numero string, ano int) (*Contratacao, error) {
	if numero == "" || ano <= 0 {
		return nil, fmt.Errorf("cidades find contratacao ug %s numero %q ano %d: %w: numero and ano are required", ug, numero, ano, ErrInvalid)
	}
	all, err := c.AllContratacoes(ctx, ug, ContratacaoFilter{NumeroContrato: numero, Ano: ano})
	if err != nil {
		return nil, fmt.Errorf("cidades find contratacao ug %s numero %q ano %d: %w", ug, numero, ano, err)
	}
	for _, ct := range all {
		if ct.NumeroContrato == numero && ct.AnoContrato == ano && (ct.CodigoUnidadeGestora == ug || ct.CodigoUnidadeGestora == "") {
			return &ct, nil
		}
	}
	return nil, fmt.Errorf("cidades find contratacao ug %s numero %q ano %d: %w", ug, numero, ano, ErrNotFound)
}

// ListAdmissoes returns one page of ug's admission acts matching f (GET /v1/atos-pessoal/admissoes). A filter
// with TipoBeneficio gives ErrInvalid.
func (c *Client) ListAdmissoes(ctx context.Context, ug string, f AtoFilter) (*Page[AtoPessoal], error) {
	if f.TipoBeneficio != "" {
		return nil, fmt.Errorf("cidades list admissoes ug %s: %w: tipoBeneficio applies to concessoes only", ug, ErrInvalid)
	}
	var out Page[AtoPessoal]
	if _, err := c.do(ctx, ug, opListAdmissoes, http.MethodGet, c.cfg.Paths.Admissoes, c.atoQuery(f), nil, &out); err != nil {
		return nil, fmt.Errorf("cidades list admissoes ug %s page %d: %w", ug, f.Pagina, err)
	}
	return &out, nil
}

// AllAdmissoes returns every admission act of ug matching f, reading every page as AllContratacoes does.
func (c *Client) AllAdmissoes(ctx context.Context, ug string, f AtoFilter) ([]AtoPessoal, error) {
	return allPages(c, f.Pagina, f.TamanhoPagina, func(pagina, tamanho int) (*Page[AtoPessoal], error) {
		f.Pagina, f.TamanhoPagina = pagina, tamanho
		return c.ListAdmissoes(ctx, ug, f)
	})
}

// ListConcessoes returns one page of ug's benefit acts matching f (GET /v1/atos-pessoal/concessoes).
func (c *Client) ListConcessoes(ctx context.Context, ug string, f AtoFilter) (*Page[AtoPessoal], error) {
	var out Page[AtoPessoal]
	if _, err := c.do(ctx, ug, opListConcessoes, http.MethodGet, c.cfg.Paths.Concessoes, c.atoQuery(f), nil, &out); err != nil {
		return nil, fmt.Errorf("cidades list concessoes ug %s page %d: %w", ug, f.Pagina, err)
	}
	return &out, nil
}

// AllConcessoes returns every benefit act of ug matching f, reading every page as AllContratacoes does.
func (c *Client) AllConcessoes(ctx context.Context, ug string, f AtoFilter) ([]AtoPessoal, error) {
	return allPages(c, f.Pagina, f.TamanhoPagina, func(pagina, tamanho int) (*Page[AtoPessoal], error) {
		f.Pagina, f.TamanhoPagina = pagina, tamanho
		return c.ListConcessoes(ctx, ug, f)
	})
}

func (c *Client) atoQuery(f AtoFilter) url.Values {
	q := url.Values{}
	setString(q, "cpf", f.Cpf)
	setString(q, "numeroProcessoTcees", f.NumeroProcessoTcees)
	setString(q, "numeroCertidao", f.NumeroCertidao)
	setString(q, "numeroDecisao", f.NumeroDecisao)
	setInt(q, "anoReferencia", f.AnoReferencia)
	setString(q, "tipoBeneficio", f.TipoBeneficio)
	c.setPage(q, f.Pagina, f.TamanhoPagina)
	return q
}

// ListUnidadesGestoras returns the UGs the key used for ug can see (GET /v1/unidades-gestoras): the UG itself,
// plus its subordinates for an aggregator's own key; only ug when it is reached through its aggregator.
func (c *Client) ListUnidadesGestoras(ctx context.Context, ug string) ([]UnidadeGestora, error) {
	var out []UnidadeGestora
	if _, err := c.do(ctx, ug, opListUnidadesGestoras, http.MethodGet, c.cfg.Paths.UnidadesGestoras, nil, nil, &out); err != nil {
		return nil, fmt.Errorf("cidades list unidades gestoras ug %s: %w", ug, err)
	}
	return out, nil
}

// ListResponsaveis returns the responsáveis of UG codigo (GET /v1/unidades-gestoras/{codigo}/responsaveis),
// using the key of ug. A codigo outside that key's scope gives ErrForbidden.
func (c *Client) ListResponsaveis(ctx context.Context, ug, codigo string) ([]Responsavel, error) {
	if codigo == "" {
		return nil, fmt.Errorf("cidades list responsaveis ug %s: %w: codigo is required", ug, ErrInvalid)
	}
	p := strings.ReplaceAll(c.cfg.Paths.Responsaveis, "{codigo}", url.PathEscape(codigo))
	var out []Responsavel
	if _, err := c.do(ctx, ug, opListResponsaveis, http.MethodGet, p, nil, nil, &out); err != nil {
		return nil, fmt.Errorf("cidades list responsaveis ug %s codigo %s: %w", ug, codigo, err)
	}
	return out, nil
}

func (c *Client) setPage(q url.Values, pagina, tamanho int) {
	setInt(q, c.cfg.Params.Pagina, pagina)
	setInt(q, c.cfg.Params.TamanhoPagina, tamanho)
}

func setString(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

func setInt(q url.Values, k string, v int) {
	if v != 0 {
		q.Set(k, strconv.Itoa(v))
	}
}

// allPages reads pages from first (default 1) until the last one, an empty one, or Config.MaxPages pages.
func allPages[T any](c *Client, first, size int, get func(pagina, tamanho int) (*Page[T], error)) ([]T, error) {
	if first == 0 {
		first = 1
	}
	if size == 0 {
		size = c.cfg.PageSize
	}
	var all []T
	for n, p := 0, first; ; n, p = n+1, p+1 {
		if n == c.cfg.MaxPages {
			return nil, fmt.Errorf("cidades: more than %d pages of %d rows (cidades.maxPages)", c.cfg.MaxPages, size)
		}
		page, err := get(p, size)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Dados...)
		if len(page.Dados) == 0 || p >= page.TotalPaginas {
			return all, nil
		}
	}
}

// Probe is the client's clients.Probe: ListUnidadesGestoras with the key of UG tenant, a small read.
func (c *Client) Probe(ctx context.Context, tenant string) error {
	_, err := c.ListUnidadesGestoras(ctx, tenant)
	return err
}
