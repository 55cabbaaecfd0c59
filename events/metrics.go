package events

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Outcomes are the closed set of the outcome label of ponte_events_processed_total.
var Outcomes = []string{
	OutcomeSuccess, OutcomeDuplicate, OutcomeStale, OutcomeRetry, OutcomeDelayed, OutcomeDeadLetter, OutcomeError,
}

// Outcome label values.
const (
	OutcomeSuccess    = "success"     // handled; result published; acked
	OutcomeDuplicate  = "duplicate"   // already completed earlier; result republished; no API call; acked
	OutcomeStale      = "stale"       // older than an event of its entity applied already; skipped, result published; acked
	OutcomeRetry      = "retry"       // a retryable failure the event is to blame for: an attempt spent; nak'ed with backoff
	OutcomeDelayed    = "delayed"     // not the event's fault (breaker open, outage, claim held elsewhere, stopping); nak'ed, no attempt spent
	OutcomeDeadLetter = "dead_letter" // dead letter published; terminated
	OutcomeError      = "error"       // settling failed (publish or ledger); nak'ed to try again
)

// UnroutedType is the type label of messages on subjects with no handler.
const UnroutedType = "unrouted"

// Reasons are the closed set of the reason label of ponte_events_dead_letters_total and of the reason field of a dead
// letter, in the order docs/events.md explains them.
var Reasons = []string{
	ReasonNotCloudEvent, ReasonUnknownType, ReasonSubjectMismatch, ReasonSchemaViolation, ReasonTooLarge,
	ReasonIDConflict, ReasonConfig, ReasonPermanent, ReasonExhausted,
}

// Dead-letter reasons.
const (
	// ReasonNotCloudEvent: the message is not a CloudEvent 1.0 ponte can read (errors name each attribute).
	ReasonNotCloudEvent = "not_cloudevent"
	// ReasonUnknownType: the event's type has no handler, and it was published on a subject that has none either.
	ReasonUnknownType = "unknown_type"
	// ReasonSubjectMismatch: the event's type differs from the NATS subject it was published on.
	ReasonSubjectMismatch = "subject_mismatch"
	// ReasonSchemaViolation: the event does not match the catalogue: its data (every violation listed), or an
	// attribute the catalogue requires (subject = the entity key, time, a JSON datacontenttype, the ug extension).
	ReasonSchemaViolation = "schema_violation"
	// ReasonTooLarge: the message exceeds worker.maxMessageSize.
	ReasonTooLarge = "too_large"
	// ReasonIDConflict: the event's source and id were used before by an event with other data.
	ReasonIDConflict = "id_conflict"
	// ReasonConfig: ponte's own configuration cannot serve the event (no access profile, a UG without a key);
	// replay it once the configuration is fixed.
	ReasonConfig = "config_error"
	// ReasonPermanent: a downstream system refused a request (target and operation always, status when it
	// answered with one); retrying cannot help.
	ReasonPermanent = "permanent_error"
	// ReasonExhausted: retryable failures used up the attempt budget while the target otherwise answered.
	ReasonExhausted = "attempts_exhausted"
)

type metrics struct {
	received      *prometheus.CounterVec
	processed     *prometheus.CounterVec
	deadLetters   *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	age           *prometheus.HistogramVec
	inProgress    *prometheus.GaugeVec
	lastProcessed *prometheus.GaugeVec
	paused        *prometheus.GaugeVec
	pending       *prometheus.GaugeVec
	ackPending    *prometheus.GaugeVec
	redelivered   *prometheus.GaugeVec
	oldest        *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		received: f.NewCounterVec(prometheus.CounterOpts{
			Name: "ponte_events_received_total",
			Help: "Messages fetched from the input stream, by event type (unrouted for subjects with no handler).",
		}, []string{"type"}),
		processed: f.NewCounterVec(prometheus.CounterOpts{
			Name: "ponte_events_processed_total",
			Help: "Messages settled, by event type and outcome (success, duplicate, retry, delayed, dead_letter, error).",
		}, []string{"type", "outcome"}),
		deadLetters: f.NewCounterVec(prometheus.CounterOpts{
			Name: "ponte_events_dead_letters_total",
			Help: "Dead letters published, by event type and reason.",
		}, []string{"type", "reason"}),
		duration: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ponte_events_processing_duration_seconds",
			Help:    "Time from fetch to settlement of one message, by event type.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"type"}),
		age: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ponte_events_age_seconds",
			Help:    "Time from the CloudEvent time attribute to settlement with a result or dead letter, by event type.",
			Buckets: []float64{.01, .05, .1, .5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600},
		}, []string{"type"}),
		inProgress: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ponte_events_in_progress",
			Help: "Messages being processed now, by event type.",
		}, []string{"type"}),
		lastProcessed: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ponte_events_last_processed_timestamp_seconds",
			Help: "Unix time of the last message settled with a result or a dead letter, by event type.",
		}, []string{"type"}),
		paused: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ponte_events_paused",
			Help: "1 while the events of a type wait, without any call, because a circuit breaker their handler needs is open.",
		}, []string{"type"}),
		pending: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ponte_consumer_pending_messages",
			Help: "Messages in the stream not yet delivered to the consumer (JetStream num_pending).",
		}, []string{"stream", "consumer"}),
		ackPending: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ponte_consumer_ack_pending_messages",
			Help: "Messages delivered to the consumer and not yet acknowledged (JetStream num_ack_pending).",
		}, []string{"stream", "consumer"}),
		redelivered: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ponte_consumer_redelivered_messages",
			Help: "Messages delivered more than once and not yet acknowledged (JetStream num_redelivered).",
		}, []string{"stream", "consumer"}),
		oldest: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ponte_consumer_oldest_unsettled_age_seconds",
			Help: "Age of the oldest message of the consumer not settled yet (delivered and not acknowledged, or not delivered); 0 when there is none. Alert on it well before the input stream's max age.",
		}, []string{"stream", "consumer"}),
	}
}

// declare pre-creates the series of an event type and its consumer.
func (m *metrics) declare(eventType, stream, consumer string) {
	m.received.WithLabelValues(eventType)
	for _, o := range Outcomes {
		m.processed.WithLabelValues(eventType, o)
	}
	for _, r := range Reasons {
		m.deadLetters.WithLabelValues(eventType, r)
	}
	m.duration.WithLabelValues(eventType)
	m.age.WithLabelValues(eventType)
	m.inProgress.WithLabelValues(eventType)
	m.lastProcessed.WithLabelValues(eventType)
	m.paused.WithLabelValues(eventType)
	m.pending.WithLabelValues(stream, consumer)
	m.ackPending.WithLabelValues(stream, consumer)
	m.redelivered.WithLabelValues(stream, consumer)
	m.oldest.WithLabelValues(stream, consumer)
}
