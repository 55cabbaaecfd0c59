package zeev

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/ponte-dev/ponte/clients"
)

// ErrNotFound matches, with errors.Is, every error of a call answered 404 (unknown person, team, position or
// group). Such an error is also a permanent *clients.StatusError with errors.As.
var ErrNotFound = errors.New("zeev: not found")

// Error codes of the ErrorResponse body that callers may branch on (APIError.Code). Zeev does not publish its
// codes; these are the ones the sandbox uses (ASSUMED).
const (
	CodeUserAlreadyExists    = "UserAlreadyExists"
	CodeLicenseLimitExceeded = "LicenseLimitExceeded"
	CodeTeamNotFound         = "TeamNotFound"
	CodePositionNotFound     = "PositionNotFound"
	CodeGroupNotFound        = "GroupNotFound"
)

// APIError is a non-2xx answer from Zeev with the fields of its ErrorResponse body
// {"error":{"code","key","message","vars","details"}}, when the body has that shape. It wraps the
// *clients.StatusError that carries the status, the redacted body excerpt and the retry classification
// (Permanent, RetryAfter), so classify with clients.IsPermanent, not with Code.
type APIError struct {
	Code    string   // Zeev's error code, e.g. "UserAlreadyExists"; "" if the body had none
	Key     string   // Zeev's message key
	Message string   // Zeev's message, Portuguese text
	Vars    []string // the message's variables, often the field name
	Err     *clients.StatusError
}

// Error implements error.
func (e *APIError) Error() string { return e.Err.Error() }

// Unwrap returns the *clients.StatusError.
func (e *APIError) Unwrap() error { return e.Err }

// Is reports whether target is ErrNotFound and the status is 404.
func (e *APIError) Is(target error) bool {
	return target == ErrNotFound && e.Err.Status == http.StatusNotFound
}

// RejectedError is a 200 answer that reports a failure: action "Error" from POST /api/2/users, or
// success:false from an account operation. It is permanent: the same request gets the same answer.
type RejectedError struct {
	Operation string // the client operation, e.g. "upsert_user"
	Body      string // redacted excerpt of the response body
}

// Error implements error.
func (e *RejectedError) Error() string {
	return fmt.Sprintf("zeev %s: rejected: %s", e.Operation, e.Body)
}

// Permanent always reports true.
func (e *RejectedError) Permanent() bool { return true }

// asAPIError turns a *clients.StatusError (also inside a *clients.OutageError) into an *APIError; other errors
// pass unchanged.
func asAPIError(err error) error {
	if oe, ok := err.(*clients.OutageError); ok {
		return &clients.OutageError{Key: oe.Key, Wait: oe.Wait, Err: asAPIError(oe.Err)}
	}
	se, ok := err.(*clients.StatusError)
	if !ok {
		return err
	}
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Key     string `json:"key"`
			Message string `json:"message"`
			Vars    []any  `json:"vars"`
		} `json:"error"`
	}
	ae := &APIError{Err: se}
	// Parse the whole body, redacted: se.Body is cut to clients.ExcerptLimit, which would lose the code of a
	// long answer.
	if json.Unmarshal([]byte(clients.Redact(string(se.RawBody()))), &body) == nil {
		ae.Code, ae.Key, ae.Message = body.Error.Code, body.Error.Key, body.Error.Message
		for _, v := range body.Error.Vars {
			ae.Vars = append(ae.Vars, fmt.Sprint(v))
		}
	}
	return ae
}
