// Package senior is ponte's client for Senior Ronda senior X access control (SAM, sam-api v1): it reads people
// and their person/role links and grants, ends and removes access roles.
//
// A Client authenticates in one of three ways, chosen by Config: a raw token (re-read from its file after a 401),
// a platform application key (loginWithKey), or a platform user and password (login). The two login modes cache
// the platform access_token until expires_in minus Config.TokenLeeway and log in again once after a 401.
//
// Every call goes through a clients.Endpoint with target "senior" and tenant "", so it runs inside the "senior"
// circuit breaker and returns the shared typed errors (*clients.StatusError, *clients.TransportError,
// *clients.OpenError). A 403 also matches ErrDenied with errors.Is, and a 404 from a call on one person, role or
// link ErrNotFound; a 404 from a search or list does not (it means a wrong BaseURL, not an empty result). Input
// this package rejects before any request matches ErrInvalid.
//
// The API's central rule (seed document): once a link's start date has passed, only its end date may change. So
// a leaver's started links get an endDate through UpdatePersonRole, and only links that have not started yet are
// removed with DeletePersonRole. POST /person/role is not idempotent: read ListPersonRoles before creating.
package senior
