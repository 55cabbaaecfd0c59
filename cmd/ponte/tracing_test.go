package main

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/ponte-dev/ponte/clients"
)

// tracingYAML is the example configuration with its tracing block replaced by block.
func tracingYAML(t *testing.T, block string) string {
	t.Helper()
	example := readExampleConfig(t)
	start := strings.Index(example, "\ntracing:")
	end := strings.Index(example, "\nbreakers:")
	if start < 0 || end < start {
		t.Fatal("the example configuration has no tracing block before breakers")
	}
	return example[:start+1] + block + "\n" + example[end:]
}

// TestTracingConfig checks the tracing keys: their defaults, an explicit sampleRatio of 0, the environment, and
// every rejection naming its key; the endpoint and files are checked only when tracing is enabled.
func TestTracingConfig(t *testing.T) {
	headers := secretFile(t, "# the collector's key\nX-Api-Key: s3cr3t")
	badHeaders := secretFile(t, "Authorization Bearer s3cr3t")
	comments := secretFile(t, "# nothing but comments")
	missing := filepath.Join(t.TempDir(), "missing")
	tests := []struct {
		name  string
		block string
		env   map[string]string
		check func(t *testing.T, c TracingConfig)
		want  string // a substring of the error; "" for valid
	}{
		{name: "the example's, off", block: "tracing:\n  enabled: false\n  endpoint: http://127.0.0.1:4318/v1/traces",
			check: func(t *testing.T, c TracingConfig) {
				if c.Enabled || *c.SampleRatio != 1 || c.ServiceName != "ponte" || c.Timeout != 10*time.Second || c.ShutdownTimeout != 5*time.Second {
					t.Errorf("defaults: %+v (sampleRatio %v)", c, *c.SampleRatio)
				}
			}},
		{name: "no block at all", block: "", check: func(t *testing.T, c TracingConfig) {
			if c.Enabled || c.SampleRatio == nil || *c.SampleRatio != 1 {
				t.Errorf("defaults: %+v", c)
			}
		}},
		{name: "off with files that do not exist", block: "tracing:\n  headersFile: " + missing + "\n  tls: {caFile: " + missing + "}"},
		{name: "on", block: "tracing:\n  enabled: true\n  endpoint: https://collector.example:4318\n  headersFile: " + headers + "\n  sampleRatio: 0\n  serviceName: ponte-staging",
			check: func(t *testing.T, c TracingConfig) {
				if !c.Enabled || *c.SampleRatio != 0 || c.ServiceName != "ponte-staging" {
					t.Errorf("tracing: %+v (sampleRatio %v), want an explicit 0 kept", c, *c.SampleRatio)
				}
			}},
		{name: "from the environment", block: "",
			env: map[string]string{"PONTE_TRACING_ENABLED": "true", "PONTE_TRACING_ENDPOINT": "http://127.0.0.1:4318",
				"PONTE_TRACING_SAMPLE_RATIO": "0.25", "PONTE_TRACING_SHUTDOWN_TIMEOUT": "2s", "PONTE_TRACING_HEADERS_FILE": headers},
			check: func(t *testing.T, c TracingConfig) {
				if !c.Enabled || c.Endpoint != "http://127.0.0.1:4318" || *c.SampleRatio != 0.25 || c.ShutdownTimeout != 2*time.Second || c.HeadersFile != headers {
					t.Errorf("tracing: %+v (sampleRatio %v)", c, *c.SampleRatio)
				}
			}},
		{name: "enabled without endpoint", block: "tracing: {enabled: true}", want: "tracing.endpoint: required when tracing.enabled is true"},
		{name: "endpoint without scheme", block: "tracing: {enabled: true, endpoint: 'collector:4318'}", want: `tracing.endpoint: "collector:4318" is not an absolute http(s) URL`},
		{name: "endpoint of another scheme", block: "tracing: {enabled: true, endpoint: 'grpc://collector:4317'}", want: "tracing.endpoint: "},
		{name: "credentials in the endpoint", block: "tracing: {enabled: true, endpoint: 'https://u:hunter2@collector'}",
			want: "tracing.endpoint: must not carry credentials; put them in tracing.headersFile"},
		{name: "query in the endpoint", block: "tracing: {enabled: true, endpoint: 'https://collector/v1/traces?key=hunter2'}",
			want: "tracing.endpoint: must not have a query or fragment"},
		{name: "TLS files with a plain-text endpoint", block: "tracing: {enabled: true, endpoint: 'http://collector', tls: {caFile: " + headers + "}}",
			want: "tracing.tls: set for the plain-text endpoint"},
		{name: "certFile without keyFile", block: "tracing: {tls: {certFile: " + headers + "}}", want: "tracing.tls.keyFile: certFile and keyFile go together"},
		{name: "sample ratio above 1", block: "tracing: {sampleRatio: 1.5}", want: "tracing.sampleRatio: 1.5 is not between 0 and 1"},
		{name: "negative sample ratio", block: "tracing: {sampleRatio: -0.1}", want: "tracing.sampleRatio: -0.1 is not between 0 and 1"},
		{name: "negative timeout", block: "tracing: {timeout: -1s}", want: "tracing.timeout: must not be negative"},
		{name: "negative shutdown timeout", block: "tracing: {shutdownTimeout: -1s}", want: "tracing.shutdownTimeout: must not be negative"},
		{name: "missing headers file", block: "tracing: {enabled: true, endpoint: 'http://collector', headersFile: " + missing + "}",
			want: "tracing.headersFile: stat " + missing},
		{name: "headers file with a line that is no header", block: "tracing: {enabled: true, endpoint: 'http://collector', headersFile: " + badHeaders + "}",
			want: "tracing.headersFile: line 1: not a header, want Name: value"},
		{name: "headers file with no header", block: "tracing: {enabled: true, endpoint: 'http://collector', headersFile: " + comments + "}",
			want: "tracing.headersFile: no header in the file"},
		{name: "missing CA file", block: "tracing: {enabled: true, endpoint: 'https://collector', tls: {caFile: " + missing + "}}",
			want: "tracing.tls.caFile: stat " + missing},
		{name: "unknown key", block: "tracing:\n  sampleRate: 0.5", want: `unknown key "sampleRate" in tracing (known keys: enabled, endpoint, headersFile, tls, sampleRatio,`},
		{name: "environment value that is not a number", block: "", env: map[string]string{"PONTE_TRACING_SAMPLE_RATIO": "half"},
			want: `PONTE_TRACING_SAMPLE_RATIO: "half" is not a number`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseConfig("ponte.yaml", []byte(tracingYAML(t, tc.block)), envOf(tc.env), environOf(tc.env))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("parseConfig: %v", err)
				}
				if tc.check != nil {
					tc.check(t, cfg.Tracing)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("parseConfig: error %v, want one containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("the error shows a secret: %v", err)
			}
		})
	}
}

