package events_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/prometheus/client_golang/prometheus"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ponte-dev/ponte/events"
	"github.com/ponte-dev/ponte/events/eventstest"
)

// BenchmarkDecodeBinary measures decoding one binary-mode CloudEvent from NATS headers.
func BenchmarkDecodeBinary(b *testing.B) {
	m := events.EncodeBinary("person.hired", newEvent("person.hired", "id-1", map[string]any{
		"person": map[string]string{"id": "E-1", "name": "Alan Cooper", "username": "alan.cooper", "email": "a@example.com", "cpf": "529.982.247-25"},
	}), "")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := events.Decode(m.Header, m.Data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncode measures encoding one event as a NATS message, the way results and dead letters are published
// (structured) and the way ponte publish sends inputs (binary).
func BenchmarkEncode(b *testing.B) {
	ev := newEvent("person.hired.processed", "ponte-result-1", map[string]any{
		"eventId": "id-1", "eventType": "person.hired", "completedAt": time.Now(),
		"steps": []map[string]any{{"target": "zeev", "operation": "upsert_user", "status": "done", "ids": map[string]int{"zeevUserId": 4324}}},
	})
	b.Run("structured", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := events.Encode("ponte.result.person.hired.ponte-result-1", ev, "ponte-result-1"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("binary", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = events.EncodeBinary("person.hired", ev, "id-1")
		}
	})
}

// BenchmarkWorkerThroughput pushes events through the whole pipeline on an embedded JetStream server: fetch,
// decode, ledger read, one recorded step, result publish with PubAck, ledger completion, ack. It reports
// events/s; the handler itself does no I/O, so this is ponte's own overhead per event.
func BenchmarkWorkerThroughput(b *testing.B) {
	for _, conc := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			benchmarkWorker(b, conc, "", nil)
		})
	}
}

// BenchmarkWorkerTracing is BenchmarkWorkerThroughput at concurrency 8 with events that carry a traceparent:
// tracing off (the context carried to the result), and on (a span per delivery and per step, sampled, exported in
// batches to an exporter that drops them), against events without one and tracing off.
func BenchmarkWorkerTracing(b *testing.B) {
	const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	b.Run("off/no-traceparent", func(b *testing.B) { benchmarkWorker(b, 8, "", nil) })
	b.Run("off/traceparent", func(b *testing.B) { benchmarkWorker(b, 8, tp, nil) })
	b.Run("on/traceparent", func(b *testing.B) {
		provider := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
		defer func() { _ = provider.Shutdown(context.Background()) }()
		benchmarkWorker(b, 8, tp, provider)
	})
}

// benchmarkWorker runs b.N events through a worker of concurrency conc, each with the traceparent tp (none if
// ""), with spans recorded by provider (nil: none).
func benchmarkWorker(b *testing.B, conc int, tp string, provider trace.TracerProvider) {
	_, js := eventstest.JetStream(b)
	var handled atomic.Int64
	h := events.HandlerFunc(func(ctx context.Context, ev event.Event) error {
		_, err := events.Step(ctx, events.StepSpec{Target: "zeev", Operation: "noop"}, func(context.Context) (events.StepOutcome, error) {
			handled.Add(1)
			return events.Done("id", 1), nil
		})
		return err
	})
	w, err := events.NewWorker(js, events.Topology{Manage: true}, events.Config{Concurrency: conc},
		[]events.Route{{Type: "person.hired", Handler: h}}, nil,
		events.Options{Logger: slog.New(slog.DiscardHandler), Registerer: prometheus.NewRegistry(), TracerProvider: provider})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	for !w.Ready() {
		time.Sleep(5 * time.Millisecond)
	}
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		ev := newEvent("person.hired", fmt.Sprint("bench-", i), map[string]string{"a": "b"})
		ev.SetSubject(fmt.Sprint("E-", i)) // one event per entity: none waits behind another
		if tp != "" {
			ev.SetExtension("traceparent", tp)
		}
		m := events.EncodeBinary("person.hired", ev, "")
		if _, err := js.PublishMsgAsync(m); err != nil {
			b.Fatal(err)
		}
	}
	<-js.PublishAsyncComplete()
	for handled.Load() < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	// Wait for the last results too (settled = result published).
	results, err := js.Stream(ctx, "PONTE_RESULTS")
	if err != nil {
		b.Fatal(err)
	}
	for {
		info, err := results.Info(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if info.State.Msgs >= uint64(b.N) {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	cancel()
	<-done
}
