package senior

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ponte-dev/ponte/clients"
	"github.com/ponte-dev/ponte/schemas"
)

// Target is the clients target name of Senior, used in metrics, breakers and errors.
const Target = "senior"

// The operation names used in errors and in the ponte_downstream_requests_total{target="senior"} series.
const (
	opLoginWithKey     = "login_with_key"
	opLogin            = "login"
	opGetPerson        = "get_person"
	opSearchPerson     = "search_person"
	opPagedSearchAll   = "paged_search_all"
	opListPersonRoles  = "list_person_roles"
	opCreatePersonRole = "create_person_role"
	opUpdatePersonRole = "update_person_role"
	opDeletePersonRole = "delete_person_role"
	opListRoles        = "list_roles"
)

// MinSearchTerm is the shortest search term SAM accepts, in characters.
const MinSearchTerm = 3

// Client calls SAM. Create it with New; it is safe for concurrent use.
type Client struct {
	cfg    Config
	ep     *clients.Endpoint
	tokens *clients.TokenCache // nil with a raw token
	now    func() time.Time
}

// New validates cfg (see Config.Validate), applies its defaults and returns a Client whose endpoint owns its
// *http.Client (opts.HTTPClient when given). It logs in lazily, on the first call.
func New(cfg Config, opts clients.EndpointOptions) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	ep, err := clients.NewEndpoint(Target, cfg.EndpointConfig, opts)
	if err != nil {
		return nil, err
	}
	ops := []string{opGetPerson, opSearchPerson, opListPersonRoles, opCreatePersonRole, opUpdatePersonRole,
		opDeletePersonRole, opListRoles}
	c := &Client{cfg: cfg, ep: ep, now: time.Now}
	switch cfg.mode() {
	case authKey:
		c.tokens = clients.NewTokenCache(c.loginWithKey, cfg.TokenLeeway, c.now)
		ops = append(ops, opLoginWithKey)
	case authPassword:
		c.tokens = clients.NewTokenCache(c.loginWithPassword, cfg.TokenLeeway, c.now)
		ops = append(ops, opLogin)
	}
	if cfg.CPFLookup == CPFLookupScan {
		ops = append(ops, opPagedSearchAll)
	}
	ep.Declare(ops...)
	ep.DeclareTenant("")
	ep.Breakers().SetProbe(Target, c.Probe) // tells a lone failing request from an outage
	return c, nil
}

// do sends req with the access token and, after a 401, once more with a renewed token (a new login, or the raw
// token read again if it changed). A second 401 is returned.
func (c *Client) do(ctx context.Context, req clients.Request) (*clients.Response, error) {
	tok, err := c.token(ctx)
	if err != nil {
		return nil, err
	}
	req.Header = c.authHeader(tok)
	resp, err := c.ep.Do(ctx, req)
	if clients.HTTPStatus(err) != http.StatusUnauthorized {
		return resp, classify(req.Operation, err)
	}
	fresh, ok, rerr := c.renew(ctx, tok)
	if rerr != nil {
		return nil, fmt.Errorf("renew token after 401: %w", rerr)
	}
	if !ok {
		return nil, c.ep.RefusedUnchanged(ctx, "", err) // the same raw token: nothing new to try
	}
	req.Header, req.Renewed = c.authHeader(fresh), true
	resp, err = c.ep.Do(ctx, req) // a 401 again is an *clients.AuthError
	return resp, classify(req.Operation, err)
}

// classify adds ErrDenied to a 403 and ErrNotFound to a 404 from a call on one person, role or link, keeping the
// *clients.StatusError. A search or a list answers an empty array when nothing matches, so its 404 means the path
// is wrong (a BaseURL without /api/v1, say): it stays a plain *clients.StatusError (permanent), lest a
// misconfiguration read as "no such person" and callers skip the work.
func classify(op string, err error) error {
	switch clients.HTTPStatus(err) {
	case http.StatusNotFound:
		if op == opSearchPerson || op == opPagedSearchAll || op == opListRoles {
			return err
		}
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case http.StatusForbidden:
		return fmt.Errorf("%w: %w", ErrDenied, err)
	}
	return err
}

// GetPerson returns person id (GET /person/{id}). A missing person gives an error matching ErrNotFound.
func (c *Client) GetPerson(ctx context.Context, id int64) (*Person, error) {
	var p Person
	if _, err := c.do(ctx, clients.Request{
		Operation: opGetPerson, Method: http.MethodGet, Path: "/person/" + strconv.FormatInt(id, 10), Out: &p,
	}); err != nil {
		return nil, fmt.Errorf("senior get person %d: %w", id, err)
	}
	return &p, nil
}

