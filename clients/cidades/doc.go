// Package cidades is the client of the CidadES API of the Tribunal de Contas do Estado do Espírito Santo (TCE-ES):
// contratações (query, create, update, delete), atos de pessoal (admissões and concessões, query only), unidades
// gestoras and their responsáveis (query only).
//
// The public documentation names the operations, the per-UG integration keys (client id and client secret,
// read-only or read-and-send) and the isolation rules, but not the wire contract. This client follows the contract
// ASSUMED in TARGET-APIS.md section 3.1, and every assumed detail (token URL, token client authentication, write
// scope, paths, query parameter names, page size) is a Config field whose default is the 3.1 value:
//
//   - OAuth2 client credentials: POST {base}/oauth/token with grant_type=client_credentials, client_id and
//     client_secret; the answer's scope holds "cidades.escrita" when the key may send data.
//   - Calls carry "Authorization: Bearer <token>". A UG configured with Via uses its aggregator's key and adds
//     ?codigoUnidadeGestora=<ug> to every call.
//   - Lists are pages {"dados","pagina","tamanhoPagina","totalRegistros","totalPaginas"} selected with pagina
//     (1-based) and tamanhoPagina (at most 100).
//   - Errors are RFC 7807 ProblemDetails; the field errors of a 400 are on *ProblemError.
//
// The tenant of the shared plumbing (one circuit breaker and one rate limiter each) is the UG code a call is made
// for, so one UG's failures never stop calls for another. Tokens are cached per integration key.
//
// Every call returns, besides the typed errors of package clients, errors that match ErrNotFound, ErrConflict,
// ErrForbidden or ErrUnauthorized with errors.Is, and a *ProblemError for any HTTP error answer of the API. A
// token endpoint that refuses the key (HTTP 400 or 401) gives ErrUnauthorized on the plain *clients.StatusError.
package cidades
