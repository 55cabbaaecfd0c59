package senior_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ponte-dev/ponte/clients"
	"github.com/ponte-dev/ponte/clients/fault"
	"github.com/ponte-dev/ponte/clients/senior"
	"github.com/ponte-dev/ponte/clients/senior/seniorsim"
)

// The contract suite: the real client against the simulator over real HTTP. Each test asserts the result, the
// simulator's state and the request log.

// clock is the simulator's settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// simNow is the simulator's "now" in every test: links of 2017 have started, links of 2026 have not.
var simNow = time.Date(2025, 6, 2, 12, 0, 0, 0, time.FixedZone("", -3*3600))

type env struct {
	t     *testing.T
	sim   *seniorsim.Server
	srv   *httptest.Server
	clock *clock
}

// newEnv starts the simulator with f (nil: the example fixtures) behind a real HTTP server, optionally wrapped.
func newEnv(t *testing.T, f *seniorsim.Fixtures, opts seniorsim.Options, wrap ...func(http.Handler) http.Handler) *env {
	t.Helper()
	if f == nil {
		def, err := seniorsim.LoadDefaultFixtures()
		if err != nil {
			t.Fatal(err)
		}
		f = &def
	}
	c := &clock{t: simNow}
	if opts.Now == nil {
		opts.Now = c.Now
	}
	sim := seniorsim.New(*f, opts)
	var h http.Handler = sim
	for _, w := range wrap {
		h = w(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{t: t, sim: sim, srv: srv, clock: c}
}

// rawConfig is a config with the simulator's raw development token.
func (e *env) rawConfig() senior.Config {
	return senior.Config{
		EndpointConfig: clients.EndpointConfig{BaseURL: e.srv.URL + seniorsim.APIPrefix, Timeout: 2 * time.Second},
		Token:          clients.SecretValue(seniorsim.DefaultToken),
	}
}

// keyConfig is a config with the simulator's development application key.
func (e *env) keyConfig() senior.Config {
	return senior.Config{
		EndpointConfig: clients.EndpointConfig{BaseURL: e.srv.URL + seniorsim.APIPrefix, Timeout: 2 * time.Second},
		AccessKey:      seniorsim.DefaultAccessKey,
		Secret:         clients.SecretValue(seniorsim.DefaultSecret),
		TenantName:     seniorsim.DefaultTenantName,
		LoginURL:       e.srv.URL + seniorsim.LoginWithKeyPath,
	}
}

func (e *env) client(cfg senior.Config, opts ...clients.EndpointOptions) *senior.Client {
	e.t.Helper()
	var o clients.EndpointOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	o.Logger = slog.New(slog.DiscardHandler)
	c, err := senior.New(cfg, o)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// log returns the request log as "METHOD /path?query status" lines and clears it.
func (e *env) log() []string {
	var out []string
	for _, r := range e.sim.Faults().Requests() {
		out = append(out, r.String()+" "+http.StatusText(r.Status))
	}
	e.sim.Faults().ClearLog()
	return out
}

// entries returns the request log entries and clears it.
func (e *env) entries() []fault.Entry {
	out := e.sim.Faults().Requests()
	e.sim.Faults().ClearLog()
	return out
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func eqLog(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("request log:\n got  %q\n want %q", got, want)
	}
}

func mustTime(t *testing.T, s string) senior.Time {
	t.Helper()
	v, err := senior.ParseTime(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// wantErr checks err against the sentinel (nil: none), permanence and HTTP status (0: none), and that its text
// contains msg.
func wantErr(t *testing.T, err, sentinel error, permanent bool, status int, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want an error")
	}
	if sentinel != nil && !errors.Is(err, sentinel) {
		t.Errorf("errors.Is(%v, %v) = false", err, sentinel)
	}
	eq(t, "IsPermanent", clients.IsPermanent(err), permanent)
	eq(t, "HTTPStatus", clients.HTTPStatus(err), status)
	if !strings.Contains(err.Error(), msg) {
		t.Errorf("err = %q, want it to contain %q", err, msg)
	}
}

const api = seniorsim.APIPrefix

func TestGetPerson(t *testing.T) {
	e := newEnv(t, nil, seniorsim.Options{})
	c := e.client(e.rawConfig())
	ctx := context.Background()

	t.Run("document's person 29", func(t *testing.T) {
		p, err := c.GetPerson(ctx, 29)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "ID", p.ID, 29)
		eq(t, "Name", p.Name, "Marina Souza Costa")
		eq(t, "Registry", p.Registry, "000029")
		eq(t, "CPF", p.CPF(), "52998224725")
		eq(t, "documents", len(p.Documents), 2)
		eq(t, "documents[1].documentType.label", p.Documents[1].DocumentType.Label, "PIS")
		eq(t, "documents[0].documentType.required", p.Documents[0].DocumentType.Required, true)
		eq(t, "email", p.Emails[0].EmailAddress, "marina.costa@ponte.dev")
		eq(t, "phone", p.Phones[0].PhoneNumber, "27999990029")
		eq(t, "situation", p.Situation, senior.SituationActive)
		eq(t, "hasValidRole", p.HasValidRole, true)
		eq(t, "birthday", p.Birthday, "1988-07-14")
		eqLog(t, e.log(), []string{"GET " + api + "/person/29 OK"})
	})
	t.Run("blocked leaver has no valid role", func(t *testing.T) {
		p, err := c.GetPerson(ctx, 130)
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "situation", p.Situation, senior.SituationBlocked)
		eq(t, "hasValidRole", p.HasValidRole, false)
		e.log()
	})
	t.Run("unknown person is ErrNotFound", func(t *testing.T) {
		_, err := c.GetPerson(ctx, 999)
		wantErr(t, err, senior.ErrNotFound, true, 404, "Person not found")
		var se *clients.StatusError
		if !errors.As(err, &se) {
			t.Errorf("errors.As(*clients.StatusError) = false for %v", err)
		}
		if !strings.HasPrefix(err.Error(), "senior get person 999: ") {
			t.Errorf("err = %q, want the operation and id first", err)
		}
		eqLog(t, e.log(), []string{"GET " + api + "/person/999 Not Found"})
	})
}

func TestSearchPerson(t *testing.T) {
	e := newEnv(t, nil, seniorsim.Options{})
	ctx := context.Background()
	active, blocked := senior.SituationActive, senior.SituationBlocked
	tests := []struct {
		name      string
		situation *int
		term      string
		wantIDs   []int64
		wantLog   []string
	}{
		{name: "name, any case", term: "cooper", wantIDs: []int64{123, 124},
			wantLog: []string{"GET " + api + "/person/search?term=cooper OK"}},
		{name: "name with accents and spaces", term: "Souza Costa", wantIDs: []int64{29},
			wantLog: []string{"GET " + api + "/person/search?term=Souza+Costa OK"}},
		{name: "formatted CPF", term: "529.982.247-25", wantIDs: []int64{29},
			wantLog: []string{"GET " + api + "/person/search?term=529.982.247-25 OK"}},
		{name: "registry", term: "000123", wantIDs: []int64{123},
			wantLog: []string{"GET " + api + "/person/search?term=000123 OK"}},
		{name: "no match is empty", term: "Zacarias", wantIDs: nil,
			wantLog: []string{"GET " + api + "/person/search?term=Zacarias OK"}},
		{name: "only active people", situation: &active, term: "Nunes", wantIDs: nil,
			wantLog: []string{"GET " + api + "/person/search?situation=0&term=Nunes OK"}},
		{name: "only blocked people", situation: &blocked, term: "Nunes", wantIDs: []int64{130},
			wantLog: []string{"GET " + api + "/person/search?situation=1&term=Nunes OK"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := e.rawConfig()
			cfg.SearchSituation = tt.situation
			res, err := e.client(cfg).SearchPerson(ctx, tt.term)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, p := range res {
				ids = append(ids, p.ID)
			}
			if !slices.Equal(ids, tt.wantIDs) {
				t.Errorf("ids = %v, want %v", ids, tt.wantIDs)
			}
			eqLog(t, e.log(), tt.wantLog)
		})
	}
	t.Run("search result shape", func(t *testing.T) {
		res, err := e.client(e.rawConfig()).SearchPerson(ctx, "Marina")
		if err != nil || len(res) != 1 {
			t.Fatalf("SearchPerson = %v, %v", res, err)
		}
		p := res[0]
		eq(t, "CPF", p.CPF(), "52998224725")
		eq(t, "mandatory documents (CPF only, PIS is optional)", len(p.MandatoryDocuments), 1)
		if p.PreferentialEmail == nil || p.PreferentialPhone == nil {
			t.Fatalf("preferential contacts missing: %+v", p)
		}
		eq(t, "email", p.PreferentialEmail.EmailAddress, "marina.costa@ponte.dev")
		eq(t, "ddi", p.PreferentialPhone.DDI, 55)
		e.log()
	})
	t.Run("a CPF term is masked in errors", func(t *testing.T) {
		e.sim.Faults().FailNext(1, http.StatusServiceUnavailable, 0)
		_, err := e.client(e.rawConfig()).SearchPerson(ctx, "529.982.247-25")
		wantErr(t, err, nil, false, 503, `senior search person "529.***.***-25"`)
		if strings.Contains(err.Error(), "982") {
			t.Errorf("err shows the CPF: %v", err)
		}
		e.log()
	})
	t.Run("term shorter than 3 characters is rejected without a request", func(t *testing.T) {
		for _, term := range []string{"", "ab", "  é ", "Jo"} {
			_, err := e.client(e.rawConfig()).SearchPerson(ctx, term)
			wantErr(t, err, senior.ErrInvalid, true, 0, "at least 3 characters")
		}
		eqLog(t, e.log(), nil)
	})
}

// extraFixtures returns the example fixtures plus people that make lookups ambiguous or tricky.
func extraFixtures(t *testing.T, people ...seniorsim.Person) *seniorsim.Fixtures {
	t.Helper()
	f, err := seniorsim.LoadDefaultFixtures()
	if err != nil {
		t.Fatal(err)
	}
	f.People = append(f.People, people...)
	return &f
}

func TestFindPersonByCPF(t *testing.T) {
	ctx := context.Background()
	// 200 has Alan Cooper's CPF as part of an RG: the search returns it, the client must drop it.
	rgHolder := seniorsim.Person{ID: 200, Name: "Renato Gomes", Registry: "000200",
		Documents: []seniorsim.Document{{ID: 20001, DocumentTypeID: 1, Document: "267.104.589-11"}, {ID: 20003, DocumentTypeID: 3, Document: "11144477735-9"}}}
	// 201 duplicates Marina's CPF: a lookup by that CPF is ambiguous.
	duplicate := seniorsim.Person{ID: 201, Name: "Marina S. Costa", Registry: "000201",
		Documents: []seniorsim.Document{{ID: 20101, DocumentTypeID: 1, Document: "52998224725"}}}
	e := newEnv(t, extraFixtures(t, rgHolder), seniorsim.Options{})
	c := e.client(e.rawConfig())

	tests := []struct {
		name    string
		cpf     string
		wantID  int64
		wantLog []string
	}{
		{name: "formatted", cpf: "529.982.247-25", wantID: 29, wantLog: []string{"GET " + api + "/person/search?term=52998224725 OK"}},
		{name: "digits", cpf: "52998224725", wantID: 29, wantLog: []string{"GET " + api + "/person/search?term=52998224725 OK"}},
		{name: "a CPF inside another document does not match", cpf: "111.444.777-35", wantID: 123,
			wantLog: []string{"GET " + api + "/person/search?term=11144477735 OK"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := c.FindPersonByCPF(ctx, tt.cpf)
			if err != nil {
				t.Fatal(err)
			}
			eq(t, "ID", p.ID, tt.wantID)
			eqLog(t, e.log(), tt.wantLog)
		})
	}
	t.Run("unknown CPF is ErrNotFound, masked in the error", func(t *testing.T) {
		_, err := c.FindPersonByCPF(ctx, "853.700.215-11")
		wantErr(t, err, senior.ErrNotFound, true, 0, "853.***.***-11")
		if strings.Contains(err.Error(), "85370021511") || strings.Contains(err.Error(), "853.700.215-11") {
			t.Errorf("err shows the CPF: %v", err)
		}
		eqLog(t, e.log(), []string{"GET " + api + "/person/search?term=85370021511 OK"})
	})
	t.Run("not 11 digits is ErrInvalid without a request", func(t *testing.T) {
		for _, cpf := range []string{"529.982.247", "529.982.247-250"} {
			_, err := c.FindPersonByCPF(ctx, cpf)
			wantErr(t, err, senior.ErrInvalid, true, 0, "11 digits")
			if strings.Contains(err.Error(), "529") {
				t.Errorf("err echoes the input: %v", err)
			}
		}
		eqLog(t, e.log(), nil)
	})
	t.Run("two people with the CPF is ErrAmbiguous", func(t *testing.T) {
		e := newEnv(t, extraFixtures(t, duplicate), seniorsim.Options{})
		_, err := e.client(e.rawConfig()).FindPersonByCPF(ctx, "529.982.247-25")
		wantErr(t, err, senior.ErrAmbiguous, true, 0, "persons 29, 201")
	})
	t.Run("search failure is returned, retryable", func(t *testing.T) {
		e.sim.Faults().FailNext(1, http.StatusServiceUnavailable, 0)
		_, err := c.FindPersonByCPF(ctx, "529.982.247-25")
		wantErr(t, err, nil, false, 503, "senior find person by cpf 529.***.***-25")
		e.log()
	})
}

func TestFindPersonByCPFScan(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil, seniorsim.Options{})
	cfg := e.rawConfig()
	cfg.CPFLookup, cfg.ScanPageSize = senior.CPFLookupScan, 2
	page := func(n string) string { return "GET " + api + "/person/pagedsearchall?page=" + n + "&pageSize=2 OK" }

	t.Run("pages until an empty page", func(t *testing.T) {
		p, err := e.client(cfg).FindPersonByCPF(ctx, "048.315.726-08")
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "ID", p.ID, 131)
		eq(t, "Name", p.Name, "Daniela Prado Vieira")
		// 5 people in pages of 2: pages 1-3, then the empty page 4 ends the scan.
		eqLog(t, e.log(), []string{page("1"), page("2"), page("3"), page("4")})
	})
	t.Run("unknown CPF", func(t *testing.T) {
		_, err := e.client(cfg).FindPersonByCPF(ctx, "853.700.215-11")
		wantErr(t, err, senior.ErrNotFound, true, 0, "853.***.***-11")
		e.log()
	})
	t.Run("page bound", func(t *testing.T) {
		cfg := cfg
		cfg.ScanMaxPages = 2
		_, err := e.client(cfg).FindPersonByCPF(ctx, "048.315.726-08")
		wantErr(t, err, nil, true, 0, "scanMaxPages=2")
		eqLog(t, e.log(), []string{page("1"), page("2")})
	})
}

