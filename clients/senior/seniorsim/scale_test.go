package seniorsim_test

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/ponte-dev/ponte/clients/senior/seniorsim"
)

// population returns fixtures of n people (ids from 1000), each with a CPF (the required document type, so it
// shows in mandatoryDocuments), a registry and two role links, as the benchmark harness registers its hires
// (cmd/internal/harness.WriteFixtures) and as a hire leaves them.
func population(n int) seniorsim.Fixtures {
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
		sim := seniorsim.New(population(n), seniorsim.Options{})
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
