package seniorsim_test

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ponte-dev/ponte/clients/fault/faulttest"
	"github.com/ponte-dev/ponte/clients/senior/seniorsim"
)

// Raw-HTTP tests of the simulator, with bodies copied verbatim from the seed document.

var simNow = time.Date(2025, 6, 2, 12, 0, 0, 0, time.FixedZone("", -3*3600))

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

func start(t *testing.T, opts seniorsim.Options) (*seniorsim.Server, *httptest.Server, *clock) {
	t.Helper()
	f, err := seniorsim.LoadDefaultFixtures()
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: simNow}
	if opts.Now == nil {
		opts.Now = c.Now
	}
	sim := seniorsim.New(f, opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv, c
}

// call sends a request with the development token unless header overrides it, and returns status and body.
func call(t *testing.T, srv *httptest.Server, method, path, body string, header ...string) (int, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if len(header) == 0 {
		header = []string{"token", seniorsim.DefaultToken}
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, strings.TrimSpace(string(b))
}

func check(t *testing.T, gotStatus int, gotBody string, wantStatus int, wantBody string) {
	t.Helper()
	if gotStatus != wantStatus || gotBody != wantBody {
		t.Errorf("got %d %s\nwant %d %s", gotStatus, gotBody, wantStatus, wantBody)
	}
}

// keys returns the sorted keys of a JSON object.
func keys(t *testing.T, obj json.RawMessage) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		t.Fatalf("not a JSON object: %s", obj)
	}
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

const api = seniorsim.APIPrefix

// The seed document's examples, verbatim.
const (
	docPOST = `{
"id": 0,
"personId": 29,
"roleId": 2,
"startDate": "2017-03-24T10:09:00-03:00"
}`
	docPUT = `{
"id": 39,
"personId": 29,
"roleId": 2,
"startDate": "2017-03-24T10:52:00-03:00",
"endDate": "2017-03-25T14:50:00-03:00"
}`
)

func TestDocumentExamples(t *testing.T) {
	sim, srv, _ := start(t, seniorsim.Options{})

	t.Run("POST /person/role", func(t *testing.T) {
		st, body := call(t, srv, "POST", api+"/person/role", docPOST)
		check(t, st, body, 200, `{"id":40,"personId":29,"roleId":2,"startDate":"2017-03-24T10:09:00-03:00","endDate":""}`)
		if l, ok := sim.Link(40); !ok || l.PersonID != 29 || l.RoleID != 2 {
			t.Errorf("link 40 = %+v, %v", l, ok)
		}
	})
	t.Run("PUT /person/role", func(t *testing.T) {
		st, body := call(t, srv, "PUT", api+"/person/role", docPUT)
		check(t, st, body, 200, "")
		l, _ := sim.Link(39)
		if got := l.EndDate.Format(time.RFC3339); got != "2017-03-25T14:50:00-03:00" {
			t.Errorf("link 39 endDate = %s", got)
		}
	})
	t.Run("GET /person/{personId}/roles", func(t *testing.T) {
		st, body := call(t, srv, "GET", api+"/person/29/roles", "")
		want := `[{"roleId":3,"roleName":"Acesso TI","personRoleId":35,"startDate":"2017-03-24T10:09:00-03:00","endDate":"","isSuspended":false},` +
			`{"roleId":2,"roleName":"Acesso Portaria","personRoleId":39,"startDate":"2017-03-24T10:52:00-03:00","endDate":"2017-03-25T14:50:00-03:00","isSuspended":false},` +
			`{"roleId":2,"roleName":"Acesso Portaria","personRoleId":40,"startDate":"2017-03-24T10:09:00-03:00","endDate":"","isSuspended":false}]`
		check(t, st, body, 200, want)
	})
	t.Run("DELETE /person/role/{personRoleId}", func(t *testing.T) {
		st, body := call(t, srv, "DELETE", api+"/person/role/35", "")
		check(t, st, body, 200, "")
		if _, ok := sim.Link(35); ok {
			t.Error("link 35 still exists")
		}
		st, body = call(t, srv, "DELETE", api+"/person/role/35", "")
		check(t, st, body, 404, `{"code":404,"message":"Person/Role not found"}`)
	})
	t.Run("GET /person/{id} has every documented field", func(t *testing.T) {
		st, body := call(t, srv, "GET", api+"/person/29", "")
		if st != 200 {
			t.Fatalf("status %d: %s", st, body)
		}
		want := []string{"address", "birthday", "cep", "city", "district", "documents", "emails", "gender",
			"hasProvisoryRole", "hasValidRole", "id", "lastAccessDate", "lastModificationDate", "name", "nationality",
			"number", "phones", "registerDate", "registry", "situation", "uf"}
		if got := keys(t, json.RawMessage(body)); !slices.Equal(got, want) {
			t.Errorf("person keys = %v\nwant %v", got, want)
		}
		var p struct {
			Documents []json.RawMessage `json:"documents"`
			Emails    []json.RawMessage `json:"emails"`
			Phones    []json.RawMessage `json:"phones"`
		}
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatal(err)
		}
		if got := keys(t, p.Documents[0]); !slices.Equal(got, []string{"document", "documentType", "id"}) {
			t.Errorf("document keys = %v", got)
		}
		var d struct{ DocumentType json.RawMessage }
		json.Unmarshal(p.Documents[0], &d) //nolint:errcheck
		if got := keys(t, d.DocumentType); !slices.Equal(got, []string{"documentToREP", "id", "label", "mask", "name", "required"}) {
			t.Errorf("documentType keys = %v", got)
		}
		if got := keys(t, p.Emails[0]); !slices.Equal(got, []string{"emailAddress", "id", "preferential"}) {
			t.Errorf("email keys = %v", got)
		}
		if got := keys(t, p.Phones[0]); !slices.Equal(got, []string{"ddi", "extensionLine", "id", "phoneNumber", "preferential"}) {
			t.Errorf("phone keys = %v", got)
		}
	})
}