func TestFindPersonByRegistry(t *testing.T) {
	ctx := context.Background()
	// 210's registry contains "000123": the search returns it and the client must drop it after reading it.
	longer := seniorsim.Person{ID: 210, Name: "Paulo Registro Longo", Registry: "0001234"}
	e := newEnv(t, extraFixtures(t, longer), seniorsim.Options{})
	c := e.client(e.rawConfig())

	t.Run("confirms the registry on each candidate", func(t *testing.T) {
		p, err := c.FindPersonByRegistry(ctx, "000123")
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "ID", p.ID, 123)
		eq(t, "Name", p.Name, "Alan Cooper")
		eqLog(t, e.log(), []string{
			"GET " + api + "/person/search?term=000123 OK",
			"GET " + api + "/person/123 OK",
			"GET " + api + "/person/210 OK",
		})
	})
	t.Run("unknown registry", func(t *testing.T) {
		_, err := c.FindPersonByRegistry(ctx, "999999")
		wantErr(t, err, senior.ErrNotFound, true, 0, `registry "999999"`)
		eqLog(t, e.log(), []string{"GET " + api + "/person/search?term=999999 OK"})
	})
	t.Run("short registry", func(t *testing.T) {
		_, err := c.FindPersonByRegistry(ctx, "12")
		wantErr(t, err, senior.ErrInvalid, true, 0, "at least 3")
		eqLog(t, e.log(), nil)
	})
	t.Run("too many candidates", func(t *testing.T) {
		cfg := e.rawConfig()
		cfg.MaxRegistryCandidates = 1
		_, err := e.client(cfg).FindPersonByRegistry(ctx, "000123")
		wantErr(t, err, senior.ErrAmbiguous, true, 0, "maxRegistryCandidates=1")
		eqLog(t, e.log(), []string{"GET " + api + "/person/search?term=000123 OK"})
	})
	t.Run("two people with the registry", func(t *testing.T) {
		twin := seniorsim.Person{ID: 211, Name: "Outra Empresa", Registry: "000123"}
		e := newEnv(t, extraFixtures(t, twin), seniorsim.Options{})
		_, err := e.client(e.rawConfig()).FindPersonByRegistry(ctx, "000123")
		wantErr(t, err, senior.ErrAmbiguous, true, 0, "persons 123, 211")
	})
	t.Run("a failing read is returned", func(t *testing.T) {
		fail123 := func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == api+"/person/123" {
					w.WriteHeader(http.StatusBadGateway)
					return
				}
				h.ServeHTTP(w, r)
			})
		}
		e := newEnv(t, nil, seniorsim.Options{}, fail123)
		_, err := e.client(e.rawConfig()).FindPersonByRegistry(ctx, "000123")
		wantErr(t, err, nil, false, 502, `senior find person by registry "000123": senior get person 123`)
	})
}

