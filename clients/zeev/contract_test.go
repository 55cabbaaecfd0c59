package zeev_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ponte-dev/ponte/clients"
	"github.com/ponte-dev/ponte/clients/zeev"
	"github.com/ponte-dev/ponte/clients/zeev/zeevsim"
)

// kbExampleBody is the body of the knowledge base's JavaScript fetch example, verbatim.
var kbExampleBody = readKBExample()

// readKBExample reads the body of the knowledge base's JavaScript fetch example, verbatim, shared by the
// simulator's, the client's and the sandbox's tests.
func readKBExample() string {
	b, err := os.ReadFile("zeevsim/testdata/kb-fetch-example.json")
	if err != nil {
		panic(err)
	}
	return string(b)
}

// fakeClock is a settable clock shared by the client and the simulator.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	sim    *zeevsim.Server
	srv    *httptest.Server
	client *zeev.Client
	clock  *fakeClock
}

// setup is what an env is built from; the zero value is the sandbox fixtures, the development permanent token
// and default options.
type setup struct {
	fixtures func(*zeevsim.Fixtures)
	options  func(*zeevsim.Options)
	config   func(*zeev.Config)
	endpoint clients.EndpointOptions
	wrap     func(http.Handler) http.Handler
}

func sandboxFixtures(t *testing.T) zeevsim.Fixtures {
	t.Helper()
	f, err := zeevsim.LoadDefaultFixtures()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func newEnv(t *testing.T, s setup) *env {
	t.Helper()
	f := sandboxFixtures(t)
	if s.fixtures != nil {
		s.fixtures(&f)
	}
	clock := &fakeClock{t: time.Date(2025, 8, 6, 21, 21, 44, 0, time.UTC)}
	opts := zeevsim.Options{Now: clock.Now}
	if s.options != nil {
		s.options(&opts)
	}
	sim := zeevsim.New(f, opts)
	var h http.Handler = sim
	if s.wrap != nil {
		h = s.wrap(sim)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg := zeev.Config{
		EndpointConfig: clients.EndpointConfig{BaseURL: srv.URL, Timeout: 2 * time.Second},
		Token:          clients.SecretValue(zeevsim.DefaultToken),
	}
	if s.config != nil {
		s.config(&cfg)
	}
	if s.endpoint.Logger == nil {
		s.endpoint.Logger = slog.New(slog.DiscardHandler)
	}
	s.endpoint.Now = clock.Now
	c, err := zeev.New(cfg, s.endpoint)
	if err != nil {
		t.Fatal(err)
	}
	zeev.SetNow(c, clock.Now)
	return &env{sim: sim, srv: srv, client: c, clock: clock}
}

func loginConfig(password string) func(*zeev.Config) {
	return func(c *zeev.Config) {
		c.Token = nil
		c.Login = zeevsim.DefaultLogin
		c.Password = clients.SecretValue(password)
	}
}

// calls returns the request log as "METHOD /path" lines.
func (e *env) calls() []string {
	var out []string
	for _, r := range e.sim.Faults().Requests() {
		out = append(out, r.Method+" "+r.Path)
	}
	return out
}

func (e *env) lastBody(t *testing.T) map[string]any {
	t.Helper()
	reqs := e.sim.Faults().Requests()
	if len(reqs) == 0 {
		t.Fatal("no request logged")
	}
	var m map[string]any
	if err := json.Unmarshal(reqs[len(reqs)-1].Body, &m); err != nil {
		t.Fatalf("request body: %v", err)
	}
	return m
}

func (e *env) user(t *testing.T, username string) zeevsim.UserState {
	t.Helper()
	u, ok := e.sim.User(username)
	if !ok {
		t.Fatalf("user %s does not exist in the simulator", username)
	}
	return u
}

func ptr[T any](v T) *T { return &v }

func mustEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %#v\n want %#v", what, got, want)
	}
}

// apiError asserts err is an *APIError with status and code, permanent or not as the status says.
func apiError(t *testing.T, err error, status int, code string) *zeev.APIError {
	t.Helper()
	var ae *zeev.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not a *zeev.APIError", err, err)
	}
	if ae.Err.Status != status || ae.Code != code {
		t.Fatalf("got HTTP %d code %q, want HTTP %d code %q (%v)", ae.Err.Status, ae.Code, status, code, err)
	}
	var se *clients.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("error %v does not unwrap to *clients.StatusError", err)
	}
	if status >= 400 && status < 500 && status != 429 && status != 408 && status != 401 && !clients.IsPermanent(err) {
		t.Errorf("HTTP %d error is not permanent: %v", status, err)
	}
	if auth := (*clients.AuthError)(nil); status == 401 && (!errors.As(err, &auth) || clients.IsPermanent(err) || !clients.IsOutage(err)) {
		t.Errorf("HTTP 401 after a fresh token: %v, want a *clients.AuthError (retryable, an outage)", err)
	}
	return ae
}

func kbExample() zeev.AddUser {
	return zeev.AddUser{
		IfExists: zeev.IfExistsUpdate, Username: "alan.cooper", Name: "Alan Cooper", Email: "[email protected]",
		LicenseType: zeev.LicenseActor, Identification: "09785921213", Document: "12344321", IsActive: ptr(true),
		AuthenticationType: zeev.AuthInternal,
		Positions: &zeev.PositionSet{IfExistsUser: zeev.IfExistsUserDoNothing, Items: []zeev.PositionItem{
			{TeamID: 123, TeamCode: "Tst01", PositionID: 432, PositionCode: "Ps0t1"}}},
		Groups: &zeev.GroupSet{IfExistsUser: zeev.IfExistsUserDoNothing, Items: []zeev.GroupItem{
			{GroupID: 96818982, GroupCode: "grp0cod"}}},
		WelcomeMessage:  &zeev.WelcomeMessage{Send: false},
		BusinessShiftID: ptr(189),
		LeadershipID:    ptr(4321),
	}
}

func TestWhoAmIWithPermanentToken(t *testing.T) {
	e := newEnv(t, setup{})
	id, err := e.client.WhoAmI(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "identity", *id, zeev.Identity{UserID: 1, Username: zeevsim.DefaultLogin})
	reqs := e.sim.Faults().Requests()
	mustEqual(t, "calls", e.calls(), []string{"GET /api/2/tokens"})
	// The log keeps credentials masked: Mask tells which one was sent.
	mustEqual(t, "authorization", reqs[0].Header.Get("Authorization"), "Bearer "+e.sim.Faults().Mask(zeevsim.DefaultToken))
}

