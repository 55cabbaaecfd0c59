package zeev

import (
	"errors"
	"fmt"
	"time"

	"github.com/ponte-dev/ponte/clients"
)

// DefaultTokenTTL is how long a temporary token from POST /api/2/tokens is reused: Zeev issues it for 10
// minutes, and integrators refresh it at about 8.
const DefaultTokenTTL = 8 * time.Minute

// Config configures a Client. Set either Token (a permanent token, the recommended choice for a worker) or Login
// and Password (a temporary token is then obtained and cached for TokenTTL). A token represents one person: the
// client acts with that person's permissions in Zeev.
type Config struct {
	// EndpointConfig holds baseURL (required, e.g. "https://acme.zeev.it"), timeout (default 10s), rateLimit
	// (requests per second, default 0 = none; Zeev's tier limits are not public, ponte assumes 5:
	// zeevsim.DefaultRateLimit), rateBurst (default 1) and maxRetryAfter (default 5m).
	clients.EndpointConfig `yaml:",inline"`
	// Token is a permanent token, copied from the integration person's record (Acesso > Pessoas). A file-backed
	// Secret is re-read after a 401, so a rotated token takes effect without a restart.
	Token *clients.Secret `yaml:"-"`
	// Login is the username of the person whose temporary tokens are used. Requires Password; excludes Token.
	Login string `yaml:"login"`
	// Password is Login's password.
	Password *clients.Secret `yaml:"-"`
	// TokenTTL is how long a temporary token is reused before logging in again. Default DefaultTokenTTL (8m).
	// A 401 refreshes it early in any case.
	TokenTTL time.Duration `yaml:"tokenTTL"`
	// KeepDocumentFormat sends AddUser.Document as given. By default (false) it is reduced to its digits, because
	// Zeev stores the value as sent (ASSUMED) and lookups by CPF compare digits.
	KeepDocumentFormat bool `yaml:"keepDocumentFormat"`
}

// Validate reports the first unusable setting, naming its key ("zeev.token: ..."). It does not read the secrets.
func (c Config) Validate() error {
	if err := c.EndpointConfig.Validate(); err != nil {
		return fmt.Errorf("zeev.%w", err)
	}
	hasToken := !c.Token.IsZero()
	hasLogin := c.Login != "" || !c.Password.IsZero()
	switch {
	case !hasToken && !hasLogin:
		return errors.New("zeev.token: set token or login+password")
	case hasToken && hasLogin:
		return errors.New("zeev.token: set either token or login+password, not both")
	case hasLogin && c.Login == "":
		return errors.New("zeev.login: required with password")
	case hasLogin && c.Password.IsZero():
		return errors.New("zeev.password: required with login")
	}
	if c.TokenTTL < 0 {
		return errors.New("zeev.tokenTTL: must not be negative")
	}
	return nil
}
