package zeevsim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ponte-dev/ponte/clients/fault"
	"github.com/ponte-dev/ponte/clients/fault/faulttest"
	"github.com/ponte-dev/ponte/clients/zeev/zeevsim"
)

// The request bodies of the knowledge-base page, verbatim (the JavaScript-style // comments included; they are
// stripped before sending, as a reader copying the example would).
const (
	docMinimal = `{
     "name":"Alan Cooper",
     "username":"alan.cooper",
     "email":"[email protected]",
     "licenseType":"actor"
}`
	docIfExists = `{
     "ifExists":"update", //update, retrieve ou block
     "authenticationType":"internal", //internal,network, ssoonly ou default 
     "name":"Alan Cooper",
     "username":"alan.cooper",
     "email":"[email protected]",
     "licenseType":"actor" //actor, requester
}`
	docPositions = `{
     "ifExists":"update", //update, retrieve ou block
     "authenticationType":"internal", //internal,network, ssoonly ou default 
     "name":"Alan Cooper",
     "username":"alan.cooper",
     "email":"[email protected]",
     "licenseType":"actor", //actor, requester
     "positions":{
          "ifExistsUser":"append", //append, replace, donothing
          "items":[
                {
                    "teamCode": "admN043",
                    "positionCode": "Analist054"
                }
           ]
     }
}`
	docGroups = `{
     "ifExists":"update", //update, retrieve ou block
     "authenticationType":"ssoonly", //internal,network, ssoonly ou default 
     "name":"Alan Cooper",
     "username":"alan.cooper",
     "email":"[email protected]",
     "licenseType":"actor", //actor, requester
     "groups":{
          "ifExistsUser":"append", //append, replace, donothing
          "items":[
                {
                    "groupCode": "adm1z0"
                }
           ]
     }
}`
	docSchema = `{
  "ifExists": "text",
  "username": "text",
  "name": "text",
  "email": "text",
  "identification": "text",
  "document": "text",
  "isActive": true,
  "authenticationType": "text",
  "licenseType": "text",
  "timeZone": 1,
  "positions": {
    "ifExistsUser": "text",
    "items": [
      {
        "teamId": 1,
        "teamCode": "text",
        "positionId": 1,
        "positionCode": "text"
      }
    ]
  },
  "groups": {
    "ifExistsUser": "text",
    "items": [
      {
        "groupId": 1,
        "groupCode": "text"
      }
    ]
  },
  "welcomeMessage": {
    "send": true
  },
  "businessShiftId": 1,
  "leadershipId": 1
}`
)

var lineComment = regexp.MustCompile(`//[^\n]*`)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type harness struct {
	sim   *zeevsim.Server
	url   string
	clock *clock
}

func sandbox(t testing.TB) zeevsim.Fixtures {
	t.Helper()
	f, err := zeevsim.LoadDefaultFixtures()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func start(t *testing.T, opts zeevsim.Options) *harness {
	t.Helper()
	c := &clock{t: time.Date(2025, 8, 6, 21, 21, 44, 646e6, time.UTC)}
	if opts.Now == nil {
		opts.Now = c.Now
	}
	sim := zeevsim.New(sandbox(t), opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &harness{sim: sim, url: srv.URL, clock: c}
}

// call sends a raw request; token "" sends no Authorization header. It returns the status, the decoded JSON body
// and the response headers.
func (h *harness) call(t *testing.T, method, path, token, body string) (int, any, http.Header) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(lineComment.ReplaceAllString(body, ""))
	}
	req, err := http.NewRequest(method, h.url+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s %s answered %d with non-JSON %q", method, path, res.StatusCode, b)
	}
	return res.StatusCode, v, res.Header
}

func field(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// wantError asserts an ErrorResponse body with code, and that every ErrorResponse member is present.
func wantError(t *testing.T, status int, body any, wantStatus int, code string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status %d, want %d (%v)", status, wantStatus, body)
	}
	e, ok := field(body, "error").(map[string]any)
	if !ok {
		t.Fatalf("body %v has no error object", body)
	}
	for _, k := range []string{"code", "key", "message", "vars", "details"} {
		if _, ok := e[k]; !ok {
			t.Errorf("ErrorResponse lacks %q: %v", k, body)
		}
	}
	if _, ok := e["vars"].([]any); !ok {
		t.Errorf("vars is not an array: %v", body)
	}
	if _, ok := e["details"].([]any); !ok {
		t.Errorf("details is not an array: %v", body)
	}
	if e["code"] != code {
		t.Errorf("code %v, want %s (%v)", e["code"], code, body)
	}
}

