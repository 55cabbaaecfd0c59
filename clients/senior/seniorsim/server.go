// Package seniorsim is an in-memory simulator of Senior Ronda senior X access control (SAM, sam-api v1) and of the
// Senior X platform logins that issue its tokens, faithful to the seed document and TARGET-APIS.md section 2: the
// same paths, field names, status codes, error bodies and business rules, for tests, `ponte dev` and `ponte
// sandbox`.
//
// SAM routes are served under APIPrefix ("/api/v1", as sam-api.senior.com.br) and under GatewayPrefix (the
// platform gateway path the official importer uses); logins at LoginWithKeyPath and LoginPath. Every SAM route
// needs "token: <t>" or "Authorization: Bearer <t>" with a token the platform login issued (valid for
// Options.TokenTTL) or one of Options.Tokens.
//
// A request body over MaxBodyBytes is answered 413 in the called service's error shape.
//
// Requests go through a fault.Injector (Faults) that can delay, fail, throttle or drop them and logs each one.
// Revoke, Restore and SetTokenTTL (also served at /_sim/auth, see fault.AuthControls) revoke and restore a
// credential and shorten the life of the tokens issued, while the simulator runs.
package seniorsim

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ponte-dev/ponte/clients/fault"
	"github.com/ponte-dev/ponte/schemas"
)

// The paths the simulator serves.
const (
	// APIPrefix is where sam-api v1 lives: point a client's BaseURL at <server>+APIPrefix.
	APIPrefix = "/api/v1"
	// GatewayPrefix serves the same SAM routes at the platform gateway path the official importer uses.
	GatewayPrefix = "/t/senior.com.br/sam/1.0"
	// LoginWithKeyPath is the platform application-key login.
	LoginWithKeyPath = "/t/senior.com.br/bridge/1.0/anonymous/rest/platform/authentication/actions/loginWithKey"
	// LoginPath is the platform user and password login.
	LoginPath = "/t/senior.com.br/bridge/1.0/rest/platform/authentication/actions/login"
)

// The development credentials a Server accepts when Options leaves them empty.
const (
	// DefaultToken is the raw token accepted on SAM routes without a login; it never expires.
	DefaultToken = "senior-dev-token"
	// DefaultAccessKey, DefaultSecret and DefaultTenantName are the application key accepted by loginWithKey.
	DefaultAccessKey  = "ponte-dev-key"
	DefaultSecret     = "senior-dev-secret"
	DefaultTenantName = "ponte.dev"
	// DefaultUsername and DefaultPassword are the platform user accepted by login.
	DefaultUsername = "integracao@ponte.dev"
	DefaultPassword = "senior-dev-password"
	// DefaultTokenTTL is the expires_in of issued tokens: 604800 s, 7 days, as in the platform's example.
	DefaultTokenTTL = 604800 * time.Second
)

// MaxBodyBytes is the largest request body the simulator reads (1 MiB): a larger one, announced by Content-Length
// or found while reading, is answered 413, in SAM's {code, message} or, on the login paths, the platform's error
// shape. Senior does not publish its limit; this one protects the sandbox and is far above any request of the
// documents (a few hundred bytes).
const MaxBodyBytes = 1 << 20

// The SAM error messages (seed document and TARGET-APIS.md 2.2).
const (
	msgUnauthorized   = "Token is invalid or expired"
	msgDenied         = "Operation denied"
	msgPersonNotFound = "Person not found"
	msgRoleNotFound   = "Role not found"
	msgLinkNotFound   = "Person/Role not found"
	msgBadCredentials = "Usuário e/ou senha inválido."
)

