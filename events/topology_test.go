package events_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ponte-dev/ponte/events"
	"github.com/ponte-dev/ponte/events/eventstest"
)

// TestEnsureKeepsTheOutputsOfAnEarlierVersion: output streams made by an earlier ponte hold several results or
// dead letters per subject (ponte.dlq.<type>). Limiting them to one message per subject would delete all but the
// last of each; Ensure must not, and applies the limit once no subject holds more than one.
func TestEnsureKeepsTheOutputsOfAnEarlierVersion(t *testing.T) {
	_, js := eventstest.JetStream(t)
	ctx := context.Background()
	for _, sc := range []jetstream.StreamConfig{
		{Name: "PONTE_RESULTS", Subjects: []string{"ponte.result.>"}, Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute},
		{Name: "PONTE_DLQ", Subjects: []string{"ponte.dlq.>"}, Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute},
	} {
		if _, err := js.CreateStream(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	for _, subj := range []string{"ponte.dlq.person.hired", "ponte.dlq.person.hired", "ponte.result.person.hired", "ponte.result.person.hired"} {
		if _, err := js.Publish(ctx, subj, []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	topo := events.Topology{Manage: true}.WithDefaults()
	if _, err := topo.Ensure(ctx, js); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"PONTE_RESULTS", "PONTE_DLQ"} {
		s, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if n := s.CachedInfo().State.Msgs; n != 2 {
			t.Errorf("%s holds %d messages after Ensure, want the 2 of the earlier version", name, n)
		}
		if err := s.Purge(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := topo.Ensure(ctx, js); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"PONTE_RESULTS", "PONTE_DLQ"} {
		s, _ := js.Stream(ctx, name)
		if c := s.CachedInfo().Config; c.MaxMsgsPerSubject != 1 || !c.DiscardNewPerSubject {
			t.Errorf("%s: one message per subject not applied once the old outputs are gone: %+v", name, c)
		}
	}
}

// TestEnsureEnablesClaimTTLsOnAnEarlierLedger: a ledger bucket made by an earlier ponte, without per-message TTLs,
// is updated in place, its records kept.
func TestEnsureEnablesClaimTTLsOnAnEarlierLedger(t *testing.T) {
	_, js := eventstest.JetStream(t)
	ctx := context.Background()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "ponte-ledger", History: 1, Storage: jetstream.FileStorage, TTL: 30 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "ev.old", []byte(`{"eventId":"old"}`)); err != nil {
		t.Fatal(err)
	}
	got, err := events.Topology{Manage: true}.WithDefaults().Ensure(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	st, err := got.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.LimitMarkerTTL() <= 0 {
		t.Errorf("LimitMarkerTTL = %s after Ensure: claims could not expire on the server", st.LimitMarkerTTL())
	}
	if e, err := got.Get(ctx, "ev.old"); err != nil || string(e.Value()) != `{"eventId":"old"}` {
		t.Errorf("the earlier record: %v, %v", e, err)
	}
}
