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

// asAPIError turns a *clients.StatusError (also inside the clients wrappers, see clients.MapStatus) into an
// *APIError; other errors pass unchanged.
func asAPIError(err error) error { return clients.MapStatus(err, apiErrorOf) }

// apiErrorOf reads Zeev's error body of se.
func apiErrorOf(se *clients.StatusError) error {
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

// UnexpectedAnswerError is a 2xx answer that is none of the answers the API documents for the call. For
// POST /api/2/users the documented answers are a 200 whose action is Created, Retrieved or Update with the
// person's id, and a 200 with action Error (a *RejectedError); anything else (an empty body, {}, a 204, an unknown
// action such as "error", an id of 0) is this error, never a success with user id 0.
//
// Such an answer is a defect of the server, not a verdict on the request, so it is classed like a 5xx: retryable
// (Permanent reports false), bounded by the caller's attempt budget, and a failure for Zeev's circuit breaker. An
// upsert is safe to retry: with ifExists "update" or "retrieve" it is idempotent, and with "block" a person the
// bad answer did create comes back as a permanent UserAlreadyExists.
type UnexpectedAnswerError struct {
	Operation string // the client operation, e.g. "upsert_user"
	Status    int    // the HTTP status of the answer
	Action    string // the answer's action, "" if it had none
	ID        int    // the answer's id, 0 if it had none
	Body      string // redacted excerpt of the response body
}

// Error implements error: it names the status and the action.
func (e *UnexpectedAnswerError) Error() string {
	action := "no action"
	if e.Action != "" {
		action = fmt.Sprintf("action %q", e.Action)
	}
	s := fmt.Sprintf("zeev %s: unexpected answer: HTTP %d with %s and id %d, want HTTP 200 with action %s, %s or %s and an id",
		e.Operation, e.Status, action, e.ID, ActionCreated, ActionRetrieved, ActionUpdate)
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// Permanent always reports false: the answer says nothing about the request.
func (e *UnexpectedAnswerError) Permanent() bool { return false }
