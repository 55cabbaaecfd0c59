package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ponte-dev/ponte/clients"
)

// PriorityGroup is the priority group of the events consumer: its policy pins the consumer to one worker at a time
// (pinned_client), so that one process sees every event in stream order and can apply each entity's events one at
// a time. The other replicas stand by and take over, within PinnedTTL (AckWait), when the pinned one stops pulling.
const PriorityGroup = "ponte"

// consumerConfig is the configuration of the events consumer: every input subject, explicit acks, pinned.
func (w *Worker) consumerConfig() jetstream.ConsumerConfig {
	cfg := jetstream.ConsumerConfig{
		Durable:       w.topo.EventsConsumer(),
		Description:   "ponte worker for " + strings.Join(w.topo.InputSubjects, ", "),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       w.cfg.AckWait,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		// A safety net far above MaxAttempts: ponte counts attempts itself in the ledger (outage delays
		// excluded); the server's MAX_DELIVERIES advisory becomes a dead letter (see watchMaxDeliveries).
		MaxDeliver:     w.cfg.MaxDeliveries,
		MaxAckPending:  w.cfg.MaxAckPending,
		PriorityPolicy: jetstream.PriorityPolicyPinned,
		PriorityGroups: []string{PriorityGroup},
		PinnedTTL:      w.cfg.AckWait,
	}
	if len(w.topo.InputSubjects) == 1 {
		cfg.FilterSubject = w.topo.InputSubjects[0]
	} else {
		cfg.FilterSubjects = w.topo.InputSubjects
	}
	return cfg
}

// bindEvents returns the events consumer. With Manage it creates or updates it: created for the first time where
// an earlier ponte left one consumer per type, it starts where the least advanced of them stood (what is before
// was settled), and those consumers are deleted, so that no message is delivered twice.
func (w *Worker) bindEvents(ctx context.Context) (jetstream.Consumer, error) {
	name := w.topo.EventsConsumer()
	if !w.topo.Manage {
		c, err := w.js.Consumer(ctx, w.topo.InputStream, name)
		if err != nil {
			return nil, fmt.Errorf("consumer %s on stream %s: %w (set manage: true to create it)", name, w.topo.InputStream, err)
		}
		return c, nil
	}
	cfg := w.consumerConfig()
	existing, err := w.js.Consumer(ctx, w.topo.InputStream, name)
	switch {
	case err == nil:
		// Where it starts cannot change: keep it.
		old := existing.CachedInfo().Config
		cfg.DeliverPolicy, cfg.OptStartSeq, cfg.OptStartTime = old.DeliverPolicy, old.OptStartSeq, old.OptStartTime
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		if start := w.legacyStart(ctx); start > 0 {
			cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, start
		}
	default:
		return nil, fmt.Errorf("consumer %s on stream %s: %w", name, w.topo.InputStream, err)
	}
	c, err := w.js.CreateOrUpdateConsumer(ctx, w.topo.InputStream, cfg)
	if err != nil {
		return nil, fmt.Errorf("create or update consumer %s: %w", name, err)
	}
	for _, old := range w.topo.legacyConsumers(w.order) {
		if err := w.js.DeleteConsumer(ctx, w.topo.InputStream, old); err == nil {
			w.log.Info("deleted the consumer of an earlier ponte: its messages are the events consumer's", "consumer", old)
		}
	}
	return c, nil
}

// legacyStart returns the first stream sequence an earlier ponte's per-type consumers had not all settled, 0 if
// there are none.
func (w *Worker) legacyStart(ctx context.Context) uint64 {
	var start uint64
	for _, name := range w.topo.legacyConsumers(w.order) {
		c, err := w.js.Consumer(ctx, w.topo.InputStream, name)
		if err != nil {
			continue
		}
		if next := c.CachedInfo().AckFloor.Stream + 1; start == 0 || next < start {
			start = next
		}
	}
	return start
}

// unpin hands the consumer's pin over at once when the worker stops, instead of after PinnedTTL.
func (w *Worker) unpin() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if s, err := w.js.Stream(ctx, w.topo.InputStream); err == nil {
		_ = s.UnpinConsumer(ctx, w.topo.EventsConsumer(), PriorityGroup) // fails when another replica holds it
	}
}

// consume is the fetch loop. When the consumer is gone (deleted, or recreated, under the worker) it marks it
// unbound, so that the worker is not ready, and binds it again (creating it when the topology is managed) until
// it exists. It returns when ctx ends.
func (w *Worker) consume(ctx context.Context, cons jetstream.Consumer, disp *dispatcher) {
	log := w.log.With("consumer", w.topo.EventsConsumer())
	for ctx.Err() == nil {
		if !w.bound.Load() {
			c, err := w.bindEvents(ctx)
			if err != nil {
				log.Error("consumer gone; binding it again", "err", err)
				sleep(ctx, time.Second)
				continue
			}
			cons = c
			w.bound.Store(true)
			log.Info("consumer bound again")
		}
		if err := w.fetch(ctx, cons, disp, log); err != nil {
			w.checkBound(ctx, cons, log)
			sleep(ctx, 100*time.Millisecond)
		}
	}
}

