package events

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Topology names the JetStream resources ponte uses and, when Manage is set, how to create them.
type Topology struct {
	// InputStream receives the upstream events. Default "PONTE_EVENTS".
	InputStream string `yaml:"inputStream"`
	// InputSubjects are the input stream's subjects. Default ["person.>", "contract.>"].
	InputSubjects []string `yaml:"inputSubjects"`
	// InputMaxAge is how long input events are kept. Default 7 days.
	InputMaxAge time.Duration `yaml:"inputMaxAge"`
	// DuplicateWindow is the input stream's Nats-Msg-Id de-duplication window. Default 2m.
	DuplicateWindow time.Duration `yaml:"duplicateWindow"`
	// ResultStream holds result events on ponte.result.>. Default "PONTE_RESULTS", kept ResultMaxAge (7 days).
	ResultStream string        `yaml:"resultStream"`
	ResultMaxAge time.Duration `yaml:"resultMaxAge"`
	// DeadLetterStream holds dead letters on ponte.dlq.>. Default "PONTE_DLQ", kept DeadLetterMaxAge (90 days).
	DeadLetterStream string        `yaml:"deadLetterStream"`
	DeadLetterMaxAge time.Duration `yaml:"deadLetterMaxAge"`
	// LedgerBucket is the key-value bucket of the effect ledger. Default "ponte-ledger", entries kept LedgerTTL
	// (30 days): a re-published event older than that is processed again (its steps are idempotent).
	LedgerBucket string        `yaml:"ledgerBucket"`
	LedgerTTL    time.Duration `yaml:"ledgerTTL"`
	// ConsumerPrefix prefixes the durable consumer's name: "<prefix>-events". Default "ponte".
	ConsumerPrefix string `yaml:"consumerPrefix"`
	// Replicas of every stream and the bucket. Default 1.
	Replicas int `yaml:"replicas"`
	// Manage creates or updates the streams, bucket and consumers at start. When false they must exist.
	Manage bool `yaml:"manage"`
}

// Subjects of the output streams.
const (
	ResultPrefix     = "ponte.result."
	DeadLetterPrefix = "ponte.dlq."
)

// WithDefaults returns t with every unset field at its default.
func (t Topology) WithDefaults() Topology {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	defd := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&t.InputStream, "PONTE_EVENTS")
	def(&t.ResultStream, "PONTE_RESULTS")
	def(&t.DeadLetterStream, "PONTE_DLQ")
	def(&t.LedgerBucket, "ponte-ledger")
	def(&t.ConsumerPrefix, "ponte")
	if len(t.InputSubjects) == 0 {
		t.InputSubjects = []string{"person.>", "contract.>"}
	}
	defd(&t.InputMaxAge, 7*24*time.Hour)
	defd(&t.DuplicateWindow, 2*time.Minute)
	defd(&t.ResultMaxAge, 7*24*time.Hour)
	defd(&t.DeadLetterMaxAge, 90*24*time.Hour)
	defd(&t.LedgerTTL, 30*24*time.Hour)
	if t.Replicas == 0 {
		t.Replicas = 1
	}
	return t
}

// Validate reports the first unusable field, naming its key.
func (t Topology) Validate() error {
	if t.Replicas < 0 || t.Replicas > 5 {
		return errors.New("replicas: must be between 1 and 5")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"inputMaxAge", t.InputMaxAge}, {"duplicateWindow", t.DuplicateWindow}, {"resultMaxAge", t.ResultMaxAge},
		{"deadLetterMaxAge", t.DeadLetterMaxAge}, {"ledgerTTL", t.LedgerTTL}} {
		if d.v < 0 {
			return fmt.Errorf("%s: must not be negative", d.name)
		}
	}
	if t.DuplicateWindow > t.InputMaxAge && t.InputMaxAge > 0 {
		return errors.New("duplicateWindow: must not exceed inputMaxAge")
	}
	for _, s := range t.InputSubjects {
		if strings.HasPrefix(s, "ponte.") {
			return fmt.Errorf("inputSubjects: %q overlaps the output subjects ponte.>", s)
		}
	}
	return nil
}

// EventsConsumer is the name of the durable consumer of every input subject: "<prefix>-events".
func (t Topology) EventsConsumer() string { return t.ConsumerPrefix + "-events" }

