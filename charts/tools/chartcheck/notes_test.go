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

// TestNotes: the install's notes give the ponte dlq command with the NATS files as mounted, and warn when an
// object that was asked for is left out because the cluster lacks its API.
func TestNotes(t *testing.T) {
	files := []string{filepath.Join(ciDir, "keda-values.yaml"), filepath.Join(ciDir, "nats-creds-tls-values.yaml")}
	tests := []struct {
		name     string
		withCRDs bool
		want     []string
		wantNot  []string
	}{
		{"APIs served", true, []string{"it consumes hr-events on the stream HR_EVENTS",
			"dlq list --summary --nats tls://nats.nats.svc.cluster.local:4222 --creds /etc/nats/creds/ponte.creds --tls-ca /etc/nats/tls/ca.crt --tls-cert /etc/nats/tls/tls.crt --tls-key /etc/nats/tls/tls.key"},
			[]string{"WARNING"}},
		{"no KEDA", false, []string{"WARNING: keda.enabled is set, but the cluster does not serve keda.sh/v1alpha1"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			notes := renderNotes(t, tc.withCRDs, files...)
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
