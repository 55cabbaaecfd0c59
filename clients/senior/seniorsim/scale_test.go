package seniorsim_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ponte-dev/ponte/clients/senior/seniorsim"
	"github.com/ponte-dev/ponte/schemas"
)

// manyPeople returns fixtures of n people (ids from 1000), each with a CPF (the required document type, so it
// shows in mandatoryDocuments), a registry and two role links, as the benchmark harness registers its hires
// (cmd/internal/harness.WriteFixtures) and as a hire leaves them.
func manyPeople(n int) seniorsim.Fixtures {
	f := seniorsim.Fixtures{
		DocumentTypes: []seniorsim.DocumentType{
			{ID: 1, Name: "Cadastro de Pessoa Física", Label: "CPF", Mask: "999.999.999-99", Required: true, DocumentToREP: true},
			{ID: 2, Name: "Registro Geral", Label: "RG"},
		},
		Roles: []seniorsim.Role{{ID: 2, Name: "Acesso Portaria"}, {ID: 3, Name: "Acesso TI"}},
	}
	for i := range n {
		id := int64(1000 + i)
		f.People = append(f.People, seniorsim.Person{
			ID: id, Name: fmt.Sprintf("Pessoa Escala %05d", i), Registry: scaleRegistry(i), Situation: i % 2,
			Documents: []seniorsim.Document{
				{ID: 10 * id, DocumentTypeID: 1, Document: scaleCPF(i)},
				{ID: 10*id + 1, DocumentTypeID: 2, Document: fmt.Sprintf("%d-SPTC", 7000000+i)},
			},
		})
		for k, role := range []int64{2, 3} {
			f.PersonRoles = append(f.PersonRoles, seniorsim.PersonRoleFixture{
				ID: 2*id + int64(k), PersonID: id, RoleID: role, StartDate: "2025-02-03T08:00:00-03:00",
			})
		}
	}
	return f
}

// scaleCPF is person i's CPF, formatted (the simulator does not check the check digits).
func scaleCPF(i int) string {
	d := fmt.Sprintf("%011d", 40_000_000_000+int64(i)*7919)
	return d[0:3] + "." + d[3:6] + "." + d[6:9] + "-" + d[9:]
}

// scaleRegistry is person i's registry (matrícula).
func scaleRegistry(i int) string { return fmt.Sprintf("E%06d", i) }

// digitsOf returns the digits of s.
func digitsOf(s string) string {
	out := []byte{}
	for i := range len(s) {
		if s[i] >= '0' && s[i] <= '9' {
			out = append(out, s[i])
		}
	}
	return string(out)
}

// lookups are the requests ponte sends to find person i and read its links: FindPersonByCPF with the default
// CPFLookup "search" (the CPF's digits), FindPersonByRegistry (search the registry, then read each candidate),
// one page of the CPFLookup "scan", then ListPersonRoles.
var lookups = []struct {
	name    string
	targets func(i, people int) []string
}{
	{"cpf", func(i, _ int) []string {
		return []string{"/person/search?term=" + digitsOf(scaleCPF(i)), "/person/" + strconv.Itoa(1000+i) + "/roles"}
	}},
	{"registry", func(i, _ int) []string {
		id := strconv.Itoa(1000 + i)
		return []string{"/person/search?term=" + scaleRegistry(i), "/person/" + id, "/person/" + id + "/roles"}
	}},
	{"scan", func(i, people int) []string {
		return []string{"/person/pagedsearchall?pageSize=50&page=" + strconv.Itoa(1+i%max(1, people/50)), "/person/" + strconv.Itoa(1000+i) + "/roles"}
	}},
}