// legacyConsumers are the consumers an earlier ponte made: one per type ("<prefix>-person-hired") and one for
// subjects with no route ("<prefix>-unrouted").
func (t Topology) legacyConsumers(types []string) []string {
	names := make([]string, 0, len(types)+1)
	for _, typ := range types {
		names = append(names, t.ConsumerPrefix+"-"+strings.NewReplacer(".", "-", "*", "any", ">", "all").Replace(typ))
	}
	return append(names, t.ConsumerPrefix+"-unrouted")
}

// oneMessagePerSubject reports whether the stream name, if it exists, holds at most one message on each subject,
// so that limiting it to one per subject deletes nothing. A stream it cannot inspect is left as it is.
func oneMessagePerSubject(ctx context.Context, js jetstream.JetStream, name string) bool {
	s, err := js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return true
	}
	if err != nil {
		return false
	}
	if s.CachedInfo().Config.MaxMsgsPerSubject == 1 {
		return true
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(">"))
	if err != nil {
		return false
	}
	for _, n := range info.State.Subjects {
		if n > 1 {
			return false
		}
	}
	return true
}

// Ensure creates or updates the input, result and dead-letter streams and the ledger bucket (when Manage is
// set), or checks that they exist, and returns the ledger's bucket.
func (t Topology) Ensure(ctx context.Context, js jetstream.JetStream) (jetstream.KeyValue, error) {
	streams := []jetstream.StreamConfig{
		{
			Name: t.InputStream, Subjects: t.InputSubjects, Storage: jetstream.FileStorage,
			Retention: jetstream.LimitsPolicy, MaxAge: t.InputMaxAge, Duplicates: t.DuplicateWindow, Replicas: t.Replicas,
			Description: "ponte input events (CloudEvents); subject = event type",
		},
		// Each output has a subject of its own (OutputSubject) and the output streams keep one message per
		// subject, refusing another: an output published again (a redelivery after a crash, past the duplicate
		// window) is refused instead of duplicated.
		{
			Name: t.ResultStream, Subjects: []string{ResultPrefix + ">"}, Storage: jetstream.FileStorage,
			MaxAge: t.ResultMaxAge, Duplicates: 2 * time.Minute, Replicas: t.Replicas,
			MaxMsgsPerSubject: 1, Discard: jetstream.DiscardNew, DiscardNewPerSubject: true,
			Description: "ponte result events, one per completed input, each on its own subject",
		},
		{
			Name: t.DeadLetterStream, Subjects: []string{DeadLetterPrefix + ">"}, Storage: jetstream.FileStorage,
			MaxAge: t.DeadLetterMaxAge, Duplicates: 2 * time.Minute, Replicas: t.Replicas,
			MaxMsgsPerSubject: 1, Discard: jetstream.DiscardNew, DiscardNewPerSubject: true,
			Description: "ponte dead letters, each carrying the original event, each on its own subject",
		},
	}
	for _, cfg := range streams {
		if t.Manage {
			if cfg.MaxMsgsPerSubject == 1 && !oneMessagePerSubject(ctx, js, cfg.Name) {
				// Outputs of an earlier version share one subject per type: the limit would delete them.
				cfg.MaxMsgsPerSubject, cfg.Discard, cfg.DiscardNewPerSubject = 0, jetstream.DiscardOld, false
			}
			if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
				return nil, fmt.Errorf("create or update stream %s: %w", cfg.Name, err)
			}
		} else if _, err := js.Stream(ctx, cfg.Name); err != nil {
			return nil, fmt.Errorf("stream %s: %w (set manage: true to create it)", cfg.Name, err)
		}
	}
	if t.Manage {
		kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket: t.LedgerBucket, Description: "ponte effect ledger: completed steps per event",
			TTL: t.LedgerTTL, Storage: jetstream.FileStorage, Replicas: t.Replicas, History: 1,
			// Per-message TTLs: claims are created with a TTL and lapse on the server.
			LimitMarkerTTL: claimMarkerTTL,
		})
		if err != nil {
			return nil, fmt.Errorf("create or update key-value bucket %s: %w", t.LedgerBucket, err)
		}
		return kv, nil
	}
	kv, err := js.KeyValue(ctx, t.LedgerBucket)
	if err != nil {
		return nil, fmt.Errorf("key-value bucket %s: %w (set manage: true to create it)", t.LedgerBucket, err)
	}
	return kv, nil
}
