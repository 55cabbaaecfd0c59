package zeev

import "encoding/json"

// Values of AddUser.IfExists: what POST /api/2/users does when the username already exists.
const (
	IfExistsBlock    = "block"    // answer an error (the default when IfExists is empty)
	IfExistsRetrieve = "retrieve" // return the existing person unchanged (Action "Retrieved")
	IfExistsUpdate   = "update"   // overwrite the sent fields (Action "Update")
)

// Values of PositionSet.IfExistsUser and GroupSet.IfExistsUser: what happens to an existing person's positions
// or groups. A new person simply gets the items.
const (
	IfExistsUserAppend    = "append"    // add the items the person does not have
	IfExistsUserDoNothing = "donothing" // leave the current set untouched
	IfExistsUserReplace   = "replace"   // set exactly the items sent
)

// Values of AddUser.AuthenticationType.
const (
	AuthDefault  = "default"  // the system's default (used when empty)
	AuthInternal = "internal" // a temporary password is generated and stored in Zeev
	AuthNetwork  = "network"  // network / Active Directory / LDAP
	AuthSSOOnly  = "ssoonly"  // SSO only
)

// Values of AddUser.LicenseType.
const (
	LicenseActor     = "actor"
	LicenseRequester = "requester"
)

// Values of AddUserResult.Action.
const (
	ActionCreated   = "Created"
	ActionRetrieved = "Retrieved"
	ActionUpdate    = "Update"
	ActionError     = "Error" // UpsertUser turns it into a *RejectedError
)

// AddUser is the body of POST /api/2/users (AddUserModel): create a person, or retrieve or update an existing
// one. Username, Name, Email and LicenseType are required.
type AddUser struct {
	IfExists           string          `json:"ifExists,omitempty"` // IfExists*; empty means block
	Username           string          `json:"username"`           // login or authentication e-mail
	Name               string          `json:"name"`
	Email              string          `json:"email"` // e-mail for notifications
	Identification     string          `json:"identification,omitempty"`
	Document           string          `json:"document,omitempty"` // CPF or CNPJ; sent as digits unless Config.KeepDocumentFormat
	IsActive           *bool           `json:"isActive,omitempty"`
	AuthenticationType string          `json:"authenticationType,omitempty"` // Auth*; empty means default
	LicenseType        string          `json:"licenseType"`                  // LicenseActor or LicenseRequester
	TimeZone           *int            `json:"timeZone,omitempty"`
	Positions          *PositionSet    `json:"positions,omitempty"`
	Groups             *GroupSet       `json:"groups,omitempty"`
	WelcomeMessage     *WelcomeMessage `json:"welcomeMessage,omitempty"`
	BusinessShiftID    *int            `json:"businessShiftId,omitempty"` // work shift
	LeadershipID       *int            `json:"leadershipId,omitempty"`    // the direct manager's user id
}

// PositionSet is AddUser.Positions: the person's team/position pairs. Zeev requires IfExistsUser and Items: a nil
// Items is sent as null and refused; use an empty slice for none (with IfExistsUserReplace, none clears the set).
type PositionSet struct {
	IfExistsUser string         `json:"ifExistsUser"` // IfExistsUser*
	Items        []PositionItem `json:"items"`
}

// PositionItem names a team and a position, each by id or by code; an id makes the code unnecessary.
type PositionItem struct {
	TeamID       int    `json:"teamId,omitempty"`
	TeamCode     string `json:"teamCode,omitempty"`
	PositionID   int    `json:"positionId,omitempty"`
	PositionCode string `json:"positionCode,omitempty"`
}

// GroupSet is AddUser.Groups: the person's maintenance groups. Zeev requires IfExistsUser and Items: a nil Items
// is sent as null and refused; use an empty slice for none (with IfExistsUserReplace, none clears the set).
type GroupSet struct {
	IfExistsUser string      `json:"ifExistsUser"` // IfExistsUser*
	Items        []GroupItem `json:"items"`
}

// GroupItem names a maintenance group by id or by code.
type GroupItem struct {
	GroupID   int    `json:"groupId,omitempty"`
	GroupCode string `json:"groupCode,omitempty"`
}

// WelcomeMessage asks Zeev to send (or not) the welcome e-mail.
type WelcomeMessage struct {
	Send bool `json:"send"`
}

