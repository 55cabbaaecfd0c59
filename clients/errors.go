package clients

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/sony/gobreaker/v2"
)

// StatusError is a non-2xx HTTP response. It is permanent for 4xx other than 401, 408 and 429, and for 501;
// retryable otherwise (a 401 may be cured by a fresh token; one that survives the refresh is an *AuthError). Body is a short, redacted excerpt of the response body: safe to log and to put in dead letters.
type StatusError struct {
	Target    string        // "zeev", "senior" or "cidades"
	Operation string        // the client operation, e.g. "upsert_user"
	Status    int           // the HTTP status code
	Body      string        // redacted excerpt of the response body
	Retry     time.Duration // parsed Retry-After, 0 if absent

	raw []byte // the whole body, unredacted: for parsing only
}

// RawBody returns the whole response body (at most 4 MiB), unredacted, for a client to parse (for example the
// fields of a validation answer). Never log it or put it in an error message: use Body for that.
func (e *StatusError) RawBody() []byte { return e.raw }

// Error implements error.
func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s %s: HTTP %d %s", e.Target, e.Operation, e.Status, http.StatusText(e.Status))
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// Permanent reports whether retrying the same request cannot succeed.
func (e *StatusError) Permanent() bool { return permanentStatus(e.Status) }

// RetryAfter returns the delay the server asked for with Retry-After, 0 if none.
func (e *StatusError) RetryAfter() time.Duration { return e.Retry }

func permanentStatus(code int) bool {
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code == http.StatusUnauthorized:
		return false
	case code == http.StatusNotImplemented:
		return true
	case code >= 400 && code < 500:
		return true
	}
	return false
}

// TransportError is a request that got no HTTP response: connection refused, reset, timeout, or a response that
// could not be read or decoded as the API documents. It is retryable.
type TransportError struct {
	Target    string
	Operation string
	Err       error
}

// Error implements error.
func (e *TransportError) Error() string {
	return fmt.Sprintf("%s %s: %v", e.Target, e.Operation, e.Err)
}

// Unwrap returns the underlying error.
func (e *TransportError) Unwrap() error { return e.Err }

// Permanent always reports false: the same request may succeed later.
func (e *TransportError) Permanent() bool { return false }

// OpenError is a call refused without reaching the network because the target's breaker is open (or half-open
// and already probing). It matches gobreaker.ErrOpenState with errors.Is and is retryable after RetryAfter.
type OpenError struct {
	Target string
	Tenant string
	Wait   time.Duration // time until the breaker half-opens; 0 if unknown
	Err    error         // gobreaker.ErrOpenState or gobreaker.ErrTooManyRequests
}

// Error implements error.
func (e *OpenError) Error() string {
	name := e.Target
	if e.Tenant != "" {
		name += "/" + e.Tenant
	}
	return fmt.Sprintf("%s: circuit breaker open, retry in %s", name, e.Wait.Round(time.Millisecond))
}

// Unwrap returns the gobreaker sentinel.
func (e *OpenError) Unwrap() error { return e.Err }

// Permanent always reports false.
func (e *OpenError) Permanent() bool { return false }

// RetryAfter returns the time left until the breaker lets a probe through.
func (e *OpenError) RetryAfter() time.Duration { return e.Wait }

// OutageError is a failure that the target, not the request, is to blame for: the target answered no call since
// the caller's prior failure (or lately, for a first attempt), or its breaker opened. Callers delay it without
// spending an attempt, so that an outage of any length dead-letters nothing. Retryable after RetryAfter.
type OutageError struct {
	Key  BreakerKey
	Wait time.Duration // time until the breaker half-opens; 0 when it is not open
	Err  error
}

// Error implements error.
func (e *OutageError) Error() string {
	return fmt.Sprintf("%v (%s answers no one: an outage)", e.Err, e.Key)
}

// Unwrap returns the failure.
func (e *OutageError) Unwrap() error { return e.Err }

// Permanent always reports false.
func (e *OutageError) Permanent() bool { return false }

// RetryAfter returns the time until the breaker half-opens, or the failure's own Retry-After.
func (e *OutageError) RetryAfter() time.Duration { return max(e.Wait, RetryAfter(e.Err)) }

// IsOutage reports whether err says the target is failing for everyone: a call refused by an open breaker, a
// failure the target is to blame for (see Breakers.Execute), refused credentials, or a closed throttling gate.
func IsOutage(err error) bool {
	var oe *OutageError
	var ae *AuthError
	return IsBreakerOpen(err) || IsThrottled(err) || errors.As(err, &oe) || errors.As(err, &ae)
}