func TestListPersonRoles(t *testing.T) {
	e := newEnv(t, nil, seniorsim.Options{})
	c := e.client(e.rawConfig())
	ctx := context.Background()

	t.Run("document's person 29", func(t *testing.T) {
		roles, err := c.ListPersonRoles(ctx, 29)
		if err != nil {
			t.Fatal(err)
		}
		want := []senior.PersonRole{
			{RoleID: 3, RoleName: "Acesso TI", PersonRoleID: 35, StartDate: mustTime(t, "2017-03-24T10:09:00-03:00")},
			{RoleID: 2, RoleName: "Acesso Portaria", PersonRoleID: 39, StartDate: mustTime(t, "2017-03-24T10:52:00-03:00")},
		}
		if len(roles) != len(want) {
			t.Fatalf("roles = %+v, want %+v", roles, want)
		}
		for i := range want {
			g, w := roles[i], want[i]
			if g.RoleID != w.RoleID || g.RoleName != w.RoleName || g.PersonRoleID != w.PersonRoleID ||
				g.StartDate.String() != w.StartDate.String() || !g.EndDate.IsZero() || g.IsSuspended {
				t.Errorf("roles[%d] = %+v, want %+v", i, g, w)
			}
			if !g.ActiveAt(simNow) {
				t.Errorf("roles[%d] not active at %v", i, simNow)
			}
		}
		eqLog(t, e.log(), []string{"GET " + api + "/person/29/roles OK"})
	})
	t.Run("ended link", func(t *testing.T) {
		roles, err := c.ListPersonRoles(ctx, 130)
		if err != nil || len(roles) != 1 {
			t.Fatalf("ListPersonRoles = %v, %v", roles, err)
		}
		eq(t, "endDate", roles[0].EndDate.String(), "2023-12-29T18:00:00-03:00")
		eq(t, "active", roles[0].ActiveAt(simNow), false)
		e.log()
	})
	t.Run("person without links", func(t *testing.T) {
		roles, err := c.ListPersonRoles(ctx, 131)
		if err != nil || len(roles) != 0 {
			t.Fatalf("ListPersonRoles = %v, %v", roles, err)
		}
		e.log()
	})
	t.Run("unknown person", func(t *testing.T) {
		_, err := c.ListPersonRoles(ctx, 999)
		wantErr(t, err, senior.ErrNotFound, true, 404, "Person not found")
		eqLog(t, e.log(), []string{"GET " + api + "/person/999/roles Not Found"})
	})
}

