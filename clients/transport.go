package clients

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// The defaults of EndpointConfig's transport settings.
const (
	// DefaultMaxIdleConnsPerHost is the default of EndpointConfig.MaxIdleConnsPerHost: above the default worker
	// concurrency, so that every concurrent call finds an idle connection.
	DefaultMaxIdleConnsPerHost = 64
	// DefaultIdleConnTimeout is the default of EndpointConfig.IdleConnTimeout, that of Go's default transport.
	DefaultIdleConnTimeout = 90 * time.Second
	// DefaultDialTimeout is the default of EndpointConfig.DialTimeout.
	DefaultDialTimeout = 5 * time.Second
	// DefaultTLSHandshakeTimeout is the default of EndpointConfig.TLSHandshakeTimeout.
	DefaultTLSHandshakeTimeout = 5 * time.Second
)

// The response body limits of an Endpoint.
const (
	// MaxBodyBytes is the most of a response body an Endpoint reads (4 MiB); the rest is not read.
	MaxBodyBytes = 4 << 20
	// MaxDrainBytes is the most an Endpoint reads past MaxBodyBytes, to let a slightly longer body end so that its
	// connection can be reused. A longer body is not read on: the connection is closed instead.
	MaxDrainBytes = 64 << 10
)

// validateTransport reports the first unusable transport setting of c, naming its key.
func (c EndpointConfig) validateTransport() error {
	switch {
	case c.MaxIdleConnsPerHost < 0:
		return errors.New("maxIdleConnsPerHost: must not be negative")
	case c.IdleConnTimeout < 0:
		return errors.New("idleConnTimeout: must not be negative")
	case c.DialTimeout < 0:
		return errors.New("dialTimeout: must not be negative")
	case c.TLSHandshakeTimeout < 0:
		return errors.New("tlsHandshakeTimeout: must not be negative")
	}
	return nil
}

// withTransportDefaults fills the zero transport settings of c with their defaults.
func (c EndpointConfig) withTransportDefaults() EndpointConfig {
	if c.MaxIdleConnsPerHost == 0 {
		c.MaxIdleConnsPerHost = DefaultMaxIdleConnsPerHost
	}
	if c.IdleConnTimeout == 0 {
		c.IdleConnTimeout = DefaultIdleConnTimeout
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.TLSHandshakeTimeout == 0 {
		c.TLSHandshakeTimeout = DefaultTLSHandshakeTimeout
	}
	return c
}

// newHTTPClient returns the *http.Client of an Endpoint configured by cfg (defaults applied, Timeout set):
//
//   - its own transport, shared by no other target, keeping up to MaxIdleConnsPerHost idle connections per host
//     for IdleConnTimeout, so that concurrent calls reuse connections instead of dialing for each one;
//   - dial, TLS handshake and response header timeouts (DialTimeout, TLSHandshakeTimeout, Timeout) under the
//     Timeout of the whole exchange; TLS 1.2 at least; HTTP/2 when the server offers it; the proxy of the
//     environment (HTTPS_PROXY, NO_PROXY);
//   - no redirect followed: a 3xx is the answer, which the Endpoint reports as a *RedirectError. Following one
//     would send the credential headers (Senior's token is not one Go strips on a change of host) and re-send
//     login bodies on 307 and 308, to wherever the Location points.
func newHTTPClient(cfg EndpointConfig) *http.Client {
	dialer := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
	return &http.Client{
		Timeout: cfg.Timeout,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout:   cfg.TLSHandshakeTimeout,
			ResponseHeaderTimeout: cfg.Timeout,
			ExpectContinueTimeout: time.Second,
			MaxIdleConns:          0, // no total bound: MaxIdleConnsPerHost bounds each host (API and token hosts)
			MaxIdleConnsPerHost:   cfg.MaxIdleConnsPerHost,
			IdleConnTimeout:       cfg.IdleConnTimeout,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// RedirectError is a 3xx answer, which an Endpoint never follows. It is permanent: the same request gets the same
// redirect, and following it could hand credentials to another host; the fix is the configured URL (baseURL, a
// login or token URL). It wraps the *StatusError of the answer.
type RedirectError struct {
	*StatusError
	// Location is the redirect's target, without its query and user information; "" if the answer had none.
	Location string
}

// Error implements error, naming the host the redirect points to.
func (e *RedirectError) Error() string {
	where := "no Location"
	if e.Location != "" {
		where = "Location " + e.Location
	}
	return fmt.Sprintf("%s %s: HTTP %d %s to %s, not followed (ponte follows no redirects; check the configured URL)",
		e.Target, e.Operation, e.Status, http.StatusText(e.Status), where)
}

// Unwrap returns the *StatusError.
func (e *RedirectError) Unwrap() error { return e.StatusError }

// Permanent always reports true.
func (e *RedirectError) Permanent() bool { return true }

// redirectError wraps se, a 3xx answer res, with the Location of res resolved against the request's URL and stripped of its query and user information.
func redirectError(se *StatusError, res *http.Response) *RedirectError {
	re := &RedirectError{StatusError: se}
	if loc, err := res.Location(); err == nil {
		loc.RawQuery, loc.User, loc.Fragment = "", nil, ""
		re.Location = loc.String()
	} else if !errors.Is(err, http.ErrNoLocation) {
		re.Location = "(unparsable)"
	}
	return re
}

var _ interface{ Permanent() bool } = (*RedirectError)(nil)

// readBody reads at most MaxBodyBytes of res's body: into one buffer of the announced length when the server
// announced it (io.ReadAll grows its buffer from 512 bytes, allocating about twice the body), else as it comes.
func readBody(res *http.Response) ([]byte, error) {
	if n := res.ContentLength; n >= 0 && n <= MaxBodyBytes {
		b := make([]byte, n)
		got, err := io.ReadFull(res.Body, b) // a body cut short is io.ErrUnexpectedEOF, as io.ReadAll reports it
		return b[:got], err
	}
	return io.ReadAll(io.LimitReader(res.Body, MaxBodyBytes))
}

// drain reads at most MaxDrainBytes more of body, so that a body that ends soon leaves its connection reusable;
// the caller then closes it, which closes the connection of a body that goes on.
func drain(body io.Reader) {
	io.CopyN(io.Discard, body, MaxDrainBytes) //nolint:errcheck // best effort: a failed read closes the connection
}