func TestDocumentExamplesVerbatim(t *testing.T) {
	tok := zeevsim.DefaultToken
	t.Run("fetch example creates, then updates", func(t *testing.T) {
		h := start(t, zeevsim.Options{})
		st, body, _ := h.call(t, "POST", "/api/2/users", tok, docFetch)
		if st != 200 || field(body, "action") != "Created" {
			t.Fatalf("first POST: %d %v, want 200 Created", st, body)
		}
		id := field(body, "id").(float64)
		want := map[string]any{"action": "Created", "id": id, "username": "alan.cooper", "name": "Alan Cooper",
			"email": "[email protected]", "identification": "09785921213", "document": "12344321", "isActive": true,
			"authenticationType": "internal", "licenseType": "actor", "businessShiftId": float64(189), "leadershipId": float64(4321)}
		if !reflect.DeepEqual(body, any(want)) {
			t.Errorf("AddUserModelResult:\n got  %v\n want %v", body, want)
		}
		u, _ := h.sim.User("alan.cooper")
		if !reflect.DeepEqual(u.Positions, []zeevsim.Assignment{{Team: "Tst01", Position: "Ps0t1"}}) || !reflect.DeepEqual(u.Groups, []string{"grp0cod"}) {
			t.Errorf("positions %v groups %v", u.Positions, u.Groups)
		}
		st, body, _ = h.call(t, "POST", "/api/2/users", tok, docFetch)
		if st != 200 || field(body, "action") != "Update" || field(body, "id") != id {
			t.Errorf("second POST: %d %v, want 200 Update of id %v", st, body, id)
		}
	})
	t.Run("minimal model blocks by default", func(t *testing.T) {
		h := start(t, zeevsim.Options{})
		st, body, _ := h.call(t, "POST", "/api/2/users", tok, docMinimal)
		if st != 200 || field(body, "action") != "Created" || field(body, "authenticationType") != "default" || field(body, "isActive") != true {
			t.Fatalf("first POST: %d %v", st, body)
		}
		st, body, _ = h.call(t, "POST", "/api/2/users", tok, docMinimal)
		wantError(t, st, body, 400, "UserAlreadyExists")
	})
	t.Run("ifExists, positions and groups examples", func(t *testing.T) {
		h := start(t, zeevsim.Options{})
		for i, b := range []string{docIfExists, docPositions, docGroups} {
			wantAction := "Update"
			if i == 0 {
				wantAction = "Created"
			}
			st, body, _ := h.call(t, "POST", "/api/2/users", tok, b)
			if st != 200 || field(body, "action") != wantAction {
				t.Fatalf("example %d: %d %v, want 200 %s", i, st, body, wantAction)
			}
		}
		u, _ := h.sim.User("alan.cooper")
		if u.AuthenticationType != "ssoonly" ||
			!reflect.DeepEqual(u.Positions, []zeevsim.Assignment{{Team: "admN043", Position: "Analist054"}}) ||
			!reflect.DeepEqual(u.Groups, []string{"adm1z0"}) {
			t.Errorf("state %+v", u)
		}
	})
	t.Run("schema placeholder body is rejected", func(t *testing.T) {
		h := start(t, zeevsim.Options{})
		st, body, _ := h.call(t, "POST", "/api/2/users", tok, docSchema)
		// Several fields are invalid ("text" everywhere); the first one checked is reported.
		wantError(t, st, body, 400, "InvalidFieldFormat")
		if !reflect.DeepEqual(field(body, "error", "vars"), []any{"document"}) {
			t.Errorf("vars %v, want [document]", field(body, "error", "vars"))
		}
		if len(h.sim.Users()) != 4 {
			t.Error("the rejected body created a person")
		}
	})
}

func TestRejectsMalformedBodies(t *testing.T) {
	tests := []struct {
		name, body, code, field string
	}{
		{"unknown field (the prose's typo)", `{"ifExistis":"update","username":"abc","name":"abc","email":"abc","licenseType":"actor"}`, "InvalidRequest", "ifExistis"},
		{"wrong type", `{"username":"abc","name":"abc","email":"abc","licenseType":"actor","isActive":"yes"}`, "InvalidRequest", "isActive"},
		{"id beyond int32", `{"username":"abc","name":"abc","email":"abc","licenseType":"actor","leadershipId":2147483648}`, "InvalidRequest", "leadershipId"},
		{"not JSON", `username=abc`, "InvalidRequest", ""},
		{"blank required field", `{"username":"   ","name":"abc","email":"abc","licenseType":"actor"}`, "RequiredField", "username"},
		{"positions without ifExistsUser", `{"username":"abc","name":"abc","email":"abc","licenseType":"actor","positions":{"items":[]}}`, "RequiredField", "positions.ifExistsUser"},
		{"groups without ifExistsUser", `{"username":"abc","name":"abc","email":"abc","licenseType":"actor","groups":{"items":[{"groupCode":"adm1z0"}]}}`, "RequiredField", "groups.ifExistsUser"},
		{"document with letters", `{"username":"abc","name":"abc","email":"abc","licenseType":"actor","document":"CPF 123"}`, "InvalidFieldFormat", "document"},
		// The document: "é obrigatório informar também a propriedade ifExistsUser ... e um array de itens".
		{"positions without items", `{"username":"abc","name":"abc","email":"abc","licenseType":"actor","positions":{"ifExistsUser":"append"}}`, "RequiredField", "positions.items"},
		{"positions with null items", `{"username":"abc","name":"abc","email":"abc","licenseType":"actor","positions":{"ifExistsUser":"replace","items":null}}`, "RequiredField", "positions.items"},
		{"groups without items", `{"username":"abc","name":"abc","email":"abc","licenseType":"actor","groups":{"ifExistsUser":"append"}}`, "RequiredField", "groups.items"},
		{"groups without items, existing person", `{"ifExists":"update","username":"joao.pereira","name":"João Pereira","email":"abc","licenseType":"actor","groups":{"ifExistsUser":"donothing"}}`, "RequiredField", "groups.items"},
		{"empty positions object", `{"username":"abc","name":"abc","email":"abc","licenseType":"actor","positions":{}}`, "RequiredField", "positions.ifExistsUser"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := start(t, zeevsim.Options{})
			before := h.sim.Users()
			st, body, _ := h.call(t, "POST", "/api/2/users", zeevsim.DefaultToken, tt.body)
			wantError(t, st, body, 400, tt.code)
			if tt.field != "" && !reflect.DeepEqual(field(body, "error", "vars"), []any{tt.field}) {
				t.Errorf("vars %v, want [%s]", field(body, "error", "vars"), tt.field)
			}
			if !reflect.DeepEqual(h.sim.Users(), before) {
				t.Error("a rejected request changed the state")
			}
		})
	}
	t.Run("an empty items array is an array: replace with none clears the set", func(t *testing.T) {
		h := start(t, zeevsim.Options{})
		st, body, _ := h.call(t, "POST", "/api/2/users", zeevsim.DefaultToken,
			`{"ifExists":"update","username":"joao.pereira","name":"João Pereira","email":"joao.pereira@ponte.dev","licenseType":"actor",`+
				`"positions":{"ifExistsUser":"replace","items":[]},"groups":{"ifExistsUser":"replace","items":[]}}`)
		if st != 200 {
			t.Fatalf("%d %v", st, body)
		}
		if u, _ := h.sim.User("joao.pereira"); len(u.Positions) != 0 || len(u.Groups) != 0 {
			t.Errorf("positions %v groups %v, want none", u.Positions, u.Groups)
		}
	})
	t.Run("document with punctuation is stored as sent", func(t *testing.T) {
		h := start(t, zeevsim.Options{})
		st, body, _ := h.call(t, "POST", "/api/2/users", zeevsim.DefaultToken,
			`{"username":"abc","name":"abc","email":"abc","licenseType":"actor","document":"11.222.333/0001-81"}`)
		if st != 200 || field(body, "document") != "11.222.333/0001-81" {
			t.Errorf("%d %v", st, body)
		}
	})
}