// Options configures a Server. The zero value accepts the Default... credentials.
type Options struct {
	// Tokens are raw tokens accepted on SAM routes, never expiring. nil means []string{DefaultToken}; an empty
	// non-nil slice accepts none (only login tokens).
	Tokens []string
	// AccessKey, Secret and TenantName are the accepted application key. Defaults: DefaultAccessKey,
	// DefaultSecret, DefaultTenantName.
	AccessKey  string
	Secret     string
	TenantName string
	// Username and Password are the accepted platform user. Defaults: DefaultUsername, DefaultPassword.
	Username string
	Password string
	// TokenTTL is the lifetime (and expires_in) of issued tokens. Default DefaultTokenTTL.
	TokenTTL time.Duration
	// Now is the simulator's clock: token expiry and "has this link started". Default time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Tokens == nil {
		o.Tokens = []string{DefaultToken}
	}
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.AccessKey, DefaultAccessKey)
	def(&o.Secret, DefaultSecret)
	def(&o.TenantName, DefaultTenantName)
	def(&o.Username, DefaultUsername)
	def(&o.Password, DefaultPassword)
	if o.TokenTTL <= 0 {
		o.TokenTTL = DefaultTokenTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Link is a person/role link as the simulator holds it. Dates keep the offset they were sent with; EndDate is
// zero when the link has no end.
type Link struct {
	ID        int64
	PersonID  int64
	RoleID    int64
	StartDate time.Time
	EndDate   time.Time
	Suspended bool
}

// Server is the simulator: an http.Handler over in-memory state guarded by a mutex. Safe for concurrent use.
type Server struct {
	// TokenLife is the lifetime of the tokens issued from now on (TokenTTL, SetTokenTTL; PUT /_sim/auth).
	*fault.TokenLife
	faults *fault.Injector
	opts   Options

	mu        sync.Mutex
	docTypes  map[int64]DocumentType
	roles     map[int64]Role
	people    *population // fixed at New, read without mu
	links     map[int64]*Link
	linksOf   map[int64][]*Link // person id -> its links, by id (addLink, dropLink)
	nextLink  int64
	issued    map[string]time.Time // login tokens -> expiry
	issuedBy  map[string]string    // login tokens -> the credential of the login: "key:<accessKey>", "user:<username>"
	logins    int
	rawTokens map[string]bool
	revoked   map[string]bool // "token:<raw token>", "key:<accessKey>", "user:<username>"
}

// New returns a Server holding f. It panics if f is invalid (f.Validate); LoadFixtures has already checked it.
func New(f Fixtures, opts Options) *Server {
	if err := f.Validate(); err != nil {
		panic(err)
	}
	opts = opts.withDefaults()
	s := &Server{
		opts:      opts,
		docTypes:  map[int64]DocumentType{},
		roles:     map[int64]Role{},
		people:    newPopulation(f.People),
		links:     map[int64]*Link{},
		linksOf:   map[int64][]*Link{},
		issued:    map[string]time.Time{},
		issuedBy:  map[string]string{},
		rawTokens: map[string]bool{},
		TokenLife: fault.NewTokenLife(opts.TokenTTL, true),
		revoked:   map[string]bool{},
		nextLink:  f.NextPersonRoleID,
	}
	for _, t := range opts.Tokens {
		s.rawTokens[t] = true
	}
	for _, t := range f.DocumentTypes {
		s.docTypes[t.ID] = t
	}
	for _, r := range f.Roles {
		s.roles[r.ID] = r
	}
	var maxID int64
	for _, l := range f.PersonRoles {
		start, _ := parseDate(l.StartDate)
		end, _ := parseDate(l.EndDate)
		s.addLink(&Link{ID: l.ID, PersonID: l.PersonID, RoleID: l.RoleID, StartDate: start, EndDate: end, Suspended: l.Suspended})
		maxID = max(maxID, l.ID)
	}
	if s.nextLink == 0 {
		s.nextLink = maxID + 1
	}

	mux := http.NewServeMux()
	for _, p := range []string{APIPrefix, GatewayPrefix} {
		mux.Handle("GET "+p+"/person/{id}", s.authed(s.getPerson))
		mux.Handle("GET "+p+"/person/search", s.authed(s.searchPerson))
		mux.Handle("GET "+p+"/person/pagedsearchall", s.authed(s.pagedSearchAll))
		mux.Handle("GET "+p+"/person/{personId}/roles", s.authed(s.personRoles))
		mux.Handle("POST "+p+"/person/role", s.authed(s.createPersonRole))
		mux.Handle("PUT "+p+"/person/role", s.authed(s.updatePersonRole))
		mux.Handle("DELETE "+p+"/person/role/{personRoleId}", s.authed(s.deletePersonRole))
		mux.Handle("GET "+p+"/role", s.authed(s.listRoles))
		mux.Handle("GET "+p+"/documenttype", s.authed(s.listDocumentTypes))
	}
	mux.HandleFunc("POST "+LoginWithKeyPath, s.loginWithKey)
	mux.HandleFunc("POST "+LoginPath, s.login)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "Resource not found: "+r.Method+" "+r.URL.Path)
	})
	limited := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBodyBytes {
			writeTooLarge(w, r)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		mux.ServeHTTP(w, r)
	})
	s.faults = fault.New(limited, fault.Options{ErrorBody: injectedError, Controls: fault.AuthControls(s)})
	return s
}