// BenchmarkFindPersonAndListLinks measures the simulator's share of a hire's lookups (one iteration: the
// requests of lookups for one person) at 100 and 10,000 people; the cost per iteration must not grow with the
// population, so the people=100 line is the reference the people=10000 line is read against.
func BenchmarkFindPersonAndListLinks(b *testing.B) {
	for _, n := range []int{100, 10_000} {
		sim := seniorsim.New(manyPeople(n), seniorsim.Options{})
		for _, lk := range lookups {
			b.Run(fmt.Sprintf("people=%d/%s", n, lk.name), func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					for _, target := range lk.targets(i, n) {
						if rec := serve(sim, "GET", api+target); rec.Code != http.StatusOK {
							b.Fatalf("GET %s: %d %s", target, rec.Code, rec.Body)
						}
					}
					i = (i + 7) % n
				}
			})
		}
	}
}

// bytesPerCall returns the bytes the heap grew by, on average, per GET of target, answered 200.
func bytesPerCall(t *testing.T, sim *seniorsim.Server, target string) uint64 {
	t.Helper()
	const runs = 20
	serve(sim, "GET", api+target) // warm up
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		if rec := serve(sim, "GET", api+target); rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", target, rec.Code, rec.Body)
		}
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / runs
}

// TestLookupsDoNotGrowWithPopulation: each request of a hire's lookups allocates about as much at 10,000 people
// (20,000 links) as at 100, so that the simulator's cost per hire does not grow with the people it holds (time is
// what BenchmarkFindPersonAndListLinks shows; the bytes are a measure a test can hold without a clock).
func TestLookupsDoNotGrowWithPopulation(t *testing.T) {
	const small, large = 100, 10_000
	few, many := seniorsim.New(manyPeople(small), seniorsim.Options{}), seniorsim.New(manyPeople(large), seniorsim.Options{})
	for _, target := range []string{
		"/person/search?term=" + digitsOf(scaleCPF(42)),
		"/person/search?term=" + scaleRegistry(42),
		"/person/search?term=" + scaleRegistry(42) + "&situation=0",
		"/person/pagedsearchall?pageSize=50&page=2",
		"/person/pagedsearchall?pageSize=50&page=1&situation=1",
		"/person/1042/roles",
		"/person/1042",
	} {
		t.Run(target, func(t *testing.T) {
			a, b := bytesPerCall(t, few, target), bytesPerCall(t, many, target)
			if b > 2*a+4096 {
				t.Errorf("GET %s allocates %d B at %d people, %d B at %d", target, b, large, a, small)
			}
		})
	}
}

// TestSearchAgainstScan: person/search answers what a scan of every person by id answers (the rule of
// searchPerson: the term in the lowercase name or registry, or, when it has no letters, its digits in a
// document's digits), for terms cut from every field, across the borders of fields and of people, in letters
// whose lowercase is longer than they are, with and without situation.
func TestSearchAgainstScan(t *testing.T) {
	f := manyPeople(30)
	f.People = append(f.People,
		seniorsim.Person{ID: 7, Name: "İlkay Işık ÇELİK", Registry: "ABC-123", Situation: 1,
			Documents: []seniorsim.Document{{ID: 71, DocumentTypeID: 1, Document: "123.456.789-09"}, {ID: 72, DocumentTypeID: 2, Document: "45.6"}}},
		seniorsim.Person{ID: 3, Name: "Ana Bela", Registry: "X123",
			Documents: []seniorsim.Document{{ID: 31, DocumentTypeID: 1, Document: "000.000.001-91"}}},
		seniorsim.Person{ID: 5, Name: "bela ana 123", Registry: ""},
		seniorsim.Person{ID: 4, Name: "100% Ana", Registry: "x1234", Documents: []seniorsim.Document{{ID: 41, DocumentTypeID: 2, Document: "no digits"}}},
	)
	sim := seniorsim.New(f, seniorsim.Options{})

	terms := map[string]bool{"  ana  ": true, "lax1": true, "23x": true, "0945.6": true, "09-45": true, "9145": true, "...": true,
		"%%%": true, "1\x00X": true, "a\x00x": true, "İLK": true, "i̇lk": true, "ilk": true, "IŞI": true, "çel": true, "-12": true}
	for _, p := range f.People {
		fieldsOf := []string{p.Name, p.Registry, p.Name + p.Registry}
		for _, d := range p.Documents {
			fieldsOf = append(fieldsOf, d.Document, digitsOf(d.Document))
		}
		for _, s := range fieldsOf {
			r := []rune(s)
			for n := 3; n <= 6; n++ {
				for i := 0; i+n <= len(r); i += 2 {
					terms[string(r[i:i+n])] = true
				}
			}
		}
	}
	for _, situation := range []string{"", "0", "1"} {
		for term := range terms {
			q := url.Values{"term": {term}}
			if situation != "" {
				q.Set("situation", situation)
			}
			rec := serve(sim, "GET", api+"/person/search?"+q.Encode())
			if utf8.RuneCountInString(strings.TrimSpace(term)) < 3 {
				if rec.Code != http.StatusBadRequest {
					t.Errorf("term %q: %d %s", term, rec.Code, rec.Body)
				}
				continue
			}
			var res []struct{ ID int64 }
			if err := json.Unmarshal(rec.Body.Bytes(), &res); rec.Code != http.StatusOK || err != nil {
				t.Fatalf("term %q: %d %s", term, rec.Code, rec.Body)
			}
			got := []int64{}
			for _, r := range res {
				got = append(got, r.ID)
			}
			if want := scanSearch(f, term, situation); !slices.Equal(got, want) {
				t.Errorf("term %q situation %q: ids %v, want %v", term, situation, got, want)
			}
		}
	}
}

