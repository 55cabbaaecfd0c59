package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/ponte-dev/ponte/clients"
)

// tracing is the tracer provider of a worker with tracing enabled, and how long its shutdown may take.
type tracing struct {
	provider        *sdktrace.TracerProvider
	shutdownTimeout time.Duration
	log             *slog.Logger
}

// newTracing returns the tracer provider cfg (enabled, with defaults, valid) describes: spans sampled by a
// parent-based sampler with cfg.SampleRatio for new traces, batched and exported over OTLP/HTTP (protobuf,
// gzip) to cfg.Endpoint, with the headers of cfg.HeadersFile and the TLS files of cfg.TLS. Every exporter setting
// is given here: the OTEL_EXPORTER_OTLP_* variables are not read. Export failures are logged by log (the first
// one of a series, and the recovery), never the headers. It contacts nothing until the first export.
func newTracing(cfg TracingConfig, log *slog.Logger) (*tracing, error) {
	endpoint := cfg.Endpoint
	if u, err := url.Parse(endpoint); err == nil && (u.Path == "" || u.Path == "/") {
		u.Path = "/v1/traces"
		endpoint = u.String()
	}
	transport, err := exportTransport(cfg)
	if err != nil {
		return nil, err
	}
	exp, err := otlptracehttp.New(context.Background(),
		otlptracehttp.WithEndpointURL(endpoint),
		otlptracehttp.WithHTTPClient(&http.Client{Transport: transport, Timeout: cfg.Timeout}),
		otlptracehttp.WithHeaders(nil), // ours come from headersFile, in the transport
		otlptracehttp.WithEncoding(otlptracehttp.EncodingProtobuf),
		otlptracehttp.WithCompression(otlptracehttp.GzipCompression),
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{
			Enabled: true, InitialInterval: time.Second, MaxInterval: 5 * time.Second, MaxElapsedTime: cfg.Timeout,
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	res := resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(cfg.ServiceName), semconv.ServiceVersion(version))
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(*cfg.SampleRatio))),
		sdktrace.WithBatcher(&reportingExporter{SpanExporter: exp, log: log, endpoint: endpoint},
			sdktrace.WithBatchTimeout(5*time.Second), sdktrace.WithExportTimeout(cfg.Timeout)),
	)
	log.Info("tracing on: spans exported over OTLP/HTTP", "endpoint", endpoint, "sample_ratio", *cfg.SampleRatio,
		"service_name", cfg.ServiceName)
	return &tracing{provider: tp, shutdownTimeout: cfg.ShutdownTimeout, log: log}, nil
}

// shutdown exports the spans still queued and stops the provider, within the shutdown timeout; spans not exported
// by then are dropped, with a warning.
func (t *tracing) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), t.shutdownTimeout)
	defer cancel()
	if err := t.provider.Shutdown(ctx); err != nil {
		t.log.Warn("tracing: the last spans could not all be exported", "timeout", t.shutdownTimeout, "err", err)
	}
}

// exportTransport is the HTTP transport of the exporter: its own, with the TLS files of cfg (a CA pool replacing
// the system's, a client certificate) and the headers of cfg.HeadersFile added to every request.
func exportTransport(cfg TracingConfig) (http.RoundTripper, error) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLS.CAFile != "" {
		pem, err := os.ReadFile(cfg.TLS.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tracing.tls.caFile: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tracing.tls.caFile: %s holds no PEM certificate", cfg.TLS.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	if cfg.TLS.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tracing.tls.certFile: %w", err)
		}
		tlsCfg.Certificates = []tls.Certificate{cert}
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	var rt http.RoundTripper = &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         dialer.DialContext,
		ForceAttemptHTTP2:   true,
		TLSClientConfig:     tlsCfg,
		TLSHandshakeTimeout: 5 * time.Second,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     90 * time.Second,
	}
	if cfg.HeadersFile != "" {
		rt = &headerTransport{next: rt, file: clients.SecretFile(cfg.HeadersFile)}
	}
	return rt, nil
}

// headerTransport adds the headers of a file to every request, read again when the file changes.
type headerTransport struct {
	next http.RoundTripper
	file *clients.Secret
}

// RoundTrip sends a copy of r with the file's headers set. A file that cannot be read or parsed fails the request,
// with an error that names the file and the line, not the content.
func (t *headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	h, err := readHeaders(t.file)
	if err != nil {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, fmt.Errorf("tracing.headersFile: %w", err)
	}
	r = r.Clone(r.Context())
	for k, v := range h {
		r.Header[k] = v
	}
	return t.next.RoundTrip(r)
}

// readHeaders reads the headers of a headers file: one "Name: value" per line, blank lines and lines starting with
// # skipped, names HTTP tokens, values not empty. Errors name the line, never its content.
func readHeaders(file *clients.Secret) (http.Header, error) {
	raw, err := file.Reveal()
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	for i, line := range strings.Split(raw, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		switch {
		case !ok || value == "":
			return nil, fmt.Errorf("line %d: not a header, want Name: value", i+1)
		case !isToken(name):
			return nil, fmt.Errorf("line %d: the header name is not an HTTP token (letters, digits and !#$%%&'*+-.^_`|~)", i+1)
		}
		h.Add(name, value)
	}
	if len(h) == 0 {
		return nil, errors.New("no header in the file")
	}
	return h, nil
}

// isToken says whether s is an HTTP token (RFC 9110): a header name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.ContainsRune("!#$%&'*+-.^_`|~", c):
		default:
			return false
		}
	}
	return true
}

// reportingExporter logs export failures itself: the first of a series at warn level, then, once an export works
// again, how many failed. It returns nil for a failure it logged, so that the batch processor does not hand it to
// OpenTelemetry's global error handler, which would print it outside the JSON log.
type reportingExporter struct {
	sdktrace.SpanExporter
	log      *slog.Logger
	endpoint string

	mu     sync.Mutex
	failed int // exports failed since the last that worked
}

// ExportSpans exports spans, logging a failure as above.
func (e *reportingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case err != nil:
		e.failed++
		if e.failed == 1 {
			e.log.Warn("tracing: spans could not be exported to the collector and are dropped; the next failures are counted until an export works",
				"endpoint", e.endpoint, "spans", len(spans), "err", err)
		}
	case e.failed > 0:
		e.log.Info("tracing: spans are exported again", "endpoint", e.endpoint, "failed_exports", e.failed)
		e.failed = 0
	}
	return nil
}
