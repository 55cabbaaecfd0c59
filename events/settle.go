package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ponte-dev/ponte/clients"
)

// The executor: it carries out the action decide chose for a delivery. Every path ends in Ack, Term or
// NakWithDelay; a publish or ledger write that fails delays the message, never drops it.

// execute carries out a for d.
func (w *Worker) execute(ctx context.Context, d *delivery, a action) {
	d.settled = a.outcome
	switch a.verb {
	case doDelay:
		w.delay(ctx, d, a)
	case doComplete:
		w.complete(ctx, d)
	case doRepublish:
		w.republish(ctx, d)
	case doReplay:
		w.replay(ctx, d)
	case doDeadLetter:
		w.deadLetter(ctx, d, a)
	case doDeadLetterAgain:
		w.deadLetterAgain(ctx, d)
	}
}

// settleCtx is the context for publishing and ledger writes at settlement: it survives the worker's shutdown
// (the connection drains after Run returns) but is bounded.
func settleCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
}

// delay records the failure when it reached a target (spending an attempt or only noting its time), gives the
// claim up and hands the message back for later.
func (w *Worker) delay(ctx context.Context, d *delivery, a action) {
	sctx, cancel := settleCtx(ctx)
	defer cancel()
	if d.hold != nil {
		if a.spend || a.note || len(d.unwritten) > 0 {
			now := w.now().UTC()
			if err := w.ledger.settle(sctx, d.hold, func(r *Record) {
				w.identify(r, d)
				maps.Copy(r.Steps, d.unwritten)
				if a.spend || a.note {
					r.noteFailure(now, a.spend)
				}
			}); err != nil {
				d.log().Warn("could not record the failure and the steps done", "err", err)
			}
		}
		w.ledger.release(sctx, d.hold)
	}
	w.nak(d, a.outcome, jitter(a.delay), a.cause)
}

// noteFailure records a failure at now that reached a target, spending an attempt when spend.
func (r *Record) noteFailure(now time.Time, spend bool) {
	if spend {
		r.Attempts++
	}
	if r.FirstFailure.IsZero() {
		r.FirstFailure = now
	}
	r.LastFailure = now
}

// identify fills in the event's identity in a record it writes.
func (w *Worker) identify(r *Record, d *delivery) {
	if ev := d.ref.ev; ev != nil {
		r.EventID, r.Source, r.Type = ev.ID(), ev.Source(), ev.Type()
	}
}

// fail is the fallback of a settlement that could not be carried out: the message comes back after a backoff.
func (w *Worker) fail(ctx context.Context, d *delivery, err error) {
	if d.hold != nil {
		sctx, cancel := settleCtx(ctx)
		w.ledger.release(sctx, d.hold)
		cancel()
	}
	w.nak(d, OutcomeError, jitter(w.policy.backoff(int(d.numDelivered()))), err)
}

// complete records the completion (with the result) in the ledger, then publishes the result and acks. Recording
// first means that whatever the crash timing the event's result is the recorded one; the results stream keeps
// one message per result subject, so publishing it again is refused rather than duplicated.
func (w *Worker) complete(ctx context.Context, d *delivery) {
	sctx, cancel := settleCtx(ctx)
	defer cancel()
	ev := d.ref.ev
	completedAt := w.now().UTC()
	res, err := w.resultEvent(ev, resultMsgID(d.key), d.steps, completedAt, completedAt)
	if err != nil {
		w.fail(ctx, d, fmt.Errorf("build result: %w", err))
		return
	}
	setTraceContext(res, d.trace)
	body, err := json.Marshal(res)
	if err != nil {
		w.fail(ctx, d, fmt.Errorf("encode result: %w", err))
		return
	}
	if err := w.ledger.settle(sctx, d.hold, func(r *Record) {
		w.identify(r, d)
		maps.Copy(r.Steps, d.unwritten)
		r.Completed, r.Result, r.Sequence = completedAt, body, d.seq()
	}); err != nil {
		w.fail(ctx, d, fmt.Errorf("record completion: %w", err))
		return
	}
	// The entity's latest applied event and the result are independent writes: both go out at once.
	var entityErr error
	entityDone := make(chan struct{})
	go func() {
		defer close(entityDone)
		if d.settled != OutcomeStale {
			entityErr = w.ledger.applied(sctx, ev.Subject(), Applied{Time: ev.Time(), EventID: ev.ID(), Sequence: d.seq()}, d.entity)
		}
	}()
	_, err = w.publishOnce(sctx, ev.Type(), res)
	<-entityDone
	if err != nil {
		// Recorded: the redelivery publishes the recorded result.
		w.nak(d, OutcomeError, jitter(w.policy.backoff(int(d.numDelivered()))), fmt.Errorf("publish result: %w", err))
		return
	}
	if entityErr != nil {
		d.log().Warn("could not record the event as its entity's latest: an older event arriving later will not be found stale", "err", entityErr)
	}
	w.ack(d)
	if d.settled == OutcomeStale {
		attrs := []any{}
		if len(d.steps) > 0 { // a route that names no systems has no stale step to show
			attrs = append(attrs, "detail", d.steps[0].Detail)
		}
		d.log().Info("event skipped as stale: a newer event of its entity was applied", attrs...)
		return
	}
	d.info("event processed", "steps", len(d.steps), "duration", w.now().Sub(d.start))
}