func TestTemporaryTokenLogin(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, setup{config: loginConfig(zeevsim.DefaultPassword)})

	// First call logs in, second call reuses the cached token.
	for range 2 {
		if _, err := e.client.WhoAmI(ctx); err != nil {
			t.Fatal(err)
		}
	}
	mustEqual(t, "calls", e.calls(), []string{"POST /api/2/tokens", "GET /api/2/tokens", "GET /api/2/tokens"})
	reqs := e.sim.Faults().Requests()
	var login map[string]string
	if err := json.Unmarshal(reqs[0].Body, &login); err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "login body", login, map[string]string{"login": zeevsim.DefaultLogin, "password": e.sim.Faults().Mask(zeevsim.DefaultPassword)})
	if reqs[0].Header.Get("Authorization") != "" {
		t.Error("the login request carries an Authorization header")
	}
	tok := reqs[1].Header.Get("Authorization")
	if !strings.HasPrefix(tok, "Bearer ") || tok == "Bearer " || reqs[2].Header.Get("Authorization") != tok {
		t.Errorf("API calls used %q and %q, want the same temporary bearer token", tok, reqs[2].Header.Get("Authorization"))
	}

	// After TokenTTL (8m) the client logs in again before the call.
	e.sim.Faults().ClearLog()
	e.clock.Advance(zeev.DefaultTokenTTL + time.Second)
	if _, err := e.client.WhoAmI(ctx); err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "calls after TTL", e.calls(), []string{"POST /api/2/tokens", "GET /api/2/tokens"})
}

func TestTemporaryTokenRefreshedOnceOn401(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, setup{config: func(c *zeev.Config) {
		loginConfig(zeevsim.DefaultPassword)(c)
		c.TokenTTL = time.Hour // longer than the server's 10 minutes: the server expires it first
	}})
	if _, err := e.client.WhoAmI(ctx); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(zeevsim.DefaultTemporaryTokenTTL + time.Second)
	e.sim.Faults().ClearLog()
	if _, err := e.client.WhoAmI(ctx); err != nil {
		t.Fatalf("call after server-side expiry: %v", err)
	}
	mustEqual(t, "calls", e.calls(), []string{"GET /api/2/tokens", "POST /api/2/tokens", "GET /api/2/tokens"})
	reqs := e.sim.Faults().Requests()
	mustEqual(t, "statuses", []int{reqs[0].Status, reqs[1].Status, reqs[2].Status}, []int{401, 200, 200})
	if reqs[0].Header.Get("Authorization") == reqs[2].Header.Get("Authorization") {
		t.Error("the retry used the expired token")
	}
}

func TestLoginFailureKeepsPasswordSecret(t *testing.T) {
	const password = "wrong-password-Xy7"
	e := newEnv(t, setup{config: loginConfig(password)})
	_, err := e.client.WhoAmI(context.Background())
	if err == nil {
		t.Fatal("login with a wrong password succeeded")
	}
	apiError(t, err, http.StatusUnauthorized, "InvalidCredentials")
	if strings.Contains(err.Error(), password) {
		t.Errorf("error reveals the password: %v", err)
	}
	mustEqual(t, "calls", e.calls(), []string{"POST /api/2/tokens"})
}

func TestPermanentTokenRereadAfter401(t *testing.T) {
	const oldTok, newTok = "zeev-token-old1", "zeev-token-new2"
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(oldTok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The token is rotated (the file rewritten) while the first request is in flight; the server only knows the
	// new one.
	rotate := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") == "Bearer "+oldTok {
				if err := os.WriteFile(path, []byte(newTok+"\n"), 0o600); err != nil {
					t.Error(err)
				}
				later := time.Now().Add(time.Hour)
				if err := os.Chtimes(path, later, later); err != nil {
					t.Error(err)
				}
			}
			next.ServeHTTP(w, r)
		})
	}
	e := newEnv(t, setup{
		wrap:    rotate,
		options: func(o *zeevsim.Options) { o.Tokens = map[string]string{newTok: zeevsim.DefaultLogin} },
		config:  func(c *zeev.Config) { c.Token = clients.SecretFile(path) },
	})
	if _, err := e.client.WhoAmI(context.Background()); err != nil {
		t.Fatal(err)
	}
	reqs := e.sim.Faults().Requests()
	mustEqual(t, "calls", e.calls(), []string{"GET /api/2/tokens", "GET /api/2/tokens"})
	mustEqual(t, "tokens", []string{reqs[0].Header.Get("Authorization"), reqs[1].Header.Get("Authorization")},
		[]string{"Bearer " + e.sim.Faults().Mask(oldTok), "Bearer " + e.sim.Faults().Mask(newTok)})
}

func TestRejectedPermanentTokenIsAnAuthFailure(t *testing.T) {
	e := newEnv(t, setup{config: func(c *zeev.Config) { c.Token = clients.SecretValue("not-a-zeev-token") }})
	_, err := e.client.GetUserByUsername(context.Background(), "carla.menezes")
	apiError(t, err, http.StatusUnauthorized, "Unauthorized")
	if errors.Is(err, zeev.ErrNotFound) {
		t.Error("a 401 matches ErrNotFound")
	}
	// A permanent token whose source still holds it is not sent again: nothing new to try.
	mustEqual(t, "calls", e.calls(), []string{"GET /api/2/users/username/carla.menezes"})
}

