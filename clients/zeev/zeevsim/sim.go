// Package zeevsim is an in-memory simulator of the part of the Zeev BPM REST API v2 that ponte uses: tokens,
// people (create-or-update with POST /api/2/users, lookups, activation), their positions and groups, and the
// team, position and group catalogues. It follows the Zeev knowledge-base page "Criar ou atualizar dados de
// pessoas" and the research notes on the target APIs (TARGET-APIS.md, section 1), including the details marked ASSUMED there:
//
//   - every error answers {"error":{"code","key","message","vars":[],"details":[]}} with a Portuguese message;
//   - ifExists "block" on an existing username answers 400 code "UserAlreadyExists";
//   - an unknown team, position or group answers 400 "TeamNotFound", "PositionNotFound" or "GroupNotFound",
//     and nothing is written;
//   - creating or activating an active person without a free seat of their license type answers 400
//     "LicenseLimitExceeded";
//   - positions and groups, when sent, need both ifExistsUser and items (400 "RequiredField" otherwise, as the
//     document makes both required); an empty items array is an array;
//   - username 3–50, name 3–128 and email 3–128 characters;
//   - GET /api/2/users returns 100 people per page;
//   - with Options.RateLimit set, a token over the limit gets 429 with Retry-After: 1;
//   - a request body over MaxBodyBytes (1 MiB) answers 413 "RequestTooLarge".
//
// Beyond the documents (ASSUMED here): GET /api/2/tokens answers a temporary token with itself and a permanent
// token with the same temporary token while that has half its life left; at most Options.MaxTemporaryTokens live
// temporary tokens are held, expired ones are swept as new ones are issued; a token stops working when its person
// is deactivated; only a person with isSuperAdmin may create, update, activate or deactivate people (403
// "Forbidden" otherwise); an unknown businessShiftId or leadershipId answers 400 "BusinessShiftNotFound" or
// "LeadershipNotFound"; unknown JSON fields in a POST body answer 400 "InvalidRequest"; welcomeMessage.send
// defaults to false.
//
// The Server wraps its routes in a fault.Injector (Faults), so tests can take the API down, inject 429 and 5xx
// answers, and read the request log.
// Revoke, Restore and SetTokenTTL (also served at /_sim/auth, see fault.AuthControls) revoke and restore a
// credential and shorten the life of the tokens issued, while the simulator runs; AddTeam adds a team to the
// catalogue, as when a missing team is created in Zeev.
package zeevsim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ponte-dev/ponte/clients/fault"
)

// The fixed development credentials the simulator accepts when Options leaves them unset.
const (
	// DefaultToken is the permanent token of the integration person DefaultLogin.
	DefaultToken = "zeev-dev-token"
	// DefaultLogin is the login (username) of the integration person; it must be a user in the fixtures.
	DefaultLogin = "integracao@ponte.dev"
	// DefaultPassword is DefaultLogin's password for POST /api/2/tokens.
	DefaultPassword = "zeev-dev-password"
)

// Defaults of Options.
const (
	// DefaultTemporaryTokenTTL is the life of a temporary token, as documented.
	DefaultTemporaryTokenTTL = 10 * time.Minute
	// DefaultPageSize is the number of people per page of GET /api/2/users (ASSUMED).
	DefaultPageSize = 100
	// DefaultRateLimit is the ASSUMED limit of the real API in requests per second per token. It is not applied
	// unless Options.RateLimit is set to it (`ponte sandbox --zeev-rate-limit 5`; the flag's default is no limit).
	DefaultRateLimit = 5
	// DefaultMaxTemporaryTokens is the default of Options.MaxTemporaryTokens.
	DefaultMaxTemporaryTokens = 10_000
)

// MaxBodyBytes is the largest request body the simulator reads (1 MiB): a larger one, announced by Content-Length
// or found while reading, is answered 413 "RequestTooLarge" in the ErrorResponse shape. Zeev does not publish its
// limit; this one protects the sandbox and is far above any request of the documents (a few KiB).
const MaxBodyBytes = 1 << 20