// injectedError answers a failure injected by Faults in the error body of the service called.
func injectedError(w http.ResponseWriter, r *http.Request, status int) {
	writeServiceError(w, r, status, http.StatusText(status))
}

// writeServiceError writes an error in the shape of the service r calls: the platform's on its login paths, SAM's
// {code, message} elsewhere.
func writeServiceError(w http.ResponseWriter, r *http.Request, status int, message string) {
	switch r.URL.Path {
	case LoginWithKeyPath, LoginPath:
		reason := strings.ToUpper(strings.ReplaceAll(http.StatusText(status), " ", "_"))
		writePlatformError(w, status, message, "loginResponse", reason)
	default:
		writeError(w, status, message)
	}
}

// writeTooLarge answers a body over MaxBodyBytes.
func writeTooLarge(w http.ResponseWriter, r *http.Request) {
	writeServiceError(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("Request body larger than %d bytes", MaxBodyBytes))
}

// tooLarge reports whether err is the read of a body over MaxBodyBytes, and then answers 413.
func tooLarge(w http.ResponseWriter, r *http.Request, err error) bool {
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		writeTooLarge(w, r)
		return true
	}
	return false
}

// ServeHTTP implements http.Handler through the fault injector.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.faults.ServeHTTP(w, r) }

// Faults returns the fault injector every request goes through, with its request log.
func (s *Server) Faults() *fault.Injector { return s.faults }

// Link returns link id as currently stored.
func (s *Server) Link(id int64) (Link, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.links[id]
	if !ok {
		return Link{}, false
	}
	return *l, true
}

// PersonLinks returns the links of a person, by id.
func (s *Server) PersonLinks(personID int64) []Link {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Link
	for _, l := range s.linksOf[personID] {
		out = append(out, *l)
	}
	return out
}

// Logins returns how many successful platform logins (either kind) the server has answered.
func (s *Server) Logins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins
}

// RevokeTokens invalidates every token issued by a login, as regenerating an application key does. The raw
// Options.Tokens stay valid.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.issued)
	clear(s.issuedBy)
}

// The credential kinds of Revoke and Restore (and of POST /_sim/auth/revoke and /_sim/auth/restore).
const (
	// KindToken is a raw token of Options.Tokens, or a token a login issued (revoking one drops it for good).
	KindToken = "token"
	// KindAccessKey is the application key (by its access key) that loginWithKey accepts.
	KindAccessKey = "accessKey"
	// KindUsername is the platform user that login accepts.
	KindUsername = "username"
)

// Revoke makes a credential stop working, as regenerating an application key or changing a password does:
//
//   - KindToken with a raw token: SAM routes answer it 401 {"code":401,"message":"Token is invalid or expired"}
//     until Restore; with a token a login issued: it is dropped, with the same 401 from now on;
//   - KindAccessKey: loginWithKey with that key answers 401 with the platform's error
//     {"message":"Usuário e/ou senha inválido.","errorCode":"loginWithKeyResponse","reason":"UNAUTHORIZED",...}
//     until Restore, and the tokens the key obtained are dropped (the documents: regenerating keys invalidates the
//     old ones);
//   - KindUsername: the same for the platform user's login (errorCode "loginResponse").
//
// Revoking what the simulator does not hold is not an error. It fails only for an unknown kind. Also served as
// POST /_sim/auth/revoke {"kind":"accessKey","value":"..."}.
func (s *Server) Revoke(kind, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var source string
	switch kind {
	case KindToken:
		if _, ok := s.issued[value]; ok {
			delete(s.issued, value)
			delete(s.issuedBy, value)
			return nil
		}
		s.revoked["token:"+value] = true
		return nil
	case KindAccessKey:
		source = "key:" + value
	case KindUsername:
		source = "user:" + value
	default:
		return fault.UnknownKind(kind, KindToken, KindAccessKey, KindUsername)
	}
	s.revoked[source] = true
	for tok, by := range s.issuedBy {
		if by == source {
			delete(s.issued, tok)
			delete(s.issuedBy, tok)
		}
	}
	return nil
}