func TestAuthentication(t *testing.T) {
	h := start(t, zeevsim.Options{Tokens: map[string]string{
		zeevsim.DefaultToken: zeevsim.DefaultLogin, "mariana-token": "mariana.costa", "ghost-token": "ghost"}})
	for _, tt := range []struct{ name, token string }{
		{"no token", ""}, {"unknown token", "nope"}, {"token of an inactive person", "mariana-token"},
		{"token of a person who does not exist", "ghost-token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, body, _ := h.call(t, "GET", "/api/2/users/1", tt.token, "")
			wantError(t, st, body, 401, "Unauthorized")
		})
	}
	t.Run("scheme other than Bearer", func(t *testing.T) {
		req, _ := http.NewRequest("GET", h.url+"/api/2/tokens", nil)
		req.Header.Set("Authorization", zeevsim.DefaultToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 401 {
			t.Errorf("status %d, want 401", res.StatusCode)
		}
	})
	t.Run("unknown route still needs auth", func(t *testing.T) {
		st, body, _ := h.call(t, "GET", "/api/2/nothing", "", "")
		wantError(t, st, body, 401, "Unauthorized")
		st, body, _ = h.call(t, "GET", "/api/2/nothing", zeevsim.DefaultToken, "")
		wantError(t, st, body, 404, "NotFound")
	})
}

func TestTemporaryTokens(t *testing.T) {
	h := start(t, zeevsim.Options{})
	login := `{"login":"` + zeevsim.DefaultLogin + `","password":"` + zeevsim.DefaultPassword + `"}`
	st, body, _ := h.call(t, "POST", "/api/2/tokens", "", login)
	if st != 200 {
		t.Fatalf("login: %d %v", st, body)
	}
	for _, k := range []string{"userId", "name", "username", "temporaryToken"} {
		if field(body, k) == nil {
			t.Errorf("login answer lacks %s: %v", k, body)
		}
	}
	tok := field(body, "temporaryToken").(string)

	st, body, _ = h.call(t, "GET", "/api/2/tokens", tok, "")
	if st != 200 || field(body, "userId") != float64(1) || field(body, "username") != zeevsim.DefaultLogin || field(body, "temporaryToken") == "" {
		t.Errorf("whoami: %d %v", st, body)
	}
	st, body, _ = h.call(t, "GET", "/api/2/users/1", tok, "")
	if st != 200 || field(body, "lastLoginDate") != "2025-08-06T21:21:44.646Z" {
		t.Errorf("the login is not the person's lastLoginDate: %d %v", st, body)
	}

	h.clock.Advance(10*time.Minute - time.Second)
	if st, _, _ := h.call(t, "GET", "/api/2/tokens", tok, ""); st != 200 {
		t.Errorf("token refused before 10 minutes: %d", st)
	}
	h.clock.Advance(time.Second)
	st, body, _ = h.call(t, "GET", "/api/2/tokens", tok, "")
	wantError(t, st, body, 401, "Unauthorized")

	for _, tt := range []struct{ name, body, code string }{
		{"wrong password", `{"login":"` + zeevsim.DefaultLogin + `","password":"x"}`, "InvalidCredentials"},
		{"unknown login", `{"login":"carla.menezes","password":"` + zeevsim.DefaultPassword + `"}`, "InvalidCredentials"},
		{"missing password", `{"login":"` + zeevsim.DefaultLogin + `"}`, "RequiredField"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, body, _ := h.call(t, "POST", "/api/2/tokens", "", tt.body)
			want := 401
			if tt.code == "RequiredField" {
				want = 400
			}
			wantError(t, st, body, want, tt.code)
		})
	}
}

// TestWhoAmIReusesTemporaryTokens: GET /api/2/tokens answers with a temporary token, as documented, without
// minting one per call: a temporary token is answered with itself, and a permanent token gets the temporary token
// it got before while that one has at least half its life left.
func TestWhoAmIReusesTemporaryTokens(t *testing.T) {
	h := start(t, zeevsim.Options{})
	whoami := func(tok string) string {
		t.Helper()
		st, body, _ := h.call(t, "GET", "/api/2/tokens", tok, "")
		if st != 200 || field(body, "userId") != float64(1) || field(body, "username") != zeevsim.DefaultLogin {
			t.Fatalf("whoami: %d %v", st, body)
		}
		tmp, _ := field(body, "temporaryToken").(string)
		if tmp == "" {
			t.Fatalf("whoami without a temporaryToken: %v", body)
		}
		return tmp
	}
	first := whoami(zeevsim.DefaultToken)
	for range 5 {
		if got := whoami(zeevsim.DefaultToken); got != first {
			t.Fatalf("a second call got %s, want the same temporary token %s", got, first)
		}
	}
	if got := whoami(first); got != first {
		t.Errorf("called with a temporary token, got %s, want the same token", got)
	}
	if n := h.sim.TemporaryTokens(); n != 1 {
		t.Errorf("%d temporary tokens held after 7 calls, want 1", n)
	}
	h.clock.Advance(zeevsim.DefaultTemporaryTokenTTL/2 + time.Second)
	second := whoami(zeevsim.DefaultToken)
	if second == first {
		t.Error("a token past half its life is still handed out")
	}
	if got := whoami(first); got != first { // still valid until its own expiry
		t.Errorf("the first token, called with itself: %s", got)
	}
	h.clock.Advance(zeevsim.DefaultTemporaryTokenTTL / 2)
	st, body, _ := h.call(t, "GET", "/api/2/tokens", first, "")
	wantError(t, st, body, 401, "Unauthorized")
	if got := whoami(zeevsim.DefaultToken); got != second {
		t.Errorf("got %s, want the second token %s", got, second)
	}
}