func TestUpsertUserKBExample(t *testing.T) {
	e := newEnv(t, setup{})
	res, err := e.client.UpsertUser(context.Background(), kbExample())
	if err != nil {
		t.Fatal(err)
	}
	// The client sends exactly the document's example body.
	var want map[string]any
	if err := json.Unmarshal([]byte(kbExampleBody), &want); err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "request body", e.lastBody(t), want)
	mustEqual(t, "calls", e.calls(), []string{"POST /api/2/users"})

	if res.Action != zeev.ActionCreated || res.ID <= 4323 {
		t.Errorf("result %+v, want action Created with a new id", res)
	}
	mustEqual(t, "result", *res, zeev.AddUserResult{
		Action: zeev.ActionCreated, ID: res.ID, Username: "alan.cooper", Name: "Alan Cooper", Email: "[email protected]",
		Identification: "09785921213", Document: "12344321", IsActive: true, AuthenticationType: "internal",
		LicenseType: "actor", BusinessShiftID: ptr(189), LeadershipID: ptr(4321),
	})
	mustEqual(t, "state", e.user(t, "alan.cooper"), zeevsim.UserState{
		ID: res.ID, Username: "alan.cooper", Name: "Alan Cooper", Email: "[email protected]",
		Identification: "09785921213", Document: "12344321", IsActive: true, AuthenticationType: "internal",
		LicenseType: "actor", BusinessShiftID: ptr(189), LeadershipID: ptr(4321),
		Positions: []zeevsim.Assignment{{Team: "Tst01", Position: "Ps0t1"}}, Groups: []string{"grp0cod"},
	})

	// Sent again, it updates the same person.
	res2, err := e.client.UpsertUser(context.Background(), kbExample())
	if err != nil {
		t.Fatal(err)
	}
	if res2.Action != zeev.ActionUpdate || res2.ID != res.ID {
		t.Errorf("second upsert: %+v, want action Update on id %d", res2, res.ID)
	}
}

func TestUpsertUserSendsEveryField(t *testing.T) {
	e := newEnv(t, setup{})
	u := zeev.AddUser{
		IfExists: zeev.IfExistsBlock, Username: "paula.nunes", Name: "Paula Nunes", Email: "paula.nunes@ponte.dev",
		Identification: "000999", Document: "529.982.247-25", IsActive: ptr(false), AuthenticationType: zeev.AuthSSOOnly,
		LicenseType: zeev.LicenseRequester, TimeZone: ptr(-3),
		Positions:       &zeev.PositionSet{IfExistsUser: zeev.IfExistsUserAppend, Items: []zeev.PositionItem{{TeamCode: "RH", PositionCode: "ANALISTA"}}},
		Groups:          &zeev.GroupSet{IfExistsUser: zeev.IfExistsUserAppend, Items: []zeev.GroupItem{{GroupCode: "colaboradores"}}},
		WelcomeMessage:  &zeev.WelcomeMessage{Send: true},
		BusinessShiftID: ptr(190), LeadershipID: ptr(4321),
	}
	if _, err := e.client.UpsertUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "request body", e.lastBody(t), map[string]any{
		"ifExists": "block", "username": "paula.nunes", "name": "Paula Nunes", "email": "paula.nunes@ponte.dev",
		"identification": "000999", "document": "52998224725", "isActive": false, "authenticationType": "ssoonly",
		"licenseType": "requester", "timeZone": float64(-3),
		"positions":       map[string]any{"ifExistsUser": "append", "items": []any{map[string]any{"teamCode": "RH", "positionCode": "ANALISTA"}}},
		"groups":          map[string]any{"ifExistsUser": "append", "items": []any{map[string]any{"groupCode": "colaboradores"}}},
		"welcomeMessage":  map[string]any{"send": true},
		"businessShiftId": float64(190), "leadershipId": float64(4321),
	})
	got := e.user(t, "paula.nunes")
	mustEqual(t, "state", got, zeevsim.UserState{
		ID: got.ID, Username: "paula.nunes", Name: "Paula Nunes", Email: "paula.nunes@ponte.dev", Identification: "000999",
		Document: "52998224725", IsActive: false, AuthenticationType: "ssoonly", LicenseType: "requester",
		TimeZone: ptr(-3), BusinessShiftID: ptr(190), LeadershipID: ptr(4321),
		Positions: []zeevsim.Assignment{{Team: "RH", Position: "ANALISTA"}}, Groups: []string{"colaboradores"},
		WelcomeMessages: 1,
	})

	// The minimal model: optional fields are left out, and the defaults apply.
	e.sim.Faults().ClearLog()
	if _, err := e.client.UpsertUser(context.Background(), zeev.AddUser{
		Username: "alan.cooper", Name: "Alan Cooper", Email: "[email protected]", LicenseType: zeev.LicenseActor,
	}); err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "minimal body", e.lastBody(t), map[string]any{
		"username": "alan.cooper", "name": "Alan Cooper", "email": "[email protected]", "licenseType": "actor"})
	alan := e.user(t, "alan.cooper")
	if alan.AuthenticationType != "default" || !alan.IsActive || alan.WelcomeMessages != 0 {
		t.Errorf("defaults: %+v, want authenticationType default, active, no welcome message", alan)
	}
}

func TestUpsertUserDocumentFormat(t *testing.T) {
	tests := []struct {
		name string
		keep bool
		doc  string
		sent string
	}{
		{"CPF normalised", false, "529.982.247-25", "52998224725"},
		{"CNPJ normalised", false, "11.222.333/0001-81", "11222333000181"},
		{"digits unchanged", false, "12344321", "12344321"},
		{"kept when configured", true, "529.982.247-25", "529.982.247-25"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, setup{config: func(c *zeev.Config) { c.KeepDocumentFormat = tt.keep }})
			res, err := e.client.UpsertUser(context.Background(), zeev.AddUser{
				Username: "alan.cooper", Name: "Alan Cooper", Email: "alan@ponte.dev", LicenseType: "requester", Document: tt.doc})
			if err != nil {
				t.Fatal(err)
			}
			mustEqual(t, "sent document", e.lastBody(t)["document"], any(tt.sent))
			mustEqual(t, "stored document", e.user(t, "alan.cooper").Document, tt.sent)
			mustEqual(t, "returned document", res.Document, tt.sent)
		})
	}
}

