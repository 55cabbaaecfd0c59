package clients

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
)

// BreakerSettings configures every circuit breaker of a Breakers set.
type BreakerSettings struct {
	// ConsecutiveFailures trips the breaker open. Default 5.
	ConsecutiveFailures uint32 `yaml:"consecutiveFailures"`
	// OpenTimeout is how long the breaker stays open before it lets probes through (half-open). Default 30s.
	OpenTimeout time.Duration `yaml:"openTimeout"`
	// HalfOpenRequests is how many probes a half-open breaker lets through; that many successes close it.
	// Default 1.
	HalfOpenRequests uint32 `yaml:"halfOpenRequests"`
	// Interval is the cyclic period after which a closed breaker clears its counts. 0 (default) never clears;
	// the consecutive-failure count is reset by any success anyway.
	Interval time.Duration `yaml:"interval"`
}

func (s BreakerSettings) withDefaults() BreakerSettings {
	if s.ConsecutiveFailures == 0 {
		s.ConsecutiveFailures = 5
	}
	if s.OpenTimeout == 0 {
		s.OpenTimeout = 30 * time.Second
	}
	if s.HalfOpenRequests == 0 {
		s.HalfOpenRequests = 1
	}
	return s
}

// Validate reports a setting that cannot work, naming it.
func (s BreakerSettings) Validate() error {
	if s.OpenTimeout < 0 {
		return errors.New("openTimeout: must not be negative")
	}
	if s.Interval < 0 {
		return errors.New("interval: must not be negative")
	}
	return nil
}

// BreakerState is a breaker's state: "closed", "half_open" or "open".
type BreakerState string

// The breaker states, as used in metrics labels.
const (
	StateClosed   BreakerState = "closed"
	StateHalfOpen BreakerState = "half_open"
	StateOpen     BreakerState = "open"
)

func stateOf(s gobreaker.State) BreakerState {
	switch s {
	case gobreaker.StateOpen:
		return StateOpen
	case gobreaker.StateHalfOpen:
		return StateHalfOpen
	}
	return StateClosed
}

// BreakerKey names one breaker: a target and a tenant ("" for single-tenant targets; the UG for CidadES).
type BreakerKey struct {
	Target string
	Tenant string
}

// Breakers is the set of circuit breakers of a process, one per target and tenant, created on first use. It
// exports ponte_circuit_breaker_state, ..._transitions_total and ..._rejected_total. Safe for concurrent use.
type Breakers struct {
	settings BreakerSettings
	metrics  *breakerMetrics
	now      func() time.Time

	mu       sync.Mutex
	breakers map[BreakerKey]*breaker
	watchers []func(key BreakerKey, from, to BreakerState)
	probes   map[string]Probe
}

// Probe asks a target, for one tenant, whether it answers at all: a cheap read through the client, so through the
// breaker, whose answer updates the evidence Execute judges by. See Breakers.SetProbe.
type Probe func(ctx context.Context, tenant string) error

type breaker struct {
	cb          *gobreaker.CircuitBreaker[any]
	mu          sync.Mutex
	openedAt    time.Time
	lastSuccess atomic.Int64 // unix nanoseconds of the last call the target answered (a success or a permanent error)
	probing     atomic.Bool  // a probe runs
	lastProbe   atomic.Int64 // unix nanoseconds of the last probe's start
}

// NewBreakers returns an empty set whose breakers use settings. reg may be nil to skip metrics.
func NewBreakers(settings BreakerSettings, reg prometheus.Registerer) *Breakers {
	return &Breakers{
		settings: settings.withDefaults(),
		metrics:  newBreakerMetrics(reg),
		now:      time.Now,
		breakers: make(map[BreakerKey]*breaker),
	}
}

// Watch registers fn to be called on every state change of every breaker, after the metrics are updated. fn runs
// synchronously inside the breaker's bookkeeping: it must be fast and must not call the breaker.
func (b *Breakers) Watch(fn func(key BreakerKey, from, to BreakerState)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.watchers = append(b.watchers, fn)
}

// SetProbe registers the probe of target. When a caller's retryable failure, not its first (WithPriorFailure), is
// blamed on the target only because the target has answered no call since the caller first failed (with no other
// traffic, nothing tells one bad request from an outage), Execute starts the probe for that target and tenant in the background: at most one at a time,
// and at most one per ProbeInterval. If the target answers it, the caller's next failure is its own, so that an
// event that always fails on a target that otherwise works spends its attempts and is dead-lettered, instead of
// being delayed as an outage for as long as no other event calls that target. If the probe fails too, nothing
// changes: that is an outage.
func (b *Breakers) SetProbe(target string, p Probe) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.probes == nil {
		b.probes = map[string]Probe{}
	}
	b.probes[target] = p
}

// ProbeInterval is the least time between two probes of one target and tenant.
const ProbeInterval = 5 * time.Second

