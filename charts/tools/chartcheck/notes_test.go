package chartcheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// renderNotes renders templates/NOTES.txt, which helm template leaves out, through a copy of the chart that
// carries it in a ConfigMap.
func renderNotes(t *testing.T, withCRDs bool, files ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ponte")
	if err := os.CopyFS(dir, os.DirFS(chartDir)); err != nil {
		t.Fatal(err)
	}
	notes, err := os.ReadFile(filepath.Join(dir, "templates", "NOTES.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "files", "notes.txt"), notes, 0o600); err != nil {
		t.Fatal(err)
	}
	show := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes}\ndata:\n  notes: {{ tpl (.Files.Get \"files/notes.txt\") . | toJson }}\n"
	if err := os.WriteFile(filepath.Join(dir, "templates", "zz-notes.yaml"), []byte(show), 0o600); err != nil {
		t.Fatal(err)
	}
	args := templateArgs(withCRDs, []string{"--show-only", "templates/zz-notes.yaml"}, files...)
	args[2] = dir
	out, errOut, err := helm(t, args...)
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, errOut)
	}
	return one[*corev1.ConfigMap](t, rendered{objs: decodeAll(t, out)}, "ConfigMap", "notes").Data["notes"]
}

// TestNotes: the install's notes give the ponte dlq command with the NATS files as mounted, say where the spans go,
// and warn when an object that was asked for is left out because the cluster lacks its API, or when the tracing
// Secrets are set while tracing is off.
func TestNotes(t *testing.T) {
	kedaNATS := []string{filepath.Join(ciDir, "keda-values.yaml"), filepath.Join(ciDir, "nats-creds-tls-values.yaml")}
	tracingOff := filepath.Join(t.TempDir(), "tracing-off.yaml")
	if err := os.WriteFile(tracingOff, []byte("tracing: {headers: {existingSecret: ponte-otlp-headers}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		files    []string
		withCRDs bool
		want     []string
		wantNot  []string
	}{
		{"APIs served", kedaNATS, true, []string{"it consumes hr-events on the stream HR_EVENTS",
			"dlq list --summary --nats tls://nats.nats.svc.cluster.local:4222 --creds /etc/nats/creds/ponte.creds --tls-ca /etc/nats/tls/ca.crt --tls-cert /etc/nats/tls/tls.crt --tls-key /etc/nats/tls/tls.key"},
			[]string{"WARNING", "Tracing"}},
		{"no KEDA", kedaNATS, false, []string{"WARNING: keda.enabled is set, but the cluster does not serve keda.sh/v1alpha1"}, nil},
		{"tracing on", []string{filepath.Join(ciDir, "tracing-values.yaml")}, false,
			[]string{"Tracing: spans go over OTLP/HTTP to https://otel-collector.observability.svc.cluster.local:4318/v1/traces"}, []string{"WARNING"}},
		{"tracing Secrets, tracing off", []string{filepath.Join(ciDir, "minimal-values.yaml"), tracingOff}, false,
			[]string{"WARNING: tracing.headers or tracing.tls is set, but config.tracing.enabled is not"}, []string{"Tracing:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			notes := renderNotes(t, tc.withCRDs, tc.files...)
			for _, w := range tc.want {
				if !strings.Contains(notes, w) {
					t.Errorf("notes lack %q:\n%s", w, notes)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(notes, w) {
					t.Errorf("notes have %q:\n%s", w, notes)
				}
			}
		})
	}
}
