package events

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// maxDeliveriesAdvisory is the server's io.nats.jetstream.advisory.v1.max_deliver advisory.
type maxDeliveriesAdvisory struct {
	Stream     string `json:"stream"`
	Consumer   string `json:"consumer"`
	StreamSeq  uint64 `json:"stream_seq"`
	Deliveries uint64 `json:"deliveries"`
}

// watchMaxDeliveries subscribes to the MAX_DELIVERIES advisories of the input stream's consumers until ctx ends:
// the message the server stopped delivering is read from the stream and dead-lettered (attempts_exhausted), so
// that it is not left behind without an answer. Every replica gets the advisory; the dead letter's subject makes
// the second one a no-op.
func (w *Worker) watchMaxDeliveries(ctx, work context.Context, inflight *sync.WaitGroup) error {
	nc := w.js.Conn()
	if nc == nil {
		return nil
	}
	sub, err := nc.Subscribe("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES."+w.topo.InputStream+".*", func(m *nats.Msg) {
		var a maxDeliveriesAdvisory
		if json.Unmarshal(m.Data, &a) != nil {
			return
		}
		if a.Consumer != w.topo.EventsConsumer() || a.Stream != w.topo.InputStream {
			return
		}
		inflight.Add(1)
		go func() {
			defer inflight.Done()
			w.undelivered(work, a)
		}()
	})
	if err != nil {
		return fmt.Errorf("subscribe to max-deliveries advisories: %w", err)
	}
	go func() {
		<-ctx.Done()
		_ = sub.Unsubscribe()
	}()
	return nil
}

// undelivered dead-letters the message of advisory a.
func (w *Worker) undelivered(ctx context.Context, a maxDeliveriesAdvisory) {
	log := w.log.With("consumer", a.Consumer, "stream_seq", a.StreamSeq, "deliveries", a.Deliveries)
	gctx, cancel := settleCtx(ctx)
	raw, err := w.input.GetMsg(gctx, a.StreamSeq)
	cancel()
	if err != nil {
		log.Error("the server stopped delivering a message (max deliveries) and it cannot be read to dead-letter it", "err", err)
		return
	}
	msg := &storedMsg{raw: raw, stream: a.Stream, consumer: a.Consumer, deliveries: a.Deliveries}
	w.processWith(ctx, msg, func(f *facts) {
		f.exceeded = &rejection{reason: ReasonExhausted, message: fmt.Sprintf(
			"JetStream stopped delivering the message after %d deliveries without a settlement (worker.maxDeliveries)", a.Deliveries)}
	})
}

// storedMsg is a message read from the stream, for a settlement outside any delivery: acknowledgements are no-ops
// (the consumer no longer delivers it).
type storedMsg struct {
	raw        *jetstream.RawStreamMsg
	stream     string
	consumer   string
	deliveries uint64
}

func (m *storedMsg) Metadata() (*jetstream.MsgMetadata, error) {
	return &jetstream.MsgMetadata{
		Sequence:     jetstream.SequencePair{Stream: m.raw.Sequence},
		NumDelivered: m.deliveries, Stream: m.stream, Consumer: m.consumer, Timestamp: m.raw.Time,
	}, nil
}
func (m *storedMsg) Data() []byte                     { return m.raw.Data }
func (m *storedMsg) Headers() nats.Header             { return m.raw.Header }
func (m *storedMsg) Subject() string                  { return m.raw.Subject }
func (m *storedMsg) Reply() string                    { return "" }
func (m *storedMsg) Ack() error                       { return nil }
func (m *storedMsg) DoubleAck(context.Context) error  { return nil }
func (m *storedMsg) Nak() error                       { return nil }
func (m *storedMsg) NakWithDelay(time.Duration) error { return nil }
func (m *storedMsg) InProgress() error                { return nil }
func (m *storedMsg) Term() error                      { return nil }
func (m *storedMsg) TermWithReason(string) error      { return nil }
