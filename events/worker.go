package events

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/ponte-dev/ponte/clients"
	"github.com/ponte-dev/ponte/schemas"
)

// Config tunes a Worker. Zero fields take the documented defaults.
type Config struct {
	// Concurrency is how many events the worker holding the consumer's pin runs at once (of different entities:
	// one entity's events run one at a time); it holds at most twice as many. Default 4.
	Concurrency int `yaml:"concurrency"`
	// AckWait is how long JetStream waits for a settlement before redelivering, and the TTL of the event's claim
	// in the ledger; both are renewed every AckWait/3 while the handler runs, so a worker that dies gives its
	// events up within AckWait. Default 30s.
	AckWait time.Duration `yaml:"ackWait"`
	// MaxAckPending bounds the unacknowledged messages of the consumer. Default 1000.
	MaxAckPending int `yaml:"maxAckPending"`
	// MaxAttempts is the attempt budget: retryable failures the event is to blame for (a request that reached a
	// target answering others; see the attempt rule in docs/events.md) before it is dead-lettered. Default 10.
	MaxAttempts int `yaml:"maxAttempts"`
	// BackoffBase and BackoffMax shape the retry delay: BackoffBase·2^(attempt-1), up to 25% later (jitter, never
	// earlier), at most BackoffMax, never less than the server's Retry-After. Defaults 1s and 5m.
	BackoffBase time.Duration `yaml:"backoffBase"`
	BackoffMax  time.Duration `yaml:"backoffMax"`
	// MaxMessageSize is the largest message body accepted; larger ones are dead-lettered (too_large) with an
	// excerpt. Since any other dead letter carries the body whole, in base64, Run refuses a limit whose dead letter
	// would not fit in the server's max_payload (at most about 720 KiB with the default 1 MiB). Default 256 KiB.
	MaxMessageSize int `yaml:"maxMessageSize"`
	// MaxDeliveries is the consumers' MaxDeliver: a safety net that never fires in normal operation (attempts are
	// counted by ponte, and outage delays are spread out by the backoff and the pause). A message delivered that
	// many times without settling (a bug, a loop) is dead-lettered as attempts_exhausted, from the server's
	// MAX_DELIVERIES advisory, instead of being left behind. Default 5000.
	MaxDeliveries int `yaml:"maxDeliveries"`
	// HandlerTimeout bounds one handler run. Default 2m.
	HandlerTimeout time.Duration `yaml:"handlerTimeout"`
	// DrainTimeout is how long Run waits, after its context ends, for in-flight messages before cancelling them
	// (they are then nak'ed for prompt redelivery). Default 25s.
	DrainTimeout time.Duration `yaml:"drainTimeout"`
	// Source is the CloudEvents source of result and dead-letter events. Default "ponte".
	Source string `yaml:"source"`
}

// DefaultConcurrency is the default of Config.Concurrency: enough events at once that slow APIs do not starve the
// worker (at 4, a steady 2,000 events/s queued for a second), and so few that a replica keeps at most that many
// calls in flight at the APIs, whose rates the per-target rate limits bound. What one replica sustains with it is
// measured by make bench (docs/benchmarks.md, scenario b).
const DefaultConcurrency = 32

// WithDefaults returns c with every unset field at its default.
func (c Config) WithDefaults() Config {
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.AckWait == 0 {
		c.AckWait = 30 * time.Second
	}
	if c.MaxAckPending == 0 {
		c.MaxAckPending = 1000
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 10
	}
	if c.MaxDeliveries == 0 {
		c.MaxDeliveries = 5000
	}
	if c.BackoffBase == 0 {
		c.BackoffBase = time.Second
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = 5 * time.Minute
	}
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = 256 << 10
	}
	if c.HandlerTimeout == 0 {
		c.HandlerTimeout = 2 * time.Minute
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = 25 * time.Second
	}
	if c.Source == "" {
		c.Source = "ponte"
	}
	return c
}