func TestCreatePersonRole(t *testing.T) {
	e := newEnv(t, nil, seniorsim.Options{})
	c := e.client(e.rawConfig())
	ctx := context.Background()

	t.Run("document's example", func(t *testing.T) {
		link, err := c.CreatePersonRole(ctx, senior.PersonRoleInput{ID: 7, PersonID: 29, RoleID: 2, StartDate: mustTime(t, "2017-03-24T10:09:00-03:00")})
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "id", link.ID, 40)
		eq(t, "personId", link.PersonID, 29)
		eq(t, "roleId", link.RoleID, 2)
		eq(t, "startDate", link.StartDate.String(), "2017-03-24T10:09:00-03:00")
		eq(t, "endDate zero", link.EndDate.IsZero(), true)
		got, ok := e.sim.Link(40)
		if !ok || got.PersonID != 29 || got.RoleID != 2 || !got.EndDate.IsZero() ||
			got.StartDate.Format(senior.Layout) != "2017-03-24T10:09:00-03:00" {
			t.Errorf("sim link 40 = %+v, %v", got, ok)
		}
		ent := e.entries()
		if len(ent) != 1 || ent[0].String() != "POST "+api+"/person/role" || ent[0].Status != 200 {
			t.Fatalf("log = %v", ent)
		}
		// The body is the document's example verbatim (id forced to 0, no endDate).
		eq(t, "body", string(ent[0].Body), `{"id":0,"personId":29,"roleId":2,"startDate":"2017-03-24T10:09:00-03:00"}`)
		eq(t, "token header", ent[0].Header.Get("token"), e.sim.Faults().Mask(seniorsim.DefaultToken)) // the log masks credentials
		eq(t, "content type", ent[0].Header.Get("Content-Type"), "application/json")
	})
	t.Run("with end date, offset kept", func(t *testing.T) {
		start := senior.Time{Time: time.Date(2026, 1, 5, 8, 0, 0, 0, time.FixedZone("", -2*3600))}
		end := mustTime(t, "2026-12-31T18:00:00-03:00")
		link, err := c.CreatePersonRole(ctx, senior.PersonRoleInput{PersonID: 131, RoleID: 4, StartDate: start, EndDate: end})
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "id", link.ID, 41)
		eq(t, "startDate", link.StartDate.String(), "2026-01-05T08:00:00-02:00")
		eq(t, "endDate", link.EndDate.String(), "2026-12-31T18:00:00-03:00")
		ent := e.entries()
		eq(t, "body", string(ent[0].Body), `{"id":0,"personId":131,"roleId":4,"startDate":"2026-01-05T08:00:00-02:00","endDate":"2026-12-31T18:00:00-03:00"}`)
		if l := e.sim.PersonLinks(131); len(l) != 1 || l[0].ID != 41 {
			t.Errorf("sim links of 131 = %+v", l)
		}
	})
	t.Run("overlapping link is allowed", func(t *testing.T) {
		link, err := c.CreatePersonRole(ctx, senior.PersonRoleInput{PersonID: 29, RoleID: 2, StartDate: mustTime(t, "2017-03-24T10:09:00-03:00")})
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "id", link.ID, 42)
		e.log()
	})

	start := mustTime(t, "2026-01-05T08:00:00-03:00")
	errTests := []struct {
		name      string
		in        senior.PersonRoleInput
		sentinel  error
		status    int
		msg       string
		wantInLog string
	}{
		{name: "unknown person", in: senior.PersonRoleInput{PersonID: 999, RoleID: 2, StartDate: start}, sentinel: senior.ErrNotFound, status: 404, msg: "Person not found"},
		{name: "unknown role", in: senior.PersonRoleInput{PersonID: 29, RoleID: 99, StartDate: start}, sentinel: senior.ErrNotFound, status: 404, msg: "Role not found"},
		{name: "missing startDate", in: senior.PersonRoleInput{PersonID: 29, RoleID: 2}, status: 400, msg: "startDate is required"},
		{name: "missing personId", in: senior.PersonRoleInput{RoleID: 2, StartDate: start}, status: 400, msg: "personId is required"},
		{name: "missing roleId", in: senior.PersonRoleInput{PersonID: 29, StartDate: start}, status: 400, msg: "roleId is required"},
		{name: "end before start", in: senior.PersonRoleInput{PersonID: 29, RoleID: 2, StartDate: start, EndDate: mustTime(t, "2026-01-04T08:00:00-03:00")},
			status: 400, msg: "endDate must not be before startDate"},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.sim.PersonLinks(tt.in.PersonID))
			_, err := c.CreatePersonRole(ctx, tt.in)
			wantErr(t, err, tt.sentinel, true, tt.status, tt.msg)
			if tt.sentinel == nil && errors.Is(err, senior.ErrNotFound) {
				t.Errorf("a %d must not match ErrNotFound", tt.status)
			}
			eq(t, "links", len(e.sim.PersonLinks(tt.in.PersonID)), before)
			eq(t, "requests", len(e.log()), 1)
		})
	}
}

