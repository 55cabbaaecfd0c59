package events

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/extensions"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/ponte-dev/ponte/clients"
)

// Tracing. An event's trace context is the CloudEvents distributed-tracing extension, traceparent and tracestate,
// as the W3C Trace Context defines them. Without a TracerProvider (Options) the worker records nothing and only
// carries the input's context along: to every HTTP request the handler makes (the clients inject it) and into the
// result or dead letter. With one, every delivery is a consumer span, child of the input's context (or the root
// of a new trace), every step a span under it, and the outputs carry the delivery's span.

// TracerName is the instrumentation scope of the worker's spans.
const TracerName = "github.com/ponte-dev/ponte/events"

// traceCarrier is a propagation.TextMapCarrier over the distributed-tracing extension of an event.
type traceCarrier struct {
	ext *extensions.DistributedTracingExtension
}

// Get returns the value of the extension key ("traceparent" or "tracestate"), "" for any other.
func (c traceCarrier) Get(key string) string {
	switch key {
	case extensions.TraceParentExtension:
		return c.ext.TraceParent
	case extensions.TraceStateExtension:
		return c.ext.TraceState
	}
	return ""
}

// Set sets the extension key ("traceparent" or "tracestate"); any other is ignored.
func (c traceCarrier) Set(key, value string) {
	switch key {
	case extensions.TraceParentExtension:
		c.ext.TraceParent = value
	case extensions.TraceStateExtension:
		c.ext.TraceState = value
	}
}

// Keys returns the two extension names.
func (c traceCarrier) Keys() []string {
	return []string{extensions.TraceParentExtension, extensions.TraceStateExtension}
}

var _ propagation.TextMapCarrier = traceCarrier{}

// traceContextOf returns the span context of ev's traceparent and tracestate extensions, marked remote. It is not
// valid (IsValid false) when ev has no traceparent, or one that is not a string or not a valid W3C traceparent:
// such a context is ignored, and the event is processed as one without. A tracestate that does not parse is
// dropped, the traceparent kept (as the W3C Trace Context requires). It allocates nothing for an event without a
// traceparent.
func traceContextOf(ev *event.Event) trace.SpanContext {
	v, ok := Extension(ev, extensions.TraceParentExtension)
	if !ok {
		return trace.SpanContext{}
	}
	tp, ok := v.(string)
	if !ok {
		return trace.SpanContext{}
	}
	ext := extensions.DistributedTracingExtension{TraceParent: tp}
	if v, ok := Extension(ev, extensions.TraceStateExtension); ok {
		ext.TraceState, _ = v.(string)
	}
	ctx := propagation.TraceContext{}.Extract(context.Background(), traceCarrier{&ext})
	return trace.SpanContextFromContext(ctx)
}

// setTraceContext sets ev's traceparent and tracestate extensions to sc; nothing when sc is not valid.
func setTraceContext(ev *event.Event, sc trace.SpanContext) {
	if !sc.IsValid() {
		return
	}
	var ext extensions.DistributedTracingExtension
	propagation.TraceContext{}.Inject(trace.ContextWithSpanContext(context.Background(), sc), traceCarrier{&ext})
	// As ext.AddTracingAttributes(ev) does, without its reflection.
	ev.SetExtension(extensions.TraceParentExtension, ext.TraceParent)
	if ext.TraceState != "" {
		ev.SetExtension(extensions.TraceStateExtension, ext.TraceState)
	}
}

// withTrace returns ctx carrying the delivery's trace context: its span when the worker records spans, else the
// input's context as a remote parent (nothing when it has none), so that the clients send it on.
func (d *delivery) withTrace(ctx context.Context) context.Context {
	switch {
	case d.span != nil:
		return trace.ContextWithSpan(ctx, d.span)
	case d.trace.IsValid():
		return trace.ContextWithRemoteSpanContext(ctx, d.trace)
	}
	return ctx
}

