package senior

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/ponte-dev/ponte/clients"
)

// Defaults of Config.
const (
	// DefaultBaseURL is the sam-api v1 root the Ronda integration pages use.
	DefaultBaseURL = "https://sam-api.senior.com.br/api/v1"
	// DefaultLoginURL is the platform's application-key login.
	DefaultLoginURL = "https://platform.senior.com.br/t/senior.com.br/bridge/1.0/anonymous/rest/platform/authentication/actions/loginWithKey"
	// DefaultPasswordLoginURL is the platform's user and password login.
	DefaultPasswordLoginURL = "https://platform.senior.com.br/t/senior.com.br/bridge/1.0/rest/platform/authentication/actions/login"
	// DefaultScope is the scope sent with an application-key login.
	DefaultScope = "desktop"
	// DefaultTokenLeeway is how long before its expiry a platform token is replaced.
	DefaultTokenLeeway = time.Minute
	// DefaultMaxRegistryCandidates bounds the GET /person/{id} calls of one FindPersonByRegistry.
	DefaultMaxRegistryCandidates = 20
	// DefaultScanPageSize is the page size of the CPF scan (the official importer's).
	DefaultScanPageSize = 50
	// DefaultScanMaxPages bounds the pages read by one CPF scan.
	DefaultScanMaxPages = 200
)

// HeaderStyle is how the access token is sent to SAM.
type HeaderStyle string

// The header styles.
const (
	// HeaderToken sends "token: <t>", as the sam-api v1 documentation shows (the default).
	HeaderToken HeaderStyle = "token"
	// HeaderBearer sends "Authorization: Bearer <t>", as the platform gateway (.../t/senior.com.br/sam/1.0) expects.
	HeaderBearer HeaderStyle = "bearer"
)

// CPFLookup is how FindPersonByCPF finds candidates.
type CPFLookup string

// The CPF lookup modes.
const (
	// CPFLookupSearch calls GET /person/search?term=<11 digits> once (the default). It relies on the search
	// matching document numbers, which no public document states.
	CPFLookupSearch CPFLookup = "search"
	// CPFLookupScan pages through GET /person/pagedsearchall and matches the CPF on the client: many calls, but it
	// needs nothing undocumented beyond "an empty page ends the list".
	CPFLookupScan CPFLookup = "scan"
)

// Config configures a Client. Exactly one way to authenticate must be set: Token; AccessKey, Secret and
// TenantName; or Username and Password. The zero values of the other fields select the defaults documented on
// each field. Secrets carry yaml:"-": the configuration loader builds them from files or the environment.
type Config struct {
	// EndpointConfig is the HTTP configuration; BaseURL defaults to DefaultBaseURL. Use
	// "https://platform.senior.com.br/t/senior.com.br/sam/1.0" with HeaderBearer for the platform gateway.
	clients.EndpointConfig `yaml:",inline"`

	// HeaderStyle is HeaderToken (default) or HeaderBearer.
	HeaderStyle HeaderStyle `yaml:"headerStyle"`

	// Token is a raw access token sent as is. After a 401 it is read again (a rotated file) and the call is
	// retried once if it changed.
	Token *clients.Secret `yaml:"-"`

	// AccessKey, Secret and TenantName are a platform application key, exchanged at LoginURL for an access token.
	AccessKey  string          `yaml:"accessKey"`
	Secret     *clients.Secret `yaml:"-"`
	TenantName string          `yaml:"tenantName"`
	// Scope is sent with the application-key login. Default DefaultScope ("desktop").
	Scope string `yaml:"scope"`
	// LoginURL is the application-key login endpoint. Default DefaultLoginURL.
	LoginURL string `yaml:"loginURL"`

	// Username ("user@tenant-domain") and Password are a platform user, exchanged at PasswordLoginURL.
	Username string          `yaml:"username"`
	Password *clients.Secret `yaml:"-"`
	// PasswordLoginURL is the user and password login endpoint. Default DefaultPasswordLoginURL.
	PasswordLoginURL string `yaml:"passwordLoginURL"`

	// TokenLeeway is how long before expires_in runs out a platform token is replaced. Default
	// DefaultTokenLeeway (1m).
	TokenLeeway time.Duration `yaml:"tokenLeeway"`

	// SearchSituation, when set, is sent as situation= on person searches (0 active, 1 blocked). Default nil:
	// not sent, every person is searched (leavers may already be blocked).
	SearchSituation *int `yaml:"searchSituation"`
	// CPFLookup is CPFLookupSearch (default) or CPFLookupScan.
	CPFLookup CPFLookup `yaml:"cpfLookup"`
	// ScanPageSize is the pageSize of a CPF scan. Default DefaultScanPageSize (50).
	ScanPageSize int `yaml:"scanPageSize"`
	// ScanMaxPages bounds a CPF scan; reaching it fails the lookup. Default DefaultScanMaxPages (200).
	ScanMaxPages int `yaml:"scanMaxPages"`
	// MaxRegistryCandidates bounds the people FindPersonByRegistry reads to confirm a registry; more search
	// results than that fail with ErrAmbiguous. Default DefaultMaxRegistryCandidates (20).
	MaxRegistryCandidates int `yaml:"maxRegistryCandidates"`
}

