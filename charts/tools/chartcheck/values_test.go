package chartcheck

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	yamlv3 "gopkg.in/yaml.v3"

	"github.com/ponte-dev/ponte/events"
)

// ponteShutdownOverhead bounds what ponte waits on SIGTERM besides its two drain timeouts: the last pull
// (events.fetchWait, 1 s), handing the consumer's pin over (2 s), the wait for the drained connection to close
// (1 s) and the ops server's shutdown (2 s).
const ponteShutdownOverhead = 6 * time.Second

// selector is what every ponte object selects its pods by: the name and the instance, nothing else.
func selector() map[string]string {
	return map[string]string{"app.kubernetes.io/name": "ponte", "app.kubernetes.io/instance": releaseName}
}

// baseKinds are what every install renders: the workload, its configuration and its service account.
func baseKinds() map[string]int {
	return map[string]int{"ServiceAccount": 1, "ConfigMap": 1, "Deployment": 1}
}

// crdKinds render only where the cluster serves their API.
func crdKinds() []string { return []string{"ScaledObject", "ServiceMonitor", "PrometheusRule"} }

func with(extra map[string]int) map[string]int {
	k := baseKinds()
	for kind, n := range extra {
		k[kind] += n
		if k[kind] == 0 {
			delete(k, kind)
		}
	}
	return k
}

// goodCase is a values file of charts/ponte/ci: the kinds it renders with the CRD APIs served, and what is
// particular to it.
type goodCase struct {
	kinds map[string]int
	check func(t *testing.T, r rendered, c ponteConfig)
}

// ponteConfig is the part of the rendered ponte.yaml the checks read, decoded as ponte decodes it.
type ponteConfig struct {
	NATS struct {
		DrainTimeout time.Duration `yaml:"drainTimeout"`
	} `yaml:"nats"`
	Worker    events.Config   `yaml:"worker"`
	JetStream events.Topology `yaml:"jetstream"`
	HTTP      struct {
		Listen string `yaml:"listen"`
	} `yaml:"http"`
	Tracing struct {
		Enabled         bool          `yaml:"enabled"`
		Endpoint        string        `yaml:"endpoint"`
		ShutdownTimeout time.Duration `yaml:"shutdownTimeout"`
	} `yaml:"tracing"`
	raw  string
	tree map[string]any
}