// Validate reports the first unusable field, naming its key.
func (c Config) Validate() error {
	switch {
	case c.Concurrency < 0 || c.Concurrency > 1024:
		return errors.New("concurrency: must be between 1 and 1024")
	case c.AckWait < 0 || (c.AckWait > 0 && c.AckWait < time.Second):
		return errors.New("ackWait: must be at least 1s")
	case c.MaxAckPending < 0:
		return errors.New("maxAckPending: must not be negative")
	case c.MaxAttempts < 0:
		return errors.New("maxAttempts: must not be negative")
	case c.MaxDeliveries < 0 || (c.MaxDeliveries > 0 && c.MaxAttempts > c.MaxDeliveries):
		return errors.New("maxDeliveries: must be at least maxAttempts")
	case c.BackoffBase < 0 || c.BackoffMax < 0:
		return errors.New("backoffBase, backoffMax: must not be negative")
	case c.BackoffMax > 0 && c.BackoffBase > c.BackoffMax:
		return errors.New("backoffBase: must not exceed backoffMax")
	case c.MaxMessageSize < 0:
		return errors.New("maxMessageSize: must not be negative")
	case c.HandlerTimeout < 0 || c.DrainTimeout < 0:
		return errors.New("handlerTimeout, drainTimeout: must not be negative")
	}
	return nil
}

// Route binds an event type to its handler.
type Route struct {
	// Type is the CloudEvent type and the input subject, e.g. "person.hired".
	Type string
	// Handler runs the event's steps.
	Handler Handler
	// Targets are the single-tenant targets the handler calls ("zeev", "senior"). While the breaker of any of
	// them is open the route's events wait without any call. Per-tenant breakers (CidadES, per UG) delay only the
	// events of that tenant.
	Targets []string
	// Systems are the downstream systems the handler writes to, named in the steps of the result of an event
	// skipped as stale.
	Systems []string
	// Extensions are CloudEvent extensions the type requires (e.g. "ug"), as strings; an event without one is
	// dead-lettered.
	Extensions []string
	// EntityKey returns the entity key of a valid event of the type, the value its CloudEvent subject must have,
	// and where the catalogue takes it from (e.g. "data.person.id"); an event whose subject differs is
	// dead-lettered. Nil accepts any subject. data is the event's data as the schema validation decoded it
	// (objects as map[string]any, numbers as json.Number), nil when it was not decoded: then EntityKey decodes it.
	EntityKey func(ev event.Event, data any) (key, from string)
}

// Validator checks an event's data against the schema for its type and dataschema; schemas.Catalog is one.
type Validator interface {
	// ValidateDecoded checks data and returns it as it decoded it for the check (objects as map[string]any,
	// numbers as json.Number; as schemas.Catalog.ValidateDecoded does), so that the worker decodes an event's data
	// once for the schema, the entity key and the digest.
	ValidateDecoded(eventType, dataschema string, data []byte) (any, error)
}

// Options are a Worker's collaborators. Logger, Registerer and Breakers may be nil.
type Options struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	// Breakers, when set, holds the events of a route back, without any call, while a breaker it needs is open.
	Breakers *clients.Breakers
	// Now is the clock; nil for time.Now.
	Now func() time.Time
	// TracerProvider, when set, records a span for every delivery and every step (see docs/operations.md). Nil
	// records none; the input's trace context is carried to the handler's requests and the outputs all the same.
	TracerProvider trace.TracerProvider
}

// Worker consumes the input stream with one durable pull consumer of every input subject, pinned to one worker
// at a time, routes each message by its subject in process (a subject with no route is dead-lettered), applies the
// events of each entity one at a time in stream order, and settles every message: see the package documentation.
// Run it once; Ready reports whether it is consuming.
type Worker struct {
	js        jetstream.JetStream
	topo      Topology
	cfg       Config
	routes    map[string]*Route
	order     []string
	validator Validator
	log       *slog.Logger
	metrics   *metrics
	breakers  *clients.Breakers
	now       func() time.Time
	tracer    trace.Tracer      // nil: no spans
	spanNames map[string]string // the span name of each route type, and of UnroutedType

	ledger     *Ledger
	input      jetstream.Stream // the input stream, bound in Run
	policy     policy
	maxPayload int64       // the server's, learnt in Run
	ready      atomic.Bool // Run is consuming (between binding and stopping)
	bound      atomic.Bool // the fetch loop holds a consumer that exists
	paused     pausedRoutes
	inflight   atomic.Int64
}