// AddUserResult is the answer of POST /api/2/users (AddUserModelResult).
type AddUserResult struct {
	Action             string `json:"action"` // Action*
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

// User is a person as returned by GET /api/2/users/{id} and GET /api/2/users/username/{username}. Dates are
// ISO-8601 UTC strings as sent by Zeev ("" when null).
type User struct {
	ID                 int                   `json:"id"`
	Name               string                `json:"name"`
	Email              string                `json:"email"`
	Username           string                `json:"username"`
	Document           string                `json:"document"`
	Identification     string                `json:"identification"`
	IsActive           bool                  `json:"isActive"`
	IsSuperAdmin       bool                  `json:"isSuperAdmin"`
	IsLocked           bool                  `json:"isLocked"`
	IsAbsent           bool                  `json:"isAbsent"`
	AuthenticationType string                `json:"authenticationType"`
	LicenseType        string                `json:"licenseType"`
	CreateDate         string                `json:"createDate"`
	LastLoginDate      string                `json:"lastLoginDate"`
	LastPasswordChange string                `json:"lastPasswordChange"`
	BusinessShiftID    *int                  `json:"businessShiftId"`
	Leadership         *UserRef              `json:"leadership"`
	IsPasswordExpired  bool                  `json:"isPasswordExpired"`
	IsPasswordRequired bool                  `json:"isPasswordRequired"`
	IsAnonymous        bool                  `json:"isAnonymous"`
	IsSubstituteNow    bool                  `json:"isSubstituteNow"`
	IsSubstituteFor    json.RawMessage       `json:"isSubstituteFor"` // shape not documented
	Substitute         json.RawMessage       `json:"substitute"`      // shape not documented
	Groups             []UserGroupMembership `json:"groups"`
	Positions          []UserPosition        `json:"positions"`
}

// UserRef is a short reference to a person (a user's leadership).
type UserRef struct {
	ID       int    `json:"id"`
	Name     string `json:"name"`
	Username string `json:"username"`
	Email    string `json:"email"`
}

// UserGroupMembership is one group in User.Groups.
type UserGroupMembership struct {
	ID      int    `json:"id"`
	Name    string `json:"name"`
	Default bool   `json:"default"`
}

// UserPosition is one team/position pair of a person (GET /api/2/users/{id}/positions and User.Positions).
type UserPosition struct {
	ID       int         `json:"id"`
	Position PositionRef `json:"position"`
	Team     TeamRef     `json:"team"`
}

// PositionRef is the position of a UserPosition.
type PositionRef struct {
	ID    int    `json:"id"`
	Code  string `json:"code"`
	Name  string `json:"name"`
	Level int    `json:"level"`
}

// TeamRef is the team of a UserPosition.
type TeamRef struct {
	ID    int    `json:"id"`
	Code  string `json:"code"`
	Name  string `json:"name"`
	Sign  string `json:"sign"`
	Level int    `json:"level"`
}

// UserGroup is one element of GET /api/2/users/{id}/groups.
type UserGroup struct {
	ID    int    `json:"id"`
	Title string `json:"title"`
}

// Team is a team (time) as returned by GET /api/2/teams/code/{code}.
type Team struct {
	ID            int    `json:"id"`
	Code          string `json:"code"`
	Name          string `json:"name"`
	Level         int    `json:"level"`
	Sign          string `json:"sign"`
	ParentID      *int   `json:"parentId"`
	AlwaysVisible bool   `json:"alwaysVisible"`
	Active        bool   `json:"active"`
	Description   string `json:"description"`
	Type          string `json:"type"`
	State         string `json:"state"`
	City          string `json:"city"`
	Parent        *Team  `json:"parent"`
}

// Position is a position (função) as returned by GET /api/2/positions/code/{code}.
type Position struct {
	ID          int    `json:"id"`
	Code        string `json:"code"`
	Name        string `json:"name"`
	Level       int    `json:"level"`
	ParentID    *int   `json:"parentId"`
	Description string `json:"description"`
	Active      bool   `json:"active"`
}

// Group is a maintenance group as returned by GET /api/2/groups/code/{code}.
type Group struct {
	ID   int    `json:"id"`
	Code string `json:"code"`
	Name string `json:"name"`
}

// Identity is the person a token represents, from GET /api/2/tokens. The temporary token Zeev also returns is
// deliberately not kept.
type Identity struct {
	UserID   int    `json:"userId"`
	Username string `json:"username"`
}