// The license types of AddUserModel.licenseType, the keys of Fixtures.Licenses.
const (
	LicenseActor     = "actor"
	LicenseRequester = "requester"
)

var (
	authenticationTypes = []string{"default", "internal", "network", "ssoonly"}
	ifExistsValues      = []string{"block", "retrieve", "update"}
	ifExistsUserValues  = []string{"append", "donothing", "replace"}
	licenseTypes        = []string{LicenseActor, LicenseRequester}
	documentPattern     = regexp.MustCompile(`^[0-9.\-/]+$`)
)

// Options are the credentials and knobs of a Server. The zero value gives the development defaults.
type Options struct {
	// Tokens maps every accepted permanent token to the username of the person it represents. Default:
	// DefaultToken → DefaultLogin.
	Tokens map[string]string
	// Logins maps every login accepted by POST /api/2/tokens (the person's username) to its password. Default:
	// DefaultLogin → DefaultPassword.
	Logins map[string]string
	// TemporaryTokenTTL is the life of a temporary token. Default DefaultTemporaryTokenTTL.
	TemporaryTokenTTL time.Duration
	// PageSize is the number of people per page of GET /api/2/users. Default DefaultPageSize.
	PageSize int
	// RateLimit is the most requests a token may make per second (clock second of Now); more get 429 with
	// Retry-After: 1. 0 (default) means no limit; see DefaultRateLimit.
	RateLimit int
	// Now is the clock, for token expiry, rate windows and dates. Default time.Now.
	Now func() time.Time
	// MaxTemporaryTokens is the most live temporary tokens the simulator holds; issuing one more drops the one
	// closest to its expiry (its holder gets a 401 and logs in again). Default DefaultMaxTemporaryTokens.
	MaxTemporaryTokens int
}

// Server is the simulated Zeev API: an http.Handler holding its state in memory. Every request goes through the
// fault injector returned by Faults. Safe for concurrent use.
type Server struct {
	// TokenLife is the lifetime of the tokens issued from now on (TokenTTL, SetTokenTTL; PUT /_sim/auth).
	*fault.TokenLife
	faults *fault.Injector
	opts   Options

	mu          sync.Mutex
	licenses    map[string]int
	shifts      map[int]BusinessShift
	teams       []*team
	positions   []*position
	groups      []*group
	users       []*user // in id order
	nextUserID  int
	nextAssign  int
	tempTokens  map[string]tempToken
	sweepAt     int               // len(tempTokens) at which the next issue sweeps the expired ones
	whoAmIToken map[string]string // permanent token -> the temporary token GET /api/2/tokens last answered with
	rateWindows map[string]rateWindow
	revoked     map[string]bool // revoked credentials: "token:<permanent token>", "login:<lower-case login>"
}

type team struct {
	Team
	parentID int
	active   bool
}

type position struct {
	Position
	parentID int
	active   bool
}

type group struct{ Group }

type assignment struct {
	id, teamID, positionID int
}

type user struct {
	id                 int
	username           string
	name               string
	email              string
	identification     string
	document           string
	isActive           bool
	isSuperAdmin       bool
	isLocked           bool
	authenticationType string
	licenseType        string
	timeZone           *int
	businessShiftID    *int
	leadershipID       *int
	createDate         time.Time
	lastLoginDate      time.Time
	passwordRequired   bool
	positions          []assignment
	groups             []int
	welcomeMessages    int
}

type tempToken struct {
	username string
	source   string // the credential it was issued for: "token:<permanent token>" or "login:<lower-case login>"
	expires  time.Time
}

type rateWindow struct {
	second int64
	count  int
}