// startTrace reads the trace context of the delivery's event, once it is decoded (a message that is not a
// CloudEvent has none), and, when the worker records spans, starts the delivery's span at its start: a consumer
// span, child of that context, or the root of a new trace. The trace and span ids join the delivery's log lines.
func (w *Worker) startTrace(ctx context.Context, d *delivery) {
	var parent trace.SpanContext
	if d.ref.ev != nil {
		parent = traceContextOf(d.ref.ev)
	}
	d.trace = parent
	if w.tracer != nil {
		if parent.IsValid() {
			ctx = trace.ContextWithRemoteSpanContext(ctx, parent)
		}
		_, d.span = w.tracer.Start(ctx, w.spanNames[d.typ], trace.WithSpanKind(trace.SpanKindConsumer),
			trace.WithTimestamp(d.start), trace.WithAttributes(w.spanAttributes(d)...))
		d.trace = d.span.SpanContext()
	}
	if d.trace.IsValid() {
		d.logAttrs = append(d.logAttrs, "trace_id", d.trace.TraceID().String(), "span_id", d.trace.SpanID().String())
	}
}

// spanAttributes are the attributes of a delivery's span known when it starts (OpenTelemetry's messaging and
// CloudEvents semantic conventions).
func (w *Worker) spanAttributes(d *delivery) []attribute.KeyValue {
	attrs := []attribute.KeyValue{
		semconv.MessagingSystemKey.String("nats"),
		semconv.MessagingOperationTypeProcess,
		semconv.MessagingOperationName("process"),
		semconv.MessagingDestinationName(d.msg.Subject()),
		semconv.MessagingConsumerGroupName(w.topo.EventsConsumer()),
		semconv.MessagingMessageBodySize(len(d.msg.Data())),
	}
	if d.meta != nil {
		attrs = append(attrs, attribute.Int64("ponte.stream_sequence", int64(d.meta.Sequence.Stream)),
			attribute.Int64("ponte.delivery", int64(d.meta.NumDelivered)))
	}
	if d.ref.known() {
		attrs = append(attrs, semconv.CloudEventsEventID(d.ref.id), semconv.MessagingMessageID(d.ref.id))
	}
	if ev := d.ref.ev; ev != nil {
		attrs = append(attrs, semconv.CloudEventsEventSource(ev.Source()), semconv.CloudEventsEventType(ev.Type()),
			semconv.CloudEventsEventSpecVersion(ev.SpecVersion()))
		if s := ev.Subject(); s != "" {
			attrs = append(attrs, semconv.CloudEventsEventSubject(s))
		}
	}
	return attrs
}

// endTrace ends the delivery's span, if it has one, with its outcome: the ponte.outcome attribute (the outcome label
// of ponte_events_processed_total), the dead letter's reason, and an error status for a dead letter, a retry
// (an attempt spent) and a failed settlement.
func (w *Worker) endTrace(d *delivery) {
	if d.span == nil {
		return
	}
	d.span.SetAttributes(attribute.String("ponte.outcome", d.settled))
	if d.reason != "" {
		d.span.SetAttributes(attribute.String("ponte.dead_letter.reason", d.reason))
	}
	if d.nakDelay > 0 {
		d.span.SetAttributes(attribute.Float64("ponte.retry_in_seconds", d.nakDelay.Seconds()))
	}
	switch d.settled {
	case OutcomeDeadLetter, OutcomeRetry, OutcomeError:
		d.span.SetStatus(codes.Error, d.failure)
	}
	d.span.End()
}

// stepSpan starts the span of a step, child of the delivery's span in ctx.
func (j *journal) stepSpan(ctx context.Context, spec StepSpec) (context.Context, trace.Span) {
	attrs := []attribute.KeyValue{attribute.String("ponte.step.target", spec.Target), attribute.String("ponte.step.operation", spec.Operation)}
	if spec.Item != "" {
		attrs = append(attrs, attribute.String("ponte.step.item", spec.Item))
	}
	return j.tracer.Start(ctx, "step "+spec.Target+"."+spec.Operation, trace.WithAttributes(attrs...))
}

// endStepSpan ends a step's span with what the step did: its status and ids, or its error (CPF numbers masked).
func endStepSpan(span trace.Span, o StepOutcome, err error) {
	if err != nil {
		span.SetStatus(codes.Error, clients.MaskPersonal(err.Error()))
	} else {
		span.SetAttributes(attribute.String("ponte.step.status", o.Status))
		for name, id := range o.IDs {
			span.SetAttributes(attribute.Int64("ponte.step.ids."+name, id))
		}
		if o.Detail != "" {
			span.SetAttributes(attribute.String("ponte.step.detail", clients.MaskPersonal(o.Detail)))
		}
	}
	span.End()
}

// spanName is the name of the span of a delivery of type typ: "process person.hired".
func spanName(typ string) string { return "process " + typ }
