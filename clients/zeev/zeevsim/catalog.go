package zeevsim

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// teamJSON is the team model of GET /api/2/teams/{id}; the caller holds s.mu.
func (s *Server) teamJSON(t *team) map[string]any {
	var parent any
	var parentID any
	if p := s.teamByID(t.parentID); p != nil {
		parentID = p.ID
		parent = map[string]any{"id": p.ID, "code": p.Code, "name": p.Name, "level": p.Level, "sign": p.Sign}
	}
	return map[string]any{
		"id": t.ID, "code": t.Code, "name": t.Name, "level": t.Level, "sign": t.Sign, "parentId": parentID,
		"alwaysVisible": t.AlwaysVisible, "active": t.active, "description": t.Description, "type": t.Type,
		"state": t.State, "city": t.City, "parent": parent,
	}
}

// positionJSON is the position model of GET /api/2/positions/{id}.
func positionJSON(p *position) map[string]any {
	var parentID any
	if p.parentID != 0 {
		parentID = p.parentID
	}
	return map[string]any{
		"id": p.ID, "code": p.Code, "name": p.Name, "level": p.Level, "parentId": parentID,
		"description": p.Description, "active": p.active,
	}
}

func groupJSON(g *group) map[string]any {
	return map[string]any{"id": g.ID, "code": g.Code, "name": g.Name}
}

func notFound(w http.ResponseWriter, code, what, ref string) {
	writeErrorVars(w, http.StatusNotFound, code, "error.notfound", fmt.Sprintf("%s não encontrado: '%s'.", what, ref), []string{ref})
}

// nameFilter returns the test of the ?name= query parameter: a case-insensitive substring, "" matching all.
func nameFilter(r *http.Request) func(name string) bool {
	q := strings.ToLower(r.URL.Query().Get("name"))
	return func(name string) bool { return q == "" || strings.Contains(strings.ToLower(name), q) }
}

// listTeams serves GET /api/2/teams?name= (name: case-insensitive substring).
func (s *Server) listTeams(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	matches := nameFilter(r)
	out := []map[string]any{}
	for _, t := range s.teams {
		if matches(t.Name) {
			out = append(out, s.teamJSON(t))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// getTeam serves GET /api/2/teams/{teamid}.
func (s *Server) getTeam(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := strconv.Atoi(r.PathValue("id"))
	t := s.teamByID(id)
	if err != nil || t == nil {
		notFound(w, "TeamNotFound", "Time", r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, s.teamJSON(t))
}

// getTeamSub serves GET /api/2/teams/code/{teamcode} and GET /api/2/teams/{teamid}/positions.
func (s *Server) getTeamSub(w http.ResponseWriter, r *http.Request) {
	a, b := r.PathValue("a"), r.PathValue("b")
	s.mu.Lock()
	defer s.mu.Unlock()
	if a == "code" {
		t := s.teamByCode(b)
		if t == nil {
			notFound(w, "TeamNotFound", "Time", b)
			return
		}
		writeJSON(w, http.StatusOK, s.teamJSON(t))
		return
	}
	if b != "positions" {
		errRouteNotFound(r).write(w)
		return
	}
	id, err := strconv.Atoi(a)
	t := s.teamByID(id)
	if err != nil || t == nil {
		notFound(w, "TeamNotFound", "Time", a)
		return
	}
	out := []map[string]any{}
	for _, pc := range t.Positions {
		p := s.positionByCode(pc)
		out = append(out, map[string]any{"id": p.ID, "code": p.Code, "name": p.Name, "level": p.Level, "active": p.active})
	}
	writeJSON(w, http.StatusOK, out)
}

// catalog serves the list, by-id and by-code routes of one flat catalogue (positions, groups): GET <base>?name=,
// GET <base>/{id} and GET <base>/code/{code}. Teams have their own handlers, for their sub-routes.
type catalog[T comparable] struct {
	s        *Server
	notFound string // the error code, e.g. "PositionNotFound"
	label    string // the noun in the message, e.g. "Função"
	all      func() []T
	name     func(T) string
	byID     func(int) T    // the zero T (nil) when there is none
	byCode   func(string) T // likewise
	json     func(T) map[string]any
}

// list serves GET <base>?name=.
func (c catalog[T]) list(w http.ResponseWriter, r *http.Request) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	matches := nameFilter(r)
	out := []map[string]any{}
	for _, x := range c.all() {
		if matches(c.name(x)) {
			out = append(out, c.json(x))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// get serves GET <base>/{id}.
func (c catalog[T]) get(w http.ResponseWriter, r *http.Request) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	var zero T
	id, err := strconv.Atoi(r.PathValue("id"))
	x := c.byID(id)
	if err != nil || x == zero {
		notFound(w, c.notFound, c.label, r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, c.json(x))
}

// getByCode serves GET <base>/code/{code}.
func (c catalog[T]) getByCode(w http.ResponseWriter, r *http.Request) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	var zero T
	x := c.byCode(r.PathValue("code"))
	if x == zero {
		notFound(w, c.notFound, c.label, r.PathValue("code"))
		return
	}
	writeJSON(w, http.StatusOK, c.json(x))
}