func TestUpsertUserIfExists(t *testing.T) {
	joao := func(ifExists, name string) zeev.AddUser {
		return zeev.AddUser{IfExists: ifExists, Username: "joao.pereira", Name: name, Email: "joao@novo.dev",
			LicenseType: zeev.LicenseRequester,
			Positions:   &zeev.PositionSet{IfExistsUser: zeev.IfExistsUserReplace, Items: []zeev.PositionItem{{TeamCode: "RH", PositionCode: "GERENTE"}}}}
	}
	tests := []struct {
		name     string
		in       zeev.AddUser
		code     string // error code, "" for success
		action   string
		mutate   func(*zeevsim.UserState) // expected change to joao.pereira
		respName string
	}{
		{name: "default is block", in: joao("", "João Novo"), code: zeev.CodeUserAlreadyExists},
		{name: "block", in: joao(zeev.IfExistsBlock, "João Novo"), code: zeev.CodeUserAlreadyExists},
		{name: "block matches usernames case-insensitively", in: func() zeev.AddUser {
			u := joao(zeev.IfExistsBlock, "João Novo")
			u.Username = "Joao.Pereira"
			return u
		}(), code: zeev.CodeUserAlreadyExists},
		{name: "retrieve changes nothing", in: joao(zeev.IfExistsRetrieve, "João Novo"), action: zeev.ActionRetrieved,
			respName: "João Pereira"},
		{name: "update overwrites sent fields and keeps the others", in: joao(zeev.IfExistsUpdate, "João P. Pereira"),
			action: zeev.ActionUpdate, respName: "João P. Pereira", mutate: func(u *zeevsim.UserState) {
				u.Name, u.Email = "João P. Pereira", "joao@novo.dev"
				u.Positions = []zeevsim.Assignment{{Team: "RH", Position: "GERENTE"}}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, setup{})
			before := e.sim.Users()
			want := e.user(t, "joao.pereira")
			res, err := e.client.UpsertUser(context.Background(), tt.in)
			if tt.code != "" {
				ae := apiError(t, err, http.StatusBadRequest, tt.code)
				mustEqual(t, "vars", ae.Vars, []string{"username"})
				mustEqual(t, "state", e.sim.Users(), before)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.mutate != nil {
				tt.mutate(&want)
			}
			mustEqual(t, "state", e.user(t, "joao.pereira"), want)
			mustEqual(t, "result", *res, zeev.AddUserResult{
				Action: tt.action, ID: 4322, Username: "joao.pereira", Name: tt.respName, Email: want.Email,
				Identification: "000456", Document: "52998224725", IsActive: true, AuthenticationType: "ssoonly",
				LicenseType: "requester", BusinessShiftID: ptr(189), LeadershipID: ptr(4321),
			})
			mustEqual(t, "people", len(e.sim.Users()), len(before))
		})
	}
}

func TestUpsertUserPositionsAndGroups(t *testing.T) {
	// joao.pereira starts with TI/ANALISTA and the group colaboradores.
	type pos = zeevsim.Assignment
	tests := []struct {
		name      string
		ifExists  string
		positions *zeev.PositionSet
		groups    *zeev.GroupSet
		wantPos   []pos
		wantGrp   []string
	}{
		{name: "positions append adds the missing pairs", ifExists: zeev.IfExistsUpdate,
			positions: &zeev.PositionSet{IfExistsUser: zeev.IfExistsUserAppend, Items: []zeev.PositionItem{
				{TeamCode: "RH", PositionCode: "ANALISTA"}, {TeamCode: "TI", PositionCode: "ANALISTA"}}},
			wantPos: []pos{{Team: "TI", Position: "ANALISTA"}, {Team: "RH", Position: "ANALISTA"}}, wantGrp: []string{"colaboradores"}},
		{name: "positions donothing leaves them", ifExists: zeev.IfExistsUpdate,
			positions: &zeev.PositionSet{IfExistsUser: zeev.IfExistsUserDoNothing, Items: []zeev.PositionItem{{TeamCode: "RH", PositionCode: "ANALISTA"}}},
			wantPos:   []pos{{Team: "TI", Position: "ANALISTA"}}, wantGrp: []string{"colaboradores"}},
		{name: "positions replace sets exactly the items", ifExists: zeev.IfExistsUpdate,
			positions: &zeev.PositionSet{IfExistsUser: zeev.IfExistsUserReplace, Items: []zeev.PositionItem{
				{TeamCode: "RH", PositionCode: "GERENTE"}, {TeamCode: "RH", PositionCode: "GERENTE"}, {TeamCode: "DIR", PositionCode: "DIRETOR"}}},
			wantPos: []pos{{Team: "RH", Position: "GERENTE"}, {Team: "DIR", Position: "DIRETOR"}}, wantGrp: []string{"colaboradores"}},
		{name: "positions replace with no items clears them", ifExists: zeev.IfExistsUpdate,
			positions: &zeev.PositionSet{IfExistsUser: zeev.IfExistsUserReplace, Items: []zeev.PositionItem{}},
			wantPos:   nil, wantGrp: []string{"colaboradores"}},
		{name: "items by id; the id wins over the code", ifExists: zeev.IfExistsUpdate,
			positions: &zeev.PositionSet{IfExistsUser: zeev.IfExistsUserReplace, Items: []zeev.PositionItem{
				{TeamID: 2002, TeamCode: "TI", PositionID: 1002}}},
			wantPos: []pos{{Team: "RH", Position: "GERENTE"}}, wantGrp: []string{"colaboradores"}},
		{name: "groups append adds the missing groups", ifExists: zeev.IfExistsUpdate,
			groups:  &zeev.GroupSet{IfExistsUser: zeev.IfExistsUserAppend, Items: []zeev.GroupItem{{GroupCode: "ti-admins"}, {GroupID: 100}}},
			wantPos: []pos{{Team: "TI", Position: "ANALISTA"}}, wantGrp: []string{"colaboradores", "ti-admins"}},
		{name: "groups donothing leaves them", ifExists: zeev.IfExistsUpdate,
			groups:  &zeev.GroupSet{IfExistsUser: zeev.IfExistsUserDoNothing, Items: []zeev.GroupItem{{GroupCode: "ti-admins"}}},
			wantPos: []pos{{Team: "TI", Position: "ANALISTA"}}, wantGrp: []string{"colaboradores"}},
		{name: "groups replace sets exactly the items", ifExists: zeev.IfExistsUpdate,
			groups:  &zeev.GroupSet{IfExistsUser: zeev.IfExistsUserReplace, Items: []zeev.GroupItem{{GroupID: 101}, {GroupCode: "adm1z0"}}},
			wantPos: []pos{{Team: "TI", Position: "ANALISTA"}}, wantGrp: []string{"ti-admins", "adm1z0"}},
		{name: "retrieve does not touch positions or groups", ifExists: zeev.IfExistsRetrieve,
			positions: &zeev.PositionSet{IfExistsUser: zeev.IfExistsUserReplace, Items: []zeev.PositionItem{{TeamCode: "RH", PositionCode: "GERENTE"}}},
			groups:    &zeev.GroupSet{IfExistsUser: zeev.IfExistsUserReplace, Items: []zeev.GroupItem{{GroupCode: "ti-admins"}}},
			wantPos:   []pos{{Team: "TI", Position: "ANALISTA"}}, wantGrp: []string{"colaboradores"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, setup{})
			_, err := e.client.UpsertUser(context.Background(), zeev.AddUser{
				IfExists: tt.ifExists, Username: "joao.pereira", Name: "João Pereira", Email: "joao.pereira@ponte.dev",
				LicenseType: zeev.LicenseRequester, Positions: tt.positions, Groups: tt.groups})
			if err != nil {
				t.Fatal(err)
			}
			got := e.user(t, "joao.pereira")
			mustEqual(t, "positions", got.Positions, tt.wantPos)
			mustEqual(t, "groups", got.Groups, tt.wantGrp)

			// The API's own views agree with the simulator's state.
			ps, err := e.client.ListUserPositions(context.Background(), 4322)
			if err != nil {
				t.Fatal(err)
			}
			var gotPos []pos
			for _, p := range ps {
				gotPos = append(gotPos, pos{Team: p.Team.Code, Position: p.Position.Code})
			}
			mustEqual(t, "ListUserPositions", gotPos, tt.wantPos)
			gs, err := e.client.ListUserGroups(context.Background(), 4322)
			if err != nil {
				t.Fatal(err)
			}
			if len(gs) != len(tt.wantGrp) {
				t.Errorf("ListUserGroups: %+v, want %d groups", gs, len(tt.wantGrp))
			}
		})
	}
}

