package senior

import (
	"strings"
	"time"

	"github.com/ponte-dev/ponte/schemas"
)

// Person is a SAM person as GET /person/{id} returns it. Date fields other than the links' are kept as the strings
// SAM sends (birthday is "yyyy-MM-dd"), so an unexpected format never fails a read.
type Person struct {
	ID                   int64      `json:"id"`
	Name                 string     `json:"name"`
	Documents            []Document `json:"documents"`
	Emails               []Email    `json:"emails"`
	Phones               []Phone    `json:"phones"`
	Gender               int        `json:"gender"`
	Birthday             string     `json:"birthday"`
	Registry             string     `json:"registry"` // employee number (matrícula)
	RegisterDate         string     `json:"registerDate"`
	LastModificationDate string     `json:"lastModificationDate"`
	Address              string     `json:"address"`
	Number               string     `json:"number"`
	District             string     `json:"district"`
	City                 string     `json:"city"`
	UF                   string     `json:"uf"`
	CEP                  string     `json:"cep"`
	Nationality          string     `json:"nationality"`
	LastAccessDate       string     `json:"lastAccessDate"`
	Situation            int        `json:"situation"` // SituationActive or SituationBlocked
	HasValidRole         bool       `json:"hasValidRole"`
	HasProvisoryRole     bool       `json:"hasProvisoryRole"`
}

// The values of Person.Situation.
const (
	SituationActive  = 0
	SituationBlocked = 1
)

// CPF returns the digits of the person's CPF document (type label or name "CPF"), "" if none.
func (p Person) CPF() string { return cpfOf(p.Documents) }

// Document is a person's document (CPF, PIS, RG...) with its type.
type Document struct {
	ID           int64        `json:"id"`
	DocumentType DocumentType `json:"documentType"`
	Document     string       `json:"document"`
}

// DocumentType is a kind of document. Required types appear in PersonSearch.MandatoryDocuments; documentToREP
// types are sent to time-clock devices.
type DocumentType struct {
	ID            int64  `json:"id"`
	Name          string `json:"name"`
	Label         string `json:"label"`
	Mask          string `json:"mask"`
	Required      bool   `json:"required"`
	DocumentToREP bool   `json:"documentToREP"`
}

// Email is a person's e-mail address.
type Email struct {
	ID           int64  `json:"id"`
	Preferential bool   `json:"preferential"`
	EmailAddress string `json:"emailAddress"`
}

// Phone is a person's phone number.
type Phone struct {
	ID            int64  `json:"id"`
	Preferential  bool   `json:"preferential"`
	DDI           int    `json:"ddi"`
	PhoneNumber   string `json:"phoneNumber"`
	ExtensionLine string `json:"extensionLine"`
}

// PersonSearch is one result of GET /person/search and /person/pagedsearchall: a person with only the documents
// of required types and the preferential contacts.
type PersonSearch struct {
	ID                 int64      `json:"id"`
	Name               string     `json:"name"`
	MandatoryDocuments []Document `json:"mandatoryDocuments"`
	PreferentialPhone  *Phone     `json:"preferentialPhone,omitempty"`
	PreferentialEmail  *Email     `json:"preferentialEmail,omitempty"`
}

// CPF returns the digits of the CPF among the mandatory documents, "" if none.
func (p PersonSearch) CPF() string { return cpfOf(p.MandatoryDocuments) }

// PersonRole is one of a person's role links as GET /person/{personId}/roles returns it. EndDate is zero when the
// link has no end.
type PersonRole struct {
	RoleID       int64  `json:"roleId"`
	RoleName     string `json:"roleName"`
	PersonRoleID int64  `json:"personRoleId"`
	StartDate    Time   `json:"startDate"`
	EndDate      Time   `json:"endDate"`
	IsSuspended  bool   `json:"isSuspended"`
}

// Started reports whether the link's start date is not after t: from then on SAM lets only its end date change.
func (r PersonRole) Started(t time.Time) bool { return !r.StartDate.IsZero() && !r.StartDate.After(t) }

// ActiveAt reports whether the link grants its role at t: started, and with no end date or one after t.
// Suspension is not considered.
func (r PersonRole) ActiveAt(t time.Time) bool {
	return r.Started(t) && (r.EndDate.IsZero() || r.EndDate.After(t))
}

// PersonRoleInput is the body of POST and PUT /person/role. ID is 0 to create (CreatePersonRole sets it) and the
// link's personRoleId to update. A zero EndDate is omitted from the JSON: no end date.
type PersonRoleInput struct {
	ID        int64 `json:"id"`
	PersonID  int64 `json:"personId"`
	RoleID    int64 `json:"roleId"`
	StartDate Time  `json:"startDate,omitzero"`
	EndDate   Time  `json:"endDate,omitzero"`
}

// PersonRoleLink is the link POST /person/role returns. EndDate is zero when SAM answers "endDate": "".
type PersonRoleLink struct {
	ID        int64 `json:"id"`
	PersonID  int64 `json:"personId"`
	RoleID    int64 `json:"roleId"`
	StartDate Time  `json:"startDate"`
	EndDate   Time  `json:"endDate"`
}

// Role is an access role (papel) as GET /role returns it; only the fields ponte uses are decoded.
type Role struct {
	ID                    int64  `json:"id"`
	Name                  string `json:"name"`
	UsesProvisory         bool   `json:"usesProvisory"`
	ReceivesVisit         bool   `json:"receivesVisit"`
	UsesFacialRecognition bool   `json:"usesFacialRecognition"`
	Integrated            bool   `json:"integrated"`
}

func cpfOf(docs []Document) string {
	for _, d := range docs {
		if strings.EqualFold(d.DocumentType.Label, "CPF") || strings.EqualFold(d.DocumentType.Name, "CPF") {
			return schemas.Digits(d.Document)
		}
	}
	return ""
}
