package schemas

import (
	"errors"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// formats returns the formats ponte registers with the compiler, on top of the library's own ("email", ...). The
// "date" and "date-time" ones replace the library's so that what the catalogue accepts is exactly what Go's time
// package parses (handlers parse these values with time.Parse) and so that the messages say what to send instead.
//
// A format's Validate ignores values that are not strings: the schema's "type" reports those.
func formats() []*jsonschema.Format {
	return []*jsonschema.Format{
		{Name: "cpf", Validate: stringFormat(func(s string) error {
			if !ValidCPF(s) {
				return errors.New("want 11 digits, optionally punctuated as ddd.ddd.ddd-dd, with valid check digits")
			}
			return nil
		})},
		{Name: "cnpj", Validate: stringFormat(func(s string) error {
			if !ValidCNPJ(s) {
				return errors.New("want 14 digits, optionally punctuated as 12.345.678/0001-95, with valid check digits")
			}
			return nil
		})},
		{Name: "cpf-or-cnpj", Validate: stringFormat(func(s string) error {
			if !ValidCPF(s) && !ValidCNPJ(s) {
				return errors.New("want a CPF (11 digits) or a CNPJ (14 digits) with valid check digits")
			}
			return nil
		})},
		{Name: "date", Validate: stringFormat(func(s string) error {
			if _, err := time.Parse(time.DateOnly, s); err != nil {
				return errors.New("want a calendar date as YYYY-MM-DD, e.g. 2026-12-01")
			}
			return nil
		})},
		{Name: "date-time", Validate: stringFormat(func(s string) error {
			if _, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return nil
			}
			if _, err := time.Parse("2006-01-02T15:04:05.999999999", s); err == nil {
				return errors.New("the UTC offset is missing; want e.g. 2026-12-01T08:00:00-03:00 or 2026-12-01T11:00:00Z")
			}
			return errors.New("want an RFC 3339 date-time with a UTC offset, e.g. 2026-12-01T08:00:00-03:00")
		})},
	}
}

// piiFormat reports whether values of the named format are personal data. Messages about them never quote the
// value, so that a validation error can be logged as it is.
func piiFormat(name string) bool {
	switch name {
	case "cpf", "cnpj", "cpf-or-cnpj", "email":
		return true
	}
	return false
}

func stringFormat(check func(string) error) func(any) error {
	return func(v any) error {
		s, ok := v.(string)
		if !ok {
			return nil
		}
		return check(s)
	}
}
