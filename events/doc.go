// Package events is the JetStream side of ponte: the streams, consumers and ledger it needs (Topology), the
// CloudEvent codec for binary and structured mode (Decode, Encode), the Worker that fetches, validates, runs a
// Handler and settles every message, the result and dead-letter publisher, and the effect Ledger that makes
// redelivered and re-published events run only the steps not yet done.
//
// The life of one message in a Worker:
//
//	fetch ─► decode ─► validate ─► ledger: completed? ──yes──► republish result ─► Ack
//	                     │                  │no
//	                     │invalid           ▼
//	                     ▼               handler (steps, each recorded in the ledger when done)
//	               dead letter ─► Term      │
//	                                        ├─ nil ───────────► result (PubAck) ─► ledger completed ─► Ack
//	                                        ├─ permanent ─────► dead letter (PubAck) ─► Term
//	                                        ├─ breaker open ──► NakWithDelay(until half-open), attempts unchanged
//	                                        └─ retryable ─────► attempts+1 ─► NakWithDelay(backoff, Retry-After)
//	                                                             or, past the budget, dead letter ─► Term
//
// A failed result or dead-letter publish never drops the message: it is delayed with NakWithDelay instead.
package events