func TestPersonRoleRules(t *testing.T) {
	tests := []struct {
		name, method, body string
		wantStatus         int
		wantBody           string
	}{
		{"POST without personId", "POST", `{"id":0,"roleId":2,"startDate":"2017-03-24T10:09:00-03:00"}`, 400, `{"code":400,"message":"personId is required"}`},
		{"POST without roleId", "POST", `{"id":0,"personId":29,"startDate":"2017-03-24T10:09:00-03:00"}`, 400, `{"code":400,"message":"roleId is required"}`},
		{"POST without startDate", "POST", `{"id":0,"personId":29,"roleId":2}`, 400, `{"code":400,"message":"startDate is required"}`},
		{"POST with empty startDate", "POST", `{"id":0,"personId":29,"roleId":2,"startDate":""}`, 400, `{"code":400,"message":"startDate is required"}`},
		{"POST with a date-only startDate", "POST", `{"personId":29,"roleId":2,"startDate":"2017-03-24"}`, 400,
			`{"code":400,"message":"startDate \"2017-03-24\" must be like 2017-03-24T10:09:00-03:00"}`},
		{"POST with a bad endDate", "POST", `{"personId":29,"roleId":2,"startDate":"2017-03-24T10:09:00-03:00","endDate":"amanhã"}`, 400,
			`{"code":400,"message":"endDate \"amanhã\" must be like 2017-03-24T10:09:00-03:00, or \"\" for no end"}`},
		{"POST with end before start", "POST", `{"personId":29,"roleId":2,"startDate":"2017-03-24T10:09:00-03:00","endDate":"2017-03-24T10:08:59-03:00"}`, 400,
			`{"code":400,"message":"endDate must not be before startDate"}`},
		{"POST for an unknown person", "POST", `{"id":0,"personId":999,"roleId":2,"startDate":"2017-03-24T10:09:00-03:00"}`, 404, `{"code":404,"message":"Person not found"}`},
		{"POST for an unknown role", "POST", `{"id":0,"personId":29,"roleId":99,"startDate":"2017-03-24T10:09:00-03:00"}`, 404, `{"code":404,"message":"Role not found"}`},
		{"POST with a string id", "POST", `{"id":0,"personId":"29","roleId":2,"startDate":"2017-03-24T10:09:00-03:00"}`, 400, ""},
		{"POST with no body", "POST", ``, 400, `{"code":400,"message":"Invalid request body: empty body"}`},
		{"POST accepts the colon-less offset, answers with the colon", "POST", `{"id":0,"personId":123,"roleId":3,"startDate":"2026-01-05T08:00:00-0300","endDate":"2026-12-31T18:00:00-0300"}`, 200,
			`{"id":40,"personId":123,"roleId":3,"startDate":"2026-01-05T08:00:00-03:00","endDate":"2026-12-31T18:00:00-03:00"}`},
		{"POST keeps the offset sent", "POST", `{"id":0,"personId":123,"roleId":3,"startDate":"2026-01-05T12:00:00+01:00"}`, 200,
			`{"id":40,"personId":123,"roleId":3,"startDate":"2026-01-05T12:00:00+01:00","endDate":""}`},
		{"PUT without id", "PUT", `{"personId":29,"roleId":2,"startDate":"2017-03-24T10:52:00-03:00"}`, 400, `{"code":400,"message":"id is required"}`},
		{"PUT of an unknown link", "PUT", `{"id":999,"personId":29,"roleId":2,"startDate":"2017-03-24T10:52:00-03:00"}`, 404, `{"code":404,"message":"Person/Role not found"}`},
		{"PUT changing roleId of a started link", "PUT", `{"id":39,"personId":29,"roleId":3,"startDate":"2017-03-24T10:52:00-03:00","endDate":"2017-03-25T14:50:00-03:00"}`, 403,
			`{"code":403,"message":"Operation denied"}`},
		{"PUT changing personId of a started link", "PUT", `{"id":39,"personId":123,"roleId":2,"startDate":"2017-03-24T10:52:00-03:00"}`, 403, `{"code":403,"message":"Operation denied"}`},
		{"PUT changing startDate of a started link", "PUT", `{"id":39,"personId":29,"roleId":2,"startDate":"2017-03-24T10:53:00-03:00"}`, 403, `{"code":403,"message":"Operation denied"}`},
		{"PUT with the same start in -0300 form", "PUT", `{"id":39,"personId":29,"roleId":2,"startDate":"2017-03-24T10:52:00-0300","endDate":"2017-03-25T14:50:00-0300"}`, 200, ""},
		{"PUT with end before start", "PUT", `{"id":39,"personId":29,"roleId":2,"startDate":"2017-03-24T10:52:00-03:00","endDate":"2017-03-23T14:50:00-03:00"}`, 400,
			`{"code":400,"message":"endDate must not be before startDate"}`},
		{"DELETE of a non-numeric id", "DELETE", ``, 400, `{"code":400,"message":"personRoleId must be a number"}`},
		// The zero time is no start date: it would be stored as one and served as "".
		{"POST with the zero startDate", "POST", `{"personId":29,"roleId":2,"startDate":"0001-01-01T00:00:00Z"}`, 400, `{"code":400,"message":"startDate is required"}`},
		{"POST with the zero startDate, offset form", "POST", `{"personId":29,"roleId":2,"startDate":"0001-01-01T00:00:00+00:00"}`, 400, `{"code":400,"message":"startDate is required"}`},
		{"PUT with the zero startDate", "PUT", `{"id":39,"personId":29,"roleId":2,"startDate":"0001-01-01T00:00:00Z","endDate":"2017-03-25T14:50:00-03:00"}`, 400, `{"code":400,"message":"startDate is required"}`},
		{"POST with the zero endDate", "POST", `{"personId":29,"roleId":2,"startDate":"2017-03-24T10:09:00-03:00","endDate":"0001-01-01T00:00:00Z"}`, 400,
			`{"code":400,"message":"endDate \"0001-01-01T00:00:00Z\" must be like 2017-03-24T10:09:00-03:00, or \"\" for no end"}`},
		// The document's form has whole seconds; a fraction would be stored and served cut.
		{"POST with fractional seconds", "POST", `{"personId":29,"roleId":2,"startDate":"2030-03-24T10:09:00.5-03:00"}`, 400,
			`{"code":400,"message":"startDate \"2030-03-24T10:09:00.5-03:00\" must be like 2017-03-24T10:09:00-03:00"}`},
		{"POST with fractional seconds in endDate", "POST", `{"personId":29,"roleId":2,"startDate":"2017-03-24T10:09:00-03:00","endDate":"2017-03-25T14:50:00.000-03:00"}`, 400,
			`{"code":400,"message":"endDate \"2017-03-25T14:50:00.000-03:00\" must be like 2017-03-24T10:09:00-03:00, or \"\" for no end"}`},
		{"PUT with fractional seconds", "PUT", `{"id":39,"personId":29,"roleId":2,"startDate":"2017-03-24T10:52:00.000-03:00","endDate":"2017-03-25T14:50:00-03:00"}`, 400,
			`{"code":400,"message":"startDate \"2017-03-24T10:52:00.000-03:00\" must be like 2017-03-24T10:09:00-03:00"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, srv, _ := start(t, seniorsim.Options{})
			path := api + "/person/role"
			if tt.method == "DELETE" {
				path += "/abc"
			}
			st, body := call(t, srv, tt.method, path, tt.body)
			if tt.wantBody == "" && st != 200 {
				if st != tt.wantStatus || !strings.Contains(body, `"code":400`) {
					t.Errorf("got %d %s, want %d", st, body, tt.wantStatus)
				}
			} else {
				check(t, st, body, tt.wantStatus, tt.wantBody)
			}
			if tt.method == "PUT" && tt.wantStatus != 200 {
				l, _ := sim.Link(39)
				if l.RoleID != 2 || l.PersonID != 29 || !l.EndDate.IsZero() {
					t.Errorf("a refused PUT changed link 39: %+v", l)
				}
			}
		})
	}
}

func TestFutureLink(t *testing.T) {
	sim, srv, clk := start(t, seniorsim.Options{})
	st, body := call(t, srv, "POST", api+"/person/role", `{"id":0,"personId":131,"roleId":4,"startDate":"2025-07-01T08:00:00-03:00"}`)
	check(t, st, body, 200, `{"id":40,"personId":131,"roleId":4,"startDate":"2025-07-01T08:00:00-03:00","endDate":""}`)

	// Not started yet: everything may change; a missing endDate means none.
	st, body = call(t, srv, "PUT", api+"/person/role", `{"id":40,"personId":123,"roleId":5,"startDate":"2025-08-01T08:00:00-03:00"}`)
	check(t, st, body, 200, "")
	l, _ := sim.Link(40)
	if l.PersonID != 123 || l.RoleID != 5 || l.StartDate.Format(time.RFC3339) != "2025-08-01T08:00:00-03:00" || !l.EndDate.IsZero() {
		t.Errorf("link 40 = %+v", l)
	}
	st, body = call(t, srv, "PUT", api+"/person/role", `{"id":40,"personId":999,"roleId":5,"startDate":"2025-08-01T08:00:00-03:00"}`)
	check(t, st, body, 404, `{"code":404,"message":"Person not found"}`)

	// Started: only endDate.
	clk.Add(60 * 24 * time.Hour)
	st, body = call(t, srv, "PUT", api+"/person/role", `{"id":40,"personId":123,"roleId":4,"startDate":"2025-08-01T08:00:00-03:00"}`)
	check(t, st, body, 403, `{"code":403,"message":"Operation denied"}`)
	st, body = call(t, srv, "PUT", api+"/person/role", `{"id":40,"personId":123,"roleId":5,"startDate":"2025-08-01T08:00:00-03:00","endDate":"2025-08-31T18:00:00-03:00"}`)
	check(t, st, body, 200, "")

	// hasValidRole follows the clock: 123 keeps links 36 and 37; 131 has none left.
	_, body = call(t, srv, "GET", api+"/person/131", "")
	if !strings.Contains(body, `"hasValidRole":false`) {
		t.Errorf("person 131 = %s", body)
	}
}

func TestAuth(t *testing.T) {
	_, srv, clk := start(t, seniorsim.Options{TokenTTL: time.Hour})
	unauthorized := `{"code":401,"message":"Token is invalid or expired"}`

	t.Run("no token", func(t *testing.T) {
		st, body := call(t, srv, "GET", api+"/person/29", "", "X-None", "")
		check(t, st, body, 401, unauthorized)
	})
	t.Run("unknown token", func(t *testing.T) {
		st, body := call(t, srv, "GET", api+"/person/29", "", "token", "nope")
		check(t, st, body, 401, unauthorized)
	})
	t.Run("no raw tokens when Options.Tokens is empty", func(t *testing.T) {
		_, srv, _ := start(t, seniorsim.Options{Tokens: []string{}})
		st, body := call(t, srv, "GET", api+"/person/29", "")
		check(t, st, body, 401, unauthorized)
	})
	t.Run("raw token as Bearer, on the gateway path", func(t *testing.T) {
		st, _ := call(t, srv, "GET", seniorsim.GatewayPrefix+"/person/29", "", "Authorization", "Bearer "+seniorsim.DefaultToken)
		if st != 200 {
			t.Errorf("status %d", st)
		}
	})

	login := func(t *testing.T, path, body string) string {
		t.Helper()
		st, resp := call(t, srv, "POST", path, body, "X-None", "")
		if st != 200 {
			t.Fatalf("login: %d %s", st, resp)
		}
		var outer struct{ JSONToken string }
		if err := json.Unmarshal([]byte(resp), &outer); err != nil {
			t.Fatal(err)
		}
		var inner struct {
			Scope        string `json:"scope"`
			ExpiresIn    int    `json:"expires_in"`
			Username     string `json:"username"`
			TokenType    string `json:"token_type"`
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		}
		if err := json.Unmarshal([]byte(outer.JSONToken), &inner); err != nil {
			t.Fatalf("jsonToken is not a JSON string holding JSON: %s", resp)
		}
		if inner.ExpiresIn != 3600 || inner.TokenType != "Bearer" || inner.AccessToken == "" || inner.RefreshToken == "" || inner.Scope != "desktop" {
			t.Errorf("jsonToken = %+v", inner)
		}
		return inner.AccessToken
	}
	t.Run("loginWithKey token works until it expires", func(t *testing.T) {
		tok := login(t, seniorsim.LoginWithKeyPath, `{"accessKey":"ponte-dev-key","secret":"senior-dev-secret","tenantName":"ponte.dev","scope":"desktop"}`)
		if st, _ := call(t, srv, "GET", api+"/person/29", "", "token", tok); st != 200 {
			t.Errorf("token header: %d", st)
		}
		if st, _ := call(t, srv, "GET", api+"/person/29", "", "Authorization", "Bearer "+tok); st != 200 {
			t.Errorf("bearer: %d", st)
		}
		clk.Add(time.Hour)
		st, body := call(t, srv, "GET", api+"/person/29", "", "token", tok)
		check(t, st, body, 401, unauthorized)
	})
	t.Run("login with user and password", func(t *testing.T) {
		tok := login(t, seniorsim.LoginPath, `{"username":"integracao@ponte.dev","password":"senior-dev-password"}`)
		if st, _ := call(t, srv, "GET", api+"/role", "", "token", tok); st != 200 {
			t.Errorf("status %d", st)
		}
	})
	bad := []struct{ name, path, body, want string }{
		{"wrong secret", seniorsim.LoginWithKeyPath, `{"accessKey":"ponte-dev-key","secret":"x","tenantName":"ponte.dev","scope":"desktop"}`,
			`{"message":"Usuário e/ou senha inválido.","errorCode":"loginWithKeyResponse","reason":"UNAUTHORIZED","domain":"platform","service":"authentication"}`},
		{"wrong tenant", seniorsim.LoginWithKeyPath, `{"accessKey":"ponte-dev-key","secret":"senior-dev-secret","tenantName":"other","scope":"desktop"}`,
			`{"message":"Usuário e/ou senha inválido.","errorCode":"loginWithKeyResponse","reason":"UNAUTHORIZED","domain":"platform","service":"authentication"}`},
		{"wrong password", seniorsim.LoginPath, `{"username":"integracao@ponte.dev","password":"x"}`,
			`{"message":"Usuário e/ou senha inválido.","errorCode":"loginResponse","reason":"UNAUTHORIZED","domain":"platform","service":"authentication"}`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			st, body := call(t, srv, "POST", tt.path, tt.body, "X-None", "")
			check(t, st, body, 401, tt.want)
		})
	}
	t.Run("malformed login body", func(t *testing.T) {
		st, body := call(t, srv, "POST", seniorsim.LoginPath, `{"username":`, "X-None", "")
		if st != 400 || !strings.Contains(body, `"reason":"BAD_REQUEST"`) {
			t.Errorf("got %d %s", st, body)
		}
	})
}

func TestSearches(t *testing.T) {
	_, srv, _ := start(t, seniorsim.Options{})
	ids := func(t *testing.T, body string) []int64 {
		t.Helper()
		var res []struct{ ID int64 }
		if err := json.Unmarshal([]byte(body), &res); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		out := []int64{}
		for _, r := range res {
			out = append(out, r.ID)
		}
		return out
	}
	tests := []struct {
		path    string
		wantIDs []int64
	}{
		{"/person/search?term=COOPER", []int64{123, 124}},
		{"/person/search?term=marina", []int64{29}},
		{"/person/search?term=52998224725", []int64{29}},
		{"/person/search?term=529.982", []int64{29}},
		{"/person/search?term=000130", []int64{130}},
		{"/person/search?term=SPTC", []int64{}},              // RG text is not searched, only its digits
		{"/person/search?term=1.234.567", []int64{123, 130}}, // digits of 130's RG and of 123's PIS
		{"/person/search?term=Nunes&situation=0", []int64{}},
		{"/person/search?term=Nunes&situation=1", []int64{130}},
		{"/person/pagedsearchall?page=1&pageSize=2", []int64{29, 123}},
		{"/person/pagedsearchall?page=3&pageSize=2", []int64{131}},
		{"/person/pagedsearchall?page=4&pageSize=2", []int64{}},
		{"/person/pagedsearchall", []int64{29, 123, 124, 130, 131}},
		{"/person/pagedsearchall?situation=0&pageSize=50&page=1", []int64{29, 123, 124, 131}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			st, body := call(t, srv, "GET", api+tt.path, "")
			if st != 200 {
				t.Fatalf("status %d: %s", st, body)
			}
			if got := ids(t, body); !slices.Equal(got, tt.wantIDs) {
				t.Errorf("ids = %v, want %v", got, tt.wantIDs)
			}
		})
	}
	t.Run("search result shape", func(t *testing.T) {
		_, body := call(t, srv, "GET", api+"/person/search?term=Alan", "")
		want := `[{"id":123,"name":"Alan Cooper","mandatoryDocuments":[{"id":12301,"documentType":{"id":1,"name":"Cadastro de Pessoa Física","label":"CPF","mask":"999.999.999-99","required":true,"documentToREP":true},"document":"111.444.777-35"}],` +
			`"preferentialPhone":{"id":12321,"preferential":true,"ddi":55,"phoneNumber":"27999990123","extensionLine":"4123"},"preferentialEmail":{"id":12311,"preferential":true,"emailAddress":"alan.cooper@ponte.dev"}}]`
		if body != want {
			t.Errorf("got  %s\nwant %s", body, want)
		}
	})
	badReqs := []struct{ path, msg string }{
		{"/person/search?term=ab", "term must have at least 3 characters"},
		{"/person/search", "term must have at least 3 characters"},
		{"/person/search?term=abc&situation=2", "situation must be 0 (active) or 1 (blocked)"},
		{"/person/pagedsearchall?page=0", "page must be a number from 1"},
		{"/person/pagedsearchall?pageSize=x", "pageSize must be a number from 1 to 1000"},
		{"/person/abc", "id must be a number"},
	}
	for _, tt := range badReqs {
		t.Run(tt.path, func(t *testing.T) {
			st, body := call(t, srv, "GET", api+tt.path, "")
			check(t, st, body, 400, `{"code":400,"message":"`+tt.msg+`"}`)
		})
	}
	t.Run("unknown person", func(t *testing.T) {
		st, body := call(t, srv, "GET", api+"/person/999", "")
		check(t, st, body, 404, `{"code":404,"message":"Person not found"}`)
		st, body = call(t, srv, "GET", api+"/person/999/roles", "")
		check(t, st, body, 404, `{"code":404,"message":"Person not found"}`)
	})
}

func TestCatalogues(t *testing.T) {
	_, srv, _ := start(t, seniorsim.Options{})
	st, body := call(t, srv, "GET", api+"/role", "")
	if st != 200 || !strings.HasPrefix(body, `[{"id":2,"name":"Acesso Portaria","usesProvisory":true,`) || !strings.Contains(body, `"name":"Acesso Datacenter"`) {
		t.Errorf("GET /role = %d %s", st, body)
	}
	st, body = call(t, srv, "GET", api+"/documenttype", "")
	want := `[{"id":1,"name":"Cadastro de Pessoa Física","label":"CPF","mask":"999.999.999-99","required":true,"documentToREP":true},` +
		`{"id":2,"name":"Programa de Integração Social","label":"PIS","mask":"999.99999.99-9","required":false,"documentToREP":true},` +
		`{"id":3,"name":"Registro Geral","label":"RG","mask":"","required":false,"documentToREP":false}]`
	check(t, st, body, 200, want)
	st, body = call(t, srv, "GET", "/api/v2/person/29", "")
	check(t, st, body, 404, `{"code":404,"message":"Resource not found: GET /api/v2/person/29"}`)
}

func TestFaultsAndLog(t *testing.T) {
	sim, srv, _ := start(t, seniorsim.Options{})
	sim.Faults().FailNext(1, http.StatusServiceUnavailable, 2*time.Second)
	st, _ := call(t, srv, "DELETE", api+"/person/role/35", "")
	if st != 503 {
		t.Errorf("status %d, want the injected 503", st)
	}
	if _, ok := sim.Link(35); !ok {
		t.Error("an injected failure reached the state")
	}
	call(t, srv, "POST", api+"/person/role", docPOST)
	log := sim.Faults().Requests()
	if len(log) != 2 || log[0].Status != 503 || log[1].String() != "POST "+api+"/person/role" || string(log[1].Body) != docPOST {
		t.Errorf("log = %+v", log)
	}
}

// TestInjectedErrorsInSeniorShape: a failure the fault injector answers carries the error body of the service
// that was called: SAM's {code, message} on SAM routes, the platform's {message, errorCode, reason, domain,
// service} on the platform logins.
func TestInjectedErrorsInSeniorShape(t *testing.T) {
	keys := func(t *testing.T, body string) []string {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatalf("body %q: %v", body, err)
		}
		return slices.Sorted(maps.Keys(m))
	}
	loginBody := `{"accessKey":"ponte-dev-key","secret":"senior-dev-secret","tenantName":"ponte.dev","scope":"desktop"}`
	tests := []struct {
		name, method, path, body string
		status                   int
		keys                     []string
		want                     map[string]any
	}{
		{"SAM 429", "GET", api + "/person/29", "", 429, []string{"code", "message"}, map[string]any{"code": float64(429)}},
		{"SAM 503 on the gateway path", "DELETE", seniorsim.GatewayPrefix + "/person/role/35", "", 503, []string{"code", "message"}, map[string]any{"code": float64(503)}},
		{"platform login 429", "POST", seniorsim.LoginWithKeyPath, loginBody, 429,
			[]string{"domain", "errorCode", "message", "reason", "service"}, map[string]any{"reason": "TOO_MANY_REQUESTS", "domain": "platform"}},
		{"platform login 502", "POST", seniorsim.LoginPath, `{"username":"a","password":"b"}`, 502,
			[]string{"domain", "errorCode", "message", "reason", "service"}, map[string]any{"reason": "BAD_GATEWAY"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, srv, _ := start(t, seniorsim.Options{})
			sim.Faults().FailNext(1, tt.status, time.Second)
			st, body := call(t, srv, tt.method, tt.path, tt.body)
			if st != tt.status {
				t.Fatalf("status %d, want %d", st, tt.status)
			}
			if got := keys(t, body); !slices.Equal(got, tt.keys) {
				t.Errorf("body %s has keys %v, want %v", body, got, tt.keys)
			}
			var m map[string]any
			json.Unmarshal([]byte(body), &m) //nolint:errcheck // checked by keys
			for k, v := range tt.want {
				if m[k] != v {
					t.Errorf("%s = %v, want %v (%s)", k, m[k], v, body)
				}
			}
		})
	}
}

func TestConcurrentPosts(t *testing.T) {
	sim, srv, _ := start(t, seniorsim.Options{})
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if st, body := call(t, srv, "POST", api+"/person/role", docPOST); st != 200 {
				t.Errorf("%d %s", st, body)
			}
		})
	}
	wg.Wait()
	var ids []int64
	for _, l := range sim.PersonLinks(29) {
		ids = append(ids, l.ID)
	}
	want := []int64{35, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49}
	if !slices.Equal(ids, want) {
		t.Errorf("ids = %v, want %v", ids, want)
	}
}

// serve sends one request straight to the handler with the development token, so that a panic fails the test
// where it happens instead of closing a connection.
func serve(sim *seniorsim.Server, method, target string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	req.Header.Set("token", seniorsim.DefaultToken)
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, req)
	return rec
}

// TestPagedSearchAllAbsurdPaging: page is 1-based and an empty array ends the paging (TARGET-APIS 2.3), so any
// page past the end is [], however far; a page or pageSize out of range is a 400 {code, message} naming it.
// Nothing panics.
func TestPagedSearchAllAbsurdPaging(t *testing.T) {
	sim, _, _ := start(t, seniorsim.Options{})
	const pageMsg, sizeMsg = "page must be a number from 1", "pageSize must be a number from 1 to 1000"
	tests := []struct {
		query string
		msg   string // "" for 200 []
	}{
		{"page=9223372036854775807", ""},
		{"page=9223372036854775807&pageSize=1000", ""},
		{"page=9223372036854775807&pageSize=1", ""},
		{"page=4611686018427387904&pageSize=2", ""},
		{"page=2147483648&pageSize=1000", ""},
		{"page=9223372036854775808", pageMsg},
		{"page=0", pageMsg},
		{"page=-1", pageMsg},
		{"page=-9223372036854775808", pageMsg},
		{"page=abc", pageMsg},
		{"page=1.5", pageMsg},
		{"pageSize=0", sizeMsg},
		{"pageSize=-1", sizeMsg},
		{"pageSize=1001", sizeMsg},
		{"pageSize=9223372036854775807", sizeMsg},
		{"pageSize=99999999999999999999", sizeMsg},
		{"pageSize=x", sizeMsg},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			rec := serve(sim, "GET", api+"/person/pagedsearchall?"+tt.query)
			body := strings.TrimSpace(rec.Body.String())
			if tt.msg == "" {
				check(t, rec.Code, body, 200, "[]")
				return
			}
			check(t, rec.Code, body, 400, `{"code":400,"message":"`+tt.msg+`"}`)
		})
	}
}

// FuzzPagedSearchAll: whatever page, pageSize and situation say, pagedsearchall answers 200 with an array of at
// most pageSize people or 400 with SAM's {code, message}, and never panics.
func FuzzPagedSearchAll(f *testing.F) {
	for _, seed := range [][3]string{
		{"1", "50", "0"}, {"9223372036854775807", "1000", ""}, {"-9223372036854775808", "1", "1"},
		{"4611686018427387904", "2", ""}, {"0", "0", "2"}, {"+3", "+2", ""}, {"", "", ""},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	fx, err := seniorsim.LoadDefaultFixtures()
	if err != nil {
		f.Fatal(err)
	}
	sim := seniorsim.New(fx, seniorsim.Options{})
	f.Fuzz(func(t *testing.T, page, pageSize, situation string) {
		q := url.Values{"page": {page}, "pageSize": {pageSize}, "situation": {situation}}
		rec := serve(sim, "GET", api+"/person/pagedsearchall?"+q.Encode())
		switch rec.Code {
		case 200:
			var rows []map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &rows); err != nil || rows == nil {
				t.Errorf("%s: 200 with %q, want an array", q.Encode(), rec.Body)
			}
			if n, err := strconv.Atoi(pageSize); err == nil && len(rows) > n {
				t.Errorf("%s: %d rows", q.Encode(), len(rows))
			}
		case 400:
			var e struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Code != 400 || e.Message == "" {
				t.Errorf("%s: 400 with %q, want {code, message}", q.Encode(), rec.Body)
			}
		default:
			t.Errorf("%s: status %d %s", q.Encode(), rec.Code, rec.Body)
		}
	})
}

// TestBodyLimit: a request body over MaxBodyBytes is a 413 in the called service's error shape, whether its
// length is announced or not, and costs the simulator no more than the limit.
func TestBodyLimit(t *testing.T) {
	sim, _, _ := start(t, seniorsim.Options{})
	huge := func() io.Reader { return faulttest.BigBody(`{"id":39,"personId":29,"roleId":2,"startDate":"`, 100<<20) }
	over := func() io.Reader { return faulttest.BigBody(`{"accessKey":"`, seniorsim.MaxBodyBytes+1) }
	const sam = `{"code":413,"message":"Request body larger than 1048576 bytes"}`
	const platform = `{"message":"Request body larger than 1048576 bytes","errorCode":"loginResponse","reason":"REQUEST_ENTITY_TOO_LARGE","domain":"platform","service":"authentication"}`
	tests := []struct {
		name, method, path string
		body               func() io.Reader
		length             int64
		want               string
	}{
		{"POST person/role, 100 MiB announced", "POST", api + "/person/role", huge, 100 << 20, sam},
		{"PUT person/role, 100 MiB chunked", "PUT", api + "/person/role", huge, -1, sam},
		{"loginWithKey, one byte over", "POST", seniorsim.LoginWithKeyPath, over, -1, platform},
		{"login, 100 MiB announced", "POST", seniorsim.LoginPath, huge, 100 << 20, platform},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, tt.body())
			req.ContentLength = tt.length
			req.Header.Set("token", seniorsim.DefaultToken)
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			sim.ServeHTTP(rec, req)
			runtime.ReadMemStats(&after)
			check(t, rec.Code, strings.TrimSpace(rec.Body.String()), 413, tt.want)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
				t.Errorf("refusing the body allocated %d MiB", alloc>>20)
			}
		})
	}
	t.Run("a body within the limit is read whole", func(t *testing.T) {
		pad := strings.Repeat(" ", seniorsim.MaxBodyBytes-len(docPOST))
		st, body := call(t, srvOf(t, sim), "POST", api+"/person/role", pad+docPOST)
		if st != 200 {
			t.Errorf("%d %s", st, body)
		}
	})
}

func srvOf(t *testing.T, sim *seniorsim.Server) *httptest.Server {
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return srv
}

// TestRevokeRestoreAndTokenTTL drives /_sim/auth over HTTP: a revoked raw token answers SAM's 401, a revoked
// application key or user is refused by its login with the platform's 401 and loses the tokens it obtained,
// Restore brings the credentials back, and a short token lifetime set at run time is the expires_in of the tokens
// issued after it.
func TestRevokeRestoreAndTokenTTL(t *testing.T) {
	sim, srv, clk := start(t, seniorsim.Options{})
	unauthorized := `{"code":401,"message":"Token is invalid or expired"}`
	keyLogin := `{"accessKey":"ponte-dev-key","secret":"senior-dev-secret","tenantName":"ponte.dev","scope":"desktop"}`
	userLogin := `{"username":"integracao@ponte.dev","password":"senior-dev-password"}`
	platform401 := func(errorCode string) string {
		return `{"message":"Usuário e/ou senha inválido.","errorCode":"` + errorCode + `","reason":"UNAUTHORIZED","domain":"platform","service":"authentication"}`
	}
	login := func(path, body string) (tok string, expiresIn int) {
		t.Helper()
		st, resp := call(t, srv, "POST", path, body, "X-None", "")
		if st != 200 {
			t.Fatalf("login: %d %s", st, resp)
		}
		var outer struct{ JSONToken string }
		var inner struct {
			ExpiresIn   int    `json:"expires_in"`
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal([]byte(resp), &outer); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(outer.JSONToken), &inner); err != nil {
			t.Fatal(err)
		}
		return inner.AccessToken, inner.ExpiresIn
	}
	get := func(tok string) (int, string) { return call(t, srv, "GET", api+"/person/29", "", "token", tok) }
	sim200 := func(method, path, body string, want int) string {
		t.Helper()
		st, b := call(t, srv, method, path, body, "X-None", "")
		if st != want {
			t.Fatalf("%s %s %s: want %d, got %d: %s", method, path, body, want, st, b)
		}
		return b
	}
	keyTok, _ := login(seniorsim.LoginWithKeyPath, keyLogin)
	userTok, _ := login(seniorsim.LoginPath, userLogin)

	t.Run("raw token", func(t *testing.T) {
		cred := `{"kind":"token","value":"` + seniorsim.DefaultToken + `"}`
		sim200("POST", "/_sim/auth/revoke", cred, 204)
		st, body := get(seniorsim.DefaultToken)
		check(t, st, body, 401, unauthorized)
		sim200("POST", "/_sim/auth/restore", cred, 204)
		if st, body := get(seniorsim.DefaultToken); st != 200 {
			t.Errorf("restored: %d %s", st, body)
		}
	})
	t.Run("access key", func(t *testing.T) {
		cred := `{"kind":"accessKey","value":"` + seniorsim.DefaultAccessKey + `"}`
		sim200("POST", "/_sim/auth/revoke", cred, 204)
		st, body := call(t, srv, "POST", seniorsim.LoginWithKeyPath, keyLogin, "X-None", "")
		check(t, st, body, 401, platform401("loginWithKeyResponse"))
		st, body = get(keyTok)
		check(t, st, body, 401, unauthorized)
		if st, body := get(userTok); st != 200 {
			t.Errorf("the user's token: %d %s", st, body)
		}
		sim200("POST", "/_sim/auth/restore", cred, 204)
		tok, _ := login(seniorsim.LoginWithKeyPath, keyLogin)
		if st, body := get(tok); st != 200 {
			t.Errorf("a token of the restored key: %d %s", st, body)
		}
	})
	t.Run("user", func(t *testing.T) {
		if err := sim.Revoke(seniorsim.KindUsername, seniorsim.DefaultUsername); err != nil {
			t.Fatal(err)
		}
		st, body := call(t, srv, "POST", seniorsim.LoginPath, userLogin, "X-None", "")
		check(t, st, body, 401, platform401("loginResponse"))
		st, body = get(userTok)
		check(t, st, body, 401, unauthorized)
		if err := sim.Restore(seniorsim.KindUsername, seniorsim.DefaultUsername); err != nil {
			t.Fatal(err)
		}
		login(seniorsim.LoginPath, userLogin)
	})
	t.Run("issued token", func(t *testing.T) {
		tok, _ := login(seniorsim.LoginPath, userLogin)
		sim200("POST", "/_sim/auth/revoke", `{"kind":"token","value":"`+tok+`"}`, 204)
		st, body := get(tok)
		check(t, st, body, 401, unauthorized)
	})
	t.Run("unknown kind", func(t *testing.T) {
		if b := sim200("POST", "/_sim/auth/revoke", `{"kind":"password","value":"x"}`, 400); !strings.Contains(b, "password") {
			t.Errorf("the error should name the kind: %s", b)
		}
	})
	t.Run("token TTL", func(t *testing.T) {
		if b := sim200("GET", "/_sim/auth", "", 200); !strings.Contains(b, `"tokenTTL":"168h0m0s"`) {
			t.Errorf("GET /_sim/auth: %s", b)
		}
		sim200("PUT", "/_sim/auth", `{"tokenTTL":"30s"}`, 200)
		tok, expiresIn := login(seniorsim.LoginWithKeyPath, keyLogin)
		if expiresIn != 30 {
			t.Errorf("expires_in = %d, want 30", expiresIn)
		}
		clk.Add(29 * time.Second)
		if st, body := get(tok); st != 200 {
			t.Errorf("at 29s: %d %s", st, body)
		}
		clk.Add(time.Second)
		st, body := get(tok)
		check(t, st, body, 401, unauthorized)
	})
}
