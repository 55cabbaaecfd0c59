// Package events is the JetStream side of ponte: the streams, consumers and ledger it needs (Topology), the
// CloudEvent codec for binary and structured mode (Decode, Encode), the Worker that fetches, validates, runs a
// Handler and settles every message, the result and dead-letter publisher, and the effect Ledger that makes
// redelivered and re-published events run only the steps not yet done.
//
// The life of one message in a Worker: the facts are gathered (admission, the ledger's record and claim, the
// handler's outcome), decide chooses one action from them (a pure function: see decide.go for its table), and the
// executor (settle.go) carries it out:
//
//	fetch (one consumer of every input subject, pinned to one worker) ─► the entity's line (by CloudEvent subject):
//	           one event of an entity at a time, in stream order; behind one handed back for later ──► NakWithDelay
//	           ▼
//	         admit: size, decode, route by subject, catalogue ──invalid──► dead letter ─► Term
//	           │valid
//	           ├─ a breaker the route needs is open ──► NakWithDelay (until half-open), no call, no attempt
//	           ▼
//	         claim (a ledger key with a TTL, on the server) and read the record
//	           ├─ same id, other data ──► dead letter (id_conflict) ─► Term
//	           ├─ completed ──► the same message again: the recorded result (refused if out) ─► Ack;
//	           │                another message: a replayed result ─► Ack
//	           ├─ dead-lettered ──► the dead letter again (refused if out) ─► Term: it never runs again
//	           ├─ claim held elsewhere ──► NakWithDelay (backoff, at most the claim's remaining life)
//	           ▼ claimed (renewed with InProgress every AckWait/3; every record write fenced by its revision)
//	         a newer event of the entity applied already ──► a result whose steps say stale ─► Ack
//	           ▼
//	         handler (steps, each recorded in the ledger when done)
//	           ├─ nil ────────────► record completion ─► result (PubAck) and the entity's latest ─► Ack
//	           ├─ config error ───► record ─► dead letter (config_error) ─► Term
//	           ├─ permanent ──────► record ─► dead letter (permanent_error) ─► Term
//	           ├─ not the event's fault (breaker open, the target answers no one, claim lost, stopping)
//	           │                  ► NakWithDelay, attempts unchanged
//	           └─ retryable, the target answers others ─► attempts+1 ─► NakWithDelay(backoff, Retry-After)
//	                                  or, past the budget, dead letter (attempts_exhausted) ─► Term
//
// Outputs go to ponte.result.<type>.<id> and ponte.dlq.<type>.<id> (ponte.dlq.unrouted.<id> for a subject with no
// route), one message per subject, so that none is ever published twice; a dead letter carries the original message
// (its body whole when it fits the server's max_payload, an excerpt otherwise). A failed publish or ledger write
// never drops the message: it is delayed with NakWithDelay instead.
package events
