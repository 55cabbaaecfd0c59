package clients

import (
	"context"
	"sync"
	"time"
)

// Token is an access token with its expiry. A zero Expiry means it does not expire.
type Token struct {
	Value  string
	Expiry time.Time
}

// TokenCache caches one access token obtained by a fetch function and refreshes it when it is within Leeway of
// its expiry or after Invalidate. Concurrent callers share one fetch. Safe for concurrent use.
type TokenCache struct {
	fetch  func(ctx context.Context) (Token, error)
	leeway time.Duration
	now    func() time.Time

	mu  sync.Mutex
	tok Token
}

// NewTokenCache returns a cache around fetch. leeway is how long before expiry a token is replaced (60s is
// typical); now may be nil for time.Now.
func NewTokenCache(fetch func(ctx context.Context) (Token, error), leeway time.Duration, now func() time.Time) *TokenCache {
	if now == nil {
		now = time.Now
	}
	return &TokenCache{fetch: fetch, leeway: leeway, now: now}
}

// Get returns a valid token, fetching a new one if none is cached or the cached one is about to expire.
func (c *TokenCache) Get(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok.Value != "" && (c.tok.Expiry.IsZero() || c.now().Add(c.leeway).Before(c.tok.Expiry)) {
		return c.tok.Value, nil
	}
	tok, err := c.fetch(ctx)
	if err != nil {
		return "", err
	}
	c.tok = tok
	return tok.Value, nil
}

// Invalidate drops the cached token if it is still the one given (the one a 401 was received with), so that
// concurrent callers that saw the same 401 refresh only once.
func (c *TokenCache) Invalidate(value string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok.Value == value {
		c.tok = Token{}
	}
}