// otlpExport is one export an otlpReceiver received.
type otlpExport struct {
	path   string
	header http.Header
	req    *coltracepb.ExportTraceServiceRequest
}

// otlpReceiver is a hand-written OTLP/HTTP traces endpoint (protobuf, gzip or not). With block set, it answers
// nothing until block is closed.
type otlpReceiver struct {
	t     *testing.T
	block chan struct{}

	mu      sync.Mutex
	exports []otlpExport
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if o.block != nil {
		select {
		case <-o.block:
		case <-r.Context().Done():
		}
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = gz
	}
	b, err := io.ReadAll(body)
	var req coltracepb.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(b, &req)
	}
	if err != nil {
		o.t.Errorf("OTLP receiver: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	o.exports = append(o.exports, otlpExport{r.URL.Path, r.Header.Clone(), &req})
	o.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}

func (o *otlpReceiver) received() []otlpExport {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]otlpExport(nil), o.exports...)
}

// spanNames returns the names of the spans of an export, and its resource's service.name and service.version.
func (e otlpExport) spans() (names []string, service, version string) {
	for _, rs := range e.req.ResourceSpans {
		for _, kv := range rs.GetResource().GetAttributes() {
			switch kv.Key {
			case "service.name":
				service = kv.Value.GetStringValue()
			case "service.version":
				version = kv.Value.GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				names = append(names, s.Name)
			}
		}
	}
	return names, service, version
}

// exportOne records one span named name with tr and waits for its export.
func exportOne(t *testing.T, tr *tracing, name string) {
	t.Helper()
	_, span := tr.provider.Tracer("test").Start(context.Background(), name)
	span.End()
	if err := tr.provider.ForceFlush(context.Background()); err != nil {
		t.Fatalf("ForceFlush: %v", err)
	}
}

