package cidades

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ponte-dev/ponte/clients"
)

// Defaults of Config. Every one is the value ASSUMED by TARGET-APIS.md section 3.1: no public document states them.
const (
	// DefaultTokenPath is joined to BaseURL when TokenURL is empty.
	DefaultTokenPath = "/oauth/token"
	// DefaultTokenLeeway is how long before expires_in runs out a token is replaced.
	DefaultTokenLeeway = time.Minute
	// DefaultWriteScope is the scope a read-and-send key's token carries.
	DefaultWriteScope = "cidades.escrita"
	// DefaultPageSize is the tamanhoPagina the All* and Find* helpers ask for (the documented maximum).
	DefaultPageSize = 100
	// DefaultMaxPages bounds the pages the All* and Find* helpers read in one call.
	DefaultMaxPages = 1000
)

// TokenAuth is how the client authenticates to the token endpoint.
type TokenAuth string

// The token endpoint authentication methods (RFC 6749 section 2.3.1).
const (
	// TokenAuthForm sends client_id and client_secret in the form body (the default).
	TokenAuthForm TokenAuth = "form"
	// TokenAuthBasic sends them as HTTP Basic credentials.
	TokenAuthBasic TokenAuth = "basic"
)

// Paths are the API paths, relative to BaseURL. The zero value of each field selects its default.
type Paths struct {
	// Contratacoes is the collection of contratações; one contratação is Contratacoes + "/{id}".
	// Default "/v1/contratacoes".
	Contratacoes string `yaml:"contratacoes"`
	// Admissoes is the list of admission acts. Default "/v1/atos-pessoal/admissoes".
	Admissoes string `yaml:"admissoes"`
	// Concessoes is the list of benefit acts. Default "/v1/atos-pessoal/concessoes".
	Concessoes string `yaml:"concessoes"`
	// UnidadesGestoras is the list of UGs in the key's scope. Default "/v1/unidades-gestoras".
	UnidadesGestoras string `yaml:"unidadesGestoras"`
	// Responsaveis is the list of one UG's responsáveis; "{codigo}" is replaced by the UG code.
	// Default "/v1/unidades-gestoras/{codigo}/responsaveis".
	Responsaveis string `yaml:"responsaveis"`
}

// Params are the names of the query parameters that are not filters. The zero value of each field selects its
// default.
type Params struct {
	// UnidadeGestora selects the UG an aggregator's key acts for. Default "codigoUnidadeGestora".
	UnidadeGestora string `yaml:"unidadeGestora"`
	// Pagina is the 1-based page number. Default "pagina".
	Pagina string `yaml:"pagina"`
	// TamanhoPagina is the page size. Default "tamanhoPagina".
	TamanhoPagina string `yaml:"tamanhoPagina"`
}

// UGConfig is how the client authenticates for one UG: either with the UG's own integration key (ClientID and
// ClientSecret) or through an aggregator UG (Via) whose key is used with ?codigoUnidadeGestora=<ug>.
type UGConfig struct {
	// ClientID is the integration key's client id.
	ClientID string `yaml:"clientId"`
	// ClientSecret is the key's client secret. It carries yaml:"-": the configuration loader builds it from a
	// file or the environment (clients.SecretFile, clients.SecretValue).
	ClientSecret *clients.Secret `yaml:"-"`
	// Via names the aggregator UG whose key this UG uses. The aggregator must be configured with its own key.
	Via string `yaml:"via"`
}

// hasKey reports whether u has its own integration key.
func (u UGConfig) hasKey() bool { return u.ClientID != "" || !u.ClientSecret.IsZero() }

// Config configures a Client. The zero values of the optional fields select the defaults documented on each one.
type Config struct {
	// EndpointConfig is the HTTP configuration. BaseURL is required: the CidadES API root is not public.
	clients.EndpointConfig `yaml:",inline"`

	// TokenURL is the OAuth2 token endpoint, an absolute http(s) URL. Default BaseURL + DefaultTokenPath.
	TokenURL string `yaml:"tokenURL"`
	// TokenAuth is how client_id and client_secret are sent: TokenAuthForm (default) or TokenAuthBasic.
	TokenAuth TokenAuth `yaml:"tokenAuth"`
	// TokenLeeway is how long before expires_in runs out a cached token is replaced. Default DefaultTokenLeeway
	// (60s); a negative value means none.
	TokenLeeway time.Duration `yaml:"tokenLeeway"`
	// WriteScope is the scope that marks a read-and-send key (see Client.CanWrite). Default DefaultWriteScope.
	WriteScope string `yaml:"writeScope"`

	// Paths are the API paths; each empty field selects its default.
	Paths Paths `yaml:"paths"`
	// Params are the paging and UG query parameter names; each empty field selects its default.
	Params Params `yaml:"params"`
	// PageSize is the tamanhoPagina the All* and Find* helpers use when the filter sets none. Default
	// DefaultPageSize (100).
	PageSize int `yaml:"pageSize"`
	// MaxPages bounds the pages the All* and Find* helpers read; reaching it is an error. Default DefaultMaxPages.
	MaxPages int `yaml:"maxPages"`

	// UGs maps each UG code the client may act for to its credentials. At least one is required.
	UGs map[string]UGConfig `yaml:"-"` // filled by the configuration loader, which also reads the secrets
}