// New returns a Server holding the state described by f. It panics if f is invalid (f.Validate() != nil):
// fixtures are program input, checked by LoadFixtures.
func New(f Fixtures, opts Options) *Server {
	if err := f.Validate(); err != nil {
		panic(err)
	}
	if opts.Tokens == nil {
		opts.Tokens = map[string]string{DefaultToken: DefaultLogin}
	}
	if opts.Logins == nil {
		opts.Logins = map[string]string{DefaultLogin: DefaultPassword}
	}
	opts.Tokens, opts.Logins = maps.Clone(opts.Tokens), maps.Clone(opts.Logins)
	if opts.TemporaryTokenTTL <= 0 {
		opts.TemporaryTokenTTL = DefaultTemporaryTokenTTL
	}
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	if opts.MaxTemporaryTokens <= 0 {
		opts.MaxTemporaryTokens = DefaultMaxTemporaryTokens
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts:        opts,
		licenses:    maps.Clone(f.Licenses),
		shifts:      map[int]BusinessShift{},
		tempTokens:  map[string]tempToken{},
		sweepAt:     minSweep,
		whoAmIToken: map[string]string{},
		rateWindows: map[string]rateWindow{},
		TokenLife:   fault.NewTokenLife(opts.TemporaryTokenTTL, false),
		revoked:     map[string]bool{},
		nextUserID:  1,
		nextAssign:  1,
	}
	for _, sh := range f.BusinessShifts {
		s.shifts[sh.ID] = sh
	}
	for _, p := range f.Positions {
		s.positions = append(s.positions, &position{Position: p, active: p.Active == nil || *p.Active})
	}
	for _, p := range s.positions {
		if p.Parent != "" {
			p.parentID = s.positionByCode(p.Parent).ID
		}
	}
	for _, t := range f.Teams {
		s.teams = append(s.teams, &team{Team: t, active: t.Active == nil || *t.Active})
	}
	for _, t := range s.teams {
		if t.Parent != "" {
			t.parentID = s.teamByCode(t.Parent).ID
		}
	}
	for _, g := range f.Groups {
		s.groups = append(s.groups, &group{g})
	}
	start := opts.Now().UTC()
	for _, fu := range f.Users {
		u := &user{
			id: fu.ID, username: fu.Username, name: fu.Name, email: fu.Email, identification: fu.Identification,
			document: fu.Document, isActive: fu.IsActive == nil || *fu.IsActive, isSuperAdmin: fu.IsSuperAdmin,
			isLocked: fu.IsLocked, authenticationType: fu.AuthenticationType, licenseType: fu.LicenseType,
			timeZone: fu.TimeZone, businessShiftID: fu.BusinessShiftID, leadershipID: fu.LeadershipID,
			createDate: start,
		}
		if u.authenticationType == "" {
			u.authenticationType = "default"
		}
		if fu.CreateDate != "" {
			u.createDate, _ = time.Parse(time.RFC3339, fu.CreateDate)
		}
		for _, a := range fu.Positions {
			u.positions = s.addAssignment(u.positions, s.teamByCode(a.Team).ID, s.positionByCode(a.Position).ID)
		}
		for _, gc := range fu.Groups {
			u.groups = addGroup(u.groups, s.groupByCode(gc).ID)
		}
		s.users = append(s.users, u)
		if u.id >= s.nextUserID {
			s.nextUserID = u.id + 1
		}
	}
	sort.Slice(s.users, func(i, j int) bool { return s.users[i].id < s.users[j].id })
	s.faults = fault.New(s.routes(), fault.Options{ErrorBody: injectedError, Controls: fault.AuthControls(s)})
	return s
}

// injectedError answers a failure injected by Faults in the ErrorResponse shape, as the API answers its own: a 429
// like the rate limiter's, other statuses with their name as the code ("ServiceUnavailable").
func injectedError(w http.ResponseWriter, _ *http.Request, status int) {
	if status == http.StatusTooManyRequests {
		writeError(w, status, "TooManyRequests", "error.ratelimit", msgRateLimit)
		return
	}
	writeError(w, status, strings.ReplaceAll(http.StatusText(status), " ", ""), fmt.Sprintf("error.http.%d", status),
		fmt.Sprintf("Falha no servidor (HTTP %d %s). Tente novamente mais tarde.", status, http.StatusText(status)))
}