// staleSteps is the result of an event skipped because a newer one of its entity was applied: one step per system
// its type writes to, with status stale.
func staleSteps(route *Route, applied Applied, now time.Time) []StepOutcome {
	detail := fmt.Sprintf("event %s of %s was applied to this entity already: this older event is not applied",
		applied.EventID, applied.Time.Format(time.RFC3339Nano))
	var steps []StepOutcome
	for _, sys := range route.Systems {
		steps = append(steps, StepOutcome{Target: sys, Operation: "apply", Status: StatusStale, Detail: detail, At: now})
	}
	return steps
}

// republish answers a redelivery of the message that completed the event: its recorded result is published again
// (the results stream refuses it if it is out) and the message is acked.
func (w *Worker) republish(ctx context.Context, d *delivery) {
	sctx, cancel := settleCtx(ctx)
	defer cancel()
	var res event.Event
	if err := json.Unmarshal(d.rec.Result, &res); err != nil {
		w.fail(ctx, d, fmt.Errorf("decode recorded result: %w", err))
		return
	}
	if _, err := w.publishOnce(sctx, d.ref.ev.Type(), &res); err != nil {
		w.fail(ctx, d, fmt.Errorf("publish recorded result: %w", err))
		return
	}
	w.ack(d)
	d.log().Info("redelivery of a completed event: its recorded result is out, no call made")
}

// replay answers another message carrying a completed event (the same event published again) with a result of
// its own, whose steps say "replayed"; nothing is called.
func (w *Worker) replay(ctx context.Context, d *delivery) {
	sctx, cancel := settleCtx(ctx)
	defer cancel()
	var first event.Event
	var res Result
	err := json.Unmarshal(d.rec.Result, &first)
	if err == nil {
		err = first.DataAs(&res)
	}
	if err != nil {
		w.fail(ctx, d, fmt.Errorf("decode recorded result: %w", err))
		return
	}
	for i := range res.Steps {
		res.Steps[i].Status = StatusReplayed
	}
	again, err := w.resultEvent(d.ref.ev, replayMsgID(d.key, d.seq()), res.Steps, res.CompletedAt, w.now().UTC())
	if err == nil {
		setTraceContext(again, d.trace)
		_, err = w.publishOnce(sctx, d.ref.ev.Type(), again)
	}
	if err != nil {
		w.fail(ctx, d, fmt.Errorf("publish replayed result: %w", err))
		return
	}
	w.ack(d)
	d.log().Info("event published again: answered from the ledger, no call made", "first_sequence", d.rec.Sequence)
}

// deadLetter records the dead letter in the ledger (when the delivery holds the event's claim), publishes it on
// ponte.dlq.<type>.<id> and terminates the message. Recorded first, the event never runs again: a redelivery
// publishes the same dead letter (refused if it is out) and is termed.
func (w *Worker) deadLetter(ctx context.Context, d *delivery, a action) {
	sctx, cancel := settleCtx(ctx)
	defer cancel()
	now := w.now().UTC()
	rej := a.rej
	if rej.reason == ReasonIDConflict && rej.message == "" {
		rej.message = conflictMessage(d.ref.ev, d.rec)
	}
	if d.hold != nil {
		if err := w.ledger.settle(sctx, d.hold, func(r *Record) {
			w.identify(r, d)
			maps.Copy(r.Steps, d.unwritten)
			if a.spend {
				r.noteFailure(now, true)
			}
			r.DeadLettered, r.DeadLetterReason, r.DeadLetterMessage, r.Sequence = now, rej.reason, oneLine(rej.message), d.seq()
		}); err != nil {
			w.fail(ctx, d, fmt.Errorf("record dead letter: %w", err))
			return
		}
		d.rec = d.hold.record()
		w.ledger.release(sctx, d.hold) // a replay or a copy need not wait for it to lapse
	}
	w.publishDeadLetter(sctx, d, rej, now)
}