func (c Config) withDefaults() Config {
	if c.TokenURL == "" && c.BaseURL != "" {
		c.TokenURL = strings.TrimRight(c.BaseURL, "/") + DefaultTokenPath
	}
	if c.TokenAuth == "" {
		c.TokenAuth = TokenAuthForm
	}
	switch {
	case c.TokenLeeway == 0:
		c.TokenLeeway = DefaultTokenLeeway
	case c.TokenLeeway < 0:
		c.TokenLeeway = 0
	}
	if c.WriteScope == "" {
		c.WriteScope = DefaultWriteScope
	}
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.Paths.Contratacoes, "/v1/contratacoes")
	def(&c.Paths.Admissoes, "/v1/atos-pessoal/admissoes")
	def(&c.Paths.Concessoes, "/v1/atos-pessoal/concessoes")
	def(&c.Paths.UnidadesGestoras, "/v1/unidades-gestoras")
	def(&c.Paths.Responsaveis, "/v1/unidades-gestoras/{codigo}/responsaveis")
	def(&c.Params.UnidadeGestora, "codigoUnidadeGestora")
	def(&c.Params.Pagina, "pagina")
	def(&c.Params.TamanhoPagina, "tamanhoPagina")
	if c.PageSize == 0 {
		c.PageSize = DefaultPageSize
	}
	if c.MaxPages == 0 {
		c.MaxPages = DefaultMaxPages
	}
	return c
}

// Validate reports the first unusable setting, naming its key ("cidades.ugs.001002.via: ..."). It does not read
// secret files.
func (c Config) Validate() error {
	if err := c.EndpointConfig.Validate(); err != nil {
		return fmt.Errorf("cidades.%w", err)
	}
	if c.TokenURL != "" {
		u, err := url.Parse(c.TokenURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("cidades.tokenURL: %q is not an absolute http(s) URL", c.TokenURL)
		}
	}
	switch c.TokenAuth {
	case "", TokenAuthForm, TokenAuthBasic:
	default:
		return fmt.Errorf("cidades.tokenAuth: %q is not %q or %q", c.TokenAuth, TokenAuthForm, TokenAuthBasic)
	}
	if strings.ContainsAny(c.WriteScope, " \t") {
		return fmt.Errorf("cidades.writeScope: %q must be a single scope", c.WriteScope)
	}
	for _, p := range []struct{ key, v string }{
		{"contratacoes", c.Paths.Contratacoes},
		{"admissoes", c.Paths.Admissoes},
		{"concessoes", c.Paths.Concessoes},
		{"unidadesGestoras", c.Paths.UnidadesGestoras},
		{"responsaveis", c.Paths.Responsaveis},
	} {
		if p.v != "" && !strings.HasPrefix(p.v, "/") {
			return fmt.Errorf("cidades.paths.%s: %q must start with /", p.key, p.v)
		}
	}
	if c.Paths.Responsaveis != "" && !strings.Contains(c.Paths.Responsaveis, "{codigo}") {
		return fmt.Errorf("cidades.paths.responsaveis: %q must contain {codigo}", c.Paths.Responsaveis)
	}
	if c.PageSize < 0 {
		return errors.New("cidades.pageSize: must not be negative")
	}
	if c.MaxPages < 0 {
		return errors.New("cidades.maxPages: must not be negative")
	}
	if len(c.UGs) == 0 {
		return errors.New("cidades.ugs: at least one UG is required")
	}
	for _, code := range slices.Sorted(maps.Keys(c.UGs)) { // sorted: report the same error every time
		ug := c.UGs[code]
		key := "cidades.ugs." + code
		if code == "" || strings.ContainsAny(code, " \t/?#&") {
			return fmt.Errorf("cidades.ugs: %q is not a UG code", code)
		}
		switch {
		case ug.Via != "" && ug.hasKey():
			return fmt.Errorf("%s.via: set either via or clientId and clientSecret, not both", key)
		case ug.Via == code:
			return fmt.Errorf("%s.via: a UG cannot be its own aggregator", key)
		case ug.Via != "":
			agg, ok := c.UGs[ug.Via]
			if !ok {
				return fmt.Errorf("%s.via: aggregator UG %q is not configured", key, ug.Via)
			}
			if !agg.hasKey() {
				return fmt.Errorf("%s.via: aggregator UG %q has no key of its own (clientId and clientSecret)", key, ug.Via)
			}
		case ug.ClientID == "":
			return fmt.Errorf("%s.clientId: required (or set via)", key)
		case ug.ClientSecret.IsZero():
			return fmt.Errorf("%s.clientSecret: required", key)
		}
	}
	return nil
}