func TestUpsertUserRejectsInvalidRequests(t *testing.T) {
	valid := func() zeev.AddUser {
		return zeev.AddUser{IfExists: zeev.IfExistsUpdate, Username: "joao.pereira", Name: "Nome Alterado",
			Email: "alterado@ponte.dev", LicenseType: zeev.LicenseRequester,
			Positions: &zeev.PositionSet{IfExistsUser: zeev.IfExistsUserReplace, Items: []zeev.PositionItem{{TeamCode: "RH", PositionCode: "GERENTE"}}},
			Groups:    &zeev.GroupSet{IfExistsUser: zeev.IfExistsUserReplace, Items: []zeev.GroupItem{{GroupCode: "ti-admins"}}},
		}
	}
	newUser := func(f func(*zeev.AddUser)) zeev.AddUser {
		u := valid()
		u.IfExists, u.Username = "", "novo.usuario"
		f(&u)
		return u
	}
	existing := func(f func(*zeev.AddUser)) zeev.AddUser {
		u := valid()
		f(&u)
		return u
	}
	tests := []struct {
		name  string
		keep  bool // Config.KeepDocumentFormat
		in    zeev.AddUser
		code  string
		field string
	}{
		{"username required", false, newUser(func(u *zeev.AddUser) { u.Username = "" }), "RequiredField", "username"},
		{"name required", false, newUser(func(u *zeev.AddUser) { u.Name = "" }), "RequiredField", "name"},
		{"email required", false, newUser(func(u *zeev.AddUser) { u.Email = "" }), "RequiredField", "email"},
		{"licenseType required", false, newUser(func(u *zeev.AddUser) { u.LicenseType = "" }), "RequiredField", "licenseType"},
		{"username too short", false, newUser(func(u *zeev.AddUser) { u.Username = "ab" }), "InvalidFieldLength", "username"},
		{"username too long", false, newUser(func(u *zeev.AddUser) { u.Username = strings.Repeat("a", 51) }), "InvalidFieldLength", "username"},
		{"name too short", false, newUser(func(u *zeev.AddUser) { u.Name = "Al" }), "InvalidFieldLength", "name"},
		{"name too long", false, newUser(func(u *zeev.AddUser) { u.Name = strings.Repeat("ç", 129) }), "InvalidFieldLength", "name"},
		{"email too long", false, newUser(func(u *zeev.AddUser) { u.Email = strings.Repeat("e", 120) + "@ponte.dev" }), "InvalidFieldLength", "email"},
		{"document pattern", true, newUser(func(u *zeev.AddUser) { u.Document = "529.982.247-2X" }), "InvalidFieldFormat", "document"},
		{"licenseType value", false, newUser(func(u *zeev.AddUser) { u.LicenseType = "admin" }), "InvalidFieldValue", "licenseType"},
		{"authenticationType value", false, newUser(func(u *zeev.AddUser) { u.AuthenticationType = "ldap" }), "InvalidFieldValue", "authenticationType"},
		{"ifExists value", false, newUser(func(u *zeev.AddUser) { u.IfExists = "overwrite" }), "InvalidFieldValue", "ifExists"},
		{"positions.ifExistsUser required", false, existing(func(u *zeev.AddUser) { u.Positions.IfExistsUser = "" }), "RequiredField", "positions.ifExistsUser"},
		{"groups.ifExistsUser required", false, existing(func(u *zeev.AddUser) { u.Groups.IfExistsUser = "" }), "RequiredField", "groups.ifExistsUser"},
		{"positions.ifExistsUser value", false, existing(func(u *zeev.AddUser) { u.Positions.IfExistsUser = "merge" }), "InvalidFieldValue", "positions.ifExistsUser"},
		{"position item without team", false, existing(func(u *zeev.AddUser) { u.Positions.Items[0].TeamCode = "" }), "RequiredField", "positions.items[0].teamId"},
		{"position item without position", false, existing(func(u *zeev.AddUser) { u.Positions.Items[0].PositionCode = "" }), "RequiredField", "positions.items[0].positionId"},
		{"group item without id or code", false, existing(func(u *zeev.AddUser) { u.Groups.Items = []zeev.GroupItem{{}} }), "RequiredField", "groups.items[0].groupId"},
		{"unknown team code", false, existing(func(u *zeev.AddUser) { u.Positions.Items[0].TeamCode = "XX" }), zeev.CodeTeamNotFound, "positions.items[0].teamCode"},
		{"unknown team id", false, existing(func(u *zeev.AddUser) { u.Positions.Items[0].TeamID = 999 }), zeev.CodeTeamNotFound, "positions.items[0].teamId"},
		{"unknown position code", false, existing(func(u *zeev.AddUser) {
			u.Positions.Items = append(u.Positions.Items, zeev.PositionItem{TeamCode: "TI", PositionCode: "ESTAGIARIO"})
		}), zeev.CodePositionNotFound, "positions.items[1].positionCode"},
		{"unknown position id", false, existing(func(u *zeev.AddUser) { u.Positions.Items[0].PositionID = 999 }), zeev.CodePositionNotFound, "positions.items[0].positionId"},
		{"unknown group code", false, existing(func(u *zeev.AddUser) {
			u.Groups.Items = append(u.Groups.Items, zeev.GroupItem{GroupCode: "nao-existe"})
		}), zeev.CodeGroupNotFound, "groups.items[1].groupCode"},
		{"unknown group id", false, existing(func(u *zeev.AddUser) { u.Groups.Items[0].GroupID = 999 }), zeev.CodeGroupNotFound, "groups.items[0].groupId"},
		{"unknown team for a new user", false, newUser(func(u *zeev.AddUser) { u.Positions.Items[0].TeamCode = "XX" }), zeev.CodeTeamNotFound, "positions.items[0].teamCode"},
		{"unknown business shift", false, newUser(func(u *zeev.AddUser) { u.BusinessShiftID = ptr(7) }), "BusinessShiftNotFound", "businessShiftId"},
		{"unknown leader", false, newUser(func(u *zeev.AddUser) { u.LeadershipID = ptr(7) }), "LeadershipNotFound", "leadershipId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, setup{config: func(c *zeev.Config) { c.KeepDocumentFormat = tt.keep }})
			before := e.sim.Users()
			_, err := e.client.UpsertUser(context.Background(), tt.in)
			ae := apiError(t, err, http.StatusBadRequest, tt.code)
			mustEqual(t, "vars", ae.Vars, []string{tt.field})
			if ae.Message == "" || !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error does not name the field %q: %v", tt.field, err)
			}
			mustEqual(t, "state (nothing written)", e.sim.Users(), before)
			mustEqual(t, "calls", e.calls(), []string{"POST /api/2/users"})
		})
	}
}

