package zeev

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/ponte-dev/ponte/clients"
	"github.com/ponte-dev/ponte/schemas"
)

// UpsertUser creates a person, or retrieves or updates an existing one according to u.IfExists, with
// POST /api/2/users. Document is sent as digits only unless Config.KeepDocumentFormat. On success the answer is a
// 200 whose Action says what happened (ActionCreated, ActionRetrieved, ActionUpdate) and whose ID is the person's.
// A 200 with action "Error" is returned as a permanent *RejectedError; any other 2xx (no action, an unknown one,
// no id, a 204) as a retryable *UnexpectedAnswerError; an existing username with IfExistsBlock is a permanent
// *APIError (code "UserAlreadyExists" in the sandbox).
func (c *Client) UpsertUser(ctx context.Context, u AddUser) (*AddUserResult, error) {
	if !c.cfg.KeepDocumentFormat && u.Document != "" {
		if d := schemas.Digits(u.Document); d != "" {
			u.Document = d
		}
	}
	var out AddUserResult
	resp, err := c.do(ctx, clients.Request{
		Operation: opUpsertUser, Method: http.MethodPost, Path: "/api/2/users", JSON: u, Out: &out,
		Check: func(resp *clients.Response) error { return checkUpsert(resp, &out) },
	})
	if err != nil {
		return nil, fmt.Errorf("zeev upsert user %s: %w", u.Username, err)
	}
	if out.Action == ActionError {
		return nil, fmt.Errorf("zeev upsert user %s: %w", u.Username,
			&RejectedError{Operation: opUpsertUser, Body: clients.Excerpt(resp.Body)})
	}
	return &out, nil
}

// checkUpsert accepts the answers POST /api/2/users documents: 200 with action Created, Retrieved or Update and
// the person's id, or 200 with action Error (which UpsertUser turns into a *RejectedError). Anything else is an
// *UnexpectedAnswerError. It runs inside the breaker, so a malformed answer counts as a failure there.
func checkUpsert(resp *clients.Response, out *AddUserResult) error {
	if resp.Status == http.StatusOK {
		switch out.Action {
		case ActionError:
			return nil
		case ActionCreated, ActionRetrieved, ActionUpdate:
			if out.ID > 0 {
				return nil
			}
		}
	}
	return &UnexpectedAnswerError{Operation: opUpsertUser, Status: resp.Status, Action: out.Action, ID: out.ID,
		Body: clients.Excerpt(resp.Body)}
}

// GetUser returns the person with id (GET /api/2/users/{id}). An unknown id is an error matching ErrNotFound.
func (c *Client) GetUser(ctx context.Context, id int) (*User, error) {
	var out User
	if _, err := c.do(ctx, clients.Request{
		Operation: opGetUser, Method: http.MethodGet, Path: "/api/2/users/" + strconv.Itoa(id), Out: &out,
	}); err != nil {
		return nil, fmt.Errorf("zeev get user %d: %w", id, err)
	}
	return &out, nil
}

// GetUserByUsername returns the person whose login is username (GET /api/2/users/username/{username}). An
// unknown username is an error matching ErrNotFound (and a permanent *clients.StatusError).
func (c *Client) GetUserByUsername(ctx context.Context, username string) (*User, error) {
	var out User
	if _, err := c.do(ctx, clients.Request{
		Operation: opGetUserByUsername, Method: http.MethodGet,
		Path: "/api/2/users/username/" + url.PathEscape(username), Out: &out,
	}); err != nil {
		return nil, fmt.Errorf("zeev get user %s: %w", username, err)
	}
	return &out, nil
}

// DeactivateUser deactivates the account of the person with id (PATCH /api/2/users/{id}/account/deactivate),
// freeing their license seat. Deactivating an inactive person succeeds. success:false is a *RejectedError.
func (c *Client) DeactivateUser(ctx context.Context, id int) error {
	if err := c.account(ctx, opDeactivateUser, id, "deactivate"); err != nil {
		return fmt.Errorf("zeev deactivate user %d: %w", id, err)
	}
	return nil
}

