package chartcheck

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Paths in the repository, from this package's directory.
const (
	repoRoot    = "../../.."
	chartDir    = "../../ponte"
	ciDir       = "../../ponte/ci"
	badDir      = "testdata/bad"
	releaseName = "ponte"
	namespace   = "integrations"
	kubeVersion = "1.31.0"
)

// capabilities are the --api-versions that make the CRD-gated templates render, as a cluster with KEDA and the
// Prometheus Operator reports them (group/version and group/version/kind).
func capabilities() []string {
	return []string{
		"keda.sh/v1alpha1", "keda.sh/v1alpha1/ScaledObject",
		"monitoring.coreos.com/v1", "monitoring.coreos.com/v1/ServiceMonitor", "monitoring.coreos.com/v1/PrometheusRule",
	}
}

// helm runs helm with args in the chart's directory's parent and returns its standard output and error.
func helm(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var cmd *exec.Cmd
	if bin := os.Getenv("PONTE_HELM"); bin != "" {
		cmd = exec.Command(bin, args...)
	} else {
		cmd = exec.Command("go", append([]string{"tool", "helm"}, args...)...)
	}
	// No user configuration, repositories or plugins of the machine's.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CONFIG_HOME="+home, "HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// templateArgs are the arguments of helm template for the values files, with the CRD APIs served or not.
func templateArgs(withCRDs bool, extra []string, files ...string) []string {
	args := []string{"template", releaseName, chartDir, "--namespace", namespace, "--kube-version", kubeVersion}
	if withCRDs {
		for _, c := range capabilities() {
			args = append(args, "--api-versions", c)
		}
	}
	for _, f := range files {
		args = append(args, "-f", f)
	}
	return append(args, extra...)
}

// buildPonte builds ponte from the repository's own module into dir and returns the binary's path.
func buildPonte(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "ponte")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/ponte")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/ponte: %v\n%s", err, out)
	}
	return bin
}

// object is one rendered manifest, decoded strictly.
type object struct {
	kind, name, namespace string
	obj                   k8sruntime.Object
	raw                   []byte
}

// decoder decodes the kinds the chart renders into their Go types, refusing unknown and duplicate fields.
func decoder(t *testing.T) k8sruntime.Decoder {
	t.Helper()
	s := k8sruntime.NewScheme()
	for _, add := range []func(*k8sruntime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, autoscalingv2.AddToScheme,
		policyv1.AddToScheme, networkingv1.AddToScheme, monitoringv1.AddToScheme, kedav1alpha1.AddToScheme} {
		if err := add(s); err != nil {
			t.Fatal(err)
		}
	}
	return serializer.NewCodecFactory(s, serializer.EnableStrict).UniversalDeserializer()
}

// decodeAll splits helm template's output into documents and decodes each one strictly.
func decodeAll(t *testing.T, manifest string) []object {
	t.Helper()
	dec := decoder(t)
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(manifest)))
	var objs []object
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading the manifests: %v", err)
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			t.Fatalf("not YAML: %v\n%s", err, doc)
		}
		if tm.Kind == "" {
			if len(bytes.TrimSpace(stripComments(doc))) > 0 {
				t.Fatalf("a document without kind:\n%s", doc)
			}
			continue
		}
		obj, _, err := dec.Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v\n%s", tm.Kind, err, doc)
		}
		m, ok := obj.(metav1.Object)
		if !ok {
			t.Fatalf("%s has no metadata", tm.Kind)
		}
		objs = append(objs, object{kind: tm.Kind, name: m.GetName(), namespace: m.GetNamespace(), obj: obj, raw: doc})
	}
	return objs
}

func stripComments(doc []byte) []byte {
	var out []byte
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out = append(out, line...)
		}
	}
	return out
}

// rendered is a chart rendering, by kind.
type rendered struct {
	objs []object
}

func (r rendered) kinds() map[string]int {
	n := map[string]int{}
	for _, o := range r.objs {
		n[o.kind]++
	}
	return n
}

// one returns the only object of kind (named name when name is not empty), failing the test otherwise.
func one[T k8sruntime.Object](t *testing.T, r rendered, kind, name string) T {
	t.Helper()
	var found []T
	for _, o := range r.objs {
		if o.kind == kind && (name == "" || o.name == name) {
			found = append(found, o.obj.(T))
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d objects of kind %s named %q, want 1", len(found), kind, name)
	}
	return found[0]
}

// render runs helm template and decodes its output; it fails the test if helm fails.
func render(t *testing.T, withCRDs bool, extra []string, files ...string) rendered {
	t.Helper()
	out, errOut, err := helm(t, templateArgs(withCRDs, extra, files...)...)
	if err != nil {
		t.Fatalf("helm template %v: %v\n%s", files, err, errOut)
	}
	return rendered{objs: decodeAll(t, out)}
}