// SearchPerson returns the people matching term (GET /person/search?term=), which SAM matches against names and,
// in ponte's sandbox, document digits and registries. term must have at least MinSearchTerm characters
// (ErrInvalid otherwise, without a request). No match gives an empty slice, not an error. Errors show a CPF in
// term masked.
func (c *Client) SearchPerson(ctx context.Context, term string) ([]PersonSearch, error) {
	term = strings.TrimSpace(term)
	if utf8.RuneCountInString(term) < MinSearchTerm {
		return nil, fmt.Errorf("senior search person %q: %w: the term needs at least %d characters", term, ErrInvalid, MinSearchTerm)
	}
	res, err := c.search(ctx, term)
	if err != nil {
		return nil, fmt.Errorf("senior search person %q: %w", clients.MaskCPF(term), err)
	}
	return res, nil
}

func (c *Client) search(ctx context.Context, term string) ([]PersonSearch, error) {
	q := url.Values{"term": {term}}
	if c.cfg.SearchSituation != nil {
		q.Set("situation", strconv.Itoa(*c.cfg.SearchSituation))
	}
	var out []PersonSearch
	if _, err := c.do(ctx, clients.Request{
		Operation: opSearchPerson, Method: http.MethodGet, Path: "/person/search?" + q.Encode(), Out: &out,
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// FindPersonByCPF returns the one person whose mandatory documents hold cpf's 11 digits (punctuation ignored).
// With Config.CPFLookup "search" (default) it searches the digits; with "scan" it pages through
// GET /person/pagedsearchall. No match gives ErrNotFound, several give ErrAmbiguous, a cpf without 11 digits
// gives ErrInvalid; all permanent. Errors show the CPF masked (529.***.***-25), never whole.
func (c *Client) FindPersonByCPF(ctx context.Context, cpf string) (*PersonSearch, error) {
	digits := schemas.Digits(cpf)
	masked := clients.MaskCPF(digits)
	if len(digits) != 11 {
		return nil, fmt.Errorf("senior find person by cpf: %w: a CPF has 11 digits, got %d", ErrInvalid, len(digits))
	}
	var found []PersonSearch
	seen := map[int64]bool{}
	keep := func(people []PersonSearch) {
		for _, p := range people {
			if !seen[p.ID] && holdsDocument(p.MandatoryDocuments, digits) {
				seen[p.ID] = true
				found = append(found, p)
			}
		}
	}
	if c.cfg.CPFLookup == CPFLookupScan {
		if err := c.scan(ctx, keep); err != nil {
			return nil, fmt.Errorf("senior find person by cpf %s: %w", masked, err)
		}
	} else {
		res, err := c.search(ctx, digits)
		if err != nil {
			return nil, fmt.Errorf("senior find person by cpf %s: %w", masked, err)
		}
		keep(res)
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("senior find person by cpf %s: %w", masked, ErrNotFound)
	case 1:
		return &found[0], nil
	}
	ids := make([]int64, len(found))
	for i, p := range found {
		ids[i] = p.ID
	}
	return nil, fmt.Errorf("senior find person by cpf %s: %w: persons %s", masked, ErrAmbiguous, joinIDs(ids))
}

// scan pages through GET /person/pagedsearchall (1-based pages) until an empty page, passing each page to fn.
func (c *Client) scan(ctx context.Context, fn func([]PersonSearch)) error {
	for page := 1; page <= c.cfg.ScanMaxPages; page++ {
		q := url.Values{"page": {strconv.Itoa(page)}, "pageSize": {strconv.Itoa(c.cfg.ScanPageSize)}}
		if c.cfg.SearchSituation != nil {
			q.Set("situation", strconv.Itoa(*c.cfg.SearchSituation))
		}
		var out []PersonSearch
		if _, err := c.do(ctx, clients.Request{
			Operation: opPagedSearchAll, Method: http.MethodGet, Path: "/person/pagedsearchall?" + q.Encode(), Out: &out,
		}); err != nil {
			return fmt.Errorf("page %d: %w", page, err)
		}
		if len(out) == 0 {
			return nil
		}
		fn(out)
	}
	return permanentError{fmt.Errorf("scan stopped after scanMaxPages=%d pages of %d", c.cfg.ScanMaxPages, c.cfg.ScanPageSize)}
}

func holdsDocument(docs []Document, digits string) bool {
	for _, d := range docs {
		if schemas.Digits(d.Document) == digits {
			return true
		}
	}
	return false
}

func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ", ")
}

// FindPersonByRegistry returns the one person whose registry (employee number) equals registry: it searches the
// registry, then reads each candidate with GET /person/{id} to compare, since search results carry no registry.
// No match gives ErrNotFound; several matches, or more candidates than Config.MaxRegistryCandidates, give
// ErrAmbiguous; a registry shorter than MinSearchTerm gives ErrInvalid.
func (c *Client) FindPersonByRegistry(ctx context.Context, registry string) (*Person, error) {
	registry = strings.TrimSpace(registry)
	if utf8.RuneCountInString(registry) < MinSearchTerm {
		return nil, fmt.Errorf("senior find person by registry %q: %w: the term needs at least %d characters", registry, ErrInvalid, MinSearchTerm)
	}
	candidates, err := c.search(ctx, registry)
	if err != nil {
		return nil, fmt.Errorf("senior find person by registry %q: %w", registry, err)
	}
	if len(candidates) > c.cfg.MaxRegistryCandidates {
		return nil, fmt.Errorf("senior find person by registry %q: %w: %d candidates, more than maxRegistryCandidates=%d",
			registry, ErrAmbiguous, len(candidates), c.cfg.MaxRegistryCandidates)
	}
	var found []*Person
	seen := map[int64]bool{}
	for _, cand := range candidates {
		if seen[cand.ID] {
			continue
		}
		seen[cand.ID] = true
		p, err := c.GetPerson(ctx, cand.ID)
		if errors.Is(err, ErrNotFound) {
			continue // removed since the search
		}
		if err != nil {
			return nil, fmt.Errorf("senior find person by registry %q: %w", registry, err)
		}
		if strings.TrimSpace(p.Registry) == registry {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("senior find person by registry %q: %w", registry, ErrNotFound)
	case 1:
		return found[0], nil
	}
	ids := make([]int64, len(found))
	for i, p := range found {
		ids[i] = p.ID
	}
	return nil, fmt.Errorf("senior find person by registry %q: %w: persons %s", registry, ErrAmbiguous, joinIDs(ids))
}

// ListPersonRoles returns the person's role links, ended ones included (GET /person/{personId}/roles). A missing
// person gives ErrNotFound.
func (c *Client) ListPersonRoles(ctx context.Context, personID int64) ([]PersonRole, error) {
	var out []PersonRole
	if _, err := c.do(ctx, clients.Request{
		Operation: opListPersonRoles, Method: http.MethodGet,
		Path: "/person/" + strconv.FormatInt(personID, 10) + "/roles", Out: &out,
	}); err != nil {
		return nil, fmt.Errorf("senior list roles of person %d: %w", personID, err)
	}
	return out, nil
}

// CreatePersonRole links in.PersonID to in.RoleID from in.StartDate, until in.EndDate if not zero
// (POST /person/role, sent with "id": 0), and returns the new link. It is not idempotent: each call creates a
// link. SAM answers 404 (ErrNotFound) for an unknown person or role and 400 for a missing field or an end before
// the start.
func (c *Client) CreatePersonRole(ctx context.Context, in PersonRoleInput) (*PersonRoleLink, error) {
	in.ID = 0
	var out PersonRoleLink
	if _, err := c.do(ctx, clients.Request{
		Operation: opCreatePersonRole, Method: http.MethodPost, Path: "/person/role", JSON: in, Out: &out,
	}); err != nil {
		return nil, fmt.Errorf("senior create role %d link for person %d: %w", in.RoleID, in.PersonID, err)
	}
	if out.ID == 0 {
		return nil, fmt.Errorf("senior create role %d link for person %d: %w", in.RoleID, in.PersonID,
			&clients.TransportError{Target: Target, Operation: opCreatePersonRole, Err: errors.New("response has no link id")})
	}
	return &out, nil
}

// UpdatePersonRole replaces link in.ID with in (PUT /person/role); any 2xx is success. Send every field: a zero
// EndDate is omitted and means no end date. Once the link has started only EndDate may change: another change
// gives ErrDenied (403). An unknown link gives ErrNotFound; in.ID of 0 gives ErrInvalid.
func (c *Client) UpdatePersonRole(ctx context.Context, in PersonRoleInput) error {
	if in.ID == 0 {
		return fmt.Errorf("senior update person role link: %w: id is 0", ErrInvalid)
	}
	if _, err := c.do(ctx, clients.Request{
		Operation: opUpdatePersonRole, Method: http.MethodPut, Path: "/person/role", JSON: in,
	}); err != nil {
		return fmt.Errorf("senior update person role link %d: %w", in.ID, err)
	}
	return nil
}

// DeletePersonRole removes link personRoleID (DELETE /person/role/{personRoleId}). An unknown link gives
// ErrNotFound, which a caller removing a link may treat as done.
func (c *Client) DeletePersonRole(ctx context.Context, personRoleID int64) error {
	if _, err := c.do(ctx, clients.Request{
		Operation: opDeletePersonRole, Method: http.MethodDelete, Path: "/person/role/" + strconv.FormatInt(personRoleID, 10),
	}); err != nil {
		return fmt.Errorf("senior delete person role link %d: %w", personRoleID, err)
	}
	return nil
}

// ListRoles returns every access role (GET /role), e.g. to check configured role ids at start-up.
func (c *Client) ListRoles(ctx context.Context) ([]Role, error) {
	var out []Role
	if _, err := c.do(ctx, clients.Request{Operation: opListRoles, Method: http.MethodGet, Path: "/role", Out: &out}); err != nil {
		return nil, fmt.Errorf("senior list roles: %w", err)
	}
	return out, nil
}

// Probe is the client's clients.Probe: ListRoles, a small read (the SAM API has one tenant per client, so tenant
// is unused).
func (c *Client) Probe(ctx context.Context, _ string) error {
	_, err := c.ListRoles(ctx)
	return err
}
