package zeevsim

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// addUserRequest is AddUserModel. Pointers tell "not sent" from "sent empty": an update overwrites only the
// fields that were sent.
type addUserRequest struct {
	IfExists           *string            `json:"ifExists"`
	Username           *string            `json:"username"`
	Name               *string            `json:"name"`
	Email              *string            `json:"email"`
	Identification     *string            `json:"identification"`
	Document           *string            `json:"document"`
	IsActive           *bool              `json:"isActive"`
	AuthenticationType *string            `json:"authenticationType"`
	LicenseType        *string            `json:"licenseType"`
	TimeZone           *int32             `json:"timeZone"`
	Positions          *positionsRequest  `json:"positions"`
	Groups             *groupsRequest     `json:"groups"`
	WelcomeMessage     *welcomeMessageReq `json:"welcomeMessage"`
	BusinessShiftID    *int32             `json:"businessShiftId"`
	LeadershipID       *int32             `json:"leadershipId"`
}

type positionsRequest struct {
	IfExistsUser *string        `json:"ifExistsUser"`
	Items        []positionItem `json:"items"`
}

type positionItem struct {
	TeamID       *int32  `json:"teamId"`
	TeamCode     *string `json:"teamCode"`
	PositionID   *int32  `json:"positionId"`
	PositionCode *string `json:"positionCode"`
}

type groupsRequest struct {
	IfExistsUser *string     `json:"ifExistsUser"`
	Items        []groupItem `json:"items"`
}

type groupItem struct {
	GroupID   *int32  `json:"groupId"`
	GroupCode *string `json:"groupCode"`
}

type welcomeMessageReq struct {
	Send *bool `json:"send"`
}

// addUserResult is AddUserModelResult.
type addUserResult struct {
	Action             string `json:"action"`
	ID                 int    `json:"id"`
	Username           string `json:"username"`
	Name               string `json:"name"`
	Email              string `json:"email"`
	Identification     string `json:"identification"`
	Document           string `json:"document"`
	IsActive           bool   `json:"isActive"`
	AuthenticationType string `json:"authenticationType"`
	LicenseType        string `json:"licenseType"`
	BusinessShiftID    *int   `json:"businessShiftId"`
	LeadershipID       *int   `json:"leadershipId"`
}