func TestLicenseSeats(t *testing.T) {
	ctx := context.Background()
	// Two actor seats, both taken by integracao@ponte.dev and carla.menezes.
	e := newEnv(t, setup{fixtures: func(f *zeevsim.Fixtures) { f.Licenses = map[string]int{"actor": 2} }})
	actor := func(username string, active *bool) zeev.AddUser {
		return zeev.AddUser{Username: username, Name: "Pessoa Nova", Email: username + "@ponte.dev",
			LicenseType: zeev.LicenseActor, IsActive: active}
	}

	before := e.sim.Users()
	_, err := e.client.UpsertUser(ctx, actor("ator.ativo", nil))
	apiError(t, err, http.StatusBadRequest, zeev.CodeLicenseLimitExceeded)
	mustEqual(t, "state after refused create", e.sim.Users(), before)

	// An inactive person takes no seat.
	res, err := e.client.UpsertUser(ctx, actor("ator.inativo", ptr(false)))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.client.ActivateUser(ctx, res.ID); err == nil {
		t.Fatal("activation without a free seat succeeded")
	} else {
		apiError(t, err, http.StatusBadRequest, zeev.CodeLicenseLimitExceeded)
	}
	// Upsert-update cannot activate either, nor move an active requester to a full license type.
	_, err = e.client.UpsertUser(ctx, zeev.AddUser{IfExists: zeev.IfExistsUpdate, Username: "ator.inativo",
		Name: "Pessoa Nova", Email: "ator.inativo@ponte.dev", LicenseType: zeev.LicenseActor, IsActive: ptr(true)})
	apiError(t, err, http.StatusBadRequest, zeev.CodeLicenseLimitExceeded)
	_, err = e.client.UpsertUser(ctx, zeev.AddUser{IfExists: zeev.IfExistsUpdate, Username: "joao.pereira",
		Name: "João Pereira", Email: "joao.pereira@ponte.dev", LicenseType: zeev.LicenseActor})
	apiError(t, err, http.StatusBadRequest, zeev.CodeLicenseLimitExceeded)
	if got := e.user(t, "joao.pereira").LicenseType; got != "requester" {
		t.Errorf("joao.pereira license %q after a refused update, want requester", got)
	}

	// Deactivating frees a seat, which the next activation takes.
	if err := e.client.DeactivateUser(ctx, 4321); err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "seats", e.sim.SeatsUsed("actor"), 1)
	if err := e.client.ActivateUser(ctx, res.ID); err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "seats", e.sim.SeatsUsed("actor"), 2)
	if !e.user(t, "ator.inativo").IsActive || e.user(t, "carla.menezes").IsActive {
		t.Error("activation state not as expected")
	}
	err = e.client.ActivateUser(ctx, 4321)
	apiError(t, err, http.StatusBadRequest, zeev.CodeLicenseLimitExceeded)
	// Activating an active person needs no new seat.
	if err := e.client.ActivateUser(ctx, res.ID); err != nil {
		t.Errorf("activating an active person: %v", err)
	}
	mustEqual(t, "calls", e.calls()[len(e.calls())-3:], []string{
		"PATCH /api/2/users/" + itoa(res.ID) + "/account/activate",
		"PATCH /api/2/users/4321/account/activate",
		"PATCH /api/2/users/" + itoa(res.ID) + "/account/activate",
	})
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestDeactivateAndActivate(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, setup{})
	if err := e.client.DeactivateUser(ctx, 4322); err != nil {
		t.Fatal(err)
	}
	if e.user(t, "joao.pereira").IsActive {
		t.Error("joao.pereira still active")
	}
	if err := e.client.DeactivateUser(ctx, 4322); err != nil {
		t.Errorf("deactivating an inactive person: %v", err)
	}
	if err := e.client.ActivateUser(ctx, 4322); err != nil {
		t.Fatal(err)
	}
	if !e.user(t, "joao.pereira").IsActive {
		t.Error("joao.pereira not active again")
	}
	mustEqual(t, "calls", e.calls(), []string{
		"PATCH /api/2/users/4322/account/deactivate", "PATCH /api/2/users/4322/account/deactivate",
		"PATCH /api/2/users/4322/account/activate"})
	for _, r := range e.sim.Faults().Requests() {
		if len(r.Body) != 0 {
			t.Errorf("%s %s sent a body: %s", r.Method, r.Path, r.Body)
		}
	}

	err := e.client.DeactivateUser(ctx, 999999)
	apiError(t, err, http.StatusNotFound, "UserNotFound")
	if !errors.Is(err, zeev.ErrNotFound) {
		t.Errorf("deactivating an unknown id: %v does not match ErrNotFound", err)
	}
}