// Faults returns the fault injector every request goes through: use it to inject failures and read the request
// log.
func (s *Server) Faults() *fault.Injector { return s.faults }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.faults.ServeHTTP(w, r) }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/2/tokens", s.login)
	mux.HandleFunc("GET /api/2/tokens", s.whoAmI)
	mux.HandleFunc("POST /api/2/users", s.upsertUser)
	mux.HandleFunc("GET /api/2/users", s.listUsers)
	mux.HandleFunc("GET /api/2/users/{ref}", s.getUser)
	mux.HandleFunc("GET /api/2/users/{a}/{b}", s.getUserSub)
	mux.HandleFunc("PATCH /api/2/users/{id}/account/{action}", s.account)
	mux.HandleFunc("GET /api/2/teams", s.listTeams)
	mux.HandleFunc("GET /api/2/teams/{id}", s.getTeam)
	mux.HandleFunc("GET /api/2/teams/{a}/{b}", s.getTeamSub)
	positions := catalog[*position]{s: s, notFound: "PositionNotFound", label: "Função",
		all: func() []*position { return s.positions }, name: func(p *position) string { return p.Name },
		byID: s.positionByID, byCode: s.positionByCode, json: positionJSON}
	mux.HandleFunc("GET /api/2/positions", positions.list)
	mux.HandleFunc("GET /api/2/positions/{id}", positions.get)
	mux.HandleFunc("GET /api/2/positions/code/{code}", positions.getByCode)
	groups := catalog[*group]{s: s, notFound: "GroupNotFound", label: "Grupo",
		all: func() []*group { return s.groups }, name: func(g *group) string { return g.Name },
		byID: s.groupByID, byCode: s.groupByCode, json: groupJSON}
	mux.HandleFunc("GET /api/2/groups", groups.list)
	mux.HandleFunc("GET /api/2/groups/{id}", groups.get)
	mux.HandleFunc("GET /api/2/groups/code/{code}", groups.getByCode)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		errRouteNotFound(r).write(w)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBodyBytes {
			errTooLarge().write(w)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		if r.Method == http.MethodPost && r.URL.Path == "/api/2/tokens" {
			mux.ServeHTTP(w, r)
			return
		}
		username, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, username)))
	})
}

// msgRateLimit is the message of a 429.
const msgRateLimit = "Limite de requisições excedido. Aguarde antes de tentar novamente."

// principalKey is the context key of the authenticated person's username.
type principalKey struct{}

// authenticate checks the Bearer token and the rate limit and returns the username of the token's person. It
// writes the error answer and returns false when the request must stop.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (string, bool) {
	auth := r.Header.Get("Authorization")
	scheme, tok, _ := strings.Cut(auth, " ")
	tok = strings.TrimSpace(tok)
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		writeError(w, http.StatusUnauthorized, "Unauthorized", "error.auth.unauthorized",
			"Token de autenticação ausente. Envie o cabeçalho Authorization: Bearer <token>.")
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	username, ok := s.opts.Tokens[tok]
	ok = ok && !s.revoked["token:"+tok]
	if !ok {
		tt, found := s.tempTokens[tok]
		if found && now.Before(tt.expires) {
			username, ok = tt.username, true
		} else if found {
			s.dropToken(tok)
		}
	}
	var u *user
	if ok {
		u = s.userByUsername(username)
	}
	if u == nil || !u.isActive || u.isLocked {
		writeError(w, http.StatusUnauthorized, "Unauthorized", "error.auth.unauthorized",
			"Token de autenticação inválido ou expirado.")
		return "", false
	}
	if s.opts.RateLimit > 0 {
		sec := now.Unix()
		win := s.rateWindows[tok]
		if win.second != sec {
			win = rateWindow{second: sec}
		}
		win.count++
		s.rateWindows[tok] = win
		if win.count > s.opts.RateLimit {
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusTooManyRequests, "TooManyRequests", "error.ratelimit", msgRateLimit)
			return "", false
		}
	}
	return u.username, true
}

