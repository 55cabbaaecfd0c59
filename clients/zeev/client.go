// Package zeev is ponte's client for the Zeev BPM REST API v2 (https://<tenant>.zeev.it/api/2/): it creates or
// updates people with POST /api/2/users, looks them up, activates and deactivates their accounts, and reads
// their positions and groups and the team, position and group catalogues.
//
// Every call runs through a clients.Endpoint (target "zeev", tenant ""): one circuit breaker, optional rate
// limiting, metrics, and typed errors. A non-2xx answer is an *APIError wrapping a *clients.StatusError;
// classify it with clients.IsPermanent and clients.RetryAfter. A 404 also matches ErrNotFound. A 200 that
// reports a failure (action "Error", success:false) is a permanent *RejectedError; a 2xx upsert answer that is
// none of the documented ones is a retryable *UnexpectedAnswerError.
//
// Authentication is "Authorization: Bearer <token>" with either a permanent token or temporary tokens obtained
// with a login and password (see Config). On a 401 the client gets a fresh token (a new login, or a re-read of
// the token's Secret) and retries the call exactly once; a second 401, or a Secret that still holds the refused
// token, is returned as a *clients.AuthError (an auth failure: the target pauses, nothing is dead-lettered).
package zeev

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/ponte-dev/ponte/clients"
)

// Target is the clients target name of Zeev, used in metrics, breakers and errors.
const Target = "zeev"

// The operation names used in metrics and errors.
const (
	opLogin             = "login"
	opWhoAmI            = "whoami"
	opUpsertUser        = "upsert_user"
	opGetUser           = "get_user"
	opGetUserByUsername = "get_user_by_username"
	opActivateUser      = "activate_user"
	opDeactivateUser    = "deactivate_user"
	opListUserPositions = "list_user_positions"
	opListUserGroups    = "list_user_groups"
	opGetTeamByCode     = "get_team_by_code"
	opGetPositionByCode = "get_position_by_code"
	opGetGroupByCode    = "get_group_by_code"
)

// Client calls the Zeev API of one tenant with one person's token. Safe for concurrent use.
type Client struct {
	cfg    Config
	ep     *clients.Endpoint
	tokens *clients.TokenCache // nil with a permanent token
	now    func() time.Time
}

// New returns a Client for cfg, which must be valid (New calls cfg.Validate). opts supplies the HTTP client,
// breakers, metrics registerer and logger (all optional). New does not contact Zeev; call WhoAmI to check the
// credentials.
func New(cfg Config, opts clients.EndpointOptions) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.TokenTTL == 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	ep, err := clients.NewEndpoint(Target, cfg.EndpointConfig, opts)
	if err != nil {
		return nil, err
	}
	ep.Declare(opLogin, opWhoAmI, opUpsertUser, opGetUser, opGetUserByUsername, opActivateUser, opDeactivateUser,
		opListUserPositions, opListUserGroups, opGetTeamByCode, opGetPositionByCode, opGetGroupByCode)
	ep.DeclareTenant("")
	c := &Client{cfg: cfg, ep: ep, now: time.Now}
	if cfg.Token.IsZero() {
		c.tokens = clients.NewTokenCache(c.login, 0, func() time.Time { return c.now() })
	}
	ep.Breakers().SetProbe(Target, c.Probe) // tells a lone failing request from an outage
	return c, nil
}

// token returns the token to send.
func (c *Client) token(ctx context.Context) (string, error) {
	if c.tokens != nil {
		return c.tokens.Get(ctx)
	}
	tok, err := c.cfg.Token.Reveal()
	if err != nil {
		return "", fmt.Errorf("zeev token (%s): %w", c.cfg.Token.Source(), err)
	}
	return tok, nil
}

// login obtains a temporary token with POST /api/2/tokens.
func (c *Client) login(ctx context.Context) (clients.Token, error) {
	password, err := c.cfg.Password.Reveal()
	if err != nil {
		return clients.Token{}, fmt.Errorf("zeev login %s: password (%s): %w", c.cfg.Login, c.cfg.Password.Source(), err)
	}
	var out struct {
		TemporaryToken string `json:"temporaryToken"`
	}
	_, err = c.ep.Do(ctx, clients.Request{
		Operation: opLogin,
		Method:    http.MethodPost,
		Path:      "/api/2/tokens",
		JSON:      map[string]string{"login": c.cfg.Login, "password": password},
		Out:       &out,
		Login:     true,
	})
	if err != nil {
		return clients.Token{}, fmt.Errorf("zeev login %s: %w", c.cfg.Login, asAPIError(err))
	}
	if out.TemporaryToken == "" {
		return clients.Token{}, fmt.Errorf("zeev login %s: %w", c.cfg.Login,
			&clients.TransportError{Target: Target, Operation: opLogin, Err: fmt.Errorf("answer has no temporaryToken")})
	}
	return clients.Token{Value: out.TemporaryToken, Expiry: c.now().Add(c.cfg.TokenTTL)}, nil
}

// do sends req with the bearer token; on a 401 it refreshes the token (a new login, or a re-read of the token's
// file) and retries once. A 401 that survives that, or a token file that still holds the refused token, is an
// auth failure (*clients.AuthError). Errors are returned unwrapped from the Endpoint except that a
// *clients.StatusError becomes an *APIError.
func (c *Client) do(ctx context.Context, req clients.Request) (*clients.Response, error) {
	tok, err := c.token(ctx)
	if err != nil {
		return nil, err
	}
	req.Header = http.Header{"Authorization": {"Bearer " + tok}}
	resp, err := c.ep.Do(ctx, req)
	if clients.HTTPStatus(err) == http.StatusUnauthorized {
		used, refused := tok, err
		if c.tokens != nil {
			c.tokens.Invalidate(tok)
		}
		if tok, err = c.token(ctx); err != nil {
			return nil, err
		}
		if c.tokens == nil && tok == used {
			// The permanent token's file holds the same token: nothing new to try.
			return nil, asAPIError(c.ep.RefusedUnchanged(ctx, "", refused))
		}
		req.Header, req.Renewed = http.Header{"Authorization": {"Bearer " + tok}}, true
		resp, err = c.ep.Do(ctx, req) // a 401 again is an *clients.AuthError
	}
	if err != nil {
		return nil, asAPIError(err)
	}
	return resp, nil
}

// WhoAmI returns the person the client's token represents (GET /api/2/tokens). It is a cheap health check of
// the URL and credentials.
func (c *Client) WhoAmI(ctx context.Context) (*Identity, error) {
	var out Identity
	if _, err := c.do(ctx, clients.Request{Operation: opWhoAmI, Method: http.MethodGet, Path: "/api/2/tokens", Out: &out}); err != nil {
		return nil, fmt.Errorf("zeev whoami: %w", err)
	}
	return &out, nil
}

// Probe is the client's clients.Probe: WhoAmI, the cheapest call (Zeev has one tenant, so tenant is unused).
func (c *Client) Probe(ctx context.Context, _ string) error {
	_, err := c.WhoAmI(ctx)
	return err
}