// TestTemporaryTokensAreSwept: expired temporary tokens are dropped as new ones are issued, and at most
// Options.MaxTemporaryTokens live ones are kept (the one closest to expiry goes first), so logins in a loop cannot
// grow the simulator without bound.
func TestTemporaryTokensAreSwept(t *testing.T) {
	login := `{"login":"` + zeevsim.DefaultLogin + `","password":"` + zeevsim.DefaultPassword + `"}`
	issue := func(t *testing.T, h *harness) string {
		t.Helper()
		st, body, _ := h.call(t, "POST", "/api/2/tokens", "", login)
		if st != 200 {
			t.Fatalf("login: %d %v", st, body)
		}
		return field(body, "temporaryToken").(string)
	}
	t.Run("expired", func(t *testing.T) {
		h := start(t, zeevsim.Options{})
		for range 200 {
			issue(t, h)
		}
		if n := h.sim.TemporaryTokens(); n != 200 {
			t.Fatalf("%d tokens, want 200", n)
		}
		h.clock.Advance(zeevsim.DefaultTemporaryTokenTTL)
		// The sweep runs when the map has doubled since the last one: expired tokens never make up more than
		// about half of it.
		for range 300 {
			issue(t, h)
		}
		if n := h.sim.TemporaryTokens(); n != 300 {
			t.Errorf("%d tokens, want the 300 live ones (the 200 expired ones swept)", n)
		}
	})
	t.Run("bounded", func(t *testing.T) {
		h := start(t, zeevsim.Options{MaxTemporaryTokens: 3})
		var toks []string
		for range 4 {
			toks = append(toks, issue(t, h))
			h.clock.Advance(time.Second)
		}
		if n := h.sim.TemporaryTokens(); n != 3 {
			t.Errorf("%d tokens, want 3", n)
		}
		st, body, _ := h.call(t, "GET", "/api/2/users/1", toks[0], "")
		wantError(t, st, body, 401, "Unauthorized")
		for _, tok := range toks[1:] {
			if st, body, _ := h.call(t, "GET", "/api/2/users/1", tok, ""); st != 200 {
				t.Errorf("a newer token is refused: %d %v", st, body)
			}
		}
	})
}

func TestRateLimit(t *testing.T) {
	h := start(t, zeevsim.Options{RateLimit: zeevsim.DefaultRateLimit})
	for i := range zeevsim.DefaultRateLimit {
		if st, _, _ := h.call(t, "GET", "/api/2/tokens", zeevsim.DefaultToken, ""); st != 200 {
			t.Fatalf("call %d: %d", i, st)
		}
	}
	st, body, hdr := h.call(t, "GET", "/api/2/tokens", zeevsim.DefaultToken, "")
	wantError(t, st, body, 429, "TooManyRequests")
	if hdr.Get("Retry-After") != "1" {
		t.Errorf("Retry-After %q, want 1", hdr.Get("Retry-After"))
	}
	h.clock.Advance(time.Second)
	if st, _, _ := h.call(t, "GET", "/api/2/tokens", zeevsim.DefaultToken, ""); st != 200 {
		t.Errorf("next second: %d", st)
	}
}

func TestUserReads(t *testing.T) {
	h := start(t, zeevsim.Options{PageSize: 2})
	tok := zeevsim.DefaultToken
	t.Run("detail by id, by username and by the alias", func(t *testing.T) {
		for _, p := range []string{"/api/2/users/4322", "/api/2/users/username/joao.pereira", "/api/2/users/joao.pereira"} {
			st, body, _ := h.call(t, "GET", p, tok, "")
			if st != 200 || field(body, "id") != float64(4322) {
				t.Fatalf("%s: %d %v", p, st, body)
			}
			for _, k := range []string{"id", "name", "email", "username", "document", "identification", "isActive",
				"isSuperAdmin", "isLocked", "isAbsent", "authenticationType", "licenseType", "createDate", "lastLoginDate",
				"lastPasswordChange", "businessShiftId", "leadership", "isPasswordExpired", "isPasswordRequired",
				"isAnonymous", "isSubstituteNow", "isSubstituteFor", "substitute", "groups", "positions"} {
				if _, ok := body.(map[string]any)[k]; !ok {
					t.Errorf("%s lacks %s", p, k)
				}
			}
			if field(body, "leadership", "id") != float64(4321) || field(body, "createDate") != "2025-03-03T11:00:00.000Z" {
				t.Errorf("%s: %v", p, body)
			}
		}
	})
	t.Run("positions and groups", func(t *testing.T) {
		st, body, _ := h.call(t, "GET", "/api/2/users/4321/positions", tok, "")
		ps := body.([]any)
		if st != 200 || len(ps) != 1 || field(ps[0], "team", "code") != "TI" || field(ps[0], "position", "code") != "GERENTE" || field(ps[0], "id") == nil {
			t.Errorf("positions: %d %v", st, body)
		}
		st, body, _ = h.call(t, "GET", "/api/2/users/4321/groups", tok, "")
		want := []any{map[string]any{"id": float64(100), "title": "Colaboradores"}, map[string]any{"id": float64(101), "title": "Administradores de TI"}}
		if st != 200 || !reflect.DeepEqual(body, any(want)) {
			t.Errorf("groups: %d %v", st, body)
		}
	})
	t.Run("not found", func(t *testing.T) {
		for _, p := range []string{"/api/2/users/999", "/api/2/users/username/ninguem", "/api/2/users/999/groups", "/api/2/users/abc/positions"} {
			st, body, _ := h.call(t, "GET", p, tok, "")
			wantError(t, st, body, 404, "UserNotFound")
		}
	})
	t.Run("list pages and filters", func(t *testing.T) {
		ids := func(path string) []float64 {
			st, body, _ := h.call(t, "GET", path, tok, "")
			if st != 200 {
				t.Fatalf("%s: %d %v", path, st, body)
			}
			out := []float64{}
			for _, u := range body.([]any) {
				out = append(out, field(u, "id").(float64))
			}
			return out
		}
		for _, tt := range []struct {
			path string
			want []float64
		}{
			{"/api/2/users", []float64{1, 4321}},
			{"/api/2/users?pageNumber=2", []float64{4322, 4323}},
			{"/api/2/users?pageNumber=3", []float64{}},
			{"/api/2/users?isActive=false", []float64{4323}},
			{"/api/2/users?isActive=true&pageNumber=2", []float64{4322}},
			{"/api/2/users?$filter=document%20eq%20'52998224725'", []float64{4322}},
			{"/api/2/users?$filter=username%20eq%20'CARLA.MENEZES'%20and%20isActive%20eq%20true", []float64{4321}},
			{"/api/2/users?$top=1&pageNumber=1", []float64{1}},
		} {
			if got := ids(tt.path); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s: ids %v, want %v", tt.path, got, tt.want)
			}
		}
		for _, p := range []string{"/api/2/users?pageNumber=0", "/api/2/users?isActive=maybe", "/api/2/users?$filter=name%20ne%20'x'", "/api/2/users?$orderby=name"} {
			st, body, _ := h.call(t, "GET", p, tok, "")
			if st != 400 {
				t.Errorf("%s: %d %v, want 400", p, st, body)
			}
		}
	})
}

