package senior

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Layout is the date-time form SAM documents and this package writes: "2017-03-24T10:09:00-03:00".
const Layout = "2006-01-02T15:04:05-07:00"

// The forms ParseTime accepts: the documented one (also with "Z") and the colon-less offset the official importer
// sends ("2017-03-24T08:00:00-0300"). time.Parse also accepts a fractional second after the seconds.
const (
	layoutColon   = "2006-01-02T15:04:05Z07:00"
	layoutNoColon = "2006-01-02T15:04:05Z0700"
)

// Time is a SAM date-time with its UTC offset. It marshals to JSON as Layout, keeping the offset it holds, and the
// zero Time as "" (SAM's "no end date"). It unmarshals Layout, the colon-less offset form, "" and null (both
// zero). Use it as a value; it is safe for concurrent reads.
type Time struct {
	time.Time
}

// ParseTime parses s in Layout or with a colon-less offset ("-0300"); "" gives the zero Time.
func ParseTime(s string) (Time, error) {
	if s == "" {
		return Time{}, nil
	}
	var err error
	for _, l := range []string{layoutColon, layoutNoColon} {
		var t time.Time
		if t, err = time.Parse(l, s); err == nil {
			return Time{t}, nil
		}
	}
	return Time{}, fmt.Errorf("senior: date-time %q is not like 2017-03-24T10:09:00-03:00", s)
}

// String returns the time in Layout, or "" for the zero Time.
func (t Time) String() string {
	if t.IsZero() {
		return ""
	}
	return t.Format(Layout)
}

// MarshalJSON implements json.Marshaler: Layout, or "" for the zero Time.
func (t Time) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.String())
}

// UnmarshalJSON implements json.Unmarshaler; see ParseTime. null and "" give the zero Time.
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*t = Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("senior: date-time must be a JSON string: %w", err)
	}
	v, err := ParseTime(s)
	if err != nil {
		return err
	}
	*t = v
	return nil
}
