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

// listPositions serves GET /api/2/positions.
func (s *Server) listPositions(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	matches := nameFilter(r)
	out := []map[string]any{}
	for _, p := range s.positions {
		if matches(p.Name) {
			out = append(out, positionJSON(p))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// getPosition serves GET /api/2/positions/{id}.
func (s *Server) getPosition(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := strconv.Atoi(r.PathValue("id"))
	p := s.positionByID(id)
	if err != nil || p == nil {
		notFound(w, "PositionNotFound", "Função", r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, positionJSON(p))
}

// getPositionByCode serves GET /api/2/positions/code/{positioncode}.
func (s *Server) getPositionByCode(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.positionByCode(r.PathValue("code"))
	if p == nil {
		notFound(w, "PositionNotFound", "Função", r.PathValue("code"))
		return
	}
	writeJSON(w, http.StatusOK, positionJSON(p))
}

// listGroups serves GET /api/2/groups?name=.
func (s *Server) listGroups(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	matches := nameFilter(r)
	out := []map[string]any{}
	for _, g := range s.groups {
		if matches(g.Name) {
			out = append(out, groupJSON(g))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// getGroup serves GET /api/2/groups/{groupid}.
func (s *Server) getGroup(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, err := strconv.Atoi(r.PathValue("id"))
	g := s.groupByID(id)
	if err != nil || g == nil {
		notFound(w, "GroupNotFound", "Grupo", r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, groupJSON(g))
}

// getGroupByCode serves GET /api/2/groups/code/{groupcode}.
func (s *Server) getGroupByCode(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.groupByCode(r.PathValue("code"))
	if g == nil {
		notFound(w, "GroupNotFound", "Grupo", r.PathValue("code"))
		return
	}
	writeJSON(w, http.StatusOK, groupJSON(g))
}