// scanSearch is person/search as a scan of every person, by id.
func scanSearch(f seniorsim.Fixtures, term, situation string) []int64 {
	term = strings.TrimSpace(term)
	lower, digits := strings.ToLower(term), ""
	if !strings.ContainsFunc(term, unicode.IsLetter) {
		digits = schemas.Digits(term)
	}
	out := []int64{}
	for _, p := range f.People {
		if situation != "" && strconv.Itoa(p.Situation) != situation {
			continue
		}
		match := strings.Contains(strings.ToLower(p.Name), lower) || strings.Contains(strings.ToLower(p.Registry), lower) ||
			(digits != "" && slices.ContainsFunc(p.Documents, func(d seniorsim.Document) bool {
				return strings.Contains(schemas.Digits(d.Document), digits)
			}))
		if match {
			out = append(out, p.ID)
		}
	}
	slices.Sort(out)
	return out
}

// TestLinksAgainstScan: after links are added (fixtures out of id order, POST), moved to another person (PUT of
// a link not started) and removed (DELETE), each person's GET /person/{personId}/roles, PersonLinks and
// hasValidRole answer what a scan of every link by id answers.
func TestLinksAgainstScan(t *testing.T) {
	f := manyPeople(6) // people 1000..1005, links 2000..2011
	slices.Reverse(f.PersonRoles)
	f.PersonRoles = append(f.PersonRoles,
		seniorsim.PersonRoleFixture{ID: 1, PersonID: 1003, RoleID: 2, StartDate: "2099-01-01T08:00:00-03:00"},
		seniorsim.PersonRoleFixture{ID: 2500, PersonID: 1000, RoleID: 3, StartDate: "2099-01-01T08:00:00-03:00"},
		seniorsim.PersonRoleFixture{ID: 3000, PersonID: 1001, RoleID: 3, StartDate: "2020-01-01T08:00:00-03:00", EndDate: "2021-01-01T08:00:00-03:00"},
		seniorsim.PersonRoleFixture{ID: 3001, PersonID: 1002, RoleID: 3, StartDate: "2020-01-01T08:00:00-03:00", Suspended: true},
	)
	f.NextPersonRoleID = 4000
	now := time.Date(2025, 6, 2, 12, 0, 0, 0, time.UTC)
	sim := seniorsim.New(f, seniorsim.Options{Now: func() time.Time { return now }})
	put := func(id, person int64, start string) string {
		return fmt.Sprintf(`{"id":%d,"personId":%d,"roleId":2,"startDate":%q}`, id, person, start)
	}
	steps := []struct {
		method, target, body string
		want                 int
	}{
		{"GET", "/person/1000/roles", "", 200},
		{"POST", "/person/role", `{"personId":1004,"roleId":3,"startDate":"2099-02-01T08:00:00-03:00"}`, 200}, // 4000
		{"POST", "/person/role", `{"personId":1001,"roleId":2,"startDate":"2025-01-01T08:00:00-03:00"}`, 200}, // 4001
		{"PUT", "/person/role", put(1, 1000, "2099-01-01T08:00:00-03:00"), 200},                               // first of 1000
		{"PUT", "/person/role", put(4000, 1000, "2099-01-01T08:00:00-03:00"), 200},                            // last of 1000
		{"PUT", "/person/role", put(4000, 1003, "2099-01-01T08:00:00-03:00"), 200},                            // after 2007
		{"PUT", "/person/role", put(1, 1003, "2099-01-01T08:00:00-03:00"), 200},                               // back, first of 1003
		{"PUT", "/person/role", put(2500, 1001, "2099-01-01T08:00:00-03:00"), 200},                            // between 2003 and 3000
		{"DELETE", "/person/role/2003", "", 200},                                                              // 1001 keeps 2002, 2500, 3000, 4001
		{"DELETE", "/person/role/2005", "", 200},                                                              // 1002 keeps 2004, 3001
		{"DELETE", "/person/role/2004", "", 200},                                                              // 1002 keeps 3001 (suspended)
		{"DELETE", "/person/role/2010", "", 200}, {"DELETE", "/person/role/2011", "", 200},                    // 1005 has none
		{"POST", "/person/role", `{"personId":1005,"roleId":3,"startDate":"2099-02-01T08:00:00-03:00"}`, 200}, // 4002, not started
		{"PUT", "/person/role", put(3000, 1005, "2020-01-01T08:00:00-03:00"), 403},                            // started: 403
		{"DELETE", "/person/role/2010", "", 404},                                                              // gone: 404
	}
	for i, st := range steps {
		var body io.Reader
		if st.body != "" {
			body = strings.NewReader(st.body)
		}
		req := httptest.NewRequest(st.method, api+st.target, body)
		req.Header.Set("token", seniorsim.DefaultToken)
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, req)
		if rec.Code != st.want {
			t.Fatalf("step %d %s %s: %d %s, want %d", i, st.method, st.target, rec.Code, rec.Body, st.want)
		}
		for person := int64(1000); person <= 1005; person++ {
			var want []seniorsim.Link
			valid := false
			for id := range int64(4100) {
				if l, ok := sim.Link(id); ok && l.PersonID == person {
					want = append(want, l)
					valid = valid || !l.Suspended && !l.StartDate.After(now) && (l.EndDate.IsZero() || l.EndDate.After(now))
				}
			}
			if got := sim.PersonLinks(person); !slices.Equal(got, want) {
				t.Errorf("step %d: PersonLinks(%d) = %v, want %v", i, person, got, want)
			}
			var listed []struct{ PersonRoleID int64 }
			rec := serve(sim, "GET", api+"/person/"+strconv.FormatInt(person, 10)+"/roles")
			if err := json.Unmarshal(rec.Body.Bytes(), &listed); rec.Code != http.StatusOK || err != nil {
				t.Fatalf("step %d: roles of %d: %d %s", i, person, rec.Code, rec.Body)
			}
			var gotIDs, wantIDs []int64
			for _, l := range listed {
				gotIDs = append(gotIDs, l.PersonRoleID)
			}
			for _, l := range want {
				wantIDs = append(wantIDs, l.ID)
			}
			if !slices.Equal(gotIDs, wantIDs) {
				t.Errorf("step %d: roles of %d = %v, want %v", i, person, gotIDs, wantIDs)
			}
			var p struct{ HasValidRole bool }
			if err := json.Unmarshal(serve(sim, "GET", api+"/person/"+strconv.FormatInt(person, 10)).Body.Bytes(), &p); err != nil || p.HasValidRole != valid {
				t.Errorf("step %d: person %d hasValidRole %v, want %v (%v)", i, person, p.HasValidRole, valid, err)
			}
		}
	}
}