// deadLetterOverhead is what a dead letter may need besides the original body in base64: the failure, the
// original headers, the CloudEvent attributes.
const deadLetterOverhead = 64 << 10

// deadLetterLimit is the largest dead-letter data the server takes: its max_payload less room for the headers.
func (w *Worker) deadLetterLimit() int {
	return int(w.maxPayload) - 8<<10
}

// checkPayload reports whether a dead letter carrying a body of MaxMessageSize fits in the server's max_payload.
func (w *Worker) checkPayload(maxPayload int64) error {
	need := int64(base64.StdEncoding.EncodedLen(w.cfg.MaxMessageSize)) + deadLetterOverhead
	if need <= maxPayload {
		return nil
	}
	most := (maxPayload - deadLetterOverhead) / 4 * 3
	return fmt.Errorf("maxMessageSize: %d bytes is too large for the NATS server's max_payload of %d bytes: the dead "+
		"letter of a message carries it whole in base64 (a third larger) with up to %d bytes more; set "+
		"worker.maxMessageSize to at most %d, or raise max_payload", w.cfg.MaxMessageSize, maxPayload, deadLetterOverhead, max(most, 0))
}

// NewWorker returns a Worker; it does not touch the server until Run.
func NewWorker(js jetstream.JetStream, topo Topology, cfg Config, routes []Route, v Validator, opts Options) (*Worker, error) {
	topo = topo.WithDefaults()
	if err := topo.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}

	w := &Worker{
		js: js, topo: topo, cfg: cfg.WithDefaults(), routes: map[string]*Route{}, validator: v,
		log: opts.Logger, breakers: opts.Breakers, now: opts.Now,
	}
	if opts.TracerProvider != nil {
		w.tracer = opts.TracerProvider.Tracer(TracerName)
	}
	w.spanNames = map[string]string{UnroutedType: spanName(UnroutedType)}
	w.policy = policy{maxAttempts: w.cfg.MaxAttempts, backoffBase: w.cfg.BackoffBase, backoffMax: w.cfg.BackoffMax}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	if w.now == nil {
		w.now = time.Now
	}
	reg := opts.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	w.metrics = newMetrics(reg)
	for i := range routes {
		r := routes[i]
		if r.Type == "" || r.Handler == nil {
			return nil, fmt.Errorf("route %d: type and handler are required", i)
		}
		if _, dup := w.routes[r.Type]; dup {
			return nil, fmt.Errorf("route %s: duplicate", r.Type)
		}
		w.routes[r.Type] = &r
		w.spanNames[r.Type] = spanName(r.Type)
		w.order = append(w.order, r.Type)
		w.metrics.declare(r.Type, topo.InputStream, topo.EventsConsumer())
	}
	w.metrics.declare(UnroutedType, topo.InputStream, topo.EventsConsumer())
	return w, nil
}

// Ready reports whether the worker's consumer is bound and fetching (readiness probe): false before Run bound it,
// while it is gone (deleted under the worker, being bound again) and once Run is stopping. A replica on standby
// (another replica holds the consumer's pin) is ready: it takes over when the pin comes to it.
func (w *Worker) Ready() bool { return w.ready.Load() && w.bound.Load() }