func goodCases() map[string]goodCase {
	return map[string]goodCase{
		"minimal-values.yaml": {kinds: baseKinds(), check: func(t *testing.T, r rendered, c ponteConfig) {
			wantReplicas(t, r, 2)
			wantFiles(t, c, "", map[string]string{
				"zeev.tokenFile":                      "/etc/ponte/credentials/zeev-token",
				"senior.secretFile":                   "/etc/ponte/credentials/senior-secret",
				"cidades.ugs.001001.clientSecretFile": "/etc/ponte/credentials/cidades-001001",
			})
			dep := one[*appsv1.Deployment](t, r, "Deployment", "")
			if v := dep.Spec.Template.Spec.Volumes[1].Secret; v == nil || v.SecretName != "ponte-credentials" {
				t.Errorf("credentials volume: %+v, want the existing Secret ponte-credentials", dep.Spec.Template.Spec.Volumes[1])
			}
			if got := *dep.Spec.Template.Spec.SecurityContext.RunAsUser; got != 65532 {
				t.Errorf("runAsUser %d, want 65532", got)
			}
		}},
		"chart-secret-values.yaml": {kinds: with(map[string]int{"Secret": 1}), check: func(t *testing.T, r rendered, c ponteConfig) {
			s := one[*corev1.Secret](t, r, "Secret", "ponte-credentials")
			want := map[string]string{"zeev-password": "not-a-real-password", "senior-password": "not-a-real-password",
				"cidades-001001": "not-a-real-secret", "tce-002000": "not-a-real-secret"}
			got := map[string]string{}
			for k, v := range s.Data {
				got[k] = string(v)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Secret data %v, want %v", got, want)
			}
			wantFiles(t, c, "", map[string]string{
				"zeev.passwordFile":                   "/etc/ponte/credentials/zeev-password",
				"senior.passwordFile":                 "/etc/ponte/credentials/senior-password",
				"cidades.ugs.001001.clientSecretFile": "/etc/ponte/credentials/cidades-001001",
				"cidades.ugs.002000.clientSecretFile": "/etc/ponte/credentials/tce-002000",
			})
			if _, ok := lookup(c.tree, "cidades.ugs.001002.clientSecretFile"); ok {
				t.Error("the UG reached via another has a clientSecretFile")
			}
		}},
		"full-config-values.yaml": {kinds: baseKinds(), check: func(t *testing.T, r rendered, c ponteConfig) {
			if c.Worker.DrainTimeout != 40*time.Second || c.NATS.DrainTimeout != 15*time.Second {
				t.Errorf("drain timeouts %s and %s, want 40s and 15s from shutdown", c.Worker.DrainTimeout, c.NATS.DrainTimeout)
			}
			if c.Worker.Concurrency != 64 || c.JetStream.InputStream != "HR_EVENTS" {
				t.Errorf("config not passed on: concurrency %d, inputStream %q", c.Worker.Concurrency, c.JetStream.InputStream)
			}
		}},
		"nats-creds-tls-values.yaml": {kinds: baseKinds(), check: func(t *testing.T, r rendered, c ponteConfig) {
			wantFiles(t, c, "nats.", map[string]string{
				"nats.credsFile":    "/etc/nats/creds/ponte.creds",
				"nats.tls.certFile": "/etc/nats/tls/tls.crt",
				"nats.tls.keyFile":  "/etc/nats/tls/tls.key",
				"nats.tls.caFile":   "/etc/nats/tls/ca.crt",
			})
			wantSecretVolumes(t, r, map[string]string{"/etc/nats/creds": "ponte-nats-creds", "/etc/nats/tls": "ponte-nats-client-tls"})
		}},
		"nats-nkey-values.yaml": {kinds: baseKinds(), check: func(t *testing.T, r rendered, c ponteConfig) {
			wantFiles(t, c, "nats.", map[string]string{"nats.nkeySeedFile": "/etc/nats/nkey/ponte.nk", "nats.tls.caFile": "/etc/nats/ca/ca.crt"})
			wantSecretVolumes(t, r, map[string]string{"/etc/nats/nkey": "ponte-nats-nkey", "/etc/nats/ca": "nats-ca"})
			if _, ok := lookup(c.tree, "nats.tls.certFile"); ok {
				t.Error("a client certificate without nats.tls.secretName")
			}
		}},
		"nats-userpass-values.yaml": {kinds: baseKinds(), check: func(t *testing.T, r rendered, c ponteConfig) {
			wantFiles(t, c, "nats.", map[string]string{"nats.userFile": "/etc/nats/user/username", "nats.passwordFile": "/etc/nats/user/password"})
			wantSecretVolumes(t, r, map[string]string{"/etc/nats/user": "ponte-nats-user"})
		}},
		"keda-values.yaml":           {kinds: with(map[string]int{"ScaledObject": 1}), check: checkKEDA},
		"hpa-values.yaml":            {kinds: with(map[string]int{"HorizontalPodAutoscaler": 1}), check: checkHPA},
		"pdb-values.yaml":            {kinds: with(map[string]int{"PodDisruptionBudget": 1}), check: checkPDB},
		"servicemonitor-values.yaml": {kinds: with(map[string]int{"Service": 1, "ServiceMonitor": 1}), check: checkServiceMonitor},
		"prometheusrule-values.yaml": {kinds: with(map[string]int{"PrometheusRule": 1}), check: checkPrometheusRule},
		"dashboard-values.yaml":      {kinds: with(map[string]int{"ConfigMap": 1}), check: checkDashboard},
		"networkpolicy-values.yaml":  {kinds: with(map[string]int{"NetworkPolicy": 1}), check: checkNetworkPolicy},
		"scheduling-values.yaml":     {kinds: with(map[string]int{"ServiceAccount": -1}), check: checkScheduling},
		"tracing-values.yaml":        {kinds: with(map[string]int{"NetworkPolicy": 1}), check: checkTracing},
		"tracing-chart-secret-values.yaml": {kinds: with(map[string]int{"Secret": 1}), check: func(t *testing.T, r rendered, c ponteConfig) {
			s := one[*corev1.Secret](t, r, "Secret", "ponte-tracing-headers")
			if want := "# the vendor's ingest key\nAuthorization: Bearer not-a-real-token\nX-Tenant: acme\n"; len(s.Data) != 1 || string(s.Data["headers"]) != want {
				t.Errorf("the headers Secret holds %d keys, headers %q; want only headers, %q", len(s.Data), s.Data["headers"], want)
			}
			wantFiles(t, c, "tracing.", map[string]string{
				"tracing.headersFile": "/etc/ponte/tracing/headers/headers",
				"tracing.tls.caFile":  "/etc/ponte/tracing/ca/ca.crt",
			})
			wantSecretVolumes(t, r, map[string]string{"/etc/ponte/tracing/headers": "ponte-tracing-headers", "/etc/ponte/tracing/ca": "vendor-ca"})
			if c.Tracing.ShutdownTimeout != 5*time.Second {
				t.Errorf("tracing.shutdownTimeout %s, want 5s (shutdown.tracingShutdownTimeoutSeconds' default)", c.Tracing.ShutdownTimeout)
			}
		}},
	}
}

// TestValuesFiles lints and renders the chart with each values file of charts/ponte/ci, decodes every object
// strictly, checks what every install must hold and what the file is for, has ponte check the configuration the
// chart wrote, and renders it again without the CRD APIs, where the objects that need them must be left out.
func TestValuesFiles(t *testing.T) {
	cases := goodCases()
	files, err := filepath.Glob(filepath.Join(ciDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no values files in %s: %v", ciDir, err)
	}
	for _, f := range files {
		if _, ok := cases[filepath.Base(f)]; !ok {
			t.Errorf("%s has no case in goodCases: say what it proves", f)
		}
	}
	ponte := buildPonte(t, t.TempDir())
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join(ciDir, name)
			out, errOut, err := helm(t, "lint", "--strict", chartDir, "-f", file, "--kube-version", kubeVersion)
			if err != nil || strings.Contains(out, "[WARNING]") || strings.Contains(out, "[ERROR]") {
				t.Errorf("helm lint --strict: %v\n%s%s", err, out, errOut)
			}
			r := render(t, true, nil, file)
			if got := r.kinds(); !reflect.DeepEqual(got, tc.kinds) {
				t.Errorf("kinds %v, want %v", got, tc.kinds)
			}
			c := checkCommon(t, r, ponte)
			tc.check(t, r, c)

			plain := render(t, false, nil, file)
			want := maps(tc.kinds)
			for _, k := range crdKinds() {
				delete(want, k)
			}
			if got := plain.kinds(); !reflect.DeepEqual(got, want) {
				t.Errorf("without the CRD APIs: kinds %v, want %v", got, want)
			}
			if tc.kinds["ScaledObject"] > 0 {
				// KEDA's object is not made: the Deployment keeps its replicas rather than being left at one.
				wantReplicas(t, plain, 2)
			}
		})
	}
}