// principal returns the authenticated person; the caller holds s.mu.
func (s *Server) principal(r *http.Request) *user {
	name, _ := r.Context().Value(principalKey{}).(string)
	return s.userByUsername(name)
}

type loginRequest struct {
	Login    string `json:"login"`
	Password string `json:"password"`
}

// login serves POST /api/2/tokens.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if apiErr := decodeStrict(r, &req); apiErr != nil {
		apiErr.write(w)
		return
	}
	if req.Login == "" || req.Password == "" {
		field := "login"
		if req.Login != "" {
			field = "password"
		}
		errRequired(field).write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	want, ok := s.opts.Logins[req.Login]
	u := s.userByUsername(req.Login)
	if !ok || want != req.Password || u == nil || !u.isActive || u.isLocked || s.revoked[loginKey(req.Login)] {
		writeError(w, http.StatusUnauthorized, "InvalidCredentials", "error.auth.invalidcredentials",
			"Login ou senha inválidos.")
		return
	}
	now := s.opts.Now()
	u.lastLoginDate = now.UTC()
	tok := s.issueTemporaryToken(u.username, loginKey(req.Login), now)
	writeJSON(w, http.StatusOK, map[string]any{
		"userId": u.id, "name": u.name, "username": u.username, "temporaryToken": tok,
	})
}

// whoAmI serves GET /api/2/tokens: the person of the token and a temporary token, which the document requires
// in the answer but not to be new (ASSUMED): a temporary token is answered with itself; a permanent token with the
// temporary token it was last answered with while that has at least half its life left, else a new one.
func (s *Server) whoAmI(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.principal(r)
	now := s.opts.Now()
	_, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	if _, permanent := s.opts.Tokens[tok]; permanent {
		tt, ok := s.tempTokens[s.whoAmIToken[tok]]
		if !ok || tt.expires.Sub(now) < s.TokenTTL()/2 {
			s.whoAmIToken[tok] = s.issueTemporaryToken(u.username, "token:"+tok, now)
		}
		tok = s.whoAmIToken[tok]
	}
	writeJSON(w, http.StatusOK, map[string]any{"userId": u.id, "username": u.username, "temporaryToken": tok})
}

// minSweep is the fewest temporary tokens at which issuing one sweeps the expired ones.
const minSweep = 64

// issueTemporaryToken creates a token for username; the caller holds s.mu. Before adding it, it drops the expired
// tokens once the map has doubled since the last sweep (amortised O(1) per token), and the token closest to its
// expiry while Options.MaxTemporaryTokens are live, so the map stays bounded with no background goroutine.
func (s *Server) issueTemporaryToken(username, source string, now time.Time) string {
	if len(s.tempTokens) >= s.sweepAt || len(s.tempTokens) >= s.opts.MaxTemporaryTokens {
		s.sweepTokens(now)
	}
	for len(s.tempTokens) >= s.opts.MaxTemporaryTokens {
		oldest := ""
		for tok, tt := range s.tempTokens {
			if oldest == "" || tt.expires.Before(s.tempTokens[oldest].expires) {
				oldest = tok
			}
		}
		s.dropToken(oldest)
	}
	b := make([]byte, 24)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read never fails
	tok := hex.EncodeToString(b)
	s.tempTokens[tok] = tempToken{username: username, source: source, expires: now.Add(s.TokenTTL())}
	return tok
}

// sweepTokens drops the expired temporary tokens, and the rate windows of tokens no longer valid; the caller
// holds s.mu.
func (s *Server) sweepTokens(now time.Time) {
	for tok, tt := range s.tempTokens {
		if !now.Before(tt.expires) {
			s.dropToken(tok)
		}
	}
	for tok := range s.rateWindows {
		if _, temp := s.tempTokens[tok]; !temp {
			if _, permanent := s.opts.Tokens[tok]; !permanent {
				delete(s.rateWindows, tok)
			}
		}
	}
	s.sweepAt = max(minSweep, 2*len(s.tempTokens))
}