// ActivateUser activates the account of the person with id (PATCH /api/2/users/{id}/account/activate). It
// needs a free license seat of the person's type (otherwise a permanent *APIError, code
// "LicenseLimitExceeded" in the sandbox). success:false is a *RejectedError.
func (c *Client) ActivateUser(ctx context.Context, id int) error {
	if err := c.account(ctx, opActivateUser, id, "activate"); err != nil {
		return fmt.Errorf("zeev activate user %d: %w", id, err)
	}
	return nil
}

func (c *Client) account(ctx context.Context, op string, id int, action string) error {
	var out struct {
		Success bool `json:"success"`
	}
	resp, err := c.do(ctx, clients.Request{
		Operation: op, Method: http.MethodPatch,
		Path: "/api/2/users/" + strconv.Itoa(id) + "/account/" + action, Out: &out,
	})
	if err != nil {
		return err
	}
	if !out.Success {
		return &RejectedError{Operation: op, Body: clients.Excerpt(resp.Body)}
	}
	return nil
}

// ListUserPositions returns the team/position pairs of the person with id (GET /api/2/users/{id}/positions).
func (c *Client) ListUserPositions(ctx context.Context, id int) ([]UserPosition, error) {
	var out []UserPosition
	if _, err := c.do(ctx, clients.Request{
		Operation: opListUserPositions, Method: http.MethodGet,
		Path: "/api/2/users/" + strconv.Itoa(id) + "/positions", Out: &out,
	}); err != nil {
		return nil, fmt.Errorf("zeev list positions of user %d: %w", id, err)
	}
	return out, nil
}

// ListUserGroups returns the maintenance groups of the person with id (GET /api/2/users/{id}/groups).
func (c *Client) ListUserGroups(ctx context.Context, id int) ([]UserGroup, error) {
	var out []UserGroup
	if _, err := c.do(ctx, clients.Request{
		Operation: opListUserGroups, Method: http.MethodGet,
		Path: "/api/2/users/" + strconv.Itoa(id) + "/groups", Out: &out,
	}); err != nil {
		return nil, fmt.Errorf("zeev list groups of user %d: %w", id, err)
	}
	return out, nil
}

// TeamByCode returns the team whose integration code is code (GET /api/2/teams/code/{code}). An unknown code
// is an error matching ErrNotFound.
func (c *Client) TeamByCode(ctx context.Context, code string) (*Team, error) {
	var out Team
	if _, err := c.do(ctx, clients.Request{
		Operation: opGetTeamByCode, Method: http.MethodGet, Path: "/api/2/teams/code/" + url.PathEscape(code), Out: &out,
	}); err != nil {
		return nil, fmt.Errorf("zeev get team %s: %w", code, err)
	}
	return &out, nil
}

// PositionByCode returns the position whose integration code is code (GET /api/2/positions/code/{code}). An
// unknown code is an error matching ErrNotFound.
func (c *Client) PositionByCode(ctx context.Context, code string) (*Position, error) {
	var out Position
	if _, err := c.do(ctx, clients.Request{
		Operation: opGetPositionByCode, Method: http.MethodGet, Path: "/api/2/positions/code/" + url.PathEscape(code), Out: &out,
	}); err != nil {
		return nil, fmt.Errorf("zeev get position %s: %w", code, err)
	}
	return &out, nil
}

// GroupByCode returns the maintenance group whose integration code is code (GET /api/2/groups/code/{code}). An
// unknown code is an error matching ErrNotFound.
func (c *Client) GroupByCode(ctx context.Context, code string) (*Group, error) {
	var out Group
	if _, err := c.do(ctx, clients.Request{
		Operation: opGetGroupByCode, Method: http.MethodGet, Path: "/api/2/groups/code/" + url.PathEscape(code), Out: &out,
	}); err != nil {
		return nil, fmt.Errorf("zeev get group %s: %w", code, err)
	}
	return &out, nil
}