func TestUpdatePersonRole(t *testing.T) {
	ctx := context.Background()
	docPUT := senior.PersonRoleInput{ID: 39, PersonID: 29, RoleID: 2,
		StartDate: mustTime(t, "2017-03-24T10:52:00-03:00"), EndDate: mustTime(t, "2017-03-25T14:50:00-03:00")}

	t.Run("document's example: end a started link", func(t *testing.T) {
		e := newEnv(t, nil, seniorsim.Options{})
		if err := e.client(e.rawConfig()).UpdatePersonRole(ctx, docPUT); err != nil {
			t.Fatal(err)
		}
		l, _ := e.sim.Link(39)
		eq(t, "endDate", l.EndDate.Format(senior.Layout), "2017-03-25T14:50:00-03:00")
		eq(t, "startDate", l.StartDate.Format(senior.Layout), "2017-03-24T10:52:00-03:00")
		eq(t, "roleId", l.RoleID, 2)
		ent := e.entries()
		if len(ent) != 1 || ent[0].String() != "PUT "+api+"/person/role" || ent[0].Status != 200 {
			t.Fatalf("log = %v", ent)
		}
		eq(t, "body", string(ent[0].Body),
			`{"id":39,"personId":29,"roleId":2,"startDate":"2017-03-24T10:52:00-03:00","endDate":"2017-03-25T14:50:00-03:00"}`)
	})

	denied := []struct {
		name   string
		change func(*senior.PersonRoleInput)
	}{
		{"roleId", func(in *senior.PersonRoleInput) { in.RoleID = 3 }},
		{"personId", func(in *senior.PersonRoleInput) { in.PersonID = 123 }},
		{"startDate", func(in *senior.PersonRoleInput) { in.StartDate = mustTime(t, "2017-03-24T11:00:00-03:00") }},
	}
	for _, tt := range denied {
		t.Run("started link: changing "+tt.name+" is denied", func(t *testing.T) {
			e := newEnv(t, nil, seniorsim.Options{})
			in := docPUT
			tt.change(&in)
			err := e.client(e.rawConfig()).UpdatePersonRole(ctx, in)
			wantErr(t, err, senior.ErrDenied, true, 403, "Operation denied")
			l, _ := e.sim.Link(39)
			if l.RoleID != 2 || l.PersonID != 29 || !l.EndDate.IsZero() {
				t.Errorf("link 39 changed: %+v", l)
			}
			eqLog(t, e.log(), []string{"PUT " + api + "/person/role Forbidden"})
		})
	}
	t.Run("started link: same instant in another offset is no change", func(t *testing.T) {
		e := newEnv(t, nil, seniorsim.Options{})
		in := docPUT
		in.StartDate = mustTime(t, "2017-03-24T13:52:00Z")
		if err := e.client(e.rawConfig()).UpdatePersonRole(ctx, in); err != nil {
			t.Fatal(err)
		}
		l, _ := e.sim.Link(39)
		eq(t, "stored startDate keeps its offset", l.StartDate.Format(senior.Layout), "2017-03-24T10:52:00-03:00")
	})
	t.Run("link starting in the future may change anything", func(t *testing.T) {
		e := newEnv(t, nil, seniorsim.Options{})
		c := e.client(e.rawConfig())
		link, err := c.CreatePersonRole(ctx, senior.PersonRoleInput{PersonID: 131, RoleID: 4, StartDate: mustTime(t, "2025-07-01T08:00:00-03:00")})
		if err != nil {
			t.Fatal(err)
		}
		upd := senior.PersonRoleInput{ID: link.ID, PersonID: 131, RoleID: 5,
			StartDate: mustTime(t, "2025-08-01T08:00:00-0300"), EndDate: mustTime(t, "2025-12-31T18:00:00-03:00")}
		if err := c.UpdatePersonRole(ctx, upd); err != nil {
			t.Fatal(err)
		}
		l, _ := e.sim.Link(link.ID)
		eq(t, "roleId", l.RoleID, 5)
		eq(t, "startDate", l.StartDate.Format(senior.Layout), "2025-08-01T08:00:00-03:00")
		eq(t, "endDate", l.EndDate.Format(senior.Layout), "2025-12-31T18:00:00-03:00")
		roles, err := c.ListPersonRoles(ctx, 131)
		if err != nil || len(roles) != 1 || roles[0].RoleName != "Acesso Datacenter" || roles[0].Started(simNow) {
			t.Errorf("ListPersonRoles = %+v, %v", roles, err)
		}
		t.Run("to an unknown role", func(t *testing.T) {
			upd.RoleID = 99
			wantErr(t, c.UpdatePersonRole(ctx, upd), senior.ErrNotFound, true, 404, "Role not found")
		})
		t.Run("once it has started, only endDate", func(t *testing.T) {
			e.clock.Add(90 * 24 * time.Hour) // 2025-08-31: the link has started
			upd.RoleID = 4
			wantErr(t, c.UpdatePersonRole(ctx, upd), senior.ErrDenied, true, 403, "Operation denied")
		})
	})
	t.Run("unknown link", func(t *testing.T) {
		e := newEnv(t, nil, seniorsim.Options{})
		in := docPUT
		in.ID = 999
		wantErr(t, e.client(e.rawConfig()).UpdatePersonRole(ctx, in), senior.ErrNotFound, true, 404, "Person/Role not found")
	})
	t.Run("end before start", func(t *testing.T) {
		e := newEnv(t, nil, seniorsim.Options{})
		in := docPUT
		in.EndDate = mustTime(t, "2017-03-23T14:50:00-03:00")
		wantErr(t, e.client(e.rawConfig()).UpdatePersonRole(ctx, in), nil, true, 400, "endDate must not be before startDate")
	})
	t.Run("id 0 is rejected without a request", func(t *testing.T) {
		e := newEnv(t, nil, seniorsim.Options{})
		in := docPUT
		in.ID = 0
		wantErr(t, e.client(e.rawConfig()).UpdatePersonRole(ctx, in), senior.ErrInvalid, true, 0, "id is 0")
		eqLog(t, e.log(), nil)
	})
	t.Run("any 2xx is success", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusCreated) // the document's table says 201
		}))
		defer srv.Close()
		cfg := senior.Config{EndpointConfig: clients.EndpointConfig{BaseURL: srv.URL}, Token: clients.SecretValue("t")}
		c, err := senior.New(cfg, clients.EndpointOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.UpdatePersonRole(ctx, docPUT); err != nil {
			t.Fatal(err)
		}
	})
}

func TestDeletePersonRole(t *testing.T) {
	e := newEnv(t, nil, seniorsim.Options{})
	c := e.client(e.rawConfig())
	ctx := context.Background()
	if err := c.DeletePersonRole(ctx, 35); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.sim.Link(35); ok {
		t.Error("link 35 still exists")
	}
	if l := e.sim.PersonLinks(29); len(l) != 1 || l[0].ID != 39 {
		t.Errorf("links of 29 = %+v, want only 39", l)
	}
	err := c.DeletePersonRole(ctx, 35)
	wantErr(t, err, senior.ErrNotFound, true, 404, "Person/Role not found")
	eqLog(t, e.log(), []string{"DELETE " + api + "/person/role/35 OK", "DELETE " + api + "/person/role/35 Not Found"})
}

func TestListRoles(t *testing.T) {
	e := newEnv(t, nil, seniorsim.Options{})
	roles, err := e.client(e.rawConfig()).ListRoles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range roles {
		names = append(names, r.Name)
	}
	want := []string{"Acesso Portaria", "Acesso TI", "Acesso Prédio Sede", "Acesso Datacenter"}
	if !slices.Equal(names, want) {
		t.Errorf("roles = %q, want %q", names, want)
	}
	eqLog(t, e.log(), []string{"GET " + api + "/role OK"})
}

