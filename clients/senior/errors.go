package senior

// sentinel is an error value that is permanent: retrying the same call cannot change it.
type sentinel string

func (e sentinel) Error() string   { return string(e) }
func (e sentinel) Permanent() bool { return true }

// The errors callers branch on, matched with errors.Is. All are permanent (clients.IsPermanent reports true).
var (
	// ErrNotFound: the person, role or person/role link does not exist (an HTTP 404 from a call on one of them,
	// or no search result matched). A 404 from a search or list is not ErrNotFound: it means the path is wrong.
	// The wrapped *clients.StatusError, when there is one, is still reachable with errors.As.
	ErrNotFound error = sentinel("senior: not found")
	// ErrAmbiguous: a lookup by CPF or registry matched more than one person, or more candidates than
	// Config.MaxRegistryCandidates.
	ErrAmbiguous error = sentinel("senior: ambiguous match")
	// ErrDenied: SAM answered 403 "Operation denied", e.g. a change other than endDate to a link that has
	// already started.
	ErrDenied error = sentinel("senior: operation denied")
	// ErrInvalid: the arguments were rejected before any request was sent (a search term shorter than 3
	// characters, a CPF without 11 digits, a link id of 0).
	ErrInvalid error = sentinel("senior: invalid argument")
)

// permanentError marks an error as permanent while keeping it inspectable.
type permanentError struct{ err error }

func (e permanentError) Error() string   { return e.err.Error() }
func (e permanentError) Unwrap() error   { return e.err }
func (e permanentError) Permanent() bool { return true }