// Run ensures the topology, binds the consumers and processes messages until ctx ends; then it stops fetching,
// lets in-flight messages finish for up to DrainTimeout, and returns nil. It returns an error only if the
// topology or a consumer cannot be set up.
func (w *Worker) Run(ctx context.Context) error {
	w.maxPayload = 1 << 20 // nats-server's default, for a connection that does not say
	if nc := w.js.Conn(); nc != nil && nc.MaxPayload() > 0 {
		w.maxPayload = nc.MaxPayload()
	}
	if err := w.checkPayload(w.maxPayload); err != nil {
		return fmt.Errorf("worker.%w", err)
	}
	kv, err := w.topo.Ensure(ctx, w.js)
	if err != nil {
		return err
	}
	w.ledger = NewLedger(NewKVStore(w.js, kv))
	if w.input, err = w.js.Stream(ctx, w.topo.InputStream); err != nil {
		return fmt.Errorf("stream %s: %w", w.topo.InputStream, err)
	}
	// An event waiting out an outage is delivered about once per backoffMax until the stream drops it.
	if waits := int(w.topo.InputMaxAge/w.cfg.BackoffMax) + w.cfg.MaxAttempts; w.cfg.MaxDeliveries < waits {
		w.log.Warn("worker.maxDeliveries is low: an outage longer than maxDeliveries × backoffMax dead-letters the events that wait it out",
			"maxDeliveries", w.cfg.MaxDeliveries, "backoffMax", w.cfg.BackoffMax, "inputMaxAge", w.topo.InputMaxAge, "at_least", waits)
	}

	cons, err := w.bindEvents(ctx)
	if err != nil {
		return err
	}
	w.bound.Store(true)

	// work is cancelled DrainTimeout after ctx ends, so that in-flight handlers give up.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	var loops, inflight sync.WaitGroup
	disp := newDispatcher(w, work, &inflight)
	loops.Go(func() { w.consume(ctx, cons, disp) })
	loops.Go(func() { w.watchLag(ctx, work) })
	if err := w.watchMaxDeliveries(ctx, work, &inflight); err != nil {
		return err
	}
	w.ready.Store(true)
	w.log.Info("worker consuming", "stream", w.topo.InputStream, "consumer", w.topo.EventsConsumer(), "concurrency", w.cfg.Concurrency)

	<-ctx.Done()
	w.ready.Store(false)
	w.log.Info("stopping: no more fetching; draining the events in flight", "cause", context.Cause(ctx),
		"in_flight", w.inflight.Load(), "drain_timeout", w.cfg.DrainTimeout)
	loops.Wait()
	w.unpin()
	done := make(chan struct{})
	go func() { inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(w.cfg.DrainTimeout):
		w.log.Warn("drain timeout: cancelling in-flight handlers", "timeout", w.cfg.DrainTimeout)
		cancelWork()
		<-done
	}
	w.log.Info("worker stopped")
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// watchLag exports the consumer's pending counts and the age of its oldest unsettled message, and dead-letters
// the messages about to age out of the input stream (sweepAging), every 5 seconds (more often for a short
// inputMaxAge).
func (w *Worker) watchLag(ctx, work context.Context) {
	every := 5 * time.Second
	if w.topo.InputMaxAge > 0 {
		every = min(every, max(time.Duration(float64(w.topo.InputMaxAge)*(1-agingShare)/4), 100*time.Millisecond))
	}
	for {
		// The lookup brings the consumer's info: one request per tick.
		c, err := w.js.Consumer(ctx, w.topo.InputStream, w.topo.EventsConsumer())
		if errors.Is(err, jetstream.ErrConsumerNotFound) && w.bound.CompareAndSwap(true, false) {
			// Deleted while no pull was waiting (a pull waiting would have been told): the fetch loop binds it again.
			w.log.Error("consumer deleted under the worker: not ready until it is bound again", "consumer", w.topo.EventsConsumer())
		}
		if err == nil {
			info := c.CachedInfo()
			w.metrics.pending.WithLabelValues(info.Stream, info.Name).Set(float64(info.NumPending))
			w.metrics.ackPending.WithLabelValues(info.Stream, info.Name).Set(float64(info.NumAckPending))
			w.metrics.redelivered.WithLabelValues(info.Stream, info.Name).Set(float64(info.NumRedelivered))
			oldest := w.firstUnsettled(ctx, info, info.AckFloor.Stream+1)
			age := time.Duration(0)
			if oldest != nil {
				age = max(w.now().Sub(oldest.Time), 0)
			}
			w.metrics.oldest.WithLabelValues(info.Stream, info.Name).Set(age.Seconds())
			w.sweepAging(work, info, oldest)
		}
		sleep(ctx, every)
		if ctx.Err() != nil {
			return
		}
	}
}

// firstUnsettled returns the first message of the consumer's filter from stream sequence seq on, nil if there is
// none or nothing is pending. From its ack floor + 1 it is the oldest unsettled message (every message at or below
// the floor is acknowledged).
func (w *Worker) firstUnsettled(ctx context.Context, info *jetstream.ConsumerInfo, seq uint64) *jetstream.RawStreamMsg {
	if info.NumPending == 0 && info.NumAckPending == 0 {
		return nil
	}
	filter := info.Config.FilterSubject
	if filter == "" {
		filter = ">"
	}
	raw, err := w.input.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(filter))
	if err != nil {
		return nil
	}
	return raw
}