// AuthError is a target that refuses ponte's credentials even after a fresh token: a revoked token, a renewed
// client secret not yet in ponte's secret file. It is nobody's event's fault: callers delay without spending an
// attempt, and it counts as a failure of the target's breaker, so that the events that need the target wait until
// the credentials are fixed (the secret file is re-read on every login). Retryable.
type AuthError struct {
	Target string
	Tenant string
	Err    error
}

// Error implements error.
func (e *AuthError) Error() string {
	name := e.Target
	if e.Tenant != "" {
		name += "/" + e.Tenant
	}
	return fmt.Sprintf("%s refuses ponte's credentials, even after a fresh token: %v", name, e.Err)
}

// Unwrap returns the failure.
func (e *AuthError) Unwrap() error { return e.Err }

// Permanent always reports false: fixed credentials cure it.
func (e *AuthError) Permanent() bool { return false }

// ThrottledError is a call not sent because the target asked ponte to slow down: the target and tenant's
// throttling gate is closed (a 429, or a 503 with Retry-After) until Wait has passed, for every event. It is also
// the error of the call whose answer closed the gate. Retryable after RetryAfter; it spends no attempt.
type ThrottledError struct {
	Target string
	Tenant string
	Wait   time.Duration
	Err    error // the answer that closed the gate, for the call that got it; nil for a call not sent
}

// Error implements error.
func (e *ThrottledError) Error() string {
	name := e.Target
	if e.Tenant != "" {
		name += "/" + e.Tenant
	}
	if e.Err != nil {
		return fmt.Sprintf("%v (%s throttles: no request for %s)", e.Err, name, e.Wait.Round(time.Millisecond))
	}
	return fmt.Sprintf("%s throttles: no request for %s", name, e.Wait.Round(time.Millisecond))
}

// Unwrap returns the answer that closed the gate, if this call got it.
func (e *ThrottledError) Unwrap() error { return e.Err }

// Permanent always reports false.
func (e *ThrottledError) Permanent() bool { return false }

// RetryAfter returns the time until the gate opens.
func (e *ThrottledError) RetryAfter() time.Duration { return e.Wait }

// IsThrottled reports whether err is a call held back, or answered, by a target that throttles.
func IsThrottled(err error) bool {
	var te *ThrottledError
	return errors.As(err, &te)
}

// IsPermanent reports whether err, or an error it wraps, says retrying cannot help. Errors that say nothing are
// treated as retryable (callers bound the attempts).
func IsPermanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

// RetryAfter returns the delay requested by err or an error it wraps (Retry-After, breaker timeout), 0 if none.
func RetryAfter(err error) time.Duration {
	var r interface{ RetryAfter() time.Duration }
	if errors.As(err, &r) {
		return r.RetryAfter()
	}
	return 0
}

// IsBreakerOpen reports whether err is a call refused by an open or half-open breaker.
func IsBreakerOpen(err error) bool {
	return errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests)
}

// HTTPStatus returns the HTTP status carried by err, 0 if it has none.
func HTTPStatus(err error) int {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}

// parseRetryAfter reads a Retry-After header value: delta-seconds or an HTTP date. It returns 0 when absent or
// unparsable, and caps the delay at max.
func parseRetryAfter(v string, now time.Time, max time.Duration) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	if d < 0 {
		return 0
	}
	if max > 0 && d > max {
		return max
	}
	return d
}

// MapStatus returns err with the *StatusError at its core replaced by fn's error, keeping the wrappers the
// Endpoint and the breakers put around it (*OutageError, *AuthError, *ThrottledError), so that a client can turn a
// status into its API's own error type without losing the class. An err with no *StatusError at its core is
// returned as it is.
func MapStatus(err error, fn func(*StatusError) error) error {
	switch e := err.(type) {
	case *StatusError:
		return fn(e)
	case *OutageError:
		return &OutageError{Key: e.Key, Wait: e.Wait, Err: MapStatus(e.Err, fn)}
	case *AuthError:
		return &AuthError{Target: e.Target, Tenant: e.Tenant, Err: MapStatus(e.Err, fn)}
	case *ThrottledError:
		if e.Err != nil {
			return &ThrottledError{Target: e.Target, Tenant: e.Tenant, Wait: e.Wait, Err: MapStatus(e.Err, fn)}
		}
	}
	return err
}
