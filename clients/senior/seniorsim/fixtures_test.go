package seniorsim_test

import (
	"strings"
	"testing"

	"github.com/ponte-dev/ponte/clients/senior/seniorsim"
	"github.com/ponte-dev/ponte/examples"
)

func TestExampleFixtures(t *testing.T) {
	b, err := examples.FS.ReadFile(seniorsim.FixturesPath)
	if err != nil {
		t.Fatal(err)
	}
	f, err := seniorsim.LoadFixtures(b)
	if err != nil {
		t.Fatal(err)
	}
	// Every example of the seed document is in the fixtures.
	person := map[int64]seniorsim.Person{}
	for _, p := range f.People {
		person[p.ID] = p
	}
	role := map[int64]string{}
	for _, r := range f.Roles {
		role[r.ID] = r.Name
	}
	link := map[int64]seniorsim.PersonRoleFixture{}
	for _, l := range f.PersonRoles {
		link[l.ID] = l
	}
	if p, ok := person[29]; !ok || p.Registry != "000029" || p.Documents[0].Document != "529.982.247-25" || p.Emails[0].EmailAddress == "" {
		t.Errorf("person 29 = %+v", p)
	}
	if p := person[123]; p.Name != "Alan Cooper" || p.Registry != "000123" || p.Documents[0].Document != "111.444.777-35" {
		t.Errorf("person 123 = %+v", p)
	}
	for id, name := range map[int64]string{2: "Acesso Portaria", 3: "Acesso TI", 4: "Acesso Prédio Sede", 5: "Acesso Datacenter"} {
		if role[id] != name {
			t.Errorf("role %d = %q, want %q", id, role[id], name)
		}
	}
	want := map[int64]seniorsim.PersonRoleFixture{
		35: {ID: 35, PersonID: 29, RoleID: 3, StartDate: "2017-03-24T10:09:00-03:00"},
		39: {ID: 39, PersonID: 29, RoleID: 2, StartDate: "2017-03-24T10:52:00-03:00"},
	}
	for id, w := range want {
		if link[id] != w {
			t.Errorf("link %d = %+v, want %+v", id, link[id], w)
		}
	}
	if f.NextPersonRoleID != 40 {
		t.Errorf("nextPersonRoleId = %d, want 40", f.NextPersonRoleID)
	}
	var cpfRequired bool
	for _, dt := range f.DocumentTypes {
		if dt.Label == "CPF" && dt.Required {
			cpfRequired = true
		}
	}
	if !cpfRequired {
		t.Error("no required CPF document type")
	}
}

func TestLoadFixturesErrors(t *testing.T) {
	const base = `
documentTypes: [{id: 1, name: CPF, label: CPF, required: true}]
roles: [{id: 2, name: "Acesso Portaria"}]
people: [{id: 29, name: "Marina", documents: [{id: 1, documentTypeId: 1, document: "529.982.247-25"}]}]
`
	tests := []struct {
		name, yaml, want string
	}{
		{"valid", base + `personRoles: [{id: 35, personId: 29, roleId: 2, startDate: "2017-03-24T10:09:00-0300"}]`, ""},
		{"empty", ``, ""},
		{"unknown top-level field", base + `links: []`, "field links not found"},
		{"unknown nested field", base + `personRoles: [{id: 35, personId: 29, roleId: 2, start: "x"}]`, "field start not found"},
		{"wrong type", `roles: [{id: two, name: x}]`, "cannot unmarshal"},
		{"bad start date", base + `personRoles: [{id: 35, personId: 29, roleId: 2, startDate: "24/03/2017"}]`, "personRoles[0].startDate"},
		{"missing start date", base + `personRoles: [{id: 35, personId: 29, roleId: 2}]`, "personRoles[0].startDate"},
		{"fractional start date", base + `personRoles: [{id: 35, personId: 29, roleId: 2, startDate: "2017-03-24T10:09:00.5-03:00"}]`, "personRoles[0].startDate"},
		{"zero start date", base + `personRoles: [{id: 35, personId: 29, roleId: 2, startDate: "0001-01-01T00:00:00Z"}]`, "personRoles[0].startDate"},
		{"bad end date", base + `personRoles: [{id: 35, personId: 29, roleId: 2, startDate: "2017-03-24T10:09:00-03:00", endDate: "x"}]`, "personRoles[0].endDate"},
		{"end before start", base + `personRoles: [{id: 35, personId: 29, roleId: 2, startDate: "2017-03-24T10:09:00-03:00", endDate: "2017-03-23T10:09:00-03:00"}]`, "personRoles[0].endDate: before startDate"},
		{"unknown person", base + `personRoles: [{id: 35, personId: 30, roleId: 2, startDate: "2017-03-24T10:09:00-03:00"}]`, "personRoles[0].personId: unknown person 30"},
		{"unknown role", base + `personRoles: [{id: 35, personId: 29, roleId: 3, startDate: "2017-03-24T10:09:00-03:00"}]`, "personRoles[0].roleId: unknown role 3"},
		{"duplicate link id", base + `personRoles: [{id: 35, personId: 29, roleId: 2, startDate: "2017-03-24T10:09:00-03:00"}, {id: 35, personId: 29, roleId: 2, startDate: "2017-03-24T10:09:00-03:00"}]`, "personRoles[1].id"},
		{"duplicate person", `people: [{id: 29, name: "Marina"}, {id: 29, name: "Again"}]`, "people[1].id: 29"},
		{"unknown document type", `people: [{id: 1, name: x, documents: [{id: 1, documentTypeId: 9, document: "1"}]}]`, "people[0].documents[0].documentTypeId: unknown document type 9"},
		{"bad situation", `people: [{id: 1, name: x, situation: 2}]`, "people[0].situation"},
		{"nameless role", `roles: [{id: 1}]`, "roles[0].name: required"},
		{"next id too low", base + `personRoles: [{id: 35, personId: 29, roleId: 2, startDate: "2017-03-24T10:09:00-03:00"}]` + "\nnextPersonRoleId: 35", "nextPersonRoleId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := seniorsim.LoadFixtures([]byte(tt.yaml))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("LoadFixtures: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadFixtures = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestNewPanicsOnInvalidFixtures(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(error).Error(), "personRoles[0].personId") {
			t.Errorf("recover() = %v", r)
		}
	}()
	seniorsim.New(seniorsim.Fixtures{PersonRoles: []seniorsim.PersonRoleFixture{{ID: 1, PersonID: 1, RoleID: 1, StartDate: "2017-03-24T10:09:00-03:00"}}}, seniorsim.Options{})
}
