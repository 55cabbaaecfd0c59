package senior_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ponte-dev/ponte/clients/senior"
)

func TestTimeUnmarshal(t *testing.T) {
	brt := time.FixedZone("", -3*3600)
	tests := []struct {
		name    string
		in      string
		want    time.Time
		wantOut string // MarshalJSON of the result
		wantErr bool
	}{
		{name: "documented form", in: `"2017-03-24T10:09:00-03:00"`, want: time.Date(2017, 3, 24, 10, 9, 0, 0, brt), wantOut: `"2017-03-24T10:09:00-03:00"`},
		{name: "colon-less offset", in: `"2017-03-24T08:00:00-0300"`, want: time.Date(2017, 3, 24, 8, 0, 0, 0, brt), wantOut: `"2017-03-24T08:00:00-03:00"`},
		{name: "UTC as Z", in: `"2017-03-24T13:09:00Z"`, want: time.Date(2017, 3, 24, 13, 9, 0, 0, time.UTC), wantOut: `"2017-03-24T13:09:00+00:00"`},
		{name: "other offset kept", in: `"2017-03-24T14:09:00+01:00"`, want: time.Date(2017, 3, 24, 13, 9, 0, 0, time.UTC), wantOut: `"2017-03-24T14:09:00+01:00"`},
		{name: "fractional seconds", in: `"2017-03-24T10:09:00.250-03:00"`, want: time.Date(2017, 3, 24, 10, 9, 0, 250e6, brt), wantOut: `"2017-03-24T10:09:00-03:00"`},
		{name: "empty string is no date", in: `""`, wantOut: `""`},
		{name: "null is no date", in: `null`, wantOut: `""`},
		{name: "date only", in: `"2017-03-24"`, wantErr: true},
		{name: "no offset", in: `"2017-03-24T10:09:00"`, wantErr: true},
		{name: "not a string", in: `1490360940`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got senior.Time
			err := json.Unmarshal([]byte(tt.in), &got)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Unmarshal(%s) = %v, want an error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Unmarshal(%s): %v", tt.in, err)
			}
			if !got.Equal(tt.want) || got.IsZero() != tt.want.IsZero() {
				t.Errorf("Unmarshal(%s) = %v, want %v", tt.in, got.Time, tt.want)
			}
			out, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.wantOut {
				t.Errorf("Marshal = %s, want %s", out, tt.wantOut)
			}
		})
	}
}

func TestTimeOmitzero(t *testing.T) {
	start, err := senior.ParseTime("2017-03-24T10:09:00-03:00")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   senior.PersonRoleInput
		want string
	}{
		{
			name: "document's POST example: no endDate",
			in:   senior.PersonRoleInput{PersonID: 29, RoleID: 2, StartDate: start},
			want: `{"id":0,"personId":29,"roleId":2,"startDate":"2017-03-24T10:09:00-03:00"}`,
		},
		{
			name: "with endDate",
			in:   senior.PersonRoleInput{ID: 39, PersonID: 29, RoleID: 2, StartDate: start, EndDate: senior.Time{Time: start.Add(time.Hour)}},
			want: `{"id":39,"personId":29,"roleId":2,"startDate":"2017-03-24T10:09:00-03:00","endDate":"2017-03-24T11:09:00-03:00"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("Marshal = %s\nwant        %s", b, tt.want)
			}
		})
	}
}

func TestPersonRoleActiveAt(t *testing.T) {
	at := func(s string) senior.Time {
		v, err := senior.ParseTime(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	now := at("2025-06-02T12:00:00-03:00").Time
	tests := []struct {
		name          string
		role          senior.PersonRole
		started, live bool
	}{
		{"open-ended, started", senior.PersonRole{StartDate: at("2017-03-24T10:09:00-03:00")}, true, true},
		{"starts later", senior.PersonRole{StartDate: at("2025-07-01T08:00:00-03:00")}, false, false},
		{"ended", senior.PersonRole{StartDate: at("2019-05-02T08:00:00-03:00"), EndDate: at("2023-12-29T18:00:00-03:00")}, true, false},
		{"ends later", senior.PersonRole{StartDate: at("2019-05-02T08:00:00-03:00"), EndDate: at("2025-12-31T18:00:00-03:00")}, true, true},
		{"starts exactly now", senior.PersonRole{StartDate: senior.Time{Time: now}}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.role.Started(now); got != tt.started {
				t.Errorf("Started = %v, want %v", got, tt.started)
			}
			if got := tt.role.ActiveAt(now); got != tt.live {
				t.Errorf("ActiveAt = %v, want %v", got, tt.live)
			}
		})
	}
}