// --- authentication ---------------------------------------------------------------------------------------------

func TestAuthHeaders(t *testing.T) {
	e := newEnv(t, nil, seniorsim.Options{})
	tests := []struct {
		name   string
		style  senior.HeaderStyle
		prefix string
		header string
		want   string
	}{
		{"token header on sam-api", senior.HeaderToken, seniorsim.APIPrefix, "token", e.sim.Faults().Mask(seniorsim.DefaultToken)},
		{"bearer on the platform gateway", senior.HeaderBearer, seniorsim.GatewayPrefix, "Authorization", "Bearer " + e.sim.Faults().Mask(seniorsim.DefaultToken)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := e.rawConfig()
			cfg.BaseURL, cfg.HeaderStyle = e.srv.URL+tt.prefix, tt.style
			if _, err := e.client(cfg).GetPerson(context.Background(), 29); err != nil {
				t.Fatal(err)
			}
			ent := e.entries()
			eq(t, "path", ent[0].Path, tt.prefix+"/person/29")
			eq(t, tt.header, ent[0].Header.Get(tt.header), tt.want)
		})
	}
}

func TestRawToken(t *testing.T) {
	ctx := context.Background()
	t.Run("wrong token: one request, 401 returned", func(t *testing.T) {
		e := newEnv(t, nil, seniorsim.Options{})
		cfg := e.rawConfig()
		cfg.Token = clients.SecretValue("not-a-token")
		_, err := e.client(cfg).GetPerson(ctx, 29)
		wantAuthErr(t, err, 401, "Token is invalid or expired")
		if strings.Contains(err.Error(), "not-a-token") {
			t.Errorf("err shows the token: %v", err)
		}
		eqLog(t, e.log(), []string{"GET " + api + "/person/29 Unauthorized"})
	})
	t.Run("rotated token file: re-read after 401 and retried once", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(path, []byte("stale-token\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		var once sync.Once
		rotate := func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// The Secret is mounted from a Kubernetes Secret that rotates while the first call is in flight.
				once.Do(func() {
					if err := os.WriteFile(path, []byte(seniorsim.DefaultToken+"\n"), 0o600); err != nil {
						t.Error(err)
					}
				})
				h.ServeHTTP(w, r)
			})
		}
		e := newEnv(t, nil, seniorsim.Options{}, rotate)
		cfg := e.rawConfig()
		cfg.Token = clients.SecretFile(path)
		if _, err := e.client(cfg).GetPerson(ctx, 29); err != nil {
			t.Fatal(err)
		}
		ent := e.entries()
		if len(ent) != 2 {
			t.Fatalf("log = %v", ent)
		}
		eq(t, "first token", ent[0].Header.Get("token"), e.sim.Faults().Mask("stale-token"))
		eq(t, "first status", ent[0].Status, 401)
		eq(t, "retry token", ent[1].Header.Get("token"), e.sim.Faults().Mask(seniorsim.DefaultToken))
		eq(t, "retry status", ent[1].Status, 200)
	})
	t.Run("unreadable token file", func(t *testing.T) {
		e := newEnv(t, nil, seniorsim.Options{})
		cfg := e.rawConfig()
		cfg.Token = clients.SecretFile(filepath.Join(t.TempDir(), "missing"))
		_, err := e.client(cfg).GetPerson(ctx, 29)
		wantErr(t, err, nil, false, 0, "senior token (file ")
		eqLog(t, e.log(), nil)
	})
}