func maps(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// checkCommon checks what every install must hold and returns the rendered ponte.yaml.
func checkCommon(t *testing.T, r rendered, ponteBin string) ponteConfig {
	t.Helper()
	for _, o := range r.objs {
		m := o.obj.(interface{ GetLabels() map[string]string }).GetLabels()
		for _, l := range []string{"helm.sh/chart", "app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version", "app.kubernetes.io/managed-by"} {
			if m[l] == "" {
				t.Errorf("%s %s: no label %s", o.kind, o.name, l)
			}
		}
	}
	dep := one[*appsv1.Deployment](t, r, "Deployment", "ponte")
	if !reflect.DeepEqual(dep.Spec.Selector.MatchLabels, selector()) || len(dep.Spec.Selector.MatchExpressions) > 0 {
		t.Errorf("selector %v, want only %v", dep.Spec.Selector, selector())
	}
	pod := dep.Spec.Template.Spec
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("the service account token is mounted: ponte does not use the Kubernetes API")
	}
	if pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
		t.Error("enableServiceLinks is not false: a Service named ponte* would add PONTE_* variables")
	}
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext %+v, want runAsNonRoot and seccomp RuntimeDefault", psc)
	}
	if len(pod.Containers) != 1 || pod.Containers[0].Name != "ponte" || len(pod.InitContainers) > 0 {
		t.Fatalf("containers %d, want the one ponte", len(pod.Containers))
	}
	ctr := pod.Containers[0]
	sc := ctr.SecurityContext
	switch {
	case sc == nil:
		t.Fatal("no container securityContext")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Error("allowPrivilegeEscalation is not false")
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Error("readOnlyRootFilesystem is not true")
	case sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot:
		t.Error("runAsNonRoot is not true")
	case sc.Privileged != nil && *sc.Privileged:
		t.Error("privileged")
	case sc.Capabilities == nil || !reflect.DeepEqual(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
		t.Errorf("capabilities %+v, want drop [ALL] and nothing added", sc.Capabilities)
	case sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
		t.Error("container seccompProfile is not RuntimeDefault")
	}
	if strings.HasSuffix(ctr.Image, ":latest") || !regexp.MustCompile(`[:@]`).MatchString(ctr.Image[strings.LastIndex(ctr.Image, "/")+1:]) {
		t.Errorf("image %q: want a fixed tag or digest", ctr.Image)
	}
	if len(ctr.Ports) != 1 || ctr.Ports[0].Name != "ops" {
		t.Fatalf("ports %+v, want the one ops port", ctr.Ports)
	}

	cm := one[*corev1.ConfigMap](t, r, "ConfigMap", "ponte")
	c := parsePonteConfig(t, cm.Data["ponte.yaml"])
	if want := fmt.Sprintf(":%d", ctr.Ports[0].ContainerPort); c.HTTP.Listen != want {
		t.Errorf("http.listen %q, want %q (the container's ops port)", c.HTTP.Listen, want)
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"startup", ctr.StartupProbe, "/healthz"}, {"liveness", ctr.LivenessProbe, "/healthz"}, {"readiness", ctr.ReadinessProbe, "/readyz"}} {
		switch {
		case p.probe == nil:
			t.Errorf("no %s probe", p.name)
		case p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port != intstr.FromString("ops"):
			t.Errorf("%s probe %+v, want GET %s on the ops port", p.name, p.probe.ProbeHandler, p.path)
		}
	}
	grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	// With tracing on, ponte exports the spans still queued after the drains, for up to tracing.shutdownTimeout
	// (its default, 5s, when unset: the chart must set it, beside the grace period).
	var flush time.Duration
	if c.Tracing.Enabled {
		flush = c.Tracing.ShutdownTimeout
		if flush == 0 {
			t.Error("tracing is on, but the chart did not set tracing.shutdownTimeout")
		}
	}
	if stop := c.Worker.DrainTimeout + c.NATS.DrainTimeout + flush + ponteShutdownOverhead; c.Worker.DrainTimeout == 0 || c.NATS.DrainTimeout == 0 || grace <= stop {
		t.Errorf("terminationGracePeriodSeconds %s, but ponte may take worker.drainTimeout %s + nats.drainTimeout %s + tracing.shutdownTimeout %s + %s = %s to stop",
			grace, c.Worker.DrainTimeout, c.NATS.DrainTimeout, flush, ponteShutdownOverhead, stop)
	}

	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	if v := volumes["config"]; v.ConfigMap == nil || v.ConfigMap.Name != cm.Name {
		t.Errorf("config volume %+v, want the ConfigMap %s", v, cm.Name)
	}
	if v := volumes["credentials"]; v.Secret == nil {
		t.Errorf("credentials volume %+v, want a Secret", v)
	}
	for _, m := range ctr.VolumeMounts {
		if !m.ReadOnly || m.SubPath != "" || m.SubPathExpr != "" {
			t.Errorf("mount %s: readOnly %v, subPath %q: want read-only and whole (a subPath mount never sees a rotated Secret)", m.Name, m.ReadOnly, m.SubPath+m.SubPathExpr)
		}
	}
	// Every file the configuration names is a key of a mounted Secret, and (for a chart-made Secret) one it holds.
	secrets := map[string]*corev1.Secret{}
	for _, o := range r.objs {
		if s, ok := o.obj.(*corev1.Secret); ok {
			secrets[s.Name] = s
		}
	}
	used := map[string]bool{}
	contents := map[string]string{} // configuration key -> the file's content, for the files of the chart's Secrets
	for key, path := range fileKeys(c.tree, "") {
		var mount *corev1.VolumeMount
		for i, m := range ctr.VolumeMounts {
			if strings.HasPrefix(path, m.MountPath+"/") && !strings.Contains(strings.TrimPrefix(path, m.MountPath+"/"), "/") {
				mount = &ctr.VolumeMounts[i]
			}
		}
		if mount == nil || volumes[mount.Name].Secret == nil {
			t.Errorf("%s: %s is in no mounted Secret", key, path)
			continue
		}
		name, file := volumes[mount.Name].Secret.SecretName, filepath.Base(path)
		if s, ok := secrets[name]; ok {
			if _, ok := s.Data[file]; !ok {
				t.Errorf("%s: the chart's Secret %s has no key %s", key, name, file)
			}
			used[name+"/"+file] = true
			contents[key] = string(s.Data[file])
		}
	}
	for _, s := range secrets {
		for k := range s.Data {
			if !used[s.Name+"/"+k] {
				t.Errorf("Secret %s: key %s is not used by the configuration", s.Name, k)
			}
		}
	}
	ann := dep.Spec.Template.Annotations
	hex := regexp.MustCompile(`^[0-9a-f]{64}$`)
	if !hex.MatchString(ann["checksum/config"]) {
		t.Errorf("checksum/config annotation %q", ann["checksum/config"])
	}
	credName := ""
	if v := volumes["credentials"].Secret; v != nil {
		credName = v.SecretName
	}
	if _, made := secrets[credName]; made != hex.MatchString(ann["checksum/credentials"]) {
		t.Errorf("checksum/credentials annotation %q with the chart's Secret made: %v", ann["checksum/credentials"], made)
	}
	headersName := ""
	if v := volumes["tracing-headers"].Secret; v != nil {
		headersName = v.SecretName
	}
	if _, made := secrets[headersName]; made != hex.MatchString(ann["checksum/tracing-headers"]) {
		t.Errorf("checksum/tracing-headers annotation %q with the chart's headers Secret made: %v", ann["checksum/tracing-headers"], made)
	}
	checkGoMemLimit(t, ctr)
	checkWithPonte(t, ponteBin, ctr, c.raw, contents)
	return c
}