func TestCatalogReads(t *testing.T) {
	h := start(t, zeevsim.Options{})
	tok := zeevsim.DefaultToken
	tests := []struct {
		path string
		want map[string]any
	}{
		{"/api/2/teams/123", map[string]any{"id": float64(123), "code": "Tst01"}},
		{"/api/2/teams/code/admN043", map[string]any{"id": float64(43), "code": "admN043"}},
		{"/api/2/teams/code/ti", map[string]any{"id": float64(2001), "parentId": float64(2000), "active": true}},
		{"/api/2/teams/code/FIN", map[string]any{"active": false}},
		{"/api/2/positions/432", map[string]any{"code": "Ps0t1"}},
		{"/api/2/positions/code/Analist054", map[string]any{"id": float64(54)}},
		{"/api/2/positions/code/ANALISTA", map[string]any{"id": float64(1003), "parentId": float64(1002)}},
		{"/api/2/groups/96818982", map[string]any{"code": "grp0cod"}},
		{"/api/2/groups/code/adm1z0", map[string]any{"id": float64(10)}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			st, body, _ := h.call(t, "GET", tt.path, tok, "")
			if st != 200 {
				t.Fatalf("%d %v", st, body)
			}
			for k, v := range tt.want {
				if field(body, k) != v {
					t.Errorf("%s = %v, want %v (%v)", k, field(body, k), v, body)
				}
			}
		})
	}
	st, body, _ := h.call(t, "GET", "/api/2/teams/2001/positions", tok, "")
	if st != 200 || len(body.([]any)) != 2 || field(body.([]any)[0], "code") != "GERENTE" {
		t.Errorf("team positions: %d %v", st, body)
	}
	for _, p := range []string{"/api/2/teams?name=recursos", "/api/2/positions?name=gerente", "/api/2/groups?name=TI"} {
		st, body, _ := h.call(t, "GET", p, tok, "")
		if st != 200 || len(body.([]any)) != 1 {
			t.Errorf("%s: %d %v, want one match", p, st, body)
		}
	}
	for _, tt := range []struct{ path, code string }{
		{"/api/2/teams/9", "TeamNotFound"}, {"/api/2/teams/code/XX", "TeamNotFound"}, {"/api/2/teams/9/positions", "TeamNotFound"},
		{"/api/2/positions/9", "PositionNotFound"}, {"/api/2/positions/code/XX", "PositionNotFound"},
		{"/api/2/groups/9", "GroupNotFound"}, {"/api/2/groups/code/XX", "GroupNotFound"},
	} {
		st, body, _ := h.call(t, "GET", tt.path, tok, "")
		wantError(t, st, body, 404, tt.code)
	}
}