func TestLogin(t *testing.T) {
	ctx := context.Background()
	// The login bodies as the simulator's log keeps them, credentials masked.
	keyBody := func(mask func(string) string) string {
		return `{"accessKey":"` + mask("ponte-dev-key") + `","secret":"` + mask("senior-dev-secret") + `","tenantName":"ponte.dev","scope":"desktop"}`
	}
	userBody := func(mask func(string) string) string {
		return `{"username":"integracao@ponte.dev","password":"` + mask("senior-dev-password") + `"}`
	}
	tests := []struct {
		name      string
		cfg       func(e *env) senior.Config
		loginPath string
		loginBody func(mask func(string) string) string
	}{
		{"application key", func(e *env) senior.Config { return e.keyConfig() }, seniorsim.LoginWithKeyPath, keyBody},
		{"user and password", func(e *env) senior.Config {
			cfg := e.rawConfig()
			cfg.Token, cfg.Username, cfg.Password = nil, seniorsim.DefaultUsername, clients.SecretValue(seniorsim.DefaultPassword)
			cfg.PasswordLoginURL = e.srv.URL + seniorsim.LoginPath
			return cfg
		}, seniorsim.LoginPath, userBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil, seniorsim.Options{TokenTTL: time.Hour})
			c := e.client(tt.cfg(e))
			for range 2 {
				if _, err := c.GetPerson(ctx, 29); err != nil {
					t.Fatal(err)
				}
			}
			ent := e.entries()
			var lines []string
			for _, r := range ent {
				lines = append(lines, r.String())
			}
			eqLog(t, lines, []string{"POST " + tt.loginPath, "GET " + api + "/person/29", "GET " + api + "/person/29"})
			eq(t, "login body", string(ent[0].Body), tt.loginBody(e.sim.Faults().Mask))
			tok := ent[1].Header.Get("token")
			if tok == "" || tok == seniorsim.DefaultToken || ent[2].Header.Get("token") != tok {
				t.Errorf("tokens sent = %q, %q; want the issued token twice", tok, ent[2].Header.Get("token"))
			}
			eq(t, "logins", e.sim.Logins(), 1)

			t.Run("expired token: one re-login and one retry", func(t *testing.T) {
				e.clock.Add(2 * time.Hour) // the simulator expires the token; the client still trusts it
				if _, err := c.GetPerson(ctx, 29); err != nil {
					t.Fatal(err)
				}
				eqLog(t, e.log(), []string{
					"GET " + api + "/person/29 Unauthorized",
					"POST " + tt.loginPath + " OK",
					"GET " + api + "/person/29 OK",
				})
				eq(t, "logins", e.sim.Logins(), 2)
			})
			t.Run("revoked token: same", func(t *testing.T) {
				e.sim.RevokeTokens()
				if _, err := c.ListPersonRoles(ctx, 29); err != nil {
					t.Fatal(err)
				}
				eqLog(t, e.log(), []string{
					"GET " + api + "/person/29/roles Unauthorized",
					"POST " + tt.loginPath + " OK",
					"GET " + api + "/person/29/roles OK",
				})
			})
		})
	}
	t.Run("expires_in is honoured, minus the leeway", func(t *testing.T) {
		e := newEnv(t, nil, seniorsim.Options{TokenTTL: 30 * time.Second}) // within the 1m default leeway
		c := e.client(e.keyConfig())
		for range 2 {
			if _, err := c.GetPerson(ctx, 29); err != nil {
				t.Fatal(err)
			}
		}
		eq(t, "logins", e.sim.Logins(), 2)
	})
	t.Run("a second 401 is returned", func(t *testing.T) {
		reject := func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.URL.Path, api) {
					r.Header.Set("token", "revoked-at-once")
				}
				h.ServeHTTP(w, r)
			})
		}
		e := newEnv(t, nil, seniorsim.Options{}, reject)
		_, err := e.client(e.keyConfig()).GetPerson(ctx, 29)
		wantAuthErr(t, err, 401, "Token is invalid or expired")
		eqLog(t, e.log(), []string{
			"POST " + seniorsim.LoginWithKeyPath + " OK",
			"GET " + api + "/person/29 Unauthorized",
			"POST " + seniorsim.LoginWithKeyPath + " OK",
			"GET " + api + "/person/29 Unauthorized",
		})
	})
	t.Run("bad key: platform 401, secret not in the error, no API call", func(t *testing.T) {
		e := newEnv(t, nil, seniorsim.Options{})
		cfg := e.keyConfig()
		cfg.Secret = clients.SecretValue("wrong-secret-4711")
		_, err := e.client(cfg).GetPerson(ctx, 29)
		wantAuthErr(t, err, 401, "Usuário e/ou senha inválido.")
		if !strings.Contains(err.Error(), "senior login with key for tenant ponte.dev") {
			t.Errorf("err = %v, want the login operation and tenant", err)
		}
		if strings.Contains(err.Error(), "wrong-secret-4711") || strings.Contains(err.Error(), seniorsim.DefaultSecret) {
			t.Errorf("err shows a secret: %v", err)
		}
		eqLog(t, e.log(), []string{"POST " + seniorsim.LoginWithKeyPath + " Unauthorized"})
	})
	t.Run("bad password", func(t *testing.T) {
		e := newEnv(t, nil, seniorsim.Options{})
		cfg := senior.Config{EndpointConfig: clients.EndpointConfig{BaseURL: e.srv.URL + api},
			Username: seniorsim.DefaultUsername, Password: clients.SecretValue("hunter2-wrong"), PasswordLoginURL: e.srv.URL + seniorsim.LoginPath}
		_, err := e.client(cfg).GetPerson(ctx, 29)
		wantAuthErr(t, err, 401, "senior login as integracao@ponte.dev")
		if strings.Contains(err.Error(), "hunter2-wrong") {
			t.Errorf("err shows the password: %v", err)
		}
	})
	t.Run("login down is retryable", func(t *testing.T) {
		e := newEnv(t, nil, seniorsim.Options{})
		e.sim.Faults().FailNext(1, http.StatusServiceUnavailable, 0)
		_, err := e.client(e.keyConfig()).GetPerson(ctx, 29)
		wantErr(t, err, nil, false, 503, "senior get person 29: senior login with key")
	})
}

// TestLoginResponses runs the login against hand-written token endpoints: bad answers become retryable transport
// errors and no error carries a credential or a token.
func TestLoginResponses(t *testing.T) {
	const secret, token = "s3cr3t-value-0042", "tok-9f8e7d6c5b4a"
	tests := []struct {
		name       string
		status     int
		body       string
		permanent  bool
		wantStatus int
		msg        string
	}{
		{"credential echoed in a 400", 400, `{"message":"bad request","secret":"` + secret + `","password":"` + secret + `","accessKey":"ponte-dev-key"}`, false, 400, "HTTP 400"}, // a login refused: an auth failure
		{"jsonToken is not JSON", 200, `{"jsonToken":"access_token=` + token + `"}`, false, 0, "jsonToken is not a JSON object"},
		{"jsonToken missing", 200, `{"token":"` + token + `"}`, false, 0, "response has no jsonToken"},
		{"no access_token", 200, `{"jsonToken":"{\"expires_in\":604800,\"refresh_token\":\"` + token + `\"}"}`, false, 0, "jsonToken has no access_token"},
		{"jsonToken of the wrong type", 200, `{"jsonToken":{"access_token":"` + token + `"}}`, false, 0, "decode 200 response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body) //nolint:errcheck
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body) //nolint:errcheck
			}))
			defer srv.Close()
			cfg := senior.Config{EndpointConfig: clients.EndpointConfig{BaseURL: srv.URL + api},
				AccessKey: "ponte-dev-key", Secret: clients.SecretValue(secret), TenantName: "ponte.dev", LoginURL: srv.URL + "/login"}
			c, err := senior.New(cfg, clients.EndpointOptions{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.GetPerson(context.Background(), 29)
			wantErr(t, err, nil, tt.permanent, tt.wantStatus, tt.msg)
			for _, s := range []string{secret, token, "ponte-dev-key"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("err shows %q: %v", s, err)
				}
			}
		})
	}
}

// --- resilience ---------------------------------------------------------------------------------------------------

func TestBreaker(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil, seniorsim.Options{})
	reg := prometheus.NewRegistry()
	breakers := clients.NewBreakers(clients.BreakerSettings{ConsecutiveFailures: 3, OpenTimeout: 200 * time.Millisecond}, reg)
	c := e.client(e.keyConfig(), clients.EndpointOptions{Breakers: breakers, Registerer: reg})
	key := clients.BreakerKey{Target: "senior"}
	if _, err := c.GetPerson(ctx, 29); err != nil { // logs in while the API is up
		t.Fatal(err)
	}
	e.log()

	t.Run("permanent 404s do not open it", func(t *testing.T) {
		for range 5 {
			if _, err := c.GetPerson(ctx, 999); !errors.Is(err, senior.ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
		}
		for range 5 {
			if _, err := c.CreatePersonRole(ctx, senior.PersonRoleInput{PersonID: 29, RoleID: 2}); clients.HTTPStatus(err) != 400 {
				t.Fatalf("err = %v, want a 400", err)
			}
		}
		eq(t, "state", breakers.State(key), clients.StateClosed)
		eq(t, "requests", len(e.log()), 10)
	})
	t.Run("opens when the API is down", func(t *testing.T) {
		e.sim.Faults().SetDown(true)
		for range 3 {
			_, err := c.GetPerson(ctx, 29)
			var te *clients.TransportError
			if !errors.As(err, &te) || clients.IsPermanent(err) {
				t.Fatalf("err = %v, want a retryable *clients.TransportError", err)
			}
		}
		eq(t, "state", breakers.State(key), clients.StateOpen)
		// net/http may resend an idempotent GET once when a reused connection dies, so 3 calls make 3-6 requests.
		if n := len(e.log()); n < 3 || n > 6 {
			t.Errorf("requests while closed = %d, want 3 to 6", n)
		}
		_, err := c.GetPerson(ctx, 29)
		var oe *clients.OpenError
		if !errors.As(err, &oe) || clients.IsPermanent(err) || clients.RetryAfter(err) <= 0 || clients.RetryAfter(err) > 200*time.Millisecond {
			t.Fatalf("err = %v (retry after %v), want *clients.OpenError", err, clients.RetryAfter(err))
		}
		eq(t, "requests while open", len(e.log()), 0)
	})
	t.Run("closes when the API is back", func(t *testing.T) {
		e.sim.Faults().SetDown(false)
		time.Sleep(250 * time.Millisecond)
		if _, err := c.GetPerson(ctx, 29); err != nil {
			t.Fatal(err)
		}
		eq(t, "state", breakers.State(key), clients.StateClosed)
		eqLog(t, e.log(), []string{"GET " + api + "/person/29 OK"})
	})
}