// probe starts key's probe, unless one runs or ran less than ProbeInterval ago, or key's target has none.
func (b *Breakers) probe(key BreakerKey, br *breaker, now time.Time) {
	b.mu.Lock()
	p := b.probes[key.Target]
	b.mu.Unlock()
	if p == nil || now.Sub(time.Unix(0, br.lastProbe.Load())) < ProbeInterval || !br.probing.CompareAndSwap(false, true) {
		return
	}
	br.lastProbe.Store(now.UnixNano())
	go func() {
		defer br.probing.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = p(ctx, key.Tenant) // its answer went through Execute, which noted it
	}()
}

// Ensure creates the breaker for key if it does not exist yet, so that its metrics series exist from the start.
func (b *Breakers) Ensure(key BreakerKey) { b.get(key) }

// State returns the current state of key's breaker; a breaker not created yet is closed.
func (b *Breakers) State(key BreakerKey) BreakerState {
	b.mu.Lock()
	br, ok := b.breakers[key]
	b.mu.Unlock()
	if !ok {
		return StateClosed
	}
	return stateOf(br.cb.State())
}

// OpenFor reports whether key's breaker is open and, if so, how long until it lets a probe through.
func (b *Breakers) OpenFor(key BreakerKey) (time.Duration, bool) {
	b.mu.Lock()
	br, ok := b.breakers[key]
	b.mu.Unlock()
	if !ok || br.cb.State() != gobreaker.StateOpen {
		return 0, false
	}
	return br.untilHalfOpen(b.settings.OpenTimeout, b.now()), true
}

// Keys returns the keys of every breaker created so far.
func (b *Breakers) Keys() []BreakerKey {
	b.mu.Lock()
	defer b.mu.Unlock()
	keys := make([]BreakerKey, 0, len(b.breakers))
	for k := range b.breakers {
		keys = append(keys, k)
	}
	return keys
}

func (b *Breakers) get(key BreakerKey) *breaker {
	b.mu.Lock()
	defer b.mu.Unlock()
	if br, ok := b.breakers[key]; ok {
		return br
	}
	br := &breaker{}
	st := b.settings
	br.cb = gobreaker.NewCircuitBreaker[any](gobreaker.Settings{
		Name:        key.Target + "/" + key.Tenant,
		MaxRequests: st.HalfOpenRequests,
		Interval:    st.Interval,
		Timeout:     st.OpenTimeout,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= st.ConsecutiveFailures },
		IsSuccessful: func(err error) bool {
			// A permanent error is the caller's fault (bad request, not found): the target is healthy.
			return err == nil || IsPermanent(err)
		},
		IsExcluded: func(err error) bool {
			// The caller gave up, or failed here before, or the target asked to slow down (429): none says the
			// target is down.
			_, repeat := err.(*repeatFailure)
			_, stale := err.(*staleCredential)
			return repeat || stale || errors.Is(err, context.Canceled) || HTTPStatus(err) == http.StatusTooManyRequests
		},
		OnStateChange: func(_ string, from, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				br.mu.Lock()
				br.openedAt = b.now()
				br.mu.Unlock()
			}
			b.metrics.transition(key, stateOf(from), stateOf(to))
			b.mu.Lock()
			ws := append([]func(BreakerKey, BreakerState, BreakerState){}, b.watchers...)
			b.mu.Unlock()
			for _, w := range ws {
				w(key, stateOf(from), stateOf(to))
			}
		},
	})
	b.metrics.init(key)
	b.breakers[key] = br
	return br
}

// priorFailureKey is the context key of WithPriorFailure.
type priorFailureKey struct{}

// WithPriorFailure returns a context saying that the caller (the event being handled) already failed at time at,
// on an earlier attempt. The breakers use it to tell one bad request from a target failing for everyone: see
// Execute.
func WithPriorFailure(ctx context.Context, at time.Time) context.Context {
	return context.WithValue(ctx, priorFailureKey{}, at)
}

func priorFailure(ctx context.Context) (time.Time, bool) {
	at, ok := ctx.Value(priorFailureKey{}).(time.Time)
	return at, ok && !at.IsZero()
}

// staleCredential marks, inside the breaker, a first 401 of a call (not a login, not a retry with a renewed
// credential): the token expired or was rotated, the client renews it and tries again. The target answered: it
// is no failure of the breaker.
type staleCredential struct{ err error }

func (s *staleCredential) Error() string { return s.err.Error() }

// repeatFailure marks, inside the breaker, a failure of a caller that failed before: gobreaker excludes it from
// its counts while the breaker is closed.
type repeatFailure struct{ err error }

func (r *repeatFailure) Error() string { return r.err.Error() }

