package events

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// agingShare is the share of the input stream's max age after which an unsettled message is dead-lettered rather
// than left for the stream to drop without a trace.
const agingShare = 0.9

// maxSweep bounds the messages one sweep reads.
const maxSweep = 1000

// sweepAging dead-letters (attempts_exhausted) the messages of the consumer still unsettled when they are older
// than 90% of the input stream's max age: the stream would soon drop them, and the dead letter keeps them (whole)
// with the reason. Messages past the ack floor that were settled already (completed, dead-lettered) are answered
// by the ledger as before and get no second output.
func (w *Worker) sweepAging(ctx context.Context, info *jetstream.ConsumerInfo, oldest *jetstream.RawStreamMsg) {
	if w.topo.InputMaxAge <= 0 {
		return
	}
	limit := time.Duration(float64(w.topo.InputMaxAge) * agingShare)
	raw := oldest
	for range maxSweep {
		if raw == nil || w.now().Sub(raw.Time) < limit {
			return
		}
		msg := &storedMsg{raw: raw, stream: info.Stream, consumer: info.Name}
		w.processWith(ctx, msg, func(f *facts) {
			f.exceeded = &rejection{reason: ReasonExhausted, message: fmt.Sprintf(
				"not settled %s after it was published: the input stream drops messages at jetstream.inputMaxAge (%s), so ponte gives up on it before",
				w.now().Sub(raw.Time).Round(time.Minute), w.topo.InputMaxAge)}
		})
		raw = w.firstUnsettled(ctx, info, raw.Sequence+1)
	}
}