func parsePonteConfig(t *testing.T, text string) ponteConfig {
	t.Helper()
	var c ponteConfig
	if err := yamlv3.Unmarshal([]byte(text), &c); err != nil {
		t.Fatalf("ponte.yaml: %v\n%s", err, text)
	}
	if err := yamlv3.Unmarshal([]byte(text), &c.tree); err != nil {
		t.Fatal(err)
	}
	c.raw = text
	return c
}

// fileKeys returns the keys of the configuration whose name ends in File, with their paths.
func fileKeys(tree map[string]any, prefix string) map[string]string {
	out := map[string]string{}
	for k, v := range tree {
		switch v := v.(type) {
		case map[string]any:
			for kk, vv := range fileKeys(v, prefix+k+".") {
				out[kk] = vv
			}
		case string:
			if strings.HasSuffix(k, "File") {
				out[prefix+k] = v
			}
		}
	}
	return out
}

// lookup returns the value at a dotted path of the configuration.
func lookup(tree map[string]any, path string) (any, bool) {
	var cur any = tree
	for _, p := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// wantFiles checks the file keys of the configuration under prefix (every one with "").
func wantFiles(t *testing.T, c ponteConfig, prefix string, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for k, v := range fileKeys(c.tree, "") {
		if strings.HasPrefix(k, prefix) {
			got[k] = v
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("file keys of the configuration:\n got %v\nwant %v", got, want)
	}
}

func wantSecretVolumes(t *testing.T, r rendered, want map[string]string) {
	t.Helper()
	dep := one[*appsv1.Deployment](t, r, "Deployment", "")
	secrets := map[string]string{}
	for _, v := range dep.Spec.Template.Spec.Volumes {
		if v.Secret != nil {
			secrets[v.Name] = v.Secret.SecretName
		}
	}
	for _, m := range dep.Spec.Template.Spec.Containers[0].VolumeMounts {
		if w, ok := want[m.MountPath]; ok {
			if secrets[m.Name] != w {
				t.Errorf("%s: Secret %q, want %q", m.MountPath, secrets[m.Name], w)
			}
			delete(want, m.MountPath)
		}
	}
	for path := range want {
		t.Errorf("nothing mounted at %s", path)
	}
}

func wantReplicas(t *testing.T, r rendered, n int32) {
	t.Helper()
	dep := one[*appsv1.Deployment](t, r, "Deployment", "")
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != n {
		t.Errorf("spec.replicas %v, want %d", dep.Spec.Replicas, n)
	}
}

func wantNoReplicas(t *testing.T, r rendered) {
	t.Helper()
	if dep := one[*appsv1.Deployment](t, r, "Deployment", ""); dep.Spec.Replicas != nil {
		t.Errorf("spec.replicas %d: an autoscaler owns it, and each upgrade would reset it", *dep.Spec.Replicas)
	}
}

// checkGoMemLimit: GOMEMLIMIT is 90% of the memory limit, in MiB, and absent without one.
func checkGoMemLimit(t *testing.T, ctr corev1.Container) {
	t.Helper()
	var got string
	for _, e := range ctr.Env {
		if e.Name == "GOMEMLIMIT" {
			got = e.Value
		}
	}
	limit, ok := ctr.Resources.Limits[corev1.ResourceMemory]
	if !ok {
		if got != "" {
			t.Errorf("GOMEMLIMIT %q without a memory limit", got)
		}
		return
	}
	if want := fmt.Sprintf("%dMiB", limit.Value()*90/100>>20); got != want {
		t.Errorf("GOMEMLIMIT %q, want %q (90%% of %s)", got, want, limit.String())
	}
	if req, ok := ctr.Resources.Requests[corev1.ResourceMemory]; !ok || req.Cmp(limit) > 0 {
		t.Errorf("memory request %v above the limit %v", req, limit)
	}
	if _, ok := ctr.Resources.Requests[corev1.ResourceCPU]; !ok {
		t.Error("no cpu request")
	}
}

// checkWithPonte has ponte run --check the configuration the chart wrote, with the container's arguments and
// environment, and the mounted files at the same paths under a temporary directory: with the content the chart's
// Secret gives them (contents, by configuration key), else a made-up one of the file's format.
func checkWithPonte(t *testing.T, ponteBin string, ctr corev1.Container, config string, contents map[string]string) {
	t.Helper()
	dir := t.TempDir()
	for _, m := range ctr.VolumeMounts {
		config = strings.ReplaceAll(config, m.MountPath+"/", dir+m.MountPath+"/")
	}
	var tree map[string]any
	if err := yamlv3.Unmarshal([]byte(config), &tree); err != nil {
		t.Fatal(err)
	}
	for key, path := range fileKeys(tree, "") {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		content, ok := contents[key]
		switch {
		case ok:
		case key == "tracing.headersFile":
			// ponte parses it at start: "Name: value" lines.
			content = "Authorization: Bearer not-a-real-token\n"
		default:
			content = "not-a-real-secret\n"
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfgPath := filepath.Join(dir, "ponte.yaml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	args := slices.Clone(ctr.Args)
	i := slices.Index(args, "--config")
	if i < 0 || i+1 >= len(args) {
		t.Fatalf("args %v have no --config", args)
	}
	args[i+1] = cfgPath
	cmd := exec.Command(ponteBin, append(args, "--check")...)
	cmd.Env = []string{}
	for _, e := range ctr.Env {
		cmd.Env = append(cmd.Env, e.Name+"="+e.Value)
	}
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "configuration OK" {
		t.Errorf("ponte %s --check: %v\n%s\n%s", strings.Join(args, " "), err, out, config)
	}
}

// checkKEDA: the ScaledObject scales the Deployment on ponte's own stream and consumer, with the trigger
// metadata keys KEDA's nats-jetstream scaler reads, and the Deployment leaves its replicas to it.
func checkKEDA(t *testing.T, r rendered, c ponteConfig) {
	so := one[*kedav1alpha1.ScaledObject](t, r, "ScaledObject", "ponte")
	if ref := so.Spec.ScaleTargetRef; ref == nil || ref.Name != "ponte" || ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" {
		t.Errorf("scaleTargetRef %+v, want the Deployment ponte", so.Spec.ScaleTargetRef)
	}
	wantNoReplicas(t, r)
	if len(so.Spec.Triggers) != 1 || so.Spec.Triggers[0].Type != "nats-jetstream" {
		t.Fatalf("triggers %+v, want one nats-jetstream", so.Spec.Triggers)
	}
	md := so.Spec.Triggers[0].Metadata
	topo := c.JetStream.WithDefaults()
	want := map[string]string{
		"natsServerMonitoringEndpoint": "nats-headless.nats.svc.cluster.local:8222",
		"account":                      "$G",
		"stream":                       topo.InputStream,
		"consumer":                     topo.EventsConsumer(),
		"lagThreshold":                 "500",
		"activationLagThreshold":       "1",
		"useHttps":                     "false",
	}
	if !reflect.DeepEqual(md, want) {
		t.Errorf("trigger metadata\n got %v\nwant %v", md, want)
	}
	if md["stream"] != "HR_EVENTS" || md["consumer"] != "hr-events" {
		t.Errorf("stream %q consumer %q, want HR_EVENTS and hr-events from the configuration", md["stream"], md["consumer"])
	}
	known, required := kedaScalerKeys(t)
	for k := range md {
		if !known[k] {
			t.Errorf("trigger metadata key %q is not one the nats-jetstream scaler reads (%v)", k, known)
		}
	}
	for _, k := range required {
		if _, ok := md[k]; !ok {
			t.Errorf("trigger metadata lacks %q, which the scaler requires", k)
		}
	}
	if md["account"] == "" && md["accountID"] == "" {
		t.Error("the scaler needs account or accountID")
	}
	if s := so.Spec; *s.MinReplicaCount != 0 || *s.MaxReplicaCount != 2 || *s.PollingInterval != 15 || *s.CooldownPeriod != 600 {
		t.Errorf("replica counts and periods %d..%d, %d, %d", *s.MinReplicaCount, *s.MaxReplicaCount, *s.PollingInterval, *s.CooldownPeriod)
	}
	if f := so.Spec.Fallback; f == nil || f.FailureThreshold != 3 || f.Replicas != 1 {
		t.Errorf("fallback %+v", f)
	}
	if a := so.Spec.Advanced; a == nil || a.HorizontalPodAutoscalerConfig == nil || a.HorizontalPodAutoscalerConfig.Behavior == nil ||
		*a.HorizontalPodAutoscalerConfig.Behavior.ScaleDown.StabilizationWindowSeconds != 300 {
		t.Errorf("advanced %+v", so.Spec.Advanced)
	}
}

func checkHPA(t *testing.T, r rendered, _ ponteConfig) {
	h := one[*autoscalingv2.HorizontalPodAutoscaler](t, r, "HorizontalPodAutoscaler", "ponte")
	if ref := h.Spec.ScaleTargetRef; ref.Name != "ponte" || ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" {
		t.Errorf("scaleTargetRef %+v", ref)
	}
	if *h.Spec.MinReplicas != 2 || h.Spec.MaxReplicas != 4 || len(h.Spec.Metrics) != 2 {
		t.Errorf("replicas %d..%d, %d metrics", *h.Spec.MinReplicas, h.Spec.MaxReplicas, len(h.Spec.Metrics))
	}
	if h.Spec.Behavior == nil || h.Spec.Behavior.ScaleDown == nil || *h.Spec.Behavior.ScaleDown.SelectPolicy != autoscalingv2.MinChangePolicySelect {
		t.Errorf("behavior %+v", h.Spec.Behavior)
	}
	wantNoReplicas(t, r)
}

func checkPDB(t *testing.T, r rendered, _ ponteConfig) {
	p := one[*policyv1.PodDisruptionBudget](t, r, "PodDisruptionBudget", "ponte")
	if p.Spec.MinAvailable != nil || p.Spec.MaxUnavailable == nil || *p.Spec.MaxUnavailable != intstr.FromInt32(1) {
		t.Errorf("minAvailable %v maxUnavailable %v, want maxUnavailable 1 only", p.Spec.MinAvailable, p.Spec.MaxUnavailable)
	}
	if !reflect.DeepEqual(p.Spec.Selector.MatchLabels, selector()) {
		t.Errorf("selector %v", p.Spec.Selector)
	}
	wantReplicas(t, r, 1)
}

func checkServiceMonitor(t *testing.T, r rendered, _ ponteConfig) {
	svc := one[*corev1.Service](t, r, "Service", "ponte")
	if !reflect.DeepEqual(svc.Spec.Selector, selector()) || !svc.Spec.PublishNotReadyAddresses {
		t.Errorf("Service selector %v, publishNotReadyAddresses %v: want the pods, ready or not", svc.Spec.Selector, svc.Spec.PublishNotReadyAddresses)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "ops" || svc.Spec.Ports[0].TargetPort != intstr.FromString("ops") {
		t.Errorf("Service ports %+v", svc.Spec.Ports)
	}
	sm := one[*monitoringv1.ServiceMonitor](t, r, "ServiceMonitor", "ponte")
	if sm.Namespace != "monitoring" || sm.Labels["release"] != "kube-prometheus-stack" {
		t.Errorf("ServiceMonitor in %q with labels %v", sm.Namespace, sm.Labels)
	}
	if !reflect.DeepEqual(sm.Spec.NamespaceSelector.MatchNames, []string{namespace}) {
		t.Errorf("namespaceSelector %+v, want the release's namespace", sm.Spec.NamespaceSelector)
	}
	for k, v := range sm.Spec.Selector.MatchLabels {
		if svc.Labels[k] != v {
			t.Errorf("the ServiceMonitor selects %s=%s, which the Service lacks", k, v)
		}
	}
	if len(sm.Spec.Endpoints) != 1 {
		t.Fatalf("%d endpoints", len(sm.Spec.Endpoints))
	}
	e := sm.Spec.Endpoints[0]
	if e.Port != "ops" || e.Path != "/metrics" || e.Interval != "15s" || e.ScrapeTimeout != "5s" || len(e.RelabelConfigs) != 1 || len(e.MetricRelabelConfigs) != 1 {
		t.Errorf("endpoint %+v", e)
	}
}

// checkPrometheusRule: the rule's spec is files/alerts.yaml as it is (which make rules-check lints and tests with
// promtool).
func checkPrometheusRule(t *testing.T, r rendered, _ ponteConfig) {
	var raw []byte
	for _, o := range r.objs {
		if o.kind == "PrometheusRule" {
			raw = o.raw
		}
	}
	var doc struct {
		Spec map[string]any `json:"spec"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(chartDir, "files", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var file map[string]any
	if err := yaml.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(doc.Spec, file) {
		t.Errorf("the PrometheusRule's spec differs from files/alerts.yaml")
	}
	pr := one[*monitoringv1.PrometheusRule](t, r, "PrometheusRule", "ponte")
	if len(pr.Spec.Groups) == 0 || pr.Labels["release"] != "kube-prometheus-stack" {
		t.Errorf("%d groups, labels %v", len(pr.Spec.Groups), pr.Labels)
	}
}

func checkDashboard(t *testing.T, r rendered, _ ponteConfig) {
	cm := one[*corev1.ConfigMap](t, r, "ConfigMap", "ponte-dashboard")
	b, err := os.ReadFile(filepath.Join(chartDir, "files", "dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	if cm.Data["ponte.json"] != string(b) || len(cm.Data) != 1 {
		t.Errorf("the dashboard ConfigMap's data is not files/dashboard.json as it is (sha256 %x, want %x)",
			sha256.Sum256([]byte(cm.Data["ponte.json"])), sha256.Sum256(b))
	}
	if cm.Namespace != "grafana" || cm.Labels["grafana_dashboard"] != "1" || cm.Annotations["grafana_folder"] != "Integrations" {
		t.Errorf("namespace %q labels %v annotations %v", cm.Namespace, cm.Labels, cm.Annotations)
	}
}

func checkNetworkPolicy(t *testing.T, r rendered, _ ponteConfig) {
	np := one[*networkingv1.NetworkPolicy](t, r, "NetworkPolicy", "ponte")
	if !reflect.DeepEqual(np.Spec.PodSelector.MatchLabels, selector()) ||
		!reflect.DeepEqual(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}) {
		t.Errorf("podSelector %v policyTypes %v", np.Spec.PodSelector, np.Spec.PolicyTypes)
	}
	if len(np.Spec.Ingress) != 1 || len(np.Spec.Ingress[0].Ports) != 1 || *np.Spec.Ingress[0].Ports[0].Port != intstr.FromString("ops") ||
		len(np.Spec.Ingress[0].From) != 1 || np.Spec.Ingress[0].From[0].NamespaceSelector == nil {
		t.Errorf("ingress %+v, want the ops port from the monitoring namespace", np.Spec.Ingress)
	}
	var ports []string
	for _, e := range np.Spec.Egress {
		if len(e.To) == 0 {
			t.Errorf("egress rule %+v has no peers: it would allow any destination", e)
		}
		for _, p := range e.Ports {
			ports = append(ports, fmt.Sprintf("%s/%s", p.Port.String(), *p.Protocol))
		}
	}
	slices.Sort(ports)
	if want := []string{"3128/TCP", "4222/TCP", "443/TCP", "53/TCP", "53/UDP"}; !reflect.DeepEqual(ports, want) {
		t.Errorf("egress ports %v, want %v", ports, want)
	}
}

func checkScheduling(t *testing.T, r rendered, _ ponteConfig) {
	dep := one[*appsv1.Deployment](t, r, "Deployment", "")
	pod := dep.Spec.Template.Spec
	ctr := pod.Containers[0]
	switch {
	case pod.ServiceAccountName != "ponte-runner":
		t.Errorf("serviceAccountName %q", pod.ServiceAccountName)
	case ctr.Image != "registry.example.com/platform/ponte@sha256:"+strings.Repeat("0", 64):
		t.Errorf("image %q, want the digest", ctr.Image)
	case len(pod.ImagePullSecrets) != 1 || pod.NodeSelector["kubernetes.io/os"] != "linux" || len(pod.Tolerations) != 1:
		t.Errorf("imagePullSecrets %v nodeSelector %v tolerations %v", pod.ImagePullSecrets, pod.NodeSelector, pod.Tolerations)
	case pod.Affinity == nil || pod.Affinity.PodAntiAffinity == nil || pod.PriorityClassName != "integrations":
		t.Errorf("affinity %+v priorityClassName %q", pod.Affinity, pod.PriorityClassName)
	case len(pod.TopologySpreadConstraints) != 1 || pod.TopologySpreadConstraints[0].LabelSelector == nil ||
		!reflect.DeepEqual(pod.TopologySpreadConstraints[0].LabelSelector.MatchLabels, selector()):
		t.Errorf("topologySpreadConstraints %+v, want the pods' selector filled in", pod.TopologySpreadConstraints)
	case dep.Spec.Template.Labels["example.com/tier"] != "worker" || dep.Spec.Template.Annotations["example.com/team"] != "integrations":
		t.Errorf("pod labels %v annotations %v", dep.Spec.Template.Labels, dep.Spec.Template.Annotations)
	case pod.SecurityContext.RunAsUser != nil || pod.SecurityContext.FSGroup != nil || ctr.SecurityContext.RunAsUser != nil:
		t.Error("runAsUser or fsGroup set, though the values unset them")
	case pod.Volumes[1].Secret.DefaultMode == nil || *pod.Volumes[1].Secret.DefaultMode != 0o444:
		t.Errorf("without fsGroup the Secret files must be readable by the container's user: mode %v", pod.Volumes[1].Secret.DefaultMode)
	}
	env := map[string]string{}
	for _, e := range ctr.Env {
		env[e.Name] = e.Value
	}
	if want := map[string]string{"GOGC": "150", "HTTPS_PROXY": "http://egress-proxy.proxy.svc:3128"}; !reflect.DeepEqual(env, want) {
		t.Errorf("env %v, want %v (and no GOMEMLIMIT without a memory limit)", env, want)
	}
}

// TestChecksumsFollowContent: the pod template's checksums change with the ConfigMap and the chart's Secrets, and
// only with them, so that a helm upgrade that changes either one rolls the pods.
func TestChecksumsFollowContent(t *testing.T) {
	annotations := func(t *testing.T, file string, set ...string) map[string]string {
		t.Helper()
		var extra []string
		for _, s := range set {
			extra = append(extra, "--set", s)
		}
		return one[*appsv1.Deployment](t, render(t, false, extra, filepath.Join(ciDir, file)), "Deployment", "").Spec.Template.Annotations
	}
	checksums := []string{"checksum/config", "checksum/credentials", "checksum/tracing-headers"}
	tests := []struct {
		name    string
		file    string
		set     string
		changed []string
	}{
		{"a configuration key", "chart-secret-values.yaml", "config.worker.concurrency=8", []string{"checksum/config"}},
		{"a secret value", "chart-secret-values.yaml", "credentials.values.zeevPassword=another", []string{"checksum/credentials"}},
		{"a pod label", "chart-secret-values.yaml", "podLabels.a=b", nil},
		{"the tracing headers", "tracing-chart-secret-values.yaml", "tracing.headers.value=X-Api-Key: another", []string{"checksum/tracing-headers"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base, got := annotations(t, tc.file), annotations(t, tc.file, tc.set)
			for _, k := range checksums {
				if changed, want := got[k] != base[k], slices.Contains(tc.changed, k); changed != want {
					t.Errorf("%s changed: %v, want %v", k, changed, want)
				}
			}
		})
	}
}

// TestBadValues: each file of testdata/bad, laid over ci/minimal-values.yaml (unless it says "# alone"), must
// fail helm template (as install and upgrade do) with an error naming the key ("# want:" lines), and helm lint
// --strict must print it (and fail, for the schema's errors); neither may print a secret of the file ("# never:"
// lines).
func TestBadValues(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(badDir, "*.yaml"))
	if err != nil || len(files) < 10 {
		t.Fatalf("bad values files: %v, %v", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var wants, nevers []string
			alone := false
			for _, line := range strings.Split(string(b), "\n") {
				if w, ok := strings.CutPrefix(line, "# want: "); ok {
					wants = append(wants, w)
				}
				if n, ok := strings.CutPrefix(line, "# never: "); ok {
					nevers = append(nevers, n)
				}
				alone = alone || strings.TrimSpace(line) == "# alone"
			}
			if len(wants) == 0 {
				t.Fatal(`no "# want: " line`)
			}
			layers := []string{filepath.Join(ciDir, "minimal-values.yaml"), f}
			if alone {
				layers = []string{f}
			}
			_, errOut, err := helm(t, templateArgs(true, nil, layers...)...)
			if err == nil {
				t.Fatal("helm template succeeded")
			}
			lintArgs := []string{"lint", "--strict", chartDir, "--kube-version", kubeVersion}
			for _, l := range layers {
				lintArgs = append(lintArgs, "-f", l)
			}
			// helm lint fails on the schema, but reports a template's fail only as [INFO] (its lint mode goes on
			// rendering): it must print the message all the same.
			lintOut, lintErr, lerr := helm(t, lintArgs...)
			schema := slices.ContainsFunc(wants, func(w string) bool { return strings.HasPrefix(w, "at '") })
			if schema && lerr == nil {
				t.Error("helm lint --strict succeeded on values the schema refuses")
			}
			for _, w := range wants {
				if !strings.Contains(errOut, w) {
					t.Errorf("helm template's error lacks %q:\n%s", w, errOut)
				}
				if !strings.Contains(lintOut+lintErr, w) {
					t.Errorf("helm lint's output lacks %q:\n%s%s", w, lintOut, lintErr)
				}
			}
			for _, n := range nevers {
				if strings.Contains(errOut+lintOut+lintErr, n) {
					t.Errorf("helm's output shows %q, a secret:\n%s%s%s", n, errOut, lintOut, lintErr)
				}
			}
		})
	}
}

// defaultValues returns the chart's values.yaml, decoded.
func defaultValues(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(b, &values); err != nil {
		t.Fatal(err)
	}
	return values
}

// TestDefaultsHoldNoSecret: values.yaml holds no secret value, only Secret names and key names, and
// credentials.values and tracing.headers.value are empty.
func TestDefaultsHoldNoSecret(t *testing.T) {
	values := defaultValues(t)
	if v, _ := lookup(values, "credentials.values"); !reflect.DeepEqual(v, map[string]any{}) {
		t.Errorf("credentials.values is %v, want {}", v)
	}
	if v, ok := lookup(values, "tracing.headers.value"); !ok || v != "" {
		t.Errorf("tracing.headers.value is %v, want \"\"", v)
	}
	secretish := regexp.MustCompile(`(?i)token|password|secret|creds|nkey|seed|key`)
	// Paths whose values name a Secret or one of its keys, not a secret.
	names := regexp.MustCompile(`^(credentials\.(existingSecret|keys\..*)|nats\.auth\.\w+\.(name|key|userKey|passwordKey)|(nats|tracing)\.tls\.(secretName|caSecretName)|tracing\.headers\.(existingSecret|key)|grafanaDashboard\.(labelKey|folderAnnotationKey))$`)
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, vv := range v {
				walk(strings.TrimPrefix(prefix+"."+k, "."), vv)
			}
		case []any:
			for i, vv := range v {
				walk(fmt.Sprintf("%s[%d]", prefix, i), vv)
			}
		case string:
			if v != "" && secretish.MatchString(prefix) && !names.MatchString(prefix) {
				t.Errorf("values.yaml: %s = %q looks like a secret", prefix, v)
			}
		}
	}
	walk("", values)
}

// TestResourceQuantities: the chart's GOMEMLIMIT follows the memory limit in every unit it takes.
func TestResourceQuantities(t *testing.T) {
	base := filepath.Join(ciDir, "minimal-values.yaml")
	for _, limit := range []string{"128Mi", "1Gi", "1.5Gi", "500M", "268435456", "1000000000", "300000k"} {
		t.Run(limit, func(t *testing.T) {
			r := render(t, false, []string{"--set-string", "resources.limits.memory=" + limit, "--set-string", "resources.requests.memory=1Mi"}, base)
			if _, err := strconv.Atoi(limit); err == nil {
				// A bare number in a values file is a YAML number, not a string.
				f := filepath.Join(t.TempDir(), "limit.yaml")
				if err := os.WriteFile(f, []byte("resources: {limits: {memory: "+limit+"}, requests: {memory: 1Mi}}\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				r = render(t, false, nil, base, f)
			}
			ctr := one[*appsv1.Deployment](t, r, "Deployment", "").Spec.Template.Spec.Containers[0]
			if q := ctr.Resources.Limits[corev1.ResourceMemory]; q.Cmp(resource.MustParse(limit)) != 0 {
				t.Fatalf("limit %s, want %s", q.String(), limit)
			}
			checkGoMemLimit(t, ctr)
		})
	}
}