// deadLetterAgain answers a message carrying an event that was dead-lettered: the same message again (its Term
// was lost) gets the recorded dead letter, refused if it is out; another message with the event gets one of its
// own, with the same reason. Nothing runs.
func (w *Worker) deadLetterAgain(ctx context.Context, d *delivery) {
	sctx, cancel := settleCtx(ctx)
	defer cancel()
	rej := rejection{reason: d.rec.DeadLetterReason, message: d.rec.DeadLetterMessage}
	if d.rec.Sequence != d.seq() {
		rej.latest = deadLetterID(d.key, d.rec.Sequence)
		again := "publish it with the extension " + ReplayExtension + "=" + rej.latest + " to run it again"
		if r := replayOf(d.ref.ev); r != "" {
			again = fmt.Sprintf("its %s is %q, not its latest dead letter %s", ReplayExtension, r, deadLetterID(d.key, d.rec.Sequence))
		}
		rej.message = fmt.Sprintf("this event was dead-lettered at %s (%s), and ponte does not run it again (%s): %s",
			d.rec.DeadLettered.Format(time.RFC3339), rej.reason, again, rej.message)
	}
	if rej.reason == "" {
		rej.reason = ReasonPermanent
	}
	w.publishDeadLetter(sctx, d, rej, w.now().UTC())
}

// publishDeadLetter builds, publishes and logs the dead letter of d, then terms the message.
func (w *Worker) publishDeadLetter(ctx context.Context, d *delivery, rej rejection, now time.Time) {
	ev, dl, err := w.deadLetterEvent(d, rej, now, w.deadLetterLimit())
	if err != nil {
		w.fail(ctx, d, fmt.Errorf("build dead letter: %w", err))
		return
	}
	dup, err := w.publishOnce(ctx, d.typ, ev)
	if err != nil {
		w.fail(ctx, d, fmt.Errorf("publish dead letter: %w", err))
		return
	}
	if !dup {
		w.metrics.deadLetters.WithLabelValues(d.typ, rej.reason).Inc()
	}
	d.settled, d.reason, d.failure = OutcomeDeadLetter, rej.reason, dl.Message
	if err := d.msg.TermWithReason(rej.reason); err != nil {
		d.log().Warn("term failed; the redelivery is answered with the same dead letter", "err", err)
	}
	attrs := []any{"reason", rej.reason, "message", dl.Message}
	if dl.Target != "" {
		attrs = append(attrs, "target", dl.Target)
	}
	if dl.Operation != "" {
		attrs = append(attrs, "operation", dl.Operation)
	}
	if dl.Status != 0 {
		attrs = append(attrs, "status", dl.Status)
	}
	if dup {
		attrs = append(attrs, "again", true)
	}
	d.log().Warn("event dead-lettered", attrs...)
}

// OutputSubject is the subject of an output event (a result or a dead letter) of the given input type: the
// prefix, the type and the output's id, "ponte.result.person.hired.ponte-result-3f2a...". The output streams keep
// one message per subject, so that an output is never published twice, whatever the duplicate window.
func OutputSubject(prefix, eventType, id string) string { return prefix + eventType + "." + id }

// publishOnce publishes an output event (a result or a dead letter) in binary mode on its own subject and waits
// for the PubAck. dup says the stream already had it (deduplicated by Nats-Msg-Id, or refused because its subject
// holds it).
func (w *Worker) publishOnce(ctx context.Context, eventType string, ev *event.Event) (dup bool, err error) {
	prefix := ResultPrefix
	if strings.HasSuffix(ev.Type(), ".deadlettered") {
		prefix = DeadLetterPrefix
	}
	ack, err := w.js.PublishMsg(ctx, EncodeBinary(OutputSubject(prefix, eventType, ev.ID()), ev, ev.ID()))
	if err != nil {
		if apiErr, ok := errors.AsType[*jetstream.APIError](err); ok && strings.Contains(apiErr.Description, "maximum messages per subject") {
			return true, nil
		}
		return false, err
	}
	return ack.Duplicate, nil
}

// jitter spreads d over [d, 1.25·d): never earlier, so that a delay until a breaker half-opens or a throttling gate
// opens never ends before it.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (1 + 0.25*rand.Float64()))
}

// nak hands the message back to JetStream for redelivery after delay.
func (w *Worker) nak(d *delivery, outcome string, delay time.Duration, cause error) {
	d.settled, d.nakDelay, d.failure = outcome, delay, clients.MaskCPF(fmt.Sprint(cause))
	if err := d.msg.NakWithDelay(delay); err != nil {
		d.log().Error("nak failed; JetStream will redeliver after ack wait", "err", err)
	}
	lvl := slog.LevelWarn
	if outcome == OutcomeDelayed {
		lvl = slog.LevelInfo
	}
	d.log().Log(context.Background(), lvl, "event delayed", "outcome", outcome, "retry_in", delay.Round(time.Millisecond), "err", d.failure)
}

func (w *Worker) ack(d *delivery) {
	if err := d.msg.Ack(); err != nil {
		d.log().Warn("ack failed; the redelivery will be answered from the ledger", "err", err)
	}
}