func TestRetryableStatuses(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil, seniorsim.Options{})
	tests := []struct {
		name      string
		status    int
		retry     time.Duration
		permanent bool
	}{
		{"429 with Retry-After", 429, 2 * time.Second, false},
		{"500", 500, 0, false},
		{"502", 502, 0, false},
		{"503 with Retry-After", 503, 3 * time.Second, false},
		{"504", 504, 0, false},
		{"501 is permanent", 501, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.client(e.rawConfig()) // a fresh breaker each time: these failures would open a shared one
			e.sim.Faults().FailNext(1, tt.status, tt.retry)
			err := c.DeletePersonRole(ctx, 35)
			wantErr(t, err, nil, tt.permanent, tt.status, "senior delete person role link 35")
			eq(t, "RetryAfter", clients.RetryAfter(err), tt.retry)
			if errors.Is(err, senior.ErrNotFound) || errors.Is(err, senior.ErrDenied) {
				t.Errorf("err %v matches a sentinel", err)
			}
			if _, ok := e.sim.Link(35); !ok {
				t.Error("link 35 deleted by a failed call")
			}
		})
	}
	t.Run("connection refused is a retryable transport error", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		cfg := e.rawConfig()
		cfg.BaseURL = srv.URL + api
		_, err := e.client(cfg).GetPerson(ctx, 29)
		var te *clients.TransportError
		if !errors.As(err, &te) || clients.IsPermanent(err) {
			t.Fatalf("err = %v, want a retryable *clients.TransportError", err)
		}
	})
}

// TestWrongBaseURL: with a BaseURL that misses /api/v1 every path is 404. A search or list never answers 404 for
// "nothing matched", so there it must not read as ErrNotFound (callers skip a person Senior does not know).
func TestWrongBaseURL(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil, seniorsim.Options{})
	cfg := e.rawConfig()
	cfg.BaseURL = e.srv.URL
	scan := cfg
	scan.CPFLookup = senior.CPFLookupScan
	calls := []struct {
		name string
		call func() error
	}{
		{"FindPersonByCPF", func() error { _, err := e.client(cfg).FindPersonByCPF(ctx, "529.982.247-25"); return err }},
		{"FindPersonByCPF by scan", func() error { _, err := e.client(scan).FindPersonByCPF(ctx, "529.982.247-25"); return err }},
		{"FindPersonByRegistry", func() error { _, err := e.client(cfg).FindPersonByRegistry(ctx, "000123"); return err }},
		{"SearchPerson", func() error { _, err := e.client(cfg).SearchPerson(ctx, "Marina"); return err }},
		{"ListRoles", func() error { _, err := e.client(cfg).ListRoles(ctx); return err }},
	}
	for _, tt := range calls {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			wantErr(t, err, nil, true, 404, "Resource not found")
			if errors.Is(err, senior.ErrNotFound) {
				t.Errorf("err %v matches ErrNotFound", err)
			}
			eq(t, "requests", len(e.log()), 1)
		})
	}
	t.Run("a call on one person cannot tell", func(t *testing.T) {
		_, err := e.client(cfg).GetPerson(ctx, 29)
		wantErr(t, err, senior.ErrNotFound, true, 404, "Resource not found")
		e.log()
	})
}

func TestMetricsDeclared(t *testing.T) {
	e := newEnv(t, nil, seniorsim.Options{})
	reg := prometheus.NewRegistry()
	e.client(e.keyConfig(), clients.EndpointOptions{Registerer: reg})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]bool{}
	for _, mf := range mfs {
		if mf.GetName() != "ponte_downstream_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["target"] == "senior" && labels["result"] == "success" {
				ops[labels["operation"]] = true
			}
		}
	}
	for _, op := range []string{"get_person", "search_person", "list_person_roles", "create_person_role",
		"update_person_role", "delete_person_role", "list_roles", "login_with_key"} {
		if !ops[op] {
			t.Errorf("no pre-created series for operation %q (have %v)", op, ops)
		}
	}
}

// TestConcurrentCreates checks the client and simulator under -race: parallel creates get distinct ids and share
// one login.
func TestConcurrentCreates(t *testing.T) {
	e := newEnv(t, nil, seniorsim.Options{})
	c := e.client(e.keyConfig())
	start := mustTime(t, "2026-01-05T08:00:00-03:00")
	var wg sync.WaitGroup
	ids := make([]int64, 8)
	for i := range ids {
		wg.Go(func() {
			link, err := c.CreatePersonRole(context.Background(), senior.PersonRoleInput{PersonID: 131, RoleID: 4, StartDate: start})
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = link.ID
		})
	}
	wg.Wait()
	slices.Sort(ids)
	eq(t, "distinct ids", len(slices.Compact(ids)), 8)
	eq(t, "logins", e.sim.Logins(), 1)
	eq(t, "links", len(e.sim.PersonLinks(131)), 8)
}

// wantAuthErr checks an auth failure: credentials refused even after a fresh token (or by the login), the
// target's fault, retryable once fixed: a *clients.AuthError, an outage, with the answer's status and message.
func wantAuthErr(t *testing.T, err error, status int, msg string) {
	t.Helper()
	wantErr(t, err, nil, false, status, msg)
	if ae := (*clients.AuthError)(nil); !errors.As(err, &ae) || !clients.IsOutage(err) {
		t.Errorf("err = %v, want a *clients.AuthError (an outage)", err)
	}
}
