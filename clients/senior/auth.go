package senior

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/ponte-dev/ponte/clients"
)

// loginResponse is the platform login answer: jsonToken is itself a JSON document, in a string.
type loginResponse struct {
	JSONToken string `json:"jsonToken"`
}

// platformToken is the decoded jsonToken.
type platformToken struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"` // seconds
	TokenType   string `json:"token_type"`
}

// token returns the access token to send: the configured one, or the cached platform token (logging in when
// there is none or it is about to expire).
func (c *Client) token(ctx context.Context) (string, error) {
	if c.tokens != nil {
		return c.tokens.Get(ctx)
	}
	v, err := c.cfg.Token.Reveal()
	if err != nil {
		return "", fmt.Errorf("senior token (%s): %w", c.cfg.Token.Source(), err)
	}
	return v, nil
}

// renew is called after a 401 answered a call made with used. It returns the token to retry with, or ok=false
// when there is nothing new to try (a raw token that has not changed).
func (c *Client) renew(ctx context.Context, used string) (tok string, ok bool, err error) {
	if c.tokens != nil {
		c.tokens.Invalidate(used)
		tok, err = c.tokens.Get(ctx)
		return tok, err == nil, err
	}
	tok, err = c.token(ctx)
	if err != nil {
		return "", false, err
	}
	return tok, tok != used, nil
}

func (c *Client) authHeader(tok string) http.Header {
	h := http.Header{}
	if c.cfg.HeaderStyle == HeaderBearer {
		h.Set("Authorization", "Bearer "+tok)
	} else {
		h.Set("token", tok)
	}
	return h
}

// loginWithKey exchanges the application key for a platform token.
func (c *Client) loginWithKey(ctx context.Context) (clients.Token, error) {
	secret, err := c.cfg.Secret.Reveal()
	if err != nil {
		return clients.Token{}, fmt.Errorf("senior login with key for tenant %s: secret (%s): %w", c.cfg.TenantName, c.cfg.Secret.Source(), err)
	}
	body := struct {
		AccessKey  string `json:"accessKey"`
		Secret     string `json:"secret"`
		TenantName string `json:"tenantName"`
		Scope      string `json:"scope"`
	}{c.cfg.AccessKey, secret, c.cfg.TenantName, c.cfg.Scope}
	tok, err := c.login(ctx, opLoginWithKey, c.cfg.LoginURL, body)
	if err != nil {
		return clients.Token{}, fmt.Errorf("senior login with key for tenant %s: %w", c.cfg.TenantName, err)
	}
	return tok, nil
}

// loginWithPassword exchanges the platform user and password for a platform token.
func (c *Client) loginWithPassword(ctx context.Context) (clients.Token, error) {
	password, err := c.cfg.Password.Reveal()
	if err != nil {
		return clients.Token{}, fmt.Errorf("senior login as %s: password (%s): %w", c.cfg.Username, c.cfg.Password.Source(), err)
	}
	body := struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}{c.cfg.Username, password}
	tok, err := c.login(ctx, opLogin, c.cfg.PasswordLoginURL, body)
	if err != nil {
		return clients.Token{}, fmt.Errorf("senior login as %s: %w", c.cfg.Username, err)
	}
	return tok, nil
}

// login posts body to the absolute URL u, inside the breaker, and decodes the nested jsonToken. Its errors never
// carry the request body or the token.
func (c *Client) login(ctx context.Context, op, u string, body any) (clients.Token, error) {
	var out loginResponse
	if _, err := c.ep.Do(ctx, clients.Request{
		Operation: op, Method: http.MethodPost, Path: u, JSON: body, Out: &out, Login: true,
	}); err != nil {
		return clients.Token{}, err
	}
	bad := func(err error) error { return &clients.TransportError{Target: Target, Operation: op, Err: err} }
	if out.JSONToken == "" {
		return clients.Token{}, bad(errors.New("response has no jsonToken"))
	}
	var pt platformToken
	if err := json.Unmarshal([]byte(out.JSONToken), &pt); err != nil {
		// The decoder's message quotes at most a type name, never the token text.
		return clients.Token{}, bad(fmt.Errorf("jsonToken is not a JSON object: %w", err))
	}
	if pt.AccessToken == "" {
		return clients.Token{}, bad(errors.New("jsonToken has no access_token"))
	}
	tok := clients.Token{Value: pt.AccessToken}
	if pt.ExpiresIn > 0 {
		tok.Expiry = c.now().Add(time.Duration(pt.ExpiresIn) * time.Second)
	}
	return tok, nil
}