// checkBound looks the consumer up after its fetching failed, and marks it unbound if it no longer exists.
func (w *Worker) checkBound(ctx context.Context, cons jetstream.Consumer, log *slog.Logger) {
	if _, err := cons.Info(ctx); errors.Is(err, jetstream.ErrConsumerNotFound) {
		w.bound.Store(false)
		log.Error("consumer deleted under the worker: not ready until it is bound again")
	}
}

// fetchWait bounds one pull: an idle worker asks again this often (which also tells the server it is alive, so
// that it keeps the pin), and a stopping one stops fetching within it.
const fetchWait = time.Second

// fetch pulls as many messages as the dispatcher has room for and hands each over as it arrives, until ctx ends
// or the consumer is gone (then it returns an error). At most 2·Concurrency messages are held at once (queued
// behind their entity, waiting for a slot, or running), and every one of them is kept alive with InProgress: no
// message waits in a client-side buffer, where AckWait would run out unseen (nats.go's Messages iterator keeps one,
// and pulls more while it is not empty). While every place is taken for longer than AckWait/3, one message is
// pulled all the same (and kept alive like the others), so that the server keeps this worker's pin (PinnedTTL);
// it runs when a place frees.
func (w *Worker) fetch(ctx context.Context, cons jetstream.Consumer, disp *dispatcher, log *slog.Logger) error {
	wait := min(fetchWait, w.cfg.AckWait/3)
	pinned := false // whether the last pull got this worker messages, rather than a pin held elsewhere
	// A reconnection may have lost messages on their way to this worker (delivered to the connection that went
	// away): they come back only after their AckWait, behind later events of their entities. So the first messages
	// after one are taken as a takeover's: what is unsettled and not held here holds its entity's later events.
	conn := w.js.Conn()
	reconnects := conn.Stats().Reconnects
	for ctx.Err() == nil {
		if !w.bound.Load() {
			return errors.New("the consumer is gone") // found so by watchLag: consume binds it again
		}
		n, ok := disp.reserveUpTo(ctx, w.cfg.AckWait/3)
		if !ok {
			return nil
		}
		batch, err := cons.Fetch(n, jetstream.FetchMaxWait(wait), jetstream.FetchPriorityGroup(PriorityGroup))
		got := 0
		if err == nil {
			for msg := range batch.Messages() {
				got++
				if r := conn.Stats().Reconnects; !pinned || r != reconnects {
					// The consumer's first messages for this worker (it has just taken it over), or the first since
					// the connection came back.
					w.inherit(ctx, cons, disp)
					pinned, reconnects = true, r
				}
				if ctx.Err() != nil {
					// Fetched as the worker stops: hand it back quickly, no attempt counted.
					_ = msg.NakWithDelay(time.Second)
					disp.release(1)
					continue
				}
				disp.dispatch(msg)
			}
			err = batch.Error()
		}
		disp.release(n - got)
		if err != nil {
			if errors.Is(err, jetstream.ErrPinIDMismatch) {
				pinned = false // another replica holds the pin: taking it later is a takeover again
			}
			if err := w.fetchFailed(ctx, err, log); err != nil {
				return err
			}
		}
	}
	return nil
}

// fetchFailed sorts out a failed pull: an error to return when the consumer is gone (consume binds it again),
// nil to pull again (another replica holds the pin, the connection is down for a moment).
func (w *Worker) fetchFailed(ctx context.Context, err error, log *slog.Logger) error {
	switch {
	case !w.bound.Load():
		return errors.New("the consumer is gone") // found so by watchLag
	case errors.Is(err, nats.ErrTimeout), errors.Is(err, context.DeadlineExceeded), errors.Is(err, jetstream.ErrPinIDMismatch):
		return nil // nothing to fetch, or another replica holds the pin
	case errors.Is(err, jetstream.ErrConsumerDeleted), errors.Is(err, jetstream.ErrConsumerNotFound):
		log.Warn("fetching stopped; restarting", "err", err)
		return err
	}
	if ctx.Err() == nil {
		log.Warn("fetch error", "err", err)
		sleep(ctx, 100*time.Millisecond)
	}
	return nil
}

// pausedRoutes tracks which routes wait for an open breaker, for the log and ponte_events_paused.
type pausedRoutes struct {
	mu sync.Mutex
	on map[string]bool
}

// pauseFor returns how long the events of route must wait because a single-tenant breaker it needs is open (0:
// none is), and logs and exports the route's pause when it starts or ends.
func (w *Worker) pauseFor(route *Route) time.Duration {
	if route == nil || w.breakers == nil {
		return 0
	}
	var wait time.Duration
	var open []string
	for _, t := range route.Targets {
		if d, isOpen := w.breakers.OpenFor(clients.BreakerKey{Target: t}); isOpen {
			wait = max(wait, d)
			open = append(open, t)
		}
	}
	w.paused.mu.Lock()
	defer w.paused.mu.Unlock()
	if w.paused.on == nil {
		w.paused.on = map[string]bool{}
	}
	if now := len(open) > 0; now != w.paused.on[route.Type] {
		w.paused.on[route.Type] = now
		if now {
			w.log.Warn("events paused: a circuit breaker their handler needs is open", "type", route.Type, "targets", open)
			w.metrics.paused.WithLabelValues(route.Type).Set(1)
		} else {
			w.log.Info("events resumed", "type", route.Type)
			w.metrics.paused.WithLabelValues(route.Type).Set(0)
		}
	}
	return wait
}