// Execute runs fn inside key's breaker. When the breaker refuses the call it returns an *OpenError without
// calling fn. When fn fails (retryably) it decides who is to blame:
//
//   - the target, when it has answered no call since the caller's prior failure (WithPriorFailure; for a
//     first attempt, within the breaker's open timeout) or when its breaker is no longer closed: the failure comes
//     back wrapped in an *OutageError, so that the caller delays without spending an attempt;
//   - the request otherwise (the target answers others): the failure comes back as it is.
//
// A caller's repeated failures (a retry that fails again) do not count toward tripping a closed breaker: one
// event that always fails can never open it by itself. Its first failure counts, as does any failure of a
// half-open probe.
func (b *Breakers) Execute(ctx context.Context, key BreakerKey, fn func() error) error {
	br := b.get(key)
	prior, repeat := priorFailure(ctx)
	closed := br.cb.State() == gobreaker.StateClosed
	_, err := br.cb.Execute(func() (any, error) {
		err := fn()
		if err != nil && repeat && closed && !IsPermanent(err) {
			return nil, &repeatFailure{err}
		}
		return nil, err
	})
	if rf, ok := err.(*repeatFailure); ok {
		err = rf.err
	}
	now := b.now()
	if sc, ok := err.(*staleCredential); ok {
		br.lastSuccess.Store(now.UnixNano()) // an answer: the client renews its credential
		return sc.err
	}
	switch {
	case errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests):
		b.metrics.rejected.WithLabelValues(key.Target, key.Tenant).Inc()
		return &OpenError{Target: key.Target, Tenant: key.Tenant, Wait: br.untilHalfOpen(b.settings.OpenTimeout, now), Err: err}
	case err == nil || IsPermanent(err):
		br.lastSuccess.Store(now.UnixNano())
		return err
	case errors.Is(err, context.Canceled):
		return err
	case HTTPStatus(err) == http.StatusTooManyRequests:
		return err // the throttling gate's business, not the breaker's (see Endpoint.Do)
	}
	since := now.Add(-b.settings.OpenTimeout)
	if repeat {
		since = prior
	}
	answering := br.lastSuccess.Load() > since.UnixNano()
	// Refused credentials (401) are the target's, or its configuration's, never one event's.
	if state := br.cb.State(); !answering || state != gobreaker.StateClosed || HTTPStatus(err) == http.StatusUnauthorized {
		if repeat && !answering && state == gobreaker.StateClosed && HTTPStatus(err) != http.StatusUnauthorized {
			b.probe(key, br, now) // only an answer elsewhere can put the blame on the caller
		}
		wait := time.Duration(0)
		if state == gobreaker.StateOpen {
			wait = br.untilHalfOpen(b.settings.OpenTimeout, now)
		}
		return &OutageError{Key: key, Wait: wait, Err: err}
	}
	return err
}

// untilHalfOpen returns how long the open breaker stays open, at least 0.
func (br *breaker) untilHalfOpen(timeout time.Duration, now time.Time) time.Duration {
	br.mu.Lock()
	defer br.mu.Unlock()
	return max(timeout-now.Sub(br.openedAt), 0)
}

type breakerMetrics struct {
	state       *prometheus.GaugeVec
	transitions *prometheus.CounterVec
	rejected    *prometheus.CounterVec
}

func newBreakerMetrics(reg prometheus.Registerer) *breakerMetrics {
	m := &breakerMetrics{
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ponte_circuit_breaker_state",
			Help: "Current state of each circuit breaker: 1 for the state it is in, 0 for the others (closed, half_open, open).",
		}, []string{"target", "tenant", "state"}),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ponte_circuit_breaker_transitions_total",
			Help: "State changes of each circuit breaker.",
		}, []string{"target", "tenant", "from", "to"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ponte_circuit_breaker_rejected_total",
			Help: "Calls refused without reaching the target because its circuit breaker was open or half-open.",
		}, []string{"target", "tenant"}),
	}
	if reg != nil {
		reg.MustRegister(m.state, m.transitions, m.rejected)
	}
	return m
}

func (m *breakerMetrics) init(key BreakerKey) {
	m.setState(key, StateClosed)
	m.rejected.WithLabelValues(key.Target, key.Tenant)
	for _, from := range []BreakerState{StateClosed, StateHalfOpen, StateOpen} {
		for _, to := range []BreakerState{StateClosed, StateHalfOpen, StateOpen} {
			if from != to {
				m.transitions.WithLabelValues(key.Target, key.Tenant, string(from), string(to))
			}
		}
	}
}

func (m *breakerMetrics) setState(key BreakerKey, cur BreakerState) {
	for _, s := range []BreakerState{StateClosed, StateHalfOpen, StateOpen} {
		v := 0.0
		if s == cur {
			v = 1
		}
		m.state.WithLabelValues(key.Target, key.Tenant, string(s)).Set(v)
	}
}

func (m *breakerMetrics) transition(key BreakerKey, from, to BreakerState) {
	m.setState(key, to)
	m.transitions.WithLabelValues(key.Target, key.Tenant, string(from), string(to)).Inc()
}

// String names the breaker for logs: "zeev" or "cidades/001001".
func (k BreakerKey) String() string {
	if k.Tenant == "" {
		return k.Target
	}
	return fmt.Sprintf("%s/%s", k.Target, k.Tenant)
}
