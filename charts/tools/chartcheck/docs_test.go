package chartcheck

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestOperationsExample renders the chart with the values of docs/operations.md's install example, as written:
// it must pass the schema and the chart's checks and mount the Secrets it names; and again with its tracing
// example laid over it.
func TestOperationsExample(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```yaml\n(# ponte-values.yaml\n.*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatal("docs/operations.md has no ```yaml block starting with # ponte-values.yaml")
	}
	f := filepath.Join(t.TempDir(), "ponte-values.yaml")
	if err := os.WriteFile(f, m[1], 0o600); err != nil {
		t.Fatal(err)
	}
	r := render(t, true, nil, f)
	want := with(map[string]int{"Service": 1, "ServiceMonitor": 1, "PrometheusRule": 1, "PodDisruptionBudget": 1})
	if got := r.kinds(); !reflect.DeepEqual(got, want) {
		t.Errorf("kinds %v, want %v", got, want)
	}
	wantSecretVolumes(t, r, map[string]string{"/etc/ponte/credentials": "ponte-credentials", "/etc/nats/creds": "ponte-nats", "/etc/nats/ca": "nats-ca"})
	_ = one[*appsv1.Deployment](t, r, "Deployment", "ponte")

	// Tracing, as the chart section turns it on: its values laid over the example's.
	m = regexp.MustCompile("(?s)```yaml\n(# tracing-values.yaml\n.*?)```").FindSubmatch(b)
	if m == nil {
		t.Fatal("docs/operations.md has no ```yaml block starting with # tracing-values.yaml")
	}
	tf := filepath.Join(t.TempDir(), "tracing-values.yaml")
	if err := os.WriteFile(tf, m[1], 0o600); err != nil {
		t.Fatal(err)
	}
	r = render(t, true, nil, f, tf)
	wantSecretVolumes(t, r, map[string]string{"/etc/ponte/tracing/headers": "ponte-otlp-headers", "/etc/ponte/tracing/ca": "otel-ca"})
	c := parsePonteConfig(t, one[*corev1.ConfigMap](t, r, "ConfigMap", "ponte").Data["ponte.yaml"])
	if !c.Tracing.Enabled || c.Tracing.Endpoint == "" {
		t.Errorf("tracing %+v, want it on, with an endpoint", c.Tracing)
	}
	wantFiles(t, c, "tracing.", map[string]string{"tracing.headersFile": "/etc/ponte/tracing/headers/headers", "tracing.tls.caFile": "/etc/ponte/tracing/ca/ca.crt"})
}