// dropToken forgets a temporary token; the caller holds s.mu.
func (s *Server) dropToken(tok string) {
	delete(s.tempTokens, tok)
	delete(s.rateWindows, tok)
}

// The credential kinds of Revoke and Restore (and of POST /_sim/auth/revoke and /_sim/auth/restore).
const (
	// KindToken is a permanent token of Options.Tokens, or a temporary token (revoking one drops it for good).
	KindToken = "token"
	// KindLogin is a login of Options.Logins, whose password POST /api/2/tokens then refuses.
	KindLogin = "login"
)

func loginKey(login string) string { return "login:" + strings.ToLower(login) }

// Revoke makes a credential stop working, as a password change or a token revoked in Acesso > Pessoas would
// (ASSUMED: the documents say neither how Zeev answers nor whether issued tokens survive):
//
//   - KindToken with a permanent token: every call with it, and with the temporary tokens GET /api/2/tokens gave
//     for it, answers 401 "Unauthorized" ("Token de autenticação inválido ou expirado."), until Restore;
//   - KindToken with a temporary token: it is dropped, and answers that 401 from now on (Restore cannot bring it back);
//   - KindLogin with a login: POST /api/2/tokens answers 401 "InvalidCredentials" ("Login ou senha inválidos.")
//     until Restore, and the temporary tokens that login obtained are dropped.
//
// Revoking what the simulator does not hold is not an error: the credential simply never works. It fails only for
// an unknown kind. Also served as POST /_sim/auth/revoke {"kind":"token","value":"..."}.
func (s *Server) Revoke(kind, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var source string
	switch kind {
	case KindToken:
		if _, temp := s.tempTokens[value]; temp {
			s.dropToken(value)
			return nil
		}
		source = "token:" + value
		delete(s.whoAmIToken, value)
	case KindLogin:
		source = loginKey(value)
	default:
		return fault.UnknownKind(kind, KindToken, KindLogin)
	}
	s.revoked[source] = true
	for tok, tt := range s.tempTokens {
		if tt.source == source {
			s.dropToken(tok)
		}
	}
	return nil
}

// Restore makes a revoked permanent token or login work again; the temporary tokens dropped by Revoke stay
// invalid. It fails only for an unknown kind. Also served as POST /_sim/auth/restore.
func (s *Server) Restore(kind, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch kind {
	case KindToken:
		delete(s.revoked, "token:"+value)
	case KindLogin:
		delete(s.revoked, loginKey(value))
	default:
		return fault.UnknownKind(kind, KindToken, KindLogin)
	}
	return nil
}

var _ fault.Auth = (*Server)(nil)

// AddTeam adds a team to the catalogue while the simulator runs, as an administrator creating it in Zeev would:
// from then on positions items may name it by id or code, and the team endpoints serve it. t is a team as the
// fixtures describe one (Fixtures.Teams) and is checked as LoadFixtures checks it: an id between 1 and
// MaxInt32 that no team has, a code that no team has (codes compare case-insensitively), a name, and a parent
// and offered positions that exist. Active defaults to true. The error names the field at fault; nothing is
// added then. Safe for concurrent use.
func (s *Server) AddTeam(t Team) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	bad := func(format string, a ...any) error {
		return fmt.Errorf("zeevsim add team %q: "+format, append([]any{t.Code}, a...)...)
	}
	switch {
	case t.ID <= 0 || t.ID > math.MaxInt32:
		return bad("id: must be between 1 and %d", math.MaxInt32)
	case s.teamByID(t.ID) != nil:
		return bad("id: duplicate id %d", t.ID)
	case t.Code == "":
		return bad("code: required")
	case s.teamByCode(t.Code) != nil:
		return bad("code: duplicate code %q", t.Code)
	case t.Name == "":
		return bad("name: required")
	}
	for j, pc := range t.Positions {
		if s.positionByCode(pc) == nil {
			return bad("positions[%d]: unknown position code %q", j, pc)
		}
	}
	nt := &team{Team: t, active: t.Active == nil || *t.Active}
	if t.Parent != "" {
		p := s.teamByCode(t.Parent)
		if p == nil {
			return bad("parent: unknown team code %q", t.Parent)
		}
		nt.parentID = p.ID
	}
	nt.Positions = slices.Clone(t.Positions) // the caller's slice and pointer are not shared
	if t.Active != nil {
		nt.Active = new(*t.Active)
	}
	s.teams = append(s.teams, nt)
	return nil
}