func TestForbiddenWithoutPermission(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, setup{
		options: func(o *zeevsim.Options) { o.Tokens = map[string]string{"joao-token": "joao.pereira"} },
		config:  func(c *zeev.Config) { c.Token = clients.SecretValue("joao-token") },
	})
	id, err := e.client.WhoAmI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "identity", *id, zeev.Identity{UserID: 4322, Username: "joao.pereira"})
	_, err = e.client.UpsertUser(ctx, kbExample())
	apiError(t, err, http.StatusForbidden, "Forbidden")
	apiError(t, e.client.DeactivateUser(ctx, 4321), http.StatusForbidden, "Forbidden")
	if _, ok := e.sim.User("alan.cooper"); ok {
		t.Error("a forbidden upsert created the person")
	}
	if !e.user(t, "carla.menezes").IsActive {
		t.Error("a forbidden deactivation took effect")
	}
}

func TestGetUser(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, setup{})
	want := &zeev.User{
		ID: 4321, Name: "Carla Menezes", Email: "carla.menezes@ponte.dev", Username: "carla.menezes",
		Document: "11144477735", Identification: "000123", IsActive: true, AuthenticationType: "ssoonly",
		LicenseType: "actor", CreateDate: "2025-02-10T13:30:00.000Z", BusinessShiftID: ptr(189),
		Leadership:      &zeev.UserRef{ID: 1, Name: "Integração Ponte", Username: "integracao@ponte.dev", Email: "integracao@ponte.dev"},
		IsSubstituteFor: json.RawMessage(`[]`), Substitute: json.RawMessage(`null`),
		Groups: []zeev.UserGroupMembership{{ID: 100, Name: "Colaboradores"}, {ID: 101, Name: "Administradores de TI"}},
		Positions: []zeev.UserPosition{{
			Position: zeev.PositionRef{ID: 1002, Code: "GERENTE", Name: "Gerente", Level: 2},
			Team:     zeev.TeamRef{ID: 2001, Code: "TI", Name: "Tecnologia da Informação", Sign: "TI", Level: 2}}},
	}
	byName, err := e.client.GetUserByUsername(ctx, "carla.menezes")
	if err != nil {
		t.Fatal(err)
	}
	if len(byName.Positions) != 1 || byName.Positions[0].ID == 0 {
		t.Fatalf("positions %+v, want one with an id", byName.Positions)
	}
	want.Positions[0].ID = byName.Positions[0].ID // assignment ids are the simulator's business
	mustEqual(t, "by username", byName, want)
	byID, err := e.client.GetUser(ctx, 4321)
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "by id", byID, want)
	if _, err := e.client.GetUserByUsername(ctx, "CARLA.Menezes"); err != nil {
		t.Errorf("usernames are case-insensitive: %v", err)
	}
	mustEqual(t, "calls", e.calls(), []string{"GET /api/2/users/username/carla.menezes", "GET /api/2/users/4321",
		"GET /api/2/users/username/CARLA.Menezes"})
}

func TestGetUserNotFound(t *testing.T) {
	tests := []struct {
		name string
		call func(*zeev.Client) error
		path string
		ref  string
	}{
		{"unknown username", func(c *zeev.Client) error { _, err := c.GetUserByUsername(context.Background(), "ninguem"); return err },
			"/api/2/users/username/ninguem", "ninguem"},
		{"username with a slash is one escaped segment", func(c *zeev.Client) error {
			_, err := c.GetUserByUsername(context.Background(), "x/../../tokens")
			return err
		}, "/api/2/users/username/x/../../tokens", "x/../../tokens"},
		{"username with a space", func(c *zeev.Client) error {
			_, err := c.GetUserByUsername(context.Background(), "ana maria")
			return err
		},
			"/api/2/users/username/ana maria", "ana maria"},
		{"unknown id", func(c *zeev.Client) error { _, err := c.GetUser(context.Background(), 777); return err },
			"/api/2/users/777", "777"},
		{"positions of an unknown id", func(c *zeev.Client) error { _, err := c.ListUserPositions(context.Background(), 777); return err },
			"/api/2/users/777/positions", "777"},
		{"groups of an unknown id", func(c *zeev.Client) error { _, err := c.ListUserGroups(context.Background(), 777); return err },
			"/api/2/users/777/groups", "777"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, setup{})
			err := tt.call(e.client)
			if !errors.Is(err, zeev.ErrNotFound) {
				t.Fatalf("error %v does not match ErrNotFound", err)
			}
			ae := apiError(t, err, http.StatusNotFound, "UserNotFound")
			mustEqual(t, "vars", ae.Vars, []string{tt.ref})
			if clients.HTTPStatus(err) != 404 {
				t.Errorf("HTTPStatus = %d", clients.HTTPStatus(err))
			}
			mustEqual(t, "calls", e.calls(), []string{"GET " + tt.path})
		})
	}
}

