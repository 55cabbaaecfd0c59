package events

import (
	"errors"
	"strconv"
	"time"

	"github.com/ponte-dev/ponte/clients"
)

// The settlement of a message is decided, then carried out. decide is a pure function from what is known about a
// delivery (facts: the admission, what the ledger said, the handler's outcome, whether the worker is stopping) to
// exactly one action; the Worker's executor (settle.go) does all the I/O. The table of decide's cases is the life
// of one event:
//
//	facts                                            action          spends   outcome label
//	admission refused (not a CloudEvent, ...)        dead letter     -        dead_letter
//	an earlier event of the entity waits             delay           no       delayed (behind it, in stream order)
//	a breaker the route needs is open                delay           no       delayed (until half-open; no call)
//	ledger unreadable, claim not taken               delay           no       error
//	same id, other data                              dead letter     -        dead_letter (id_conflict)
//	completed, this message                          publish again   -        duplicate (the recorded result; refused if out)
//	completed, another message                       replay          -        duplicate (a result whose steps say replayed)
//	dead-lettered, this message                      dead letter     -        dead_letter (the recorded one; refused if out)
//	dead-lettered, another message                   dead letter     -        dead_letter (the same reason, "not run again")
//	MaxDeliver reached, or near the stream's max age dead letter     -        dead_letter (attempts_exhausted; none if a claim is held)
//	claim held by another delivery                   delay           no       delayed (backoff, at most the claim's remaining life)
//	a newer event of the entity was applied          complete        -        stale (a result whose step says stale)
//	handler: nil                                     complete        -        success
//	handler: config error                            dead letter     -        dead_letter (config_error)
//	handler: permanent error                         dead letter     -        dead_letter (permanent_error)
//	handler: claim lost or ledger failing            delay           no       delayed
//	worker stopping (not a permanent error)          delay           no       delayed
//	handler: the target throttles (429, gate closed) delay           no       delayed (until the gate opens)
//	handler: breaker open, no request sent           delay           no       delayed (until half-open)
//	handler: the target answers no one (an outage)   delay           no       delayed (noted: first failure time)
//	handler: retryable, the target answers others    delay           yes      retry (backoff, Retry-After)
//	  ... the budget spent                           dead letter     yes      dead_letter (attempts_exhausted)

// facts is what is known about one delivery when its settlement is decided.
type facts struct {
	rejected *rejection // the admission refused the message
	exceeded *rejection // the server stopped delivering the message (MaxDeliver): the handler does not run
	// heldBack is how long the message must wait behind an earlier event of its entity that was handed back.
	heldBack time.Duration
	// paused is how long the message must wait for an open breaker its route needs (0: none is open).
	paused time.Duration
	// stale says a newer event of the entity (by CloudEvent time) was applied already.
	stale     bool
	ledgerErr error // the ledger could not be read or claimed
	found     found // what the ledger said (when read)
	// sameMessage says the record was settled by this very message (its stream sequence).
	sameMessage bool
	busyFor     time.Duration // found busy: the claim's remaining lifetime
	rec         Record        // the record as last read or written

	ran      bool  // the handler ran
	err      error // its error
	stopping bool  // the worker is stopping
	// delivered is the message's delivery count (1 for the first).
	delivered uint64
}

// verb is what an action does.
type verb int

const (
	doDelay           verb = iota // NakWithDelay; record the failure first when spend or note
	doComplete                    // record completion, publish the result, Ack
	doRepublish                   // publish the recorded result again (refused if it is out), Ack
	doReplay                      // publish a result for this message whose steps say replayed, Ack
	doDeadLetter                  // record it (when the event is known), publish the dead letter, Term
	doDeadLetterAgain             // publish the recorded dead letter again for this message, Term
)

func (v verb) String() string {
	return [...]string{"delay", "complete", "republish", "replay", "dead_letter", "dead_letter_again"}[v]
}

// action is the settlement decide chose.
type action struct {
	verb    verb
	outcome string        // the ponte_events_processed_total outcome
	delay   time.Duration // doDelay: before jitter
	spend   bool          // doDelay, doDeadLetter: the failure spends an attempt
	note    bool          // doDelay: the failure reached the target: record its time, spend nothing
	rej     rejection     // doDeadLetter
	cause   error         // why, for the log
}

// policy is the part of Config that decide reads.
type policy struct {
	maxAttempts             int
	backoffBase, backoffMax time.Duration
}

// backoff returns the delay before attempt n+1: backoffBase·2^(n-1), at most backoffMax (no jitter).
func (p policy) backoff(n int) time.Duration {
	d := p.backoffBase
	for i := 1; i < n && d < p.backoffMax; i++ {
		d *= 2
	}
	return min(d, p.backoffMax)
}

// busyMargin is added to a busy claim's remaining lifetime, so that the delivery comes back after it lapsed.
const busyMargin = 100 * time.Millisecond

