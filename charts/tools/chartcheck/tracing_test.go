package chartcheck

import (
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// tracingDir is where the chart mounts the collector's Secrets.
const tracingDir = "/etc/ponte/tracing/"

// checkTracing (ci/tracing-values.yaml): the headers Secret and the cert-manager Secret are mounted read-only and
// whole, the configuration's tracing files point into them, the other tracing keys pass through, the spans' flush
// budget comes from shutdown, and the NetworkPolicy lets the pods reach the collector on the endpoint's port only.
func checkTracing(t *testing.T, r rendered, c ponteConfig) {
	wantFiles(t, c, "tracing.", map[string]string{
		"tracing.headersFile":  "/etc/ponte/tracing/headers/otlp-headers",
		"tracing.tls.certFile": "/etc/ponte/tracing/tls/tls.crt",
		"tracing.tls.keyFile":  "/etc/ponte/tracing/tls/tls.key",
		"tracing.tls.caFile":   "/etc/ponte/tracing/tls/ca.crt",
	})
	wantSecretVolumes(t, r, map[string]string{"/etc/ponte/tracing/headers": "ponte-otlp-headers", "/etc/ponte/tracing/tls": "ponte-otel-client-tls"})
	ctr := one[*appsv1.Deployment](t, r, "Deployment", "").Spec.Template.Spec.Containers[0]
	n := 0
	for _, m := range ctr.VolumeMounts {
		if strings.HasPrefix(m.MountPath, tracingDir) {
			n++
			if !m.ReadOnly || m.SubPath != "" || m.SubPathExpr != "" {
				t.Errorf("mount %s at %s: readOnly %v, subPath %q: want a read-only directory (ponte reads the headers again when they change)",
					m.Name, m.MountPath, m.ReadOnly, m.SubPath+m.SubPathExpr)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d mounts under %s, want 2 (headers, tls: the CA is the client certificate's Secret's)", n, tracingDir)
	}
	for path, want := range map[string]any{"tracing.enabled": true, "tracing.sampleRatio": 0.25, "tracing.serviceName": "ponte-prod",
		"tracing.timeout": "15s", "tracing.shutdownTimeout": "8s",
		"tracing.endpoint": "https://otel-collector.observability.svc.cluster.local:4318/v1/traces"} {
		if got, _ := lookup(c.tree, path); got != want {
			t.Errorf("%s: %v, want %v", path, got, want)
		}
	}
	if c.Tracing.ShutdownTimeout != 8*time.Second {
		t.Errorf("tracing.shutdownTimeout %s, want 8s from shutdown.tracingShutdownTimeoutSeconds", c.Tracing.ShutdownTimeout)
	}
	if kinds := r.kinds(); kinds["Secret"] != 0 {
		t.Errorf("%d Secrets rendered: the headers come from an existing one", kinds["Secret"])
	}

	np := one[*networkingv1.NetworkPolicy](t, r, "NetworkPolicy", "ponte")
	if got, want := egressPorts(np), []string{"4222/TCP", "4318/TCP", "443/TCP", "53/TCP,53/UDP"}; !reflect.DeepEqual(got, want) {
		t.Errorf("egress rules by ports %v, want %v", got, want)
	}
	want := []metav1.LabelSelector{
		{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "observability"}},
		{MatchLabels: map[string]string{"app.kubernetes.io/name": "opentelemetry-collector"}},
	}
	for _, e := range np.Spec.Egress {
		if ruleKey(e) == "4318/TCP" && (len(e.To) != 1 || e.To[0].NamespaceSelector == nil || e.To[0].PodSelector == nil ||
			!reflect.DeepEqual([]metav1.LabelSelector{*e.To[0].NamespaceSelector, *e.To[0].PodSelector}, want)) {
			t.Errorf("the collector's egress rule goes to %+v, want the collector's pods in observability", e.To)
		}
	}
}

// ruleKey names an egress rule by its ports: "4318/TCP", "53/TCP,53/UDP".
func ruleKey(e networkingv1.NetworkPolicyEgressRule) string {
	var ports []string
	for _, p := range e.Ports {
		ports = append(ports, fmt.Sprintf("%s/%s", p.Port.String(), *p.Protocol))
	}
	slices.Sort(ports)
	return strings.Join(ports, ",")
}

// egressPorts returns the keys of the NetworkPolicy's egress rules, sorted.
func egressPorts(np *networkingv1.NetworkPolicy) []string {
	var keys []string
	for _, e := range np.Spec.Egress {
		keys = append(keys, ruleKey(e))
	}
	slices.Sort(keys)
	return keys
}

// TestTracingEgress: with tracing and the NetworkPolicy on, the pods may reach the collector on the endpoint's
// port (that of its scheme when it names none) or on the ports given; with tracing off there is no such rule.
func TestTracingEgress(t *testing.T) {
	base := filepath.Join(ciDir, "minimal-values.yaml")
	tests := []struct {
		name  string
		set   []string
		ports string // "" : no rule to the collector
	}{
		{"the endpoint's port", []string{"config.tracing.endpoint=http://otel-collector.observability:4318/v1/traces"}, "4318/TCP"},
		{"https without a port", []string{"config.tracing.endpoint=https://otlp.vendor.example.com"}, "443/TCP"},
		{"http without a port", []string{"config.tracing.endpoint=http://otel-collector.observability/v1/traces"}, "80/TCP"},
		{"an IPv6 address", []string{"config.tracing.endpoint=http://[fd00::10]:4318"}, "4318/TCP"},
		{"ports given", []string{"config.tracing.endpoint=http://otel-collector.observability:4318", "networkPolicy.egress.tracing.ports={4317,4318}"}, "4317/TCP,4318/TCP"},
		{"tracing off", []string{"config.tracing.enabled=false", "config.tracing.endpoint=http://otel-collector.observability:4318"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			extra := []string{"--set", "networkPolicy.enabled=true", "--set", "config.tracing.enabled=true"}
			for _, s := range tc.set {
				extra = append(extra, "--set", s)
			}
			np := one[*networkingv1.NetworkPolicy](t, render(t, false, extra, base), "NetworkPolicy", "ponte")
			want := []string{"4222/TCP", "443/TCP", "53/TCP,53/UDP"}
			if tc.ports != "" {
				want = append(want, tc.ports)
			}
			slices.Sort(want)
			if got := egressPorts(np); !reflect.DeepEqual(got, want) {
				t.Errorf("egress rules by ports %v, want %v", got, want)
			}
		})
	}
}

// TestShutdownBudget: the grace period must cover both drains, ponte's 6 s of other waits, a 4 s margin, and with
// tracing on the spans' flush (shutdown.tracingShutdownTimeoutSeconds), which the chart writes into
// tracing.shutdownTimeout, so that the two cannot disagree.
func TestShutdownBudget(t *testing.T) {
	base := filepath.Join(ciDir, "minimal-values.yaml")
	on := []string{"config.tracing.enabled=true", "config.tracing.endpoint=http://otel-collector.observability:4318"}
	tests := []struct {
		name  string
		set   []string
		least int // 0: accepted
	}{
		{"off, the drains exactly", []string{"shutdown.terminationGracePeriodSeconds=45"}, 0},
		{"off, a second short", []string{"shutdown.terminationGracePeriodSeconds=44"}, 45},
		{"on, the drains only", append([]string{"shutdown.terminationGracePeriodSeconds=45"}, on...), 50},
		{"on, the drains and the flush", append([]string{"shutdown.terminationGracePeriodSeconds=50"}, on...), 0},
		{"on, a longer flush", append([]string{"shutdown.terminationGracePeriodSeconds=50", "shutdown.tracingShutdownTimeoutSeconds=20"}, on...), 65},
		{"on, a longer flush covered", append([]string{"shutdown.terminationGracePeriodSeconds=65", "shutdown.tracingShutdownTimeoutSeconds=20"}, on...), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var extra []string
			for _, s := range tc.set {
				extra = append(extra, "--set", s)
			}
			out, errOut, err := helm(t, templateArgs(false, extra, base)...)
			if tc.least > 0 {
				want := fmt.Sprintf("set it to at least %d", tc.least)
				if err == nil || !strings.Contains(errOut, "shutdown.terminationGracePeriodSeconds: ") || !strings.Contains(errOut, want) {
					t.Fatalf("helm template: %v, want an error naming shutdown.terminationGracePeriodSeconds and %q:\n%s", err, want, errOut)
				}
				if slices.Contains(tc.set, on[0]) && !strings.Contains(errOut, "shutdown.tracingShutdownTimeoutSeconds") {
					t.Errorf("the error does not name shutdown.tracingShutdownTimeoutSeconds:\n%s", errOut)
				}
				return
			}
			if err != nil {
				t.Fatalf("helm template: %v\n%s", err, errOut)
			}
			r := rendered{objs: decodeAll(t, out)}
			c := parsePonteConfig(t, one[*corev1.ConfigMap](t, r, "ConfigMap", "ponte").Data["ponte.yaml"])
			grace := *one[*appsv1.Deployment](t, r, "Deployment", "").Spec.Template.Spec.TerminationGracePeriodSeconds
			stop := c.Worker.DrainTimeout + c.NATS.DrainTimeout + ponteShutdownOverhead
			if c.Tracing.Enabled {
				stop += c.Tracing.ShutdownTimeout
			}
			if time.Duration(grace)*time.Second <= stop {
				t.Errorf("grace period %ds, but ponte may take %s to stop", grace, stop)
			}
		})
	}
}

// TestTracingOff: the tracing Secrets are neither mounted nor written into the configuration while
// config.tracing.enabled is off (ponte would not read them, and a Secret not made yet would keep the pods from
// starting).
func TestTracingOff(t *testing.T) {
	r := render(t, false, []string{"--set", "tracing.headers.existingSecret=ponte-otlp-headers", "--set", "tracing.tls.caSecretName=otel-ca",
		"--set", "config.tracing.endpoint=https://otel-collector.observability:4318"}, filepath.Join(ciDir, "minimal-values.yaml"))
	c := parsePonteConfig(t, one[*corev1.ConfigMap](t, r, "ConfigMap", "ponte").Data["ponte.yaml"])
	wantFiles(t, c, "tracing.", map[string]string{})
	for _, m := range one[*appsv1.Deployment](t, r, "Deployment", "").Spec.Template.Spec.Containers[0].VolumeMounts {
		if strings.HasPrefix(m.MountPath, tracingDir) {
			t.Errorf("%s is mounted at %s with tracing off", m.Name, m.MountPath)
		}
	}
}
