// Package events is the JetStream side of ponte: the streams, consumers and ledger it needs (Topology), the
// CloudEvent codec for binary and structured mode (Decode, Encode), the Worker that fetches, validates, runs a
// Handler and settles every message, the result and dead-letter publisher, and the effect Ledger that makes
// redelivered and re-published events run only the steps not yet done.
//
// The life of one message in a Worker:
//
//	fetch ─► admit: size, decode, type = subject, catalogue ──invalid──► dead letter ─► Term
//	           │valid
//	           ▼
//	         ledger claim ─┬─ same id, other data ──► dead letter (id_conflict) ─► Term
//	                       ├─ completed ──► the same message again: Ack; another message: replayed result ─► Ack
//	                       ├─ busy (another delivery runs it) ──► NakWithDelay, no attempt counted
//	                       ▼ claimed
//	                     handler (steps, each recorded in the ledger when done)
//	                       ├─ nil ────────────► result (PubAck) ─► ledger completed ─► Ack
//	                       ├─ config error ───► dead letter (config_error) ─► Term
//	                       ├─ permanent ──────► dead letter (permanent_error) ─► Term
//	                       ├─ breaker open ───► NakWithDelay(until half-open), attempts unchanged
//	                       └─ retryable ──────► attempts+1 ─► NakWithDelay(backoff, Retry-After)
//	                                              or, past the budget, dead letter (attempts_exhausted) ─► Term
//
// Dead letters go to ponte.dlq.<the route's type>, or ponte.dlq.unrouted for a subject with no route; each
// carries the original message (its body whole when it fits the server's max_payload, an excerpt otherwise). A
// failed result or dead-letter publish never drops the message: it is delayed with NakWithDelay instead.
package events