// authMode is the way a Client authenticates.
type authMode int

const (
	authNone authMode = iota
	authToken
	authKey
	authPassword
)

func (c Config) withDefaults() Config {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	if c.HeaderStyle == "" {
		c.HeaderStyle = HeaderToken
	}
	if c.Scope == "" {
		c.Scope = DefaultScope
	}
	if c.LoginURL == "" {
		c.LoginURL = DefaultLoginURL
	}
	if c.PasswordLoginURL == "" {
		c.PasswordLoginURL = DefaultPasswordLoginURL
	}
	if c.TokenLeeway == 0 {
		c.TokenLeeway = DefaultTokenLeeway
	}
	if c.CPFLookup == "" {
		c.CPFLookup = CPFLookupSearch
	}
	if c.ScanPageSize == 0 {
		c.ScanPageSize = DefaultScanPageSize
	}
	if c.ScanMaxPages == 0 {
		c.ScanMaxPages = DefaultScanMaxPages
	}
	if c.MaxRegistryCandidates == 0 {
		c.MaxRegistryCandidates = DefaultMaxRegistryCandidates
	}
	return c
}

func (c Config) mode() authMode {
	switch {
	case !c.Token.IsZero():
		return authToken
	case c.AccessKey != "" || !c.Secret.IsZero() || c.TenantName != "":
		return authKey
	case c.Username != "" || !c.Password.IsZero():
		return authPassword
	}
	return authNone
}

// Validate reports the first unusable setting, naming its key ("senior.tenantName: required with accessKey").
// Defaults are applied first, so a zero field that has a default is valid.
func (c Config) Validate() error {
	c = c.withDefaults()
	if err := c.EndpointConfig.Validate(); err != nil {
		return fmt.Errorf("senior.%w", err)
	}
	n := 0
	for _, set := range []bool{
		!c.Token.IsZero(),
		c.AccessKey != "" || !c.Secret.IsZero() || c.TenantName != "",
		c.Username != "" || !c.Password.IsZero(),
	} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		return errors.New("senior.token: set token, or accessKey+secret+tenantName, or username+password")
	case n > 1:
		return errors.New("senior.token: set only one of token, accessKey+secret+tenantName, username+password")
	}
	switch c.mode() {
	case authKey:
		switch {
		case c.AccessKey == "":
			return errors.New("senior.accessKey: required with secret and tenantName")
		case c.Secret.IsZero():
			return errors.New("senior.secret: required with accessKey")
		case c.TenantName == "":
			return errors.New("senior.tenantName: required with accessKey")
		}
		if err := checkURL(c.LoginURL); err != nil {
			return fmt.Errorf("senior.loginURL: %w", err)
		}
	case authPassword:
		switch {
		case c.Username == "":
			return errors.New("senior.username: required with password")
		case c.Password.IsZero():
			return errors.New("senior.password: required with username")
		}
		if err := checkURL(c.PasswordLoginURL); err != nil {
			return fmt.Errorf("senior.passwordLoginURL: %w", err)
		}
	}
	switch {
	case c.HeaderStyle != HeaderToken && c.HeaderStyle != HeaderBearer:
		return fmt.Errorf("senior.headerStyle: %q is not %q or %q", c.HeaderStyle, HeaderToken, HeaderBearer)
	case c.TokenLeeway < 0:
		return errors.New("senior.tokenLeeway: must not be negative")
	case c.SearchSituation != nil && *c.SearchSituation != SituationActive && *c.SearchSituation != SituationBlocked:
		return fmt.Errorf("senior.searchSituation: %d is not 0 (active) or 1 (blocked)", *c.SearchSituation)
	case c.CPFLookup != CPFLookupSearch && c.CPFLookup != CPFLookupScan:
		return fmt.Errorf("senior.cpfLookup: %q is not %q or %q", c.CPFLookup, CPFLookupSearch, CPFLookupScan)
	case c.ScanPageSize < 0:
		return errors.New("senior.scanPageSize: must not be negative")
	case c.ScanMaxPages < 0:
		return errors.New("senior.scanMaxPages: must not be negative")
	case c.MaxRegistryCandidates < 0:
		return errors.New("senior.maxRegistryCandidates: must not be negative")
	}
	return nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return nil
}