// TestTracingExport checks the exporter newTracing builds against a real HTTP endpoint: OTLP protobuf, gzip, the
// path /v1/traces added to an endpoint without one, the resource's service name and version, and the headers of
// headersFile, read again when the file changes and never logged.
func TestTracingExport(t *testing.T) {
	recv := &otlpReceiver{t: t}
	srv := httptest.NewServer(recv)
	t.Cleanup(srv.Close)
	headers := filepath.Join(t.TempDir(), "headers")
	if err := os.WriteFile(headers, []byte("# the collector's key\nX-Api-Key: first-key\n\nX-Tenant: ponte\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	cfg := TracingConfig{Enabled: true, Endpoint: srv.URL, HeadersFile: headers, ServiceName: "ponte-test"}.withDefaults()
	tr, err := newTracing(cfg, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	exportOne(t, tr, "first")
	if err := os.WriteFile(headers, []byte("X-Api-Key: second-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	exportOne(t, tr, "second")
	tr.shutdown()

	got := recv.received()
	if len(got) != 2 {
		t.Fatalf("%d exports received, want 2", len(got))
	}
	for i, want := range []struct{ span, key, tenant string }{{"first", "first-key", "ponte"}, {"second", "second-key", ""}} {
		e := got[i]
		names, service, ver := e.spans()
		if e.path != "/v1/traces" || e.header.Get("Content-Type") != "application/x-protobuf" || e.header.Get("Content-Encoding") != "gzip" {
			t.Errorf("export %d: path %q, Content-Type %q, Content-Encoding %q", i, e.path, e.header.Get("Content-Type"), e.header.Get("Content-Encoding"))
		}
		if e.header.Get("X-Api-Key") != want.key || e.header.Get("X-Tenant") != want.tenant {
			t.Errorf("export %d: X-Api-Key %q X-Tenant %q, want %q and %q", i, e.header.Get("X-Api-Key"), e.header.Get("X-Tenant"), want.key, want.tenant)
		}
		if len(names) != 1 || names[0] != want.span || service != "ponte-test" || ver != version {
			t.Errorf("export %d: spans %q of service %q version %q", i, names, service, ver)
		}
	}
	if l := logs.String(); strings.Contains(l, "first-key") || strings.Contains(l, "second-key") || !strings.Contains(l, `"endpoint":"`+srv.URL+`/v1/traces"`) {
		t.Errorf("logs show a header, or not the endpoint:\n%s", l)
	}
}

// TestTracingTLS checks an https endpoint: trusted through tracing.tls.caFile the export arrives; without it the
// export fails, and the failure is logged once at warn level, in the JSON log.
func TestTracingTLS(t *testing.T) {
	recv := &otlpReceiver{t: t}
	srv := httptest.NewUnstartedServer(recv)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes refused on purpose
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		caFile  string
		exports int
		warns   int
	}{
		{name: "trusted CA", caFile: ca, exports: 1},
		{name: "system CAs only", exports: 0, warns: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(recv.received())
			var logs syncBuffer
			cfg := TracingConfig{Enabled: true, Endpoint: srv.URL + "/v1/traces", TLS: TLSConfig{CAFile: tc.caFile}, Timeout: 2 * time.Second}.withDefaults()
			if err := cfg.validate(); err != nil {
				t.Fatal(err)
			}
			tr, err := newTracing(cfg, slog.New(slog.NewJSONHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			exportOne(t, tr, "a")
			exportOne(t, tr, "b")
			tr.shutdown()
			if n := len(recv.received()) - before; n != tc.exports*2 {
				t.Errorf("%d exports received, want %d", n, tc.exports*2)
			}
			if n := strings.Count(logs.String(), `"level":"WARN","msg":"tracing: spans could not be exported`); n != tc.warns {
				t.Errorf("%d warnings for two failed exports, want %d:\n%s", n, tc.warns, logs.String())
			}
		})
	}
}

// TestTracingShutdownIsBounded checks that the last step of a graceful stop, exporting the spans still queued,
// gives up after tracing.shutdownTimeout when the collector does not answer, saying so.
func TestTracingShutdownIsBounded(t *testing.T) {
	recv := &otlpReceiver{t: t, block: make(chan struct{})}
	srv := httptest.NewServer(recv)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(recv.block) }) // before srv.Close, which waits for the handlers
	var logs syncBuffer
	cfg := TracingConfig{Enabled: true, Endpoint: srv.URL, ShutdownTimeout: 300 * time.Millisecond, Timeout: 30 * time.Second}.withDefaults()
	tr, err := newTracing(cfg, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	_, span := tr.provider.Tracer("test").Start(context.Background(), "queued")
	span.End()
	start := time.Now()
	tr.shutdown()
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("shutdown took %s with a shutdownTimeout of 300ms", took)
	}
	if !strings.Contains(logs.String(), "tracing: the last spans could not all be exported") {
		t.Errorf("no warning about the spans left:\n%s", logs.String())
	}
}

// TestReadHeaders checks the format of a headers file, and that its errors name lines, never their content.
func TestReadHeaders(t *testing.T) {
	tests := []struct {
		name, content string
		want          http.Header
		err           string
	}{
		{name: "one", content: "Authorization: Bearer s3cr3t", want: http.Header{"Authorization": {"Bearer s3cr3t"}}},
		{name: "comments, blank lines, spaces, a colon in the value", content: "# key\n\n  x-api-key :  a:b:c  \r\nX-Tenant: t1\n",
			want: http.Header{"X-Api-Key": {"a:b:c"}, "X-Tenant": {"t1"}}},
		{name: "repeated", content: "X-A: 1\nX-A: 2", want: http.Header{"X-A": {"1", "2"}}},
		{name: "no colon", content: "X-A: 1\nAuthorization Bearer s3cr3t", err: "line 2: not a header"},
		{name: "empty value", content: "X-A:", err: "line 1: not a header"},
		{name: "name with a space", content: "X A: s3cr3t", err: "line 1: the header name is not an HTTP token"},
		{name: "empty file", content: "\n", err: "secret file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "headers")
			if err := os.WriteFile(p, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			h, err := readHeaders(clients.SecretFile(p))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "s3cr3t") {
					t.Fatalf("readHeaders: %v, want an error containing %q and no content", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(h) != len(tc.want) {
				t.Errorf("headers %v, want %v", h, tc.want)
			}
			for k, v := range tc.want {
				if strings.Join(h.Values(k), ",") != strings.Join(v, ",") {
					t.Errorf("%s = %q, want %q", k, h.Values(k), v)
				}
			}
		})
	}
}

// TestRunExportsSpans runs ponte run with tracing enabled from the environment against an OTLP receiver: the
// spans of an event (its delivery, its steps, its requests, in one trace) are exported when ponte stops, the last
// step of the graceful shutdown, and the event's log line names the trace.
func TestRunExportsSpans(t *testing.T) {
	srv, _, path, opsAddr := runFixture(t)
	recv := &otlpReceiver{t: t}
	collector := httptest.NewServer(recv)
	t.Cleanup(collector.Close)
	env := map[string]string{"PONTE_TRACING_ENABLED": "true", "PONTE_TRACING_ENDPOINT": collector.URL}

	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	var logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"run", "--config", path}, envOf(env), environOf(env), io.Discard, &logs)
	}()
	eventually(t, "/readyz 200", func() bool { code, _ := get("http://" + opsAddr + "/readyz"); return code == 200 })
	var out strings.Builder
	if err := run(ctx, []string{"publish", "person.hired", "--nats", srv.ClientURL(), "--id", "traced-1", "--data", "@../../examples/data/person.hired.json"},
		noEnv, noEnviron, &out, &out); err != nil {
		t.Fatalf("publish: %v %s", err, out.String())
	}
	eventually(t, "the event to be processed", func() bool { return strings.Contains(logs.String(), `"msg":"event processed"`) })
	if n := len(recv.received()); n != 0 {
		t.Logf("%d exports before the stop", n) // a batch may leave on its 5s timer on a slow machine
	}
	cancel(errors.New("terminated signal received"))
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}

	byTrace := map[string][]string{}
	for _, e := range recv.received() {
		if _, service, _ := e.spans(); service != "ponte" {
			t.Errorf("service.name %q, want ponte", service)
		}
		for _, rs := range e.req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					id := fmt.Sprintf("%x", s.TraceId)
					byTrace[id] = append(byTrace[id], s.Name)
				}
			}
		}
	}
	var line map[string]any
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, `"msg":"event processed"`) {
			_ = json.Unmarshal([]byte(l), &line)
		}
	}
	traceID, _ := line["trace_id"].(string)
	names := byTrace[traceID]
	slices.Sort(names)
	want := []string{"GET", "GET", "POST", "POST", "POST", "process person.hired", "step senior.add_role", "step senior.find_person", "step zeev.upsert_user"}
	if !slices.Equal(names, want) {
		t.Errorf("spans of the trace %q named in the log line: %q, want %q (all traces: %v)", traceID, names, want, byTrace)
	}
}