// TemporaryTokens returns how many temporary tokens the simulator holds, expired ones not yet swept included.
func (s *Server) TemporaryTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tempTokens)
}

// ---- lookups; the caller holds s.mu ----

func (s *Server) userByUsername(name string) *user {
	if name == "" {
		return nil
	}
	for _, u := range s.users {
		if strings.EqualFold(u.username, name) {
			return u
		}
	}
	return nil
}

func (s *Server) userByID(id int) *user {
	for _, u := range s.users {
		if u.id == id {
			return u
		}
	}
	return nil
}

func (s *Server) teamByCode(code string) *team {
	for _, t := range s.teams {
		if strings.EqualFold(t.Code, code) {
			return t
		}
	}
	return nil
}

func (s *Server) teamByID(id int) *team {
	for _, t := range s.teams {
		if t.ID == id {
			return t
		}
	}
	return nil
}

func (s *Server) positionByCode(code string) *position {
	for _, p := range s.positions {
		if strings.EqualFold(p.Code, code) {
			return p
		}
	}
	return nil
}

func (s *Server) positionByID(id int) *position {
	for _, p := range s.positions {
		if p.ID == id {
			return p
		}
	}
	return nil
}

func (s *Server) groupByCode(code string) *group {
	for _, g := range s.groups {
		if strings.EqualFold(g.Code, code) {
			return g
		}
	}
	return nil
}

func (s *Server) groupByID(id int) *group {
	for _, g := range s.groups {
		if g.ID == id {
			return g
		}
	}
	return nil
}

// seatsUsed counts the active people of licenseType other than except.
func (s *Server) seatsUsed(licenseType string, except *user) int {
	n := 0
	for _, u := range s.users {
		if u != except && u.isActive && u.licenseType == licenseType {
			n++
		}
	}
	return n
}

// seatFree reports whether u (new or existing) may be active with licenseType.
func (s *Server) seatFree(licenseType string, u *user) bool {
	limit, ok := s.licenses[licenseType]
	return !ok || s.seatsUsed(licenseType, u) < limit
}

func (s *Server) addAssignment(list []assignment, teamID, positionID int) []assignment {
	for _, a := range list {
		if a.teamID == teamID && a.positionID == positionID {
			return list
		}
	}
	a := assignment{id: s.nextAssign, teamID: teamID, positionID: positionID}
	s.nextAssign++
	return append(list, a)
}

// addAssignments adds to list each pair of add it does not hold yet.
func (s *Server) addAssignments(list, add []assignment) []assignment {
	for _, a := range add {
		list = s.addAssignment(list, a.teamID, a.positionID)
	}
	return list
}

func addGroup(list []int, id int) []int {
	if slices.Contains(list, id) {
		return list
	}
	return append(list, id)
}

// addGroups adds to list each group id of add it does not hold yet.
func addGroups(list, add []int) []int {
	for _, id := range add {
		list = addGroup(list, id)
	}
	return list
}

// ---- state inspection for tests ----

// UserState is a snapshot of one person, with positions and groups by code.
type UserState struct {
	ID                 int
	Username           string
	Name               string
	Email              string
	Identification     string
	Document           string
	IsActive           bool
	IsSuperAdmin       bool
	AuthenticationType string
	LicenseType        string
	TimeZone           *int
	BusinessShiftID    *int
	LeadershipID       *int
	Positions          []Assignment // in assignment order
	Groups             []string     // group codes in assignment order
	WelcomeMessages    int          // welcome messages sent through POST /api/2/users
}

// User returns a snapshot of the person with username (case-insensitive), and whether it exists.
func (s *Server) User(username string) (UserState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByUsername(username)
	if u == nil {
		return UserState{}, false
	}
	return s.snapshot(u), true
}