// Restore makes a revoked raw token, application key or user work again; the login tokens Revoke dropped stay
// invalid (log in again). It fails only for an unknown kind. Also served as POST /_sim/auth/restore.
func (s *Server) Restore(kind, value string) error {
	prefix := map[string]string{KindToken: "token:", KindAccessKey: "key:", KindUsername: "user:"}[kind]
	if prefix == "" {
		return fault.UnknownKind(kind, KindToken, KindAccessKey, KindUsername)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.revoked, prefix+value)
	return nil
}

var _ fault.Auth = (*Server)(nil)

// revokedLogin reports whether the login credential source ("key:..." or "user:...") is revoked.
func (s *Server) revokedLogin(source string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.revoked[source]
}

// --- auth ---------------------------------------------------------------------------------------------------

func (s *Server) authed(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := r.Header.Get("token")
		if tok == "" {
			if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
				tok = strings.TrimSpace(v)
			}
		}
		if !s.validToken(tok) {
			writeError(w, http.StatusUnauthorized, msgUnauthorized)
			return
		}
		h(w, r)
	})
}

func (s *Server) validToken(tok string) bool {
	if tok == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rawTokens[tok] {
		return !s.revoked["token:"+tok]
	}
	exp, ok := s.issued[tok]
	if !ok {
		return false
	}
	if !s.opts.Now().Before(exp) {
		delete(s.issued, tok)
		delete(s.issuedBy, tok)
		return false
	}
	return true
}

func (s *Server) loginWithKey(w http.ResponseWriter, r *http.Request) {
	var in struct {
		AccessKey  string `json:"accessKey"`
		Secret     string `json:"secret"`
		TenantName string `json:"tenantName"`
		Scope      string `json:"scope"`
	}
	if err := decodeBody(r, &in); err != nil {
		if !tooLarge(w, r, err) {
			writePlatformError(w, http.StatusBadRequest, "Invalid request body: "+err.Error(), "loginWithKeyRequest", "BAD_REQUEST")
		}
		return
	}
	if in.AccessKey != s.opts.AccessKey || in.Secret != s.opts.Secret || in.TenantName != s.opts.TenantName ||
		s.revokedLogin("key:"+in.AccessKey) {
		writePlatformError(w, http.StatusUnauthorized, msgBadCredentials, "loginWithKeyResponse", "UNAUTHORIZED")
		return
	}
	scope := in.Scope
	if scope == "" {
		scope = "desktop"
	}
	s.issue(w, in.AccessKey+"@"+in.TenantName, scope, "key:"+in.AccessKey)
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := decodeBody(r, &in); err != nil {
		if !tooLarge(w, r, err) {
			writePlatformError(w, http.StatusBadRequest, "Invalid request body: "+err.Error(), "loginRequest", "BAD_REQUEST")
		}
		return
	}
	if in.Username != s.opts.Username || in.Password != s.opts.Password || s.revokedLogin("user:"+in.Username) {
		writePlatformError(w, http.StatusUnauthorized, msgBadCredentials, "loginResponse", "UNAUTHORIZED")
		return
	}
	s.issue(w, in.Username, "desktop", "user:"+in.Username)
}

// issue answers a successful login with a new token inside the JSON-string jsonToken.
func (s *Server) issue(w http.ResponseWriter, username, scope, source string) {
	access, refresh := randomToken(), randomToken()
	s.mu.Lock()
	ttl := s.TokenTTL()
	s.issued[access] = s.opts.Now().Add(ttl)
	s.issuedBy[access] = source
	s.logins++
	s.mu.Unlock()
	inner, _ := json.Marshal(struct {
		Scope        string `json:"scope"`
		ExpiresIn    int64  `json:"expires_in"`
		Username     string `json:"username"`
		TokenType    string `json:"token_type"`
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}{scope, int64(ttl / time.Second), username, "Bearer", access, refresh})
	writeJSON(w, http.StatusOK, map[string]string{"jsonToken": string(inner)})
}

