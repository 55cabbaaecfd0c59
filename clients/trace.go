package clients

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// TracerName is the instrumentation scope of the Endpoints' request spans.
const TracerName = "github.com/ponte-dev/ponte/clients"

// propagate sets the W3C Trace Context headers (traceparent, tracestate) of a request to the span context of ctx:
// the request's span when the Endpoint records spans, else whatever ctx carries (the input event's context, as the
// events worker puts it there). A ctx without one sets nothing.
func propagate(ctx context.Context, h http.Header) {
	propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(h))
}

// tracedRoundTrip is roundTrip inside a client span, child of the span in ctx, when the Endpoint has a tracer: the
// span's name is the method, its attributes those of OpenTelemetry's HTTP client conventions (the URL without its
// query, which may carry a CPF or a credential, and with CPF numbers and e-mail addresses in the path masked) plus
// the target, tenant and operation.
func (e *Endpoint) tracedRoundTrip(ctx context.Context, req Request) (*Response, error) {
	if e.tracer == nil {
		return e.roundTrip(ctx, req)
	}
	attrs := []attribute.KeyValue{
		semconv.HTTPRequestMethodKey.String(req.Method),
		attribute.String("ponte.target", e.target),
		attribute.String("ponte.operation", req.Operation),
	}
	if req.Tenant != "" {
		attrs = append(attrs, attribute.String("ponte.tenant", req.Tenant))
	}
	if pu, err := url.Parse(e.resolve(req.Path)); err == nil {
		attrs = append(attrs, semconv.URLFull(MaskPersonal(redactedURL(pu))), semconv.ServerAddress(pu.Hostname()))
		if port, err := strconv.Atoi(pu.Port()); err == nil {
			attrs = append(attrs, semconv.ServerPort(port))
		}
	}
	ctx, span := e.tracer.Start(ctx, req.Method, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	defer span.End()
	resp, err := e.roundTrip(ctx, req)
	status := HTTPStatus(err)
	if resp != nil {
		status = resp.Status
	}
	if status != 0 {
		span.SetAttributes(semconv.HTTPResponseStatusCode(status))
	}
	if err != nil {
		span.SetAttributes(semconv.ErrorTypeKey.String(errorType(ctx, err, status)))
		span.SetStatus(codes.Error, MaskPersonal(err.Error()))
	}
	return resp, err
}

// errorType is the error.type of a failed request: the status code of an answer, else what kind of failure it was.
func errorType(ctx context.Context, err error, status int) string {
	var te *TransportError
	switch {
	case status != 0:
		return strconv.Itoa(status)
	case ctx.Err() != nil:
		return "canceled"
	case errors.As(err, &te):
		return "transport_error" // no answer, or one that could not be read
	}
	return "bad_response"
}