// TestAddTeam adds a team while the simulator runs: a positions item naming it, refused with TeamNotFound before,
// is accepted after and writes the assignment, and the team endpoints serve it with its parent. A team the
// fixtures would refuse is refused, naming the field, and nothing is added.
func TestAddTeam(t *testing.T) {
	h := start(t, zeevsim.Options{})
	tok := zeevsim.DefaultToken
	hire := `{"ifExists": "update", "username": "ana.lima", "name": "Ana Lima", "email": "ana.lima@ponte.dev",
		"licenseType": "actor", "positions": {"ifExistsUser": "append", "items": [{"teamCode": "jur", "positionCode": "ANALISTA"}]}}`
	st, body, _ := h.call(t, "POST", "/api/2/users", tok, hire)
	wantError(t, st, body, 400, "TeamNotFound")
	if _, ok := h.sim.User("ana.lima"); ok {
		t.Fatal("a user was created with an unknown team")
	}

	closed := false
	team := zeevsim.Team{ID: 2004, Code: "JUR", Name: "Jurídico", Level: 2, Sign: "JUR", Parent: "dir", Active: &closed,
		Positions: []string{"ANALISTA"}}
	if err := h.sim.AddTeam(team); err != nil {
		t.Fatal(err)
	}
	team.Positions[0], closed = "GERENTE", true // the simulator keeps its own copy

	st, body, _ = h.call(t, "GET", "/api/2/teams/code/Jur", tok, "")
	if st != 200 || field(body, "id") != float64(2004) || field(body, "parentId") != float64(2000) ||
		field(body, "parent", "code") != "DIR" || field(body, "active") != false {
		t.Errorf("GET team: %d %v", st, body)
	}
	st, body, _ = h.call(t, "GET", "/api/2/teams/2004/positions", tok, "")
	if list, _ := body.([]any); st != 200 || len(list) != 1 || field(list[0], "code") != "ANALISTA" {
		t.Errorf("team positions: %d %v", st, body)
	}
	st, body, _ = h.call(t, "POST", "/api/2/users", tok, hire)
	if st != 200 || field(body, "action") != "Created" {
		t.Fatalf("hire after AddTeam: %d %v", st, body)
	}
	if u, _ := h.sim.User("ana.lima"); !reflect.DeepEqual(u.Positions, []zeevsim.Assignment{{Team: "JUR", Position: "ANALISTA"}}) {
		t.Errorf("positions = %+v", u.Positions)
	}

	for _, tt := range []struct {
		name string
		team zeevsim.Team
		want string
	}{
		{"id zero", zeevsim.Team{Code: "X1", Name: "X"}, "id: must be between 1"},
		{"id taken", zeevsim.Team{ID: 2001, Code: "X2", Name: "X"}, "id: duplicate id 2001"},
		{"no code", zeevsim.Team{ID: 3001, Name: "X"}, "code: required"},
		{"code taken, other case", zeevsim.Team{ID: 3002, Code: "ti", Name: "X"}, `code: duplicate code "ti"`},
		{"no name", zeevsim.Team{ID: 3003, Code: "X3"}, "name: required"},
		{"unknown parent", zeevsim.Team{ID: 3004, Code: "X4", Name: "X", Parent: "NOPE"}, `parent: unknown team code "NOPE"`},
		{"unknown position", zeevsim.Team{ID: 3005, Code: "X5", Name: "X", Positions: []string{"NOPE"}}, `positions[0]: unknown position code "NOPE"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := h.sim.AddTeam(tt.team)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("AddTeam(%+v) = %v, want an error with %q", tt.team, err, tt.want)
			}
			if tt.team.ID != 0 {
				if st, body, _ := h.call(t, "GET", "/api/2/teams/"+strconv.Itoa(tt.team.ID), tok, ""); st == 200 && field(body, "code") == tt.team.Code {
					t.Errorf("the refused team was added: %v", body)
				}
			}
		})
	}
}

func TestAccountEndpoints(t *testing.T) {
	h := start(t, zeevsim.Options{Tokens: map[string]string{zeevsim.DefaultToken: zeevsim.DefaultLogin, "carla-token": "carla.menezes"}})
	st, body, _ := h.call(t, "PATCH", "/api/2/users/4322/account/deactivate", zeevsim.DefaultToken, "")
	if st != 200 || !reflect.DeepEqual(body, any(map[string]any{"success": true})) {
		t.Fatalf("deactivate: %d %v", st, body)
	}
	if u, _ := h.sim.User("joao.pereira"); u.IsActive {
		t.Error("still active")
	}
	st, body, _ = h.call(t, "PATCH", "/api/2/users/4322/account/unknown", zeevsim.DefaultToken, "")
	wantError(t, st, body, 404, "NotFound")
	st, body, _ = h.call(t, "PATCH", "/api/2/users/4322/account/activate", "carla-token", "")
	wantError(t, st, body, 403, "Forbidden")
	st, body, _ = h.call(t, "POST", "/api/2/users", "carla-token", docMinimal)
	wantError(t, st, body, 403, "Forbidden")
}

// TestInjectedErrorsInZeevShape: a failure the fault injector answers instead of the API carries Zeev's
// ErrorResponse body, as a real 429 or 5xx of the API would, so a client parses it like any other error.
func TestInjectedErrorsInZeevShape(t *testing.T) {
	tests := []struct {
		status int
		code   string
	}{
		{429, "TooManyRequests"},
		{500, "InternalServerError"},
		{502, "BadGateway"},
		{503, "ServiceUnavailable"},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			h := start(t, zeevsim.Options{})
			h.sim.Faults().FailNext(1, tt.status, time.Second)
			st, body, hdr := h.call(t, "POST", "/api/2/tokens", "", `{"login":"x","password":"y"}`)
			wantError(t, st, body, tt.status, tt.code)
			if ct := hdr.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if hdr.Get("Retry-After") != "1" {
				t.Errorf("Retry-After %q, want 1", hdr.Get("Retry-After"))
			}
		})
	}
	t.Run("throttleRate", func(t *testing.T) {
		h := start(t, zeevsim.Options{})
		h.sim.Faults().Set(fault.Faults{ThrottleRate: 1})
		st, body, _ := h.call(t, "GET", "/api/2/tokens", zeevsim.DefaultToken, "")
		wantError(t, st, body, 429, "TooManyRequests")
	})
}

func TestFaultsWrapEveryRequest(t *testing.T) {
	h := start(t, zeevsim.Options{})
	h.sim.Faults().FailNext(1, 503, time.Second)
	st, _, hdr := h.call(t, "GET", "/api/2/tokens", zeevsim.DefaultToken, "")
	if st != 503 || hdr.Get("Retry-After") != "1" {
		t.Errorf("injected fault: %d %v", st, hdr)
	}
	h.call(t, "POST", "/api/2/users", zeevsim.DefaultToken, docMinimal)
	reqs := h.sim.Faults().Requests()
	if len(reqs) != 2 || reqs[0].Status != 503 || reqs[1].Path != "/api/2/users" || reqs[1].Status != 200 ||
		!strings.Contains(string(reqs[1].Body), `"alan.cooper"`) {
		t.Errorf("request log: %+v", reqs)
	}
}

func TestLoadFixtures(t *testing.T) {
	f := sandbox(t)
	t.Run("sandbox holds every example value of the document", func(t *testing.T) {
		has := func(what string, ok bool) {
			if !ok {
				t.Errorf("sandbox fixtures lack %s", what)
			}
		}
		team := map[string]int{}
		for _, x := range f.Teams {
			team[x.Code] = x.ID
		}
		pos := map[string]int{}
		for _, x := range f.Positions {
			pos[x.Code] = x.ID
		}
		grp := map[string]int{}
		for _, x := range f.Groups {
			grp[x.Code] = x.ID
		}
		users := map[int]string{}
		for _, u := range f.Users {
			users[u.ID] = u.Username
		}
		_, ok := team["admN043"]
		has("team admN043", ok)
		_, ok = pos["Analist054"]
		has("position Analist054", ok)
		_, ok = grp["adm1z0"]
		has("group adm1z0", ok)
		has("team Tst01 id 123", team["Tst01"] == 123)
		has("position Ps0t1 id 432", pos["Ps0t1"] == 432)
		has("group grp0cod id 96818982", grp["grp0cod"] == 96818982)
		has("leader user 4321", users[4321] != "")
		has("integration user", users[1] == zeevsim.DefaultLogin)
		shift := false
		for _, s := range f.BusinessShifts {
			shift = shift || s.ID == 189
		}
		has("business shift 189", shift)
		for _, c := range []string{"TI", "RH"} {
			_, ok := team[c]
			has("team "+c, ok)
		}
		for _, c := range []string{"ANALISTA", "GERENTE"} {
			_, ok := pos[c]
			has("position "+c, ok)
		}
		for _, c := range []string{"colaboradores", "ti-admins"} {
			_, ok := grp[c]
			has("group "+c, ok)
		}
	})
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"unknown key", "teams:\n  - id: 1\n    code: A\n    name: A\n    colour: red\n", "colour"},
		{"unknown top-level key", "people: []\n", "people"},
		{"duplicate team code", "teams:\n  - {id: 1, code: A, name: A}\n  - {id: 2, code: a, name: B}\n", "teams[1].code"},
		{"missing id", "groups:\n  - {code: g, name: G}\n", "groups[0].id"},
		{"id beyond int32", "groups:\n  - {id: 2147483648, code: g, name: G}\n", "groups[0].id"},
		{"unknown team in a user", "users:\n  - {id: 1, username: abc, name: abc, email: abc, licenseType: actor, positions: [{team: X, position: Y}]}\n", "users[0].positions[0].team"},
		{"unknown group in a user", "users:\n  - {id: 1, username: abc, name: abc, email: abc, licenseType: actor, groups: [x]}\n", "users[0].groups[0]"},
		{"unknown leader", "users:\n  - {id: 1, username: abc, name: abc, email: abc, licenseType: actor, leadershipId: 9}\n", "users[0].leadershipId"},
		{"bad license type", "users:\n  - {id: 1, username: abc, name: abc, email: abc, licenseType: admin}\n", "users[0].licenseType"},
		{"bad license key", "licenses: {admin: 1}\n", "licenses.admin"},
		{"too many active users", "licenses: {actor: 0}\nusers:\n  - {id: 1, username: abc, name: abc, email: abc, licenseType: actor}\n", "licenses.actor"},
		{"bad document", "users:\n  - {id: 1, username: abc, name: abc, email: abc, licenseType: actor, document: CPF1}\n", "users[0].document"},
		{"unknown shift", "users:\n  - {id: 1, username: abc, name: abc, email: abc, licenseType: actor, businessShiftId: 5}\n", "users[0].businessShiftId"},
		{"unknown parent team", "teams:\n  - {id: 1, code: A, name: A, parent: Z}\n", "teams[0].parent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := zeevsim.LoadFixtures([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("LoadFixtures = %v, want an error naming %q", err, tt.wantErr)
			}
		})
	}
}

// docFetch is the body of the JavaScript fetch example (the argument of JSON.stringify).
var docFetch = func() string {
	b, err := os.ReadFile("testdata/kb-fetch-example.json")
	if err != nil {
		panic(err)
	}
	return string(b)
}()

// serve sends one request straight to the handler, with the development token, so that a panic fails the test
// where it happens instead of closing a connection.
func serve(sim *zeevsim.Server, method, target string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	req.Header.Set("Authorization", "Bearer "+zeevsim.DefaultToken)
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, req)
	return rec
}

// TestListUsersAbsurdPaging: pageNumber is 1-based and the document pages "until an empty or short page", so any
// page past the end is an empty array, however far; a pageNumber that is not an integer from 1 is a 400 in the
// ErrorResponse shape naming it. Nothing panics.
func TestListUsersAbsurdPaging(t *testing.T) {
	sim := zeevsim.New(sandbox(t), zeevsim.Options{})
	tests := []struct {
		query  string
		status int
		vars   string // the field the 400 names
	}{
		{"pageNumber=9223372036854775807", 200, ""},
		{"pageNumber=4611686018427387904", 200, ""},
		{"pageNumber=92233720368547758", 200, ""},
		{"pageNumber=2147483648", 200, ""},
		{"pageNumber=9223372036854775807&$top=9223372036854775807", 200, ""},
		{"pageNumber=9223372036854775808", 400, "pageNumber"},
		{"pageNumber=99999999999999999999999", 400, "pageNumber"},
		{"pageNumber=0", 400, "pageNumber"},
		{"pageNumber=-1", 400, "pageNumber"},
		{"pageNumber=-9223372036854775808", 400, "pageNumber"},
		{"pageNumber=abc", 400, "pageNumber"},
		{"pageNumber=1.5", 400, "pageNumber"},
		{"pageNumber=%20", 400, "pageNumber"},
		{"$top=-1", 400, "$top"},
		{"$top=9223372036854775808", 400, "$top"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			rec := serve(sim, "GET", "/api/2/users?"+tt.query)
			var body any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if tt.status == 200 {
				if rec.Code != 200 || !reflect.DeepEqual(body, []any{}) {
					t.Errorf("got %d %s, want 200 []", rec.Code, rec.Body)
				}
				return
			}
			wantError(t, rec.Code, body, tt.status, "InvalidFieldValue")
			if vars := field(body, "error", "vars"); !reflect.DeepEqual(vars, []any{tt.vars}) {
				t.Errorf("vars %v, want [%s]", vars, tt.vars)
			}
		})
	}
}

// FuzzListUsersPaging: whatever pageNumber, isActive and $top say, GET /api/2/users answers 200 with an array of
// at most one page or 400 with an ErrorResponse, and never panics.
func FuzzListUsersPaging(f *testing.F) {
	for _, seed := range [][3]string{
		{"1", "", ""}, {"9223372036854775807", "true", "1"}, {"-9223372036854775808", "", ""}, {"0", "x", "-1"},
		{"18446744073709551615", "false", "9223372036854775807"}, {"1e3", "", ""}, {"+2", "", "+0"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	sim := zeevsim.New(sandbox(f), zeevsim.Options{})
	f.Fuzz(func(t *testing.T, page, active, top string) {
		q := url.Values{"pageNumber": {page}, "isActive": {active}, "$top": {top}}
		rec := serve(sim, "GET", "/api/2/users?"+q.Encode())
		var body any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s: %d with non-JSON %q", q.Encode(), rec.Code, rec.Body)
		}
		switch rec.Code {
		case 200:
			if rows, ok := body.([]any); !ok || len(rows) > zeevsim.DefaultPageSize {
				t.Errorf("%s: 200 with %s, want an array of at most one page", q.Encode(), rec.Body)
			}
		case 400:
			if _, ok := field(body, "error", "code").(string); !ok {
				t.Errorf("%s: 400 without an ErrorResponse: %s", q.Encode(), rec.Body)
			}
		default:
			t.Errorf("%s: status %d %s", q.Encode(), rec.Code, rec.Body)
		}
	})
}

// TestBodyLimit: a request body over MaxBodyBytes is a 413 in the ErrorResponse shape, whether its length is
// announced or not, and costs the simulator no more than the limit; a body just within it is served.
func TestBodyLimit(t *testing.T) {
	sim := zeevsim.New(sandbox(t), zeevsim.Options{})
	post := func(path string, body io.Reader, length int64) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", path, body)
		req.ContentLength = length
		req.Header.Set("Authorization", "Bearer "+zeevsim.DefaultToken)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, req)
		return rec
	}
	huge := func() io.Reader { return faulttest.BigBody(`{"username":"`, 100<<20) }
	tests := []struct {
		name   string
		path   string
		body   func() io.Reader
		length int64
	}{
		{"100 MiB announced", "/api/2/users", huge, 100 << 20},
		{"100 MiB chunked", "/api/2/users", huge, -1},
		{"one byte over, chunked, on the login", "/api/2/tokens", func() io.Reader { return faulttest.BigBody(`{"login":"a","password":"`, zeevsim.MaxBodyBytes+1) }, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			rec := post(tt.path, tt.body(), tt.length)
			runtime.ReadMemStats(&after)
			var body any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("%d %q: %v", rec.Code, rec.Body, err)
			}
			wantError(t, rec.Code, body, 413, "RequestTooLarge")
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
				t.Errorf("refusing the body allocated %d MiB", alloc>>20)
			}
		})
	}
	t.Run("a body within the limit is served", func(t *testing.T) {
		pw := strings.Repeat("x", zeevsim.MaxBodyBytes-100)
		rec := post("/api/2/tokens", strings.NewReader(`{"login":"`+zeevsim.DefaultLogin+`","password":"`+pw+`"}`), -1)
		var body any
		json.Unmarshal(rec.Body.Bytes(), &body) //nolint:errcheck // checked by wantError
		wantError(t, rec.Code, body, 401, "InvalidCredentials")
	})
}