func randomToken() string {
	b := make([]byte, 16)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// --- people ---------------------------------------------------------------------------------------------------

type documentOut struct {
	ID           int64        `json:"id"`
	DocumentType DocumentType `json:"documentType"`
	Document     string       `json:"document"`
}

// personOut is GET /person/{id}: the fixture with its documents expanded and hasValidRole.
type personOut struct {
	Person
	Documents    []documentOut `json:"documents"`
	HasValidRole bool          `json:"hasValidRole"`
}

type personSearchOut struct {
	ID                 int64         `json:"id"`
	Name               string        `json:"name"`
	MandatoryDocuments []documentOut `json:"mandatoryDocuments"`
	PreferentialPhone  *Phone        `json:"preferentialPhone"`
	PreferentialEmail  *Email        `json:"preferentialEmail"`
}

// documents returns p's documents with their types; only required types when mandatory. Call with s.mu held.
func (s *Server) documents(p Person, mandatory bool) []documentOut {
	out := []documentOut{}
	for _, d := range p.Documents {
		t := s.docTypes[d.DocumentTypeID]
		if mandatory && !t.Required {
			continue
		}
		out = append(out, documentOut{ID: d.ID, DocumentType: t, Document: d.Document})
	}
	return out
}

// personView renders p as GET /person/{id} does. Call with s.mu held.
func (s *Server) personView(p Person) personOut {
	now := s.opts.Now()
	valid := false
	for _, l := range s.linksOf[p.ID] {
		if !l.Suspended && !l.StartDate.After(now) && (l.EndDate.IsZero() || l.EndDate.After(now)) {
			valid = true
			break
		}
	}
	p.Emails, p.Phones = nonNil(p.Emails), nonNil(p.Phones)
	return personOut{Person: p, Documents: s.documents(p, false), HasValidRole: valid}
}

// searchView renders p as the searches do. Call with s.mu held.
func (s *Server) searchView(p Person) personSearchOut {
	out := personSearchOut{ID: p.ID, Name: p.Name, MandatoryDocuments: s.documents(p, true)}
	for i := range p.Phones {
		if p.Phones[i].Preferential {
			ph := p.Phones[i]
			out.PreferentialPhone = &ph
			break
		}
	}
	for i := range p.Emails {
		if p.Emails[i].Preferential {
			e := p.Emails[i]
			out.PreferentialEmail = &e
			break
		}
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (s *Server) getPerson(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.people.get(id)
	if !ok {
		writeError(w, http.StatusNotFound, msgPersonNotFound)
		return
	}
	writeJSON(w, http.StatusOK, s.personView(p))
}

// situationParam reads the optional situation query parameter (0 active, 1 blocked).
func situationParam(w http.ResponseWriter, r *http.Request) (*int, bool) {
	v := r.URL.Query().Get("situation")
	if v == "" {
		return nil, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || (n != 0 && n != 1) {
		writeError(w, http.StatusBadRequest, "situation must be 0 (active) or 1 (blocked)")
		return nil, false
	}
	return &n, true
}

// searchPerson matches term against the name (case-insensitive substring), the registry (substring) and, when
// term holds no letters, the digits of every document (substring). ASSUMED beyond the name (TARGET-APIS 2.4).
// The people found come by id; the search costs the term's length and the matches, not the number of people.
func (s *Server) searchPerson(w http.ResponseWriter, r *http.Request) {
	term := strings.TrimSpace(r.URL.Query().Get("term"))
	if utf8.RuneCountInString(term) < 3 {
		writeError(w, http.StatusBadRequest, "term must have at least 3 characters")
		return
	}
	situation, ok := situationParam(w, r)
	if !ok {
		return
	}
	lower := strings.ToLower(term)
	termDigits := ""
	if !strings.ContainsFunc(term, unicode.IsLetter) {
		termDigits = schemas.Digits(term)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []personSearchOut{}
	for _, p := range s.people.search(lower, termDigits, situation) {
		out = append(out, s.searchView(p))
	}
	writeJSON(w, http.StatusOK, out)
}

// pagedSearchAll pages through every person by id: page is 1-based (default 1), pageSize 1..1000 (default 50);
// a page past the end, however far, is an empty array (ASSUMED); a page that is not an integer from 1 within
// int64 is a 400.
func (s *Server) pagedSearchAll(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, pageSize := 1, 50
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "page must be a number from 1")
			return
		}
		page = n
	}
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "pageSize must be a number from 1 to 1000")
			return
		}
		pageSize = n
	}
	situation, ok := situationParam(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	people := s.people.with(situation)
	out := []personSearchOut{}
	// A page past the end is empty; (page-1)*pageSize is only computed when it cannot overflow.
	if page-1 <= len(people)/pageSize {
		from := (page - 1) * pageSize
		for _, k := range people[from:min(from+pageSize, len(people))] {
			out = append(out, s.searchView(s.people.sorted[k]))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// --- person/role links ---------------------------------------------------------------------------------------

type roleLinkOut struct {
	RoleID       int64  `json:"roleId"`
	RoleName     string `json:"roleName"`
	PersonRoleID int64  `json:"personRoleId"`
	StartDate    string `json:"startDate"`
	EndDate      string `json:"endDate"`
	IsSuspended  bool   `json:"isSuspended"`
}

type linkOut struct {
	ID        int64  `json:"id"`
	PersonID  int64  `json:"personId"`
	RoleID    int64  `json:"roleId"`
	StartDate string `json:"startDate"`
	EndDate   string `json:"endDate"`
}

// addLink stores l, in its person's links by id: at their end for a new link, whose id is above every other.
// Call with s.mu held.
func (s *Server) addLink(l *Link) {
	s.links[l.ID] = l
	held := s.linksOf[l.PersonID]
	k, _ := slices.BinarySearchFunc(held, l.ID, func(m *Link, id int64) int { return cmp.Compare(m.ID, id) })
	s.linksOf[l.PersonID] = slices.Insert(held, k, l)
}

// dropLink removes l, which is stored. Call with s.mu held.
func (s *Server) dropLink(l *Link) {
	delete(s.links, l.ID)
	held := slices.DeleteFunc(s.linksOf[l.PersonID], func(m *Link) bool { return m == l })
	if len(held) == 0 {
		delete(s.linksOf, l.PersonID)
		return
	}
	s.linksOf[l.PersonID] = held
}

func (s *Server) personRoles(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "personId")
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.people.get(id); !ok {
		writeError(w, http.StatusNotFound, msgPersonNotFound)
		return
	}
	out := []roleLinkOut{}
	for _, l := range s.linksOf[id] {
		out = append(out, roleLinkOut{
			RoleID: l.RoleID, RoleName: s.roles[l.RoleID].Name, PersonRoleID: l.ID,
			StartDate: formatDate(l.StartDate), EndDate: formatDate(l.EndDate), IsSuspended: l.Suspended,
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// personRoleBody is the body of POST and PUT /person/role; pointers tell a missing field from a zero one.
type personRoleBody struct {
	ID        *int64  `json:"id"`
	PersonID  *int64  `json:"personId"`
	RoleID    *int64  `json:"roleId"`
	StartDate *string `json:"startDate"`
	EndDate   *string `json:"endDate"`
}

// personRoleInput is a checked personRoleBody.
type personRoleInput struct {
	id, personID, roleID int64
	start, end           time.Time
}

// readPersonRole decodes and checks a link body: personId, roleId and startDate are required (and id when
// needID; the zero time 0001-01-01T00:00:00Z is no startDate); dates are the document's form with whole seconds,
// with either offset form (a fraction of a second is refused rather than stored and served cut); endDate "",
// null or absent is none. It answers 400 itself and reports ok.
func readPersonRole(w http.ResponseWriter, r *http.Request, needID bool) (personRoleInput, bool) {
	var b personRoleBody
	if err := decodeBody(r, &b); err != nil {
		if !tooLarge(w, r, err) {
			writeError(w, http.StatusBadRequest, "Invalid request body: "+err.Error())
		}
		return personRoleInput{}, false
	}
	var in personRoleInput
	switch {
	case needID && (b.ID == nil || *b.ID <= 0):
		writeError(w, http.StatusBadRequest, "id is required")
		return in, false
	case b.PersonID == nil || *b.PersonID <= 0:
		writeError(w, http.StatusBadRequest, "personId is required")
		return in, false
	case b.RoleID == nil || *b.RoleID <= 0:
		writeError(w, http.StatusBadRequest, "roleId is required")
		return in, false
	case b.StartDate == nil || *b.StartDate == "":
		writeError(w, http.StatusBadRequest, "startDate is required")
		return in, false
	}
	if needID {
		in.id = *b.ID
	}
	in.personID, in.roleID = *b.PersonID, *b.RoleID
	var err error
	if in.start, err = parseDate(*b.StartDate); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("startDate %q must be like 2017-03-24T10:09:00-03:00", *b.StartDate))
		return in, false
	}
	if in.start.IsZero() {
		// 0001-01-01T00:00:00Z is Go's and .NET's "no date": it would be stored as a start and served as "".
		writeError(w, http.StatusBadRequest, "startDate is required")
		return in, false
	}
	if b.EndDate != nil && *b.EndDate != "" {
		if in.end, err = parseDate(*b.EndDate); err != nil || in.end.IsZero() {
			writeError(w, http.StatusBadRequest, fmt.Sprintf(`endDate %q must be like 2017-03-24T10:09:00-03:00, or "" for no end`, *b.EndDate))
			return in, false
		}
	}
	if !in.end.IsZero() && in.end.Before(in.start) {
		writeError(w, http.StatusBadRequest, "endDate must not be before startDate")
		return in, false
	}
	return in, true
}

// checkRefs answers 404 when the person or role does not exist. Call with s.mu held.
func (s *Server) checkRefs(w http.ResponseWriter, in personRoleInput) bool {
	if _, ok := s.people.get(in.personID); !ok {
		writeError(w, http.StatusNotFound, msgPersonNotFound)
		return false
	}
	if _, ok := s.roles[in.roleID]; !ok {
		writeError(w, http.StatusNotFound, msgRoleNotFound)
		return false
	}
	return true
}

// createPersonRole: the id sent is ignored (the document sends 0); overlapping links are allowed.
func (s *Server) createPersonRole(w http.ResponseWriter, r *http.Request) {
	in, ok := readPersonRole(w, r, false)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.checkRefs(w, in) {
		return
	}
	l := &Link{ID: s.nextLink, PersonID: in.personID, RoleID: in.roleID, StartDate: in.start, EndDate: in.end}
	s.nextLink++
	s.addLink(l)
	writeJSON(w, http.StatusOK, linkOut{
		ID: l.ID, PersonID: l.PersonID, RoleID: l.RoleID, StartDate: formatDate(l.StartDate), EndDate: formatDate(l.EndDate),
	})
}

// updatePersonRole replaces a link. Once the stored startDate is before now, only endDate may change: another
// change is 403 "Operation denied" (ASSUMED status, DOC rule). A missing endDate clears it (full replace).
func (s *Server) updatePersonRole(w http.ResponseWriter, r *http.Request) {
	in, ok := readPersonRole(w, r, true)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.links[in.id]
	if !ok {
		writeError(w, http.StatusNotFound, msgLinkNotFound)
		return
	}
	if l.StartDate.Before(s.opts.Now()) {
		if in.personID != l.PersonID || in.roleID != l.RoleID || !in.start.Equal(l.StartDate) {
			writeError(w, http.StatusForbidden, msgDenied)
			return
		}
		in.start = l.StartDate
	}
	if !s.checkRefs(w, in) {
		return
	}
	if in.personID != l.PersonID {
		s.dropLink(l)
		l.PersonID = in.personID
		s.addLink(l)
	}
	l.RoleID, l.StartDate, l.EndDate = in.roleID, in.start, in.end
	w.WriteHeader(http.StatusOK)
}

func (s *Server) deletePersonRole(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "personRoleId")
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.links[id]
	if !ok {
		writeError(w, http.StatusNotFound, msgLinkNotFound)
		return
	}
	s.dropLink(l)
	w.WriteHeader(http.StatusOK)
}

// --- catalogues ------------------------------------------------------------------------------------------------

func (s *Server) listRoles(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	out := slices.SortedFunc(maps.Values(s.roles), func(a, b Role) int { return cmp.Compare(a.ID, b.ID) })
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) listDocumentTypes(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	out := slices.SortedFunc(maps.Values(s.docTypes), func(a, b DocumentType) int { return cmp.Compare(a.ID, b.ID) })
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// --- helpers ---------------------------------------------------------------------------------------------------

// pathID reads a numeric path parameter, answering 400 itself when it is not one.
func pathID(w http.ResponseWriter, r *http.Request, name string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil {
		writeError(w, http.StatusBadRequest, name+" must be a number")
		return 0, false
	}
	return id, true
}

// decodeBody decodes the JSON body; reading a body over MaxBodyBytes fails with an *http.MaxBytesError.
func decodeBody(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return errors.New("empty body")
	}
	return json.Unmarshal(b, v)
}

// writeError writes SAM's error body {"code","message"}.
func writeError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{status, message})
}

// writePlatformError writes the platform's error body {message,errorCode,reason,domain,service}.
func writePlatformError(w http.ResponseWriter, status int, message, errorCode, reason string) {
	writeJSON(w, status, struct {
		Message   string `json:"message"`
		ErrorCode string `json:"errorCode"`
		Reason    string `json:"reason"`
		Domain    string `json:"domain"`
		Service   string `json:"service"`
	}{message, errorCode, reason, "platform", "authentication"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away
}