// decide returns the one action that settles the delivery described by f.
func decide(p policy, f facts) action {
	n := int(max(f.delivered, 1))
	switch {
	case f.rejected != nil:
		return action{verb: doDeadLetter, outcome: OutcomeDeadLetter, rej: *f.rejected}
	case f.heldBack > 0:
		return action{verb: doDelay, outcome: OutcomeDelayed, delay: f.heldBack,
			cause: errors.New("an earlier event of the same entity waits to be retried: this one goes after it")}
	case f.paused > 0 && f.exceeded == nil:
		// Until half-open, and at least the backoff of its deliveries: an outage of days delivers each waiting
		// event at most once per backoffMax, far below MaxDeliver.
		return action{verb: doDelay, outcome: OutcomeDelayed, delay: max(f.paused, p.backoff(n)),
			cause: errors.New("a circuit breaker the handler needs is open")}
	case f.ledgerErr != nil:
		return action{verb: doDelay, outcome: OutcomeError, delay: p.backoff(n), cause: f.ledgerErr}
	}
	switch f.found {
	case conflict:
		return action{verb: doDeadLetter, outcome: OutcomeDeadLetter, rej: rejection{reason: ReasonIDConflict,
			errors: []FieldError{{Field: "id", Message: "already used by another event with other data"}}}}
	case completed:
		if f.sameMessage {
			return action{verb: doRepublish, outcome: OutcomeDuplicate}
		}
		return action{verb: doReplay, outcome: OutcomeDuplicate}
	case deadLettered:
		return action{verb: doDeadLetterAgain, outcome: OutcomeDeadLetter}
	}
	switch f.found {
	case fresh:
		if f.exceeded != nil {
			return action{verb: doDeadLetter, outcome: OutcomeDeadLetter, rej: *f.exceeded}
		}
	case busy:
		if f.exceeded != nil {
			// A delivery holds the claim: it settles the event.
			return action{verb: doDelay, outcome: OutcomeDelayed, cause: errors.New("another delivery holds the claim and settles it")}
		}
		// Back after the claim lapses at the latest, sooner (the backoff) if its holder settles the event first.
		return action{verb: doDelay, outcome: OutcomeDelayed, delay: min(f.busyFor+busyMargin, p.backoff(n)),
			cause: errors.New("another delivery of this event holds its claim")}
	}
	if f.stale {
		return action{verb: doComplete, outcome: OutcomeStale}
	}
	if !f.ran {
		return action{verb: doDelay, outcome: OutcomeError, delay: p.backoff(n), cause: errors.New("handler did not run")}
	}
	err := f.err
	_, isConfig := errors.AsType[*ConfigError](err)
	switch {
	case err == nil:
		return action{verb: doComplete, outcome: OutcomeSuccess}
	case isConfig:
		return action{verb: doDeadLetter, outcome: OutcomeDeadLetter, rej: rejection{reason: ReasonConfig, message: err.Error(), errors: fieldErrors(err), cause: err}}
	case clients.IsPermanent(err):
		return action{verb: doDeadLetter, outcome: OutcomeDeadLetter, rej: rejection{reason: ReasonPermanent, message: err.Error(), errors: fieldErrors(err), cause: err}}
	case errors.Is(err, errFenced) || errors.Is(err, ErrClaimLost) || errors.Is(err, errSettled):
		// Another delivery has the event now: it settles it.
		return action{verb: doDelay, outcome: OutcomeDelayed, delay: p.backoff(n), cause: err}
	case f.stopping:
		return action{verb: doDelay, outcome: OutcomeDelayed, delay: time.Second, cause: err}
	case isLedgerError(err):
		return action{verb: doDelay, outcome: OutcomeError, delay: p.backoff(n), cause: err}
	case clients.IsThrottled(err):
		// The target asked to slow down: back when its gate opens, whoever's event it was.
		return action{verb: doDelay, outcome: OutcomeDelayed, delay: max(clients.RetryAfter(err), p.backoffBase), cause: err}
	case clients.IsBreakerOpen(err):
		return action{verb: doDelay, outcome: OutcomeDelayed, delay: max(clients.RetryAfter(err), p.backoff(n)), cause: err}
	case clients.IsOutage(err):
		return action{verb: doDelay, outcome: OutcomeDelayed, note: true, delay: max(clients.RetryAfter(err), p.backoff(n)), cause: err}
	}
	attempts := f.rec.Attempts + 1
	if attempts >= p.maxAttempts {
		return action{verb: doDeadLetter, outcome: OutcomeDeadLetter, spend: true, rej: rejection{reason: ReasonExhausted,
			message: "gave up after " + strconv.Itoa(attempts) + " attempts: " + err.Error(), errors: fieldErrors(err), cause: err}}
	}
	return action{verb: doDelay, outcome: OutcomeRetry, spend: true, delay: max(p.backoff(attempts), clients.RetryAfter(err)), cause: err}
}

// ledgerError is a failure of the ledger itself (NATS) while a handler ran: it says nothing about the event.
type ledgerError struct{ err error }

func (e *ledgerError) Error() string { return e.err.Error() }
func (e *ledgerError) Unwrap() error { return e.err }

func isLedgerError(err error) bool {
	_, ok := errors.AsType[*ledgerError](err)
	return ok
}