// control sends a request to a /_sim/ control and returns the status and the body.
func control(t *testing.T, method, target, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

// TestRevokeRestoreAndTokenTTL drives /_sim/auth over HTTP: a revoked permanent token and the temporary tokens it
// was given answer 401 "Unauthorized", a revoked login is refused by POST /api/2/tokens with 401
// "InvalidCredentials" and loses the tokens it obtained, Restore brings both back, and a short token lifetime set
// at run time applies to the tokens issued after it.
func TestRevokeRestoreAndTokenTTL(t *testing.T) {
	h := start(t, zeevsim.Options{})
	loginBody := `{"login":"` + zeevsim.DefaultLogin + `","password":"` + zeevsim.DefaultPassword + `"}`
	login := func() (int, string) {
		st, body, _ := h.call(t, "POST", "/api/2/tokens", "", loginBody)
		tok, _ := field(body, "temporaryToken").(string)
		if st == 200 && tok == "" {
			t.Fatalf("login: no temporary token in %v", body)
		}
		return st, tok
	}
	status := func(tok string) int {
		st, _, _ := h.call(t, "GET", "/api/2/tokens", tok, "")
		return st
	}
	sim := func(method, path, body string, want int) string {
		t.Helper()
		st, b := control(t, method, h.url+path, body)
		if st != want {
			t.Fatalf("%s %s %s: want %d, got %d: %s", method, path, body, want, st, b)
		}
		return b
	}
	_, fromLogin := login()
	_, whoami, _ := h.call(t, "GET", "/api/2/tokens", zeevsim.DefaultToken, "")
	fromToken, _ := field(whoami, "temporaryToken").(string)
	permanent := `{"kind":"token","value":"` + zeevsim.DefaultToken + `"}`
	byLogin := `{"kind":"login","value":"` + zeevsim.DefaultLogin + `"}`

	t.Run("token", func(t *testing.T) {
		sim("POST", "/_sim/auth/revoke", permanent, 204)
		st, body, _ := h.call(t, "GET", "/api/2/tokens", zeevsim.DefaultToken, "")
		wantError(t, st, body, 401, "Unauthorized")
		if st := status(fromToken); st != 401 {
			t.Errorf("the temporary token of a revoked permanent token: want 401, got %d", st)
		}
		if st := status(fromLogin); st != 200 {
			t.Errorf("a token from the login: want 200, got %d", st)
		}
		sim("POST", "/_sim/auth/restore", permanent, 204)
		if st := status(zeevsim.DefaultToken); st != 200 {
			t.Errorf("restored token: want 200, got %d", st)
		}
	})
	t.Run("login", func(t *testing.T) {
		sim("POST", "/_sim/auth/revoke", byLogin, 204)
		st, body, _ := h.call(t, "POST", "/api/2/tokens", "", loginBody)
		wantError(t, st, body, 401, "InvalidCredentials")
		if st := status(fromLogin); st != 401 {
			t.Errorf("a token the revoked login obtained: want 401, got %d", st)
		}
		sim("POST", "/_sim/auth/restore", byLogin, 204)
		if st, _ := login(); st != 200 {
			t.Errorf("restored login: want 200, got %d", st)
		}
	})
	t.Run("unknown kind", func(t *testing.T) {
		if b := sim("POST", "/_sim/auth/revoke", `{"kind":"secret","value":"x"}`, 400); !strings.Contains(b, "secret") {
			t.Errorf("the error should name the kind: %s", b)
		}
		if err := h.sim.Revoke("secret", "x"); err == nil {
			t.Error("Revoke of an unknown kind: want an error")
		}
	})
	t.Run("token TTL", func(t *testing.T) {
		if b := sim("GET", "/_sim/auth", "", 200); !strings.Contains(b, `"tokenTTL":"10m0s"`) {
			t.Errorf("GET /_sim/auth: %s", b)
		}
		sim("PUT", "/_sim/auth", `{"tokenTTL":"30s"}`, 200)
		sim("PUT", "/_sim/auth", `{"tokenTTL":"0s"}`, 400)
		if got := h.sim.TokenTTL(); got != 30*time.Second {
			t.Fatalf("TokenTTL() = %v after PUT 30s", got)
		}
		_, short := login()
		h.clock.Advance(29 * time.Second)
		if st := status(short); st != 200 {
			t.Errorf("at 29s: want 200, got %d", st)
		}
		h.clock.Advance(time.Second)
		if st := status(short); st != 401 {
			t.Errorf("at 30s: want 401, got %d", st)
		}
	})
}