func TestCatalogByCode(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, setup{})
	team, err := e.client.TeamByCode(ctx, "TI")
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "team", team, &zeev.Team{ID: 2001, Code: "TI", Name: "Tecnologia da Informação", Level: 2, Sign: "TI",
		ParentID: ptr(2000), Active: true, Description: "Infraestrutura, sistemas e suporte", Type: "Departamento",
		State: "ES", City: "Vitória", Parent: &zeev.Team{ID: 2000, Code: "DIR", Name: "Diretoria", Level: 1, Sign: "DIR"}})
	pos, err := e.client.PositionByCode(ctx, "Ps0t1")
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "position", pos, &zeev.Position{ID: 432, Code: "Ps0t1", Name: "Posição de teste (exemplo da documentação)", Level: 1, Active: true})
	grp, err := e.client.GroupByCode(ctx, "grp0cod")
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, "group", grp, &zeev.Group{ID: 96818982, Code: "grp0cod", Name: "Grupo de teste (exemplo da documentação)"})
	mustEqual(t, "calls", e.calls(), []string{"GET /api/2/teams/code/TI", "GET /api/2/positions/code/Ps0t1", "GET /api/2/groups/code/grp0cod"})

	notFound := []struct {
		name string
		call func() error
		code string
	}{
		{"team", func() error { _, err := e.client.TeamByCode(ctx, "NOPE"); return err }, "TeamNotFound"},
		{"team code with a slash", func() error { _, err := e.client.TeamByCode(ctx, "TI/positions"); return err }, "TeamNotFound"},
		{"position", func() error { _, err := e.client.PositionByCode(ctx, "NOPE"); return err }, "PositionNotFound"},
		{"group", func() error { _, err := e.client.GroupByCode(ctx, "NOPE"); return err }, "GroupNotFound"},
	}
	for _, tt := range notFound {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, zeev.ErrNotFound) {
				t.Fatalf("error %v does not match ErrNotFound", err)
			}
			apiError(t, err, http.StatusNotFound, tt.code)
		})
	}
}

func TestBreakerOpensOnOutageOnly(t *testing.T) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	breakers := clients.NewBreakers(clients.BreakerSettings{ConsecutiveFailures: 3, OpenTimeout: 200 * time.Millisecond}, reg)
	e := newEnv(t, setup{endpoint: clients.EndpointOptions{Breakers: breakers, Registerer: reg}})
	key := clients.BreakerKey{Target: zeev.Target}

	// A run of permanent 404s is the caller's business: the breaker stays closed.
	for range 5 {
		if _, err := e.client.GetUserByUsername(ctx, "ninguem"); !errors.Is(err, zeev.ErrNotFound) {
			t.Fatalf("want ErrNotFound, got %v", err)
		}
	}
	if _, err := e.client.UpsertUser(ctx, zeev.AddUser{Username: "x"}); !clients.IsPermanent(err) {
		t.Fatalf("want a permanent 400, got %v", err)
	}
	mustEqual(t, "state after 4xx", breakers.State(key), clients.StateClosed)

	// An outage opens it after 3 failures; then calls are refused without reaching the API.
	e.sim.Faults().SetDown(true)
	for i := range 3 {
		_, err := e.client.WhoAmI(ctx)
		var te *clients.TransportError
		if !errors.As(err, &te) || clients.IsPermanent(err) {
			t.Fatalf("call %d while down: %v (%T), want a retryable *clients.TransportError", i, err, err)
		}
	}
	mustEqual(t, "state after outage", breakers.State(key), clients.StateOpen)
	logged := len(e.sim.Faults().Requests())
	_, err := e.client.WhoAmI(ctx)
	var oe *clients.OpenError
	if !errors.As(err, &oe) || clients.IsPermanent(err) || clients.RetryAfter(err) <= 0 {
		t.Fatalf("call while open: %v, want a retryable *clients.OpenError with a RetryAfter", err)
	}
	if n := len(e.sim.Faults().Requests()); n != logged {
		t.Errorf("%d requests reached the API while the breaker was open", n-logged)
	}

	// Back up: after OpenTimeout a probe goes through and closes it.
	e.sim.Faults().SetDown(false)
	time.Sleep(250 * time.Millisecond)
	if _, err := e.client.WhoAmI(ctx); err != nil {
		t.Fatalf("probe after recovery: %v", err)
	}
	mustEqual(t, "state after recovery", breakers.State(key), clients.StateClosed)
}

func TestRetryableStatuses(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter time.Duration
		code       string // of the ErrorResponse body, which the injected failure carries like a real one
	}{
		{"429 with Retry-After", http.StatusTooManyRequests, 2 * time.Second, "TooManyRequests"},
		{"500", http.StatusInternalServerError, 0, "InternalServerError"},
		{"502", http.StatusBadGateway, 0, "BadGateway"},
		{"503 with Retry-After", http.StatusServiceUnavailable, time.Second, "ServiceUnavailable"},
		{"504", http.StatusGatewayTimeout, 0, "GatewayTimeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, setup{})
			e.sim.Faults().FailNext(1, tt.status, tt.retryAfter)
			_, err := e.client.UpsertUser(context.Background(), kbExample())
			if err == nil {
				t.Fatal("no error")
			}
			if clients.IsPermanent(err) {
				t.Errorf("HTTP %d is permanent: %v", tt.status, err)
			}
			if got := clients.RetryAfter(err); got != tt.retryAfter {
				t.Errorf("RetryAfter = %s, want %s", got, tt.retryAfter)
			}
			if clients.HTTPStatus(err) != tt.status {
				t.Errorf("HTTPStatus = %d, want %d", clients.HTTPStatus(err), tt.status)
			}
			apiError(t, err, tt.status, tt.code)
			if !strings.Contains(err.Error(), "zeev upsert user alan.cooper") {
				t.Errorf("error lacks the operation and username: %v", err)
			}
			if _, ok := e.sim.User("alan.cooper"); ok {
				t.Error("the failed request was served")
			}
		})
	}
}

func TestSimulatorRateLimit(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, setup{options: func(o *zeevsim.Options) { o.RateLimit = 2 }})
	for i := range 2 {
		if _, err := e.client.WhoAmI(ctx); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	_, err := e.client.WhoAmI(ctx)
	apiError(t, err, http.StatusTooManyRequests, "TooManyRequests")
	if clients.IsPermanent(err) || clients.RetryAfter(err) != time.Second {
		t.Errorf("429: permanent=%v RetryAfter=%s, want retryable after 1s", clients.IsPermanent(err), clients.RetryAfter(err))
	}
	e.clock.Advance(time.Second)
	if _, err := e.client.WhoAmI(ctx); err != nil {
		t.Errorf("next second: %v", err)
	}
}

func TestContextCanceled(t *testing.T) {
	e := newEnv(t, setup{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.client.WhoAmI(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}