// delivery is one message being processed.
type delivery struct {
	msg   jetstream.Msg
	meta  *jetstream.MsgMetadata
	typ   string // the route's type, or UnroutedType: metrics label and dead-letter subject
	ref   eventRef
	key   string   // ledger key
	hold  *holding // the event's claim and record, while this delivery holds it
	rec   Record   // the record as last read (also without a claim)
	steps []StepOutcome
	// entity is the event's entity as read before the event ran (nil: not read).
	entity *entitySeen
	// unwritten are the steps this delivery did that the ledger does not hold yet: the settlement writes them.
	unwritten map[string]StepOutcome
	// nakDelay is the delay the message was handed back with (0: it was acked or termed).
	nakDelay time.Duration
	start    time.Time
	settled  string
	// trace is the trace context the delivery carries on: its span's, or without spans the input's (not valid if
	// the input had none). span is the delivery's span, nil without spans.
	trace trace.SpanContext
	span  trace.Span
	// reason is the dead letter's reason and failure what went wrong (CPF numbers masked), for the span.
	reason, failure string
	// base and logAttrs make the delivery's logger (see log) the first time it logs: most deliveries log at most
	// once, or not at all at the level set, and a logger's attributes are formatted when it is made.
	base     *slog.Logger
	logAttrs []any
	logger   *slog.Logger
}

// info logs at info level with the delivery's attributes, without making its logger when it has none yet: the
// attributes are formatted once, with the record (most deliveries log this line only).
func (d *delivery) info(msg string, args ...any) {
	if d.logger != nil {
		d.logger.Info(msg, args...)
		return
	}
	if !d.base.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	d.base.Info(msg, append(d.logAttrs, args...)...)
}

// log returns the delivery's logger: the worker's, with the message's and the event's attributes.
func (d *delivery) log() *slog.Logger {
	if d.logger == nil {
		d.logger = d.base.With(d.logAttrs...)
	}
	return d.logger
}

// seq is the message's input stream sequence (0 if unknown).
func (d *delivery) seq() uint64 {
	if d.meta == nil {
		return 0
	}
	return d.meta.Sequence.Stream
}

// record is the event's record as this delivery knows it.
func (d *delivery) record() Record {
	if d.hold != nil {
		return d.hold.record()
	}
	return d.rec
}

