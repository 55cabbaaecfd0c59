// Package clients holds the HTTP plumbing shared by ponte's three downstream clients (clients/zeev,
// clients/senior, clients/cidades): an Endpoint per target that owns its *http.Client, one circuit breaker and
// one optional rate limiter per target and tenant, request metrics, and the typed errors every call returns.
//
// Errors are classified by behaviour, not by text. A non-2xx response becomes a *StatusError; network failures and
// timeouts become a *TransportError; a call refused by an open breaker becomes an *OpenError. Callers decide with
//
//	clients.IsPermanent(err)   // retrying cannot help: 400, 403, 404, 409, 422, ...
//	clients.RetryAfter(err)    // the delay the server (or the breaker) asked for, 0 if none
//
// Secrets (tokens, client secrets) are held in Secret values, which never print their content.
package clients