// Users returns a snapshot of every person, in id order.
func (s *Server) Users() []UserState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]UserState, 0, len(s.users))
	for _, u := range s.users {
		out = append(out, s.snapshot(u))
	}
	return out
}

// SeatsUsed returns the number of active people with licenseType.
func (s *Server) SeatsUsed(licenseType string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seatsUsed(licenseType, nil)
}

func (s *Server) snapshot(u *user) UserState {
	st := UserState{
		ID: u.id, Username: u.username, Name: u.name, Email: u.email, Identification: u.identification,
		Document: u.document, IsActive: u.isActive, IsSuperAdmin: u.isSuperAdmin,
		AuthenticationType: u.authenticationType, LicenseType: u.licenseType, TimeZone: copyInt(u.timeZone),
		BusinessShiftID: copyInt(u.businessShiftID), LeadershipID: copyInt(u.leadershipID),
		WelcomeMessages: u.welcomeMessages,
	}
	for _, a := range u.positions {
		st.Positions = append(st.Positions, Assignment{Team: s.teamByID(a.teamID).Code, Position: s.positionByID(a.positionID).Code})
	}
	for _, g := range u.groups {
		st.Groups = append(st.Groups, s.groupByID(g).Code)
	}
	return st
}

func copyInt(p *int) *int {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// ---- wire helpers ----

// apiError is an answer in the ErrorResponse shape.
type apiError struct {
	status  int
	code    string
	key     string
	message string
	vars    []string
}

func (e *apiError) write(w http.ResponseWriter) {
	writeErrorVars(w, e.status, e.code, e.key, e.message, e.vars)
}

func writeError(w http.ResponseWriter, status int, code, key, message string) {
	writeErrorVars(w, status, code, key, message, nil)
}

func writeErrorVars(w http.ResponseWriter, status int, code, key, message string, vars []string) {
	if vars == nil {
		vars = []string{}
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code": code, "key": key, "message": message, "vars": vars, "details": []any{},
	}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away
}

func errRequired(field string) *apiError {
	return &apiError{http.StatusBadRequest, "RequiredField", "error.field.required",
		fmt.Sprintf("O campo '%s' é obrigatório.", field), []string{field}}
}

func errTooLarge() *apiError {
	return &apiError{http.StatusRequestEntityTooLarge, "RequestTooLarge", "error.request.toolarge",
		fmt.Sprintf("O corpo da requisição excede o limite de %d bytes.", MaxBodyBytes), nil}
}

func errRouteNotFound(r *http.Request) *apiError {
	return &apiError{http.StatusNotFound, "NotFound", "error.route.notfound",
		fmt.Sprintf("Recurso não encontrado: %s %s.", r.Method, r.URL.Path), nil}
}

func errInvalid(code, field, message string) *apiError {
	return &apiError{http.StatusBadRequest, code, "error.field.invalid", message, []string{field}}
}

// decodeStrict decodes a JSON body, refusing unknown fields and trailing data.
func decodeStrict(r *http.Request, v any) *apiError {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return errTooLarge()
		}
		msg := err.Error()
		var field string
		if te, ok := err.(*json.UnmarshalTypeError); ok {
			field = te.Field
			msg = fmt.Sprintf("o campo '%s' deve ser do tipo %s", te.Field, te.Type)
		} else if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
			field = strings.Trim(f, `"`)
			msg = fmt.Sprintf("o campo '%s' não existe neste modelo", field)
		}
		e := &apiError{http.StatusBadRequest, "InvalidRequest", "error.request.invalid",
			"Corpo da requisição inválido: " + msg + ".", nil}
		if field != "" {
			e.vars = []string{field}
		}
		return e
	}
	if dec.More() {
		return &apiError{http.StatusBadRequest, "InvalidRequest", "error.request.invalid",
			"Corpo da requisição inválido: dados após o objeto JSON.", nil}
	}
	return nil
}

func formatDate(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