// processWith runs one message to its settlement: it gathers the facts (admission, the ledger, the handler's
// outcome), lets decide choose the action and carries it out. Every path ends in Ack, Term or NakWithDelay. The
// message is routed by its subject, in process: a subject with no route is dead-lettered as unrouted. adjust, when
// not nil, sets facts known before (the message is held back behind an earlier one of its entity; the server
// stopped delivering it). It returns the delivery as settled.
func (w *Worker) processWith(ctx context.Context, msg jetstream.Msg, adjust func(*facts)) *delivery {
	route := w.routes[msg.Subject()]
	d := &delivery{msg: msg, typ: UnroutedType, start: w.now()}
	if route != nil {
		d.typ = route.Type
	}
	d.meta, _ = msg.Metadata()
	d.base = w.log
	d.logAttrs = append(d.logAttrs[:0], "nats_subject", msg.Subject())
	if d.meta != nil {
		d.logAttrs = append(d.logAttrs, "stream_seq", d.meta.Sequence.Stream, "delivery", d.meta.NumDelivered)
	}
	w.metrics.received.WithLabelValues(d.typ).Inc()
	w.metrics.inProgress.WithLabelValues(d.typ).Inc()
	defer func() {
		w.metrics.inProgress.WithLabelValues(d.typ).Dec()
		w.metrics.processed.WithLabelValues(d.typ, d.settled).Inc()
		w.metrics.duration.WithLabelValues(d.typ).Observe(w.now().Sub(d.start).Seconds())
		switch d.settled {
		case OutcomeSuccess, OutcomeDeadLetter, OutcomeDuplicate, OutcomeStale:
			w.metrics.lastProcessed.WithLabelValues(d.typ).Set(float64(w.now().Unix()))
			if ev := d.ref.ev; ev != nil && !ev.Time().IsZero() {
				w.metrics.age.WithLabelValues(d.typ).Observe(w.now().Sub(ev.Time()).Seconds())
			}
		}
		w.endTrace(d)
	}()
	w.execute(ctx, d, decide(w.policy, w.gather(ctx, d, route, adjust)))
	return d
}

// gather establishes the facts of a delivery: the admission (no HTTP call is made for an invalid message), whether
// it must wait (behind an earlier event of its entity, or for an open breaker its route needs), what the ledger
// says, whether a newer event of its entity was applied already, and, when this delivery holds the event's claim,
// the handler's outcome.
func (w *Worker) gather(ctx context.Context, d *delivery, route *Route, adjust func(*facts)) facts {
	f := facts{delivered: d.numDelivered()}
	if adjust != nil {
		adjust(&f)
	}
	ref, rej := w.admit(d.msg.Subject(), d.msg.Headers(), d.msg.Data(), route)
	d.ref = ref
	if ref.known() {
		d.logAttrs = append(d.logAttrs, "event_id", ref.id)
	}
	if ref.ev != nil {
		d.logAttrs = append(d.logAttrs, "type", ref.ev.Type())
		if sub := ref.ev.Subject(); sub != "" {
			d.logAttrs = append(d.logAttrs, "subject", sub)
		}
	}
	w.startTrace(ctx, d)
	if rej != nil {
		f.rejected = rej
		return f
	}
	if f.heldBack > 0 {
		return f
	}
	if f.paused = w.pauseFor(route); f.paused > 0 && f.exceeded == nil {
		return f
	}
	ev := ref.ev
	d.key = LedgerKey(ev.Source(), ev.ID())
	// The entity's latest applied event is read while the claim is taken: two independent round trips at once. (The
	// entity's events run one at a time here, so no other write of it can come in between.)
	var applied entitySeen
	var appliedErr error
	appliedRead := make(chan struct{})
	go func() {
		defer close(appliedRead)
		applied, appliedErr = w.ledger.entity(ctx, ev.Subject())
	}()
	defer func() { <-appliedRead }()
	hold, rec, found, left, err := w.ledger.begin(ctx, d.key, claimant{
		owner: nuid.Next(), ttl: w.cfg.AckWait, digest: digestOf(ev, route.Extensions, ref.decoded), eventTime: ev.Time(), replayOf: replayOf(ev),
	})
	if err != nil {
		f.ledgerErr = err
		return f
	}
	d.rec, f.rec, f.found, f.busyFor = rec, rec, found, left
	f.sameMessage = rec.Sequence != 0 && rec.Sequence == d.seq()
	if found != fresh {
		return f
	}
	d.hold = hold
	if f.exceeded != nil {
		return f
	}
	<-appliedRead
	if appliedErr != nil {
		f.ledgerErr = appliedErr
		return f
	}
	d.entity = &applied
	if applied.Time.After(ev.Time()) {
		f.stale = true
		d.steps = staleSteps(route, applied.Applied, w.now().UTC())
		return f
	}

	j := &journal{ledger: w.ledger, hold: hold, now: w.now, tracer: w.tracer, steps: map[string]StepOutcome{}, pending: map[string]StepOutcome{}}
	hctx := withJournal(d.withTrace(ctx), j)
	if !rec.FirstFailure.IsZero() {
		hctx = clients.WithPriorFailure(hctx, rec.FirstFailure)
	}
	hctx, cancel := context.WithTimeoutCause(hctx, w.cfg.HandlerTimeout, errors.New("handler timeout"))
	lost := make(chan struct{})
	stop := w.keepAlive(ctx, d, cancel, lost)
	f.err = route.Handler.Handle(hctx, *ev)
	stop()
	cancel()
	f.ran = true
	select {
	case <-lost:
		f.err = fmt.Errorf("%w: %v", ErrClaimLost, f.err)
	default:
	}
	f.stopping = ctx.Err() != nil
	f.rec = hold.record()
	d.steps, d.unwritten = j.outcomes(), j.unwritten()
	return f
}