// sendsWelcome reports whether the request asks for the welcome message (welcomeMessage.send defaults to false).
func (req *addUserRequest) sendsWelcome() bool {
	return req.WelcomeMessage != nil && req.WelcomeMessage.Send != nil && *req.WelcomeMessage.Send
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func intp(p *int32) *int {
	if p == nil {
		return nil
	}
	v := int(*p)
	return &v
}

// resolved is a validated request: every reference turned into an id.
type resolved struct {
	ifExists      string
	positions     []assignment // teamID, positionID
	groups        []int
	positionsMode string // "" when positions was not sent
	groupsMode    string // "" when groups was not sent
}

// upsertUser serves POST /api/2/users.
func (s *Server) upsertUser(w http.ResponseWriter, r *http.Request) {
	var req addUserRequest
	if apiErr := decodeStrict(r, &req); apiErr != nil {
		apiErr.write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.principal(r).isSuperAdmin {
		errForbidden().write(w)
		return
	}
	res, apiErr := s.validateAddUser(&req)
	if apiErr != nil {
		apiErr.write(w)
		return
	}
	existing := s.userByUsername(*req.Username)
	var (
		u      *user
		action string
	)
	switch {
	case existing != nil && res.ifExists == "block":
		(&apiError{http.StatusBadRequest, "UserAlreadyExists", "error.user.alreadyexists",
			fmt.Sprintf("Já existe uma pessoa com o login '%s'.", existing.username), []string{"username"}}).write(w)
		return
	case existing != nil && res.ifExists == "retrieve":
		u, action = existing, "Retrieved"
	case existing != nil:
		next, apiErr := s.updated(existing, &req, res)
		if apiErr != nil {
			apiErr.write(w)
			return
		}
		*existing = *next
		u, action = existing, "Update"
	default:
		next, apiErr := s.created(&req, res)
		if apiErr != nil {
			apiErr.write(w)
			return
		}
		s.users = append(s.users, next)
		s.nextUserID++
		u, action = next, "Created"
	}
	writeJSON(w, http.StatusOK, addUserResult{
		Action: action, ID: u.id, Username: u.username, Name: u.name, Email: u.email,
		Identification: u.identification, Document: u.document, IsActive: u.isActive,
		AuthenticationType: u.authenticationType, LicenseType: u.licenseType,
		BusinessShiftID: u.businessShiftID, LeadershipID: u.leadershipID,
	})
}

// validateAddUser checks every field and resolves every reference before anything is written.
func (s *Server) validateAddUser(req *addUserRequest) (*resolved, *apiError) {
	for _, f := range []struct {
		name string
		v    *string
	}{{"username", req.Username}, {"name", req.Name}, {"email", req.Email}, {"licenseType", req.LicenseType}} {
		if strings.TrimSpace(str(f.v)) == "" {
			return nil, errRequired(f.name)
		}
	}
	for _, f := range []struct {
		name     string
		v        string
		min, max int
	}{{"username", *req.Username, 3, 50}, {"name", *req.Name, 3, 128}, {"email", *req.Email, 3, 128}} {
		if n := utf8.RuneCountInString(f.v); n < f.min || n > f.max {
			return nil, errInvalid("InvalidFieldLength", f.name,
				fmt.Sprintf("O campo '%s' deve ter entre %d e %d caracteres (recebido: %d).", f.name, f.min, f.max, n))
		}
	}
	if req.Document != nil && *req.Document != "" && !documentPattern.MatchString(*req.Document) {
		return nil, errInvalid("InvalidFieldFormat", "document",
			"O campo 'document' aceita apenas dígitos, '.', '-' e '/' (padrão [0-9\\.\\-\\/]+).")
	}
	if req.AuthenticationType != nil && *req.AuthenticationType == "" {
		req.AuthenticationType = nil // sent empty: the default applies
	}
	res := &resolved{ifExists: "block"}
	if req.IfExists != nil && *req.IfExists != "" {
		res.ifExists = *req.IfExists
	}
	type enum struct {
		name string
		v    *string
		set  []string
	}
	enums := []enum{
		{"ifExists", &res.ifExists, ifExistsValues},
		{"licenseType", req.LicenseType, licenseTypes},
		{"authenticationType", req.AuthenticationType, authenticationTypes},
	}
	if req.Positions != nil {
		enums = append(enums, enum{"positions.ifExistsUser", req.Positions.IfExistsUser, ifExistsUserValues})
	}
	if req.Groups != nil {
		enums = append(enums, enum{"groups.ifExistsUser", req.Groups.IfExistsUser, ifExistsUserValues})
	}
	for _, e := range enums {
		if e.v == nil {
			continue
		}
		if *e.v == "" && strings.HasSuffix(e.name, "ifExistsUser") {
			return nil, errRequired(e.name)
		}
		if !slices.Contains(e.set, *e.v) {
			return nil, errInvalid("InvalidFieldValue", e.name,
				fmt.Sprintf("Valor '%s' inválido para o campo '%s'. Valores aceitos: %s.", *e.v, e.name, strings.Join(e.set, ", ")))
		}
	}
	if req.Positions != nil {
		if req.Positions.IfExistsUser == nil {
			return nil, errRequired("positions.ifExistsUser")
		}
		if req.Positions.Items == nil { // absent or null; [] is an array of no items
			return nil, errRequired("positions.items")
		}
		res.positionsMode = *req.Positions.IfExistsUser
		for i, it := range req.Positions.Items {
			item := fmt.Sprintf("positions.items[%d]", i)
			t, apiErr := resolveRef(item, teamRef, it.TeamID, it.TeamCode, s.teamByID, s.teamByCode)
			if apiErr != nil {
				return nil, apiErr
			}
			p, apiErr := resolveRef(item, positionRef, it.PositionID, it.PositionCode, s.positionByID, s.positionByCode)
			if apiErr != nil {
				return nil, apiErr
			}
			res.positions = append(res.positions, assignment{teamID: t.ID, positionID: p.ID})
		}
	}
	if req.Groups != nil {
		if req.Groups.IfExistsUser == nil {
			return nil, errRequired("groups.ifExistsUser")
		}
		if req.Groups.Items == nil {
			return nil, errRequired("groups.items")
		}
		res.groupsMode = *req.Groups.IfExistsUser
		for i, it := range req.Groups.Items {
			g, apiErr := resolveRef(fmt.Sprintf("groups.items[%d]", i), groupRef, it.GroupID, it.GroupCode, s.groupByID, s.groupByCode)
			if apiErr != nil {
				return nil, apiErr
			}
			res.groups = append(res.groups, g.ID)
		}
	}
	if req.BusinessShiftID != nil {
		if _, ok := s.shifts[int(*req.BusinessShiftID)]; !ok {
			return nil, errNotFoundRef("BusinessShiftNotFound", "businessShiftId",
				fmt.Sprintf("Turno de trabalho não encontrado: id %d.", *req.BusinessShiftID))
		}
	}
	if req.LeadershipID != nil {
		if s.userByID(int(*req.LeadershipID)) == nil {
			return nil, errNotFoundRef("LeadershipNotFound", "leadershipId",
				fmt.Sprintf("Gestor imediato não encontrado: id %d.", *req.LeadershipID))
		}
	}
	return res, nil
}

// refKind describes one kind of reference in a positions or groups item: sent by id or by code.
type refKind struct {
	idKey, codeKey string // the item's JSON keys, e.g. "teamId" and "teamCode"
	notFound       string // the error code when nothing matches, e.g. "TeamNotFound"
	missing        string // the start of the error message, e.g. "Time não encontrado"
}

var (
	teamRef     = refKind{"teamId", "teamCode", "TeamNotFound", "Time não encontrado"}
	positionRef = refKind{"positionId", "positionCode", "PositionNotFound", "Função não encontrada"}
	groupRef    = refKind{"groupId", "groupCode", "GroupNotFound", "Grupo não encontrado"}
)

// resolveRef finds what item (e.g. "positions.items[0]") names: by id when an id other than 0 is sent (the code
// is then ignored), else by code. The caller holds s.mu.
func resolveRef[T any](item string, k refKind, id *int32, code *string, byID func(int) *T, byCode func(string) *T) (*T, *apiError) {
	switch {
	case id != nil && *id != 0:
		if v := byID(int(*id)); v != nil {
			return v, nil
		}
		return nil, errNotFoundRef(k.notFound, item+"."+k.idKey, fmt.Sprintf("%s: id %d.", k.missing, *id))
	case str(code) != "":
		if v := byCode(*code); v != nil {
			return v, nil
		}
		return nil, errNotFoundRef(k.notFound, item+"."+k.codeKey, fmt.Sprintf("%s: código '%s'.", k.missing, *code))
	}
	return nil, &apiError{http.StatusBadRequest, "RequiredField", "error.field.required",
		fmt.Sprintf("Informe %s ou %s em %s.", k.idKey, k.codeKey, item), []string{item + "." + k.idKey}}
}

func indexAssignment(list []assignment, a assignment) int {
	for i, cur := range list {
		if cur.teamID == a.teamID && cur.positionID == a.positionID {
			return i
		}
	}
	return -1
}

func has(list []assignment, a assignment) bool { return indexAssignment(list, a) >= 0 }

func errNotFoundRef(code, field, message string) *apiError {
	return &apiError{http.StatusBadRequest, code, "error.reference.notfound", message, []string{field}}
}

func errForbidden() *apiError {
	return &apiError{http.StatusForbidden, "Forbidden", "error.auth.forbidden",
		"A pessoa do token não tem permissão para esta operação.", nil}
}

func errLicense(licenseType string) *apiError {
	return &apiError{http.StatusBadRequest, "LicenseLimitExceeded", "error.license.limit",
		fmt.Sprintf("Não há licenças do tipo '%s' disponíveis.", licenseType), []string{licenseType}}
}

// created builds a new person from a validated request, without storing it.
func (s *Server) created(req *addUserRequest, res *resolved) (*user, *apiError) {
	if s.nextUserID > math.MaxInt32 {
		return nil, &apiError{http.StatusInternalServerError, "InternalError", "error.internal", "Limite de identificadores atingido.", nil}
	}
	u := &user{
		id: s.nextUserID, username: *req.Username, name: *req.Name, email: *req.Email,
		identification: str(req.Identification), document: str(req.Document), isActive: true,
		authenticationType: "default", licenseType: *req.LicenseType, timeZone: intp(req.TimeZone),
		businessShiftID: intp(req.BusinessShiftID), leadershipID: intp(req.LeadershipID),
		createDate: s.opts.Now().UTC(),
	}
	if req.IsActive != nil {
		u.isActive = *req.IsActive
	}
	if req.AuthenticationType != nil {
		u.authenticationType = *req.AuthenticationType
	}
	u.passwordRequired = u.authenticationType == "internal"
	if u.isActive && !s.seatFree(u.licenseType, nil) {
		return nil, errLicense(u.licenseType)
	}
	u.positions = s.addAssignments(nil, res.positions)
	u.groups = addGroups(nil, res.groups)
	if req.sendsWelcome() {
		u.welcomeMessages++
	}
	return u, nil
}

// updated returns a copy of old with the sent fields overwritten, without storing it.
func (s *Server) updated(old *user, req *addUserRequest, res *resolved) (*user, *apiError) {
	u := *old
	u.positions = append([]assignment(nil), old.positions...)
	u.groups = append([]int(nil), old.groups...)
	u.name, u.email, u.licenseType = *req.Name, *req.Email, *req.LicenseType
	if req.Identification != nil {
		u.identification = *req.Identification
	}
	if req.Document != nil {
		u.document = *req.Document
	}
	if req.IsActive != nil {
		u.isActive = *req.IsActive
	}
	if req.AuthenticationType != nil {
		u.authenticationType = *req.AuthenticationType
	}
	if req.TimeZone != nil {
		u.timeZone = intp(req.TimeZone)
	}
	if req.BusinessShiftID != nil {
		u.businessShiftID = intp(req.BusinessShiftID)
	}
	if req.LeadershipID != nil {
		u.leadershipID = intp(req.LeadershipID)
	}
	if u.isActive && (!old.isActive || old.licenseType != u.licenseType) && !s.seatFree(u.licenseType, old) {
		return nil, errLicense(u.licenseType)
	}
	switch res.positionsMode {
	case "append":
		u.positions = s.addAssignments(u.positions, res.positions)
	case "replace":
		// Keep the assignments (and their ids) that are sent again; drop the others; add the new ones.
		var next []assignment
		for _, a := range res.positions {
			if has(next, a) {
				continue
			}
			if i := indexAssignment(u.positions, a); i >= 0 {
				next = append(next, u.positions[i])
			} else {
				next = s.addAssignment(next, a.teamID, a.positionID)
			}
		}
		u.positions = next
	}
	switch res.groupsMode {
	case "append":
		u.groups = addGroups(u.groups, res.groups)
	case "replace":
		u.groups = addGroups(nil, res.groups)
	}
	if req.sendsWelcome() {
		u.welcomeMessages++
	}
	return &u, nil
}

// listUsers serves GET /api/2/users?pageNumber=&isActive=: pageNumber is 1-based, any page past the end is an
// empty array, and a pageNumber that is not an integer from 1 (within int64) is a 400. A small OData subset:
// $filter with "eq"
// comparisons joined by "and" on id, username, name, email, document, identification, licenseType and isActive;
// $top; $select is accepted and ignored (every field is returned).
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page := 1
	if v := q.Get("pageNumber"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errInvalid("InvalidFieldValue", "pageNumber", "O parâmetro 'pageNumber' deve ser um inteiro maior ou igual a 1.").write(w)
			return
		}
		page = n
	}
	var active *bool
	if v := q.Get("isActive"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errInvalid("InvalidFieldValue", "isActive", "O parâmetro 'isActive' deve ser true ou false.").write(w)
			return
		}
		active = &b
	}
	for k := range q {
		if strings.HasPrefix(k, "$") && k != "$filter" && k != "$top" && k != "$select" {
			errInvalid("NotSupported", k, fmt.Sprintf("O simulador não implementa o parâmetro OData '%s'.", k)).write(w)
			return
		}
	}
	filter, apiErr := parseFilter(q.Get("$filter"))
	if apiErr != nil {
		apiErr.write(w)
		return
	}
	top := -1
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errInvalid("InvalidFieldValue", "$top", "O parâmetro '$top' deve ser um inteiro não negativo.").write(w)
			return
		}
		top = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var match []*user
	for _, u := range s.users {
		if (active == nil || u.isActive == *active) && filter(u) {
			match = append(match, u)
		}
	}
	if top >= 0 && top < len(match) {
		match = match[:top]
	}
	out := []map[string]any{}
	// A page past the end is empty; (page-1)*PageSize is only computed when it cannot overflow.
	if page-1 <= len(match)/s.opts.PageSize {
		from := (page - 1) * s.opts.PageSize
		for _, u := range match[from:min(from+s.opts.PageSize, len(match))] {
			out = append(out, s.userSummary(u))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// parseFilter understands `field eq 'text'`, `field eq 123` and `field eq true` joined by " and ".
func parseFilter(f string) (func(*user) bool, *apiError) {
	if strings.TrimSpace(f) == "" {
		return func(*user) bool { return true }, nil
	}
	bad := func() (func(*user) bool, *apiError) {
		return nil, errInvalid("InvalidFilter", "$filter",
			fmt.Sprintf("Filtro '%s' não suportado pelo simulador (use campo eq 'valor' [and ...]).", f))
	}
	get := map[string]func(*user) string{
		"username": func(u *user) string { return u.username }, "name": func(u *user) string { return u.name },
		"email": func(u *user) string { return u.email }, "document": func(u *user) string { return u.document },
		"identification": func(u *user) string { return u.identification },
		"licenseType":    func(u *user) string { return u.licenseType },
	}
	var preds []func(*user) bool
	for _, clause := range strings.Split(f, " and ") {
		parts := strings.SplitN(strings.TrimSpace(clause), " ", 3)
		if len(parts) != 3 || parts[1] != "eq" {
			return bad()
		}
		field, lit := parts[0], strings.TrimSpace(parts[2])
		text, quoted := strings.CutPrefix(lit, "'")
		if quoted {
			var ok bool
			if text, ok = strings.CutSuffix(text, "'"); !ok {
				return bad()
			}
			text = strings.ReplaceAll(text, "''", "'")
		}
		switch {
		case get[field] != nil && quoted:
			g := get[field]
			preds = append(preds, func(u *user) bool { return strings.EqualFold(g(u), text) })
		case field == "id" && !quoted:
			n, err := strconv.Atoi(lit)
			if err != nil {
				return bad()
			}
			preds = append(preds, func(u *user) bool { return u.id == n })
		case field == "isActive" && !quoted:
			b, err := strconv.ParseBool(lit)
			if err != nil {
				return bad()
			}
			preds = append(preds, func(u *user) bool { return u.isActive == b })
		default:
			return bad()
		}
	}
	return func(u *user) bool {
		for _, p := range preds {
			if !p(u) {
				return false
			}
		}
		return true
	}, nil
}

// userSummary is GetUsersModelResult; the caller holds s.mu.
func (s *Server) userSummary(u *user) map[string]any {
	var leader any
	if u.leadershipID != nil {
		if l := s.userByID(*u.leadershipID); l != nil {
			leader = map[string]any{"id": l.id, "name": l.name, "username": l.username, "email": l.email}
		}
	}
	return map[string]any{
		"id": u.id, "name": u.name, "email": u.email, "username": u.username, "document": u.document,
		"identification": u.identification, "isActive": u.isActive, "isSuperAdmin": u.isSuperAdmin,
		"isLocked": u.isLocked, "isAbsent": false, "authenticationType": u.authenticationType,
		"licenseType": u.licenseType, "createDate": formatDate(u.createDate),
		"lastLoginDate": formatDate(u.lastLoginDate), "lastPasswordChange": nil,
		"businessShiftId": u.businessShiftID, "leadership": leader,
	}
}

// userDetail is the detailed user of GET /api/2/users/{id}; the caller holds s.mu.
func (s *Server) userDetail(u *user) map[string]any {
	m := s.userSummary(u)
	m["isPasswordExpired"] = u.passwordRequired
	m["isPasswordRequired"] = u.passwordRequired
	m["isAnonymous"] = false
	m["isSubstituteNow"] = false
	m["isSubstituteFor"] = []any{}
	m["substitute"] = nil
	groups := []map[string]any{}
	for _, gid := range u.groups {
		g := s.groupByID(gid)
		groups = append(groups, map[string]any{"id": g.ID, "name": g.Name, "default": false})
	}
	m["groups"] = groups
	m["positions"] = s.userPositions(u)
	return m
}

// userPositions is the body of GET /api/2/users/{id}/positions; the caller holds s.mu.
func (s *Server) userPositions(u *user) []map[string]any {
	out := []map[string]any{}
	for _, a := range u.positions {
		p, t := s.positionByID(a.positionID), s.teamByID(a.teamID)
		out = append(out, map[string]any{
			"id":       a.id,
			"position": map[string]any{"id": p.ID, "code": p.Code, "name": p.Name, "level": p.Level},
			"team":     map[string]any{"id": t.ID, "code": t.Code, "name": t.Name, "sign": t.Sign, "level": t.Level},
		})
	}
	return out
}

// getUser serves GET /api/2/users/{userid} and its alias GET /api/2/users/{username}.
func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("ref")
	s.mu.Lock()
	defer s.mu.Unlock()
	var u *user
	if id, err := strconv.Atoi(ref); err == nil {
		u = s.userByID(id)
	} else {
		u = s.userByUsername(ref)
	}
	if u == nil {
		errUserNotFound(ref).write(w)
		return
	}
	writeJSON(w, http.StatusOK, s.userDetail(u))
}

// getUserSub serves GET /api/2/users/username/{username}, /api/2/users/{id}/positions and
// /api/2/users/{id}/groups (one pattern: the Go mux cannot tell them apart otherwise).
func (s *Server) getUserSub(w http.ResponseWriter, r *http.Request) {
	a, b := r.PathValue("a"), r.PathValue("b")
	s.mu.Lock()
	defer s.mu.Unlock()
	if a == "username" {
		u := s.userByUsername(b)
		if u == nil {
			errUserNotFound(b).write(w)
			return
		}
		writeJSON(w, http.StatusOK, s.userDetail(u))
		return
	}
	if b != "positions" && b != "groups" {
		errRouteNotFound(r).write(w)
		return
	}
	id, err := strconv.Atoi(a)
	u := s.userByID(id)
	if err != nil || u == nil {
		errUserNotFound(a).write(w)
		return
	}
	if b == "positions" {
		writeJSON(w, http.StatusOK, s.userPositions(u))
		return
	}
	out := []map[string]any{}
	for _, gid := range u.groups {
		g := s.groupByID(gid)
		out = append(out, map[string]any{"id": g.ID, "title": g.Name})
	}
	writeJSON(w, http.StatusOK, out)
}

func errUserNotFound(ref string) *apiError {
	return &apiError{http.StatusNotFound, "UserNotFound", "error.user.notfound",
		fmt.Sprintf("Pessoa não encontrada: '%s'.", ref), []string{ref}}
}

// account serves PATCH /api/2/users/{id}/account/activate and .../deactivate.
func (s *Server) account(w http.ResponseWriter, r *http.Request) {
	action := r.PathValue("action")
	if action != "activate" && action != "deactivate" {
		errRouteNotFound(r).write(w)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.principal(r).isSuperAdmin {
		errForbidden().write(w)
		return
	}
	id, err := strconv.Atoi(r.PathValue("id"))
	u := s.userByID(id)
	if err != nil || u == nil {
		errUserNotFound(r.PathValue("id")).write(w)
		return
	}
	if action == "activate" && !u.isActive {
		if !s.seatFree(u.licenseType, u) {
			errLicense(u.licenseType).write(w)
			return
		}
		u.isActive = true
	}
	if action == "deactivate" {
		u.isActive = false
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true})
}
