package events

import (
	"fmt"
	"strings"
)

// StepError is the failure of one step of a handler: Step wraps every error its function returns in one, so that a
// dead letter can say which target and operation failed, whatever the error. It adds nothing to the message and
// unwraps to the error, so errors.As and errors.Is see through it.
type StepError struct {
	Target    string
	Operation string
	Err       error
}

// Error returns the error's message.
func (e *StepError) Error() string { return e.Err.Error() }

// Unwrap returns the error.
func (e *StepError) Unwrap() error { return e.Err }

// ConfigError says that ponte's own configuration cannot serve the event: no access profile for its org unit and
// position, a UG with no CidadES key. It is permanent for this configuration (the event is dead-lettered with
// reason config_error and no retry is made) but not for the event: replay it once the configuration is fixed.
type ConfigError struct {
	// Target is the downstream system the missing configuration is for ("cidades"); empty when it is none in
	// particular (the access profiles serve several).
	Target string
	// Key is the configuration key to fix, e.g. "profiles" or "cidades.ugs.042".
	Key string
	// Fields are the event's fields that selected the missing configuration (JSON pointers or attribute names).
	Fields []string
	// Message says what is missing and what to do, in one sentence.
	Message string
	// Err is the underlying error, if any.
	Err error
}

// Error returns the message and the key to fix.
func (e *ConfigError) Error() string {
	if e.Key == "" || strings.Contains(e.Message, e.Key) {
		return e.Message
	}
	return fmt.Sprintf("%s (configuration key %s)", e.Message, e.Key)
}

// Unwrap returns Err.
func (e *ConfigError) Unwrap() error { return e.Err }

// Permanent always reports true: retrying with the same configuration cannot help.
func (e *ConfigError) Permanent() bool { return true }

// FieldPairs returns (field, message) for every field, for the dead letter's errors.
func (e *ConfigError) FieldPairs() [][2]string {
	out := make([][2]string, 0, len(e.Fields))
	for _, f := range e.Fields {
		out = append(out, [2]string{f, e.Message})
	}
	return out
}