// conflictMessage explains an id conflict, naming the time of the event that used the id first.
func conflictMessage(ev *event.Event, first Record) string {
	when := "before"
	if !first.EventTime.IsZero() {
		when = "by the event of " + first.EventTime.Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("event id %q from source %q was used %s, with other data: an id names one event, so ponte "+
		"will not apply this one under it; publish it with a new id", ev.ID(), ev.Source(), when)
}

// admit decodes and validates a message for route (nil: a subject with no route). It returns what it could read of
// the event and, when the message must be dead-lettered without any call, why. It does no I/O.
func (w *Worker) admit(subject string, h nats.Header, data []byte, route *Route) (eventRef, *rejection) {
	if w.cfg.MaxMessageSize > 0 && len(data) > w.cfg.MaxMessageSize {
		ref, _ := peek(h, data)
		return ref, &rejection{reason: ReasonTooLarge, message: fmt.Sprintf(
			"message is %d bytes, the limit is %d (worker.maxMessageSize)", len(data), w.cfg.MaxMessageSize)}
	}
	ev, err := Decode(h, data)
	if err != nil {
		de, _ := errors.AsType[*DecodeError](err) // Decode's errors always are
		return eventRef{id: de.ID, source: de.Source}, &rejection{reason: ReasonNotCloudEvent, message: err.Error(), errors: de.Errors}
	}
	ref := eventRef{id: ev.ID(), source: ev.Source(), ev: ev}
	if route == nil {
		if _, known := w.routes[ev.Type()]; known {
			return ref, &rejection{reason: ReasonSubjectMismatch, message: fmt.Sprintf(
				"event type %q must be published on subject %q, not %q", ev.Type(), ev.Type(), subject)}
		}
		return ref, &rejection{reason: ReasonUnknownType, message: fmt.Sprintf(
			"unknown event type %q: ponte handles %s", ev.Type(), strings.Join(w.order, ", "))}
	}
	if ev.Type() != route.Type {
		return ref, &rejection{reason: ReasonSubjectMismatch, message: fmt.Sprintf(
			"event type %q published on subject %q: the subject must equal the type", ev.Type(), subject)}
	}
	if errs := w.violations(&ref, route); len(errs) > 0 {
		return ref, &rejection{reason: ReasonSchemaViolation, message: ev.Type() + ": " + schemas.JoinFieldErrors(errs), errors: errs}
	}
	return ref, nil
}

// violations checks a decoded event of the route's type against the catalogue: the attributes ponte requires,
// its data (the validator: every violation), and that its subject is the entity key its data defines.
func (w *Worker) violations(ref *eventRef, route *Route) []FieldError {
	ev := ref.ev
	var errs []FieldError
	if ev.Subject() == "" {
		errs = append(errs, FieldError{Field: "subject", Message: `CloudEvent attribute "subject" (the entity key) is required`})
	}
	if ev.Time().IsZero() {
		errs = append(errs, FieldError{Field: "time", Message: `CloudEvent attribute "time" is required`})
	}
	if ct := ev.DataContentType(); !isJSONData(ct) {
		errs = append(errs, FieldError{Field: "datacontenttype", Message: fmt.Sprintf(
			"%q is not JSON: ponte reads data as application/json (leave datacontenttype out, or set it to application/json)", ct)})
	}
	for _, ext := range route.Extensions {
		switch v, ok := Extension(ev, ext); {
		case !ok || v == "":
			errs = append(errs, FieldError{Field: ext, Message: fmt.Sprintf("CloudEvent extension %q is required for %s", ext, route.Type)})
		case !isString(v):
			errs = append(errs, FieldError{Field: ext, Message: fmt.Sprintf("CloudEvent extension %q must be a string, e.g. \"001001\", got %v", ext, v)})
		}
	}
	if w.validator != nil {
		var err error
		ref.decoded, err = w.validator.ValidateDecoded(ev.Type(), ev.DataSchema(), ev.Data())
		if err != nil {
			fe := fieldErrors(err)
			if len(fe) == 0 {
				fe = []FieldError{{Message: err.Error()}}
			}
			errs = append(errs, fe...)
		}
	}
	// The entity key is read from the data, so only from data that passed (which also means a subject is set).
	if route.EntityKey != nil && len(errs) == 0 {
		if key, from := route.EntityKey(*ev, ref.decoded); ev.Subject() != key {
			errs = append(errs, FieldError{Field: "subject", Message: fmt.Sprintf(
				"%q is not the entity key of this event: want %q (%s)", ev.Subject(), key, from)})
		}
	}
	return errs
}

func isString(v any) bool { _, ok := v.(string); return ok }

// replayOf returns the dead letter ev replays (its ReplayExtension), "" if it replays none.
func replayOf(ev *event.Event) string {
	v, _ := Extension(ev, ReplayExtension)
	r, _ := v.(string)
	return r
}

// peek reads the id, source and subject of a message without decoding it: the ce-* headers (any case) in binary
// mode, the top-level attributes of a structured body otherwise. What it cannot read is empty.
func peek(h nats.Header, data []byte) (ref eventRef, subject string) {
	binary := false
	for k, vs := range h {
		if len(vs) == 0 {
			continue
		}
		switch strings.ToLower(k) {
		case headerPrefix + "id":
			ref.id = vs[0]
		case headerPrefix + "source":
			ref.source = vs[0]
		case headerPrefix + "subject":
			subject = vs[0]
		case headerPrefix + "specversion":
			binary = true
		}
	}
	if binary || ref.id != "" {
		return ref, subject
	}
	var body struct {
		ID      string `json:"id"`
		Source  string `json:"source"`
		Subject string `json:"subject"`
	}
	if json.Unmarshal(data, &body) == nil {
		ref.id, ref.source, subject = body.ID, body.Source, body.Subject
	}
	return ref, subject
}

func (d *delivery) numDelivered() uint64 {
	if d.meta == nil {
		return 1
	}
	return d.meta.NumDelivered
}

// keepAlive renews the delivery's claim and tells JetStream the message is still being worked on, every
// AckWait/3, until stopped: the claim's TTL is AckWait, so a worker that dies lets it lapse (on the server) about
// when JetStream redelivers the message. If the claim is lost (it lapsed, and another delivery may hold it) the
// handler is cancelled and lost is closed. It costs a timer, not a goroutine, per message: most handlers finish
// long before the first tick.
func (w *Worker) keepAlive(ctx context.Context, d *delivery, cancel context.CancelFunc, lost chan struct{}) (stop func()) {
	return repeat(w.cfg.AckWait/3, func() bool {
		_ = d.msg.InProgress()
		rctx, rcancel := settleCtx(ctx)
		err := w.ledger.renew(rctx, d.hold, w.cfg.AckWait)
		rcancel()
		if errors.Is(err, ErrClaimLost) {
			d.log().Warn("the claim on this event lapsed: giving the event up", "err", err)
			close(lost)
			cancel()
			return false
		}
		if err != nil {
			d.log().Warn("could not renew the claim; trying again", "err", err)
		}
		return true
	})
}
