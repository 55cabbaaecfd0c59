package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ponte-dev/ponte/clients"
	"github.com/ponte-dev/ponte/clients/cidades"
	"github.com/ponte-dev/ponte/clients/senior"
	"github.com/ponte-dev/ponte/clients/zeev"
)

const (
	exampleConfig = "../../examples/ponte.yaml"
	configDoc     = "../../docs/configuration.md"
)

// envOf is an environment holding m, as getenv sees it.
func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// environOf is an environment holding m, as environ lists it.
func environOf(m map[string]string) func() []string {
	return func() []string {
		var out []string
		for k, v := range m {
			out = append(out, k+"="+v)
		}
		return out
	}
}

func readExampleConfig(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// editConfig replaces old, which must occur exactly once in src, by new, so that a change to the example cannot
// silently turn a test case into a no-op.
func editConfig(t *testing.T, src, old, new string) string {
	t.Helper()
	if n := strings.Count(src, old); n != 1 {
		t.Fatalf("example configuration: %q occurs %d times, want once", old, n)
	}
	return strings.Replace(src, old, new, 1)
}

// lineOf is the 1-based line of the first occurrence of s in text.
func lineOf(t *testing.T, text, s string) int {
	t.Helper()
	i := strings.Index(text, s)
	if i < 0 {
		t.Fatalf("%q not in the configuration", s)
	}
	return strings.Count(text[:i], "\n") + 1
}

// secretFile writes a secret file in a temporary directory and returns its path.
func secretFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigExampleLoads(t *testing.T) {
	cfg, err := loadConfig(exampleConfig, noEnv, noEnviron)
	if err != nil {
		t.Fatalf("loadConfig(%s): %v", exampleConfig, err)
	}
	if err := cfg.validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"nats.url", cfg.NATS.URL, "nats://127.0.0.1:4222"},
		{"jetstream.manage", cfg.JetStream.Manage, true},
		{"jetstream.inputSubjects", cfg.JetStream.InputSubjects, []string{"person.>", "contract.>"}},
		{"worker.maxMessageSize", cfg.Worker.MaxMessageSize, 262144},
		{"breakers.openTimeout", cfg.Breakers.OpenTimeout, 30 * time.Second},
		{"zeev.baseURL", cfg.Zeev.BaseURL, "http://127.0.0.1:8081"},
		{"zeev.token", cfg.Zeev.TokenValue, "zeev-dev-token"},
		{"senior.accessKey", cfg.Senior.AccessKey, "ponte-dev-key"},
		{"len(cidades.ugs)", len(cfg.CidadES.UGs), 3},
		{"cidades.ugs.001001.clientId", cfg.CidadES.UGs["001001"].ClientID, "ug-001001-rw"},
		{"len(profiles)", len(cfg.Profiles), 3},
		{"profiles[2].zeev.licenseType", cfg.Profiles[2].Zeev.LicenseType, "requester"},
		{"profiles[0].senior.roleIds", cfg.Profiles[0].Senior.RoleIDs, []int64{4, 5}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

func TestConfigCheckCommand(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("zeev:\n  baseUrl: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantOut string
		wantErr string
	}{
		{name: "example", args: []string{"run", "--check", "--config", exampleConfig}, wantOut: "configuration OK\n"},
		{name: "PONTE_CONFIG", args: []string{"run", "--check"}, env: map[string]string{"PONTE_CONFIG": exampleConfig},
			wantOut: "configuration OK\n"},
		{name: "env override checked too", args: []string{"run", "--check", "--config", exampleConfig},
			env: map[string]string{"PONTE_LOG_LEVEL": "loud"}, wantErr: "log.level"},
		{name: "unknown variable", args: []string{"run", "--check", "--config", exampleConfig},
			env:     map[string]string{"PONTE_WORKER_CONCURENCY": "8"},
			wantErr: "config environment: PONTE_WORKER_CONCURENCY is not a configuration variable (did you mean PONTE_WORKER_CONCURRENCY?)"},
		{name: "bad file", args: []string{"run", "--check", "--config", bad}, wantErr: `line 2: unknown key "baseUrl" in zeev (did you mean "baseURL"?)`},
		{name: "missing file", args: []string{"run", "--check", "--config", filepath.Join(t.TempDir(), "nope.yaml")},
			wantErr: "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tc.args, envOf(tc.env), environOf(tc.env), &stdout, &stderr)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("run: %v", err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("run: error %v, want one containing %q", err, tc.wantErr)
			}
			if stdout.String() != tc.wantOut {
				t.Errorf("stdout = %q, want %q", stdout.String(), tc.wantOut)
			}
		})
	}
}

func TestConfigRejects(t *testing.T) {
	example := readExampleConfig(t)
	tokenFile := secretFile(t, "zeev-token")
	missing := filepath.Join(t.TempDir(), "missing-token")
	tests := []struct {
		name string
		yaml func(t *testing.T) string
		// want are substrings of the error; "line:" + s is replaced by "line N" where N is the line of s.
		want []string
	}{
		{
			name: "unknown key",
			yaml: func(t *testing.T) string {
				return editConfig(t, example, "  baseURL: http://127.0.0.1:8081 ", "  baseUrl: http://127.0.0.1:8081 ")
			},
			want: []string{"config ponte.yaml: ", "line:baseUrl", `unknown key "baseUrl" in zeev (did you mean "baseURL"?)`},
		},
		{
			name: "unknown key with no close match",
			yaml: func(t *testing.T) string { return editConfig(t, example, "  concurrency: 32 ", "  concurency: 32 ") },
			want: []string{"line:concurency", `unknown key "concurency" in worker (known keys: concurrency, ackWait,`},
		},
		{
			name: "duration without unit",
			yaml: func(t *testing.T) string { return editConfig(t, example, "openTimeout: 30s", "openTimeout: 30") },
			want: []string{"line:openTimeout: 30", "breakers.openTimeout: cannot unmarshal", "`30`", "time.Duration"},
		},
		{
			name: "duration in words",
			yaml: func(t *testing.T) string { return editConfig(t, example, "ackWait: 30s", "ackWait: 1 minute") },
			want: []string{"line:ackWait: 1 minute", "worker.ackWait: cannot unmarshal", "`1 minute`", "time.Duration"},
		},
		{
			name: "negative unsigned",
			yaml: func(t *testing.T) string {
				return editConfig(t, example, "consecutiveFailures: 5 ", "consecutiveFailures: -5 ")
			},
			want: []string{"line:consecutiveFailures: -5", "`-5`"},
		},
		{
			name: "profiles without the ops endpoint",
			yaml: func(t *testing.T) string {
				return editConfig(t, editConfig(t, example, `listen: ":8080"`, `listen: "-"`), "pprof: false", "pprof: true")
			},
			want: []string{`config: http.pprof: the profiles are served on http.listen, which is "-"`},
		},
		{
			name: "negative concurrency",
			yaml: func(t *testing.T) string { return editConfig(t, example, "concurrency: 32 ", "concurrency: -1 ") },
			want: []string{"config: worker.concurrency: must be between 1 and 1024"},
		},
		{
			name: "ackWait under a second",
			yaml: func(t *testing.T) string { return editConfig(t, example, "ackWait: 30s", "ackWait: 500ms") },
			want: []string{"worker.ackWait: must be at least 1s"},
		},
		{
			name: "backoffBase above backoffMax",
			yaml: func(t *testing.T) string { return editConfig(t, example, "backoffBase: 1s ", "backoffBase: 10m ") },
			want: []string{"worker.backoffBase"},
		},
		{
			name: "too many replicas",
			yaml: func(t *testing.T) string { return editConfig(t, example, "replicas: 1 ", "replicas: 7 ") },
			want: []string{"jetstream.replicas"},
		},
		{
			name: "duplicate window above max age",
			yaml: func(t *testing.T) string {
				return editConfig(t, example, "duplicateWindow: 2m ", "duplicateWindow: 200h ")
			},
			want: []string{"jetstream.duplicateWindow"},
		},
		{
			name: "input subject under ponte.",
			yaml: func(t *testing.T) string {
				return editConfig(t, example, `inputSubjects: ["person.>", "contract.>"]`, `inputSubjects: ["ponte.>"]`)
			},
			want: []string{"jetstream.inputSubjects", `"ponte.>"`},
		},
		{
			name: "negative open timeout",
			yaml: func(t *testing.T) string { return editConfig(t, example, "openTimeout: 30s", "openTimeout: -1s") },
			want: []string{"breakers.openTimeout"},
		},
		{
			name: "log level",
			yaml: func(t *testing.T) string { return editConfig(t, example, "level: info ", "level: bogus ") },
			want: []string{"log.level", `"bogus"`},
		},
		{
			name: "log format",
			yaml: func(t *testing.T) string { return editConfig(t, example, "format: json ", "format: xml ") },
			want: []string{"log.format", `"xml"`},
		},
		{
			name: "nats credsFile and nkeySeedFile",
			yaml: func(t *testing.T) string {
				return editConfig(t, example, "nats:\n", "nats:\n  credsFile: /x/ponte.creds\n  nkeySeedFile: /x/seed.nk\n")
			},
			want: []string{"nats: ", "credsFile", "nkeySeedFile"},
		},
		{
			name: "nats userFile without passwordFile",
			yaml: func(t *testing.T) string {
				return editConfig(t, example, "nats:\n", "nats:\n  userFile: "+tokenFile+"\n")
			},
			want: []string{"nats.passwordFile"},
		},
		{
			name: "nats certFile without keyFile",
			yaml: func(t *testing.T) string {
				return editConfig(t, example, "nats:\n", "nats:\n  tls:\n    certFile: "+tokenFile+"\n")
			},
			want: []string{"nats.tls.keyFile"},
		},
		{
			name: "nats caFile missing",
			yaml: func(t *testing.T) string {
				return editConfig(t, example, "nats:\n", "nats:\n  tls:\n    caFile: "+missing+"\n")
			},
			want: []string{"nats.tls.caFile", missing},
		},
		{
			name: "zeev without credentials",
			yaml: func(t *testing.T) string { return editConfig(t, example, "  token: zeev-dev-token", "  #") },
			want: []string{"zeev.token: set token or login+password"},
		},
		{
			name: "zeev token and tokenFile",
			yaml: func(t *testing.T) string {
				return editConfig(t, example, "  # tokenFile: /etc/ponte/zeev/token", "  tokenFile: "+tokenFile)
			},
			want: []string{"zeev.token", "zeev.tokenFile", "not both"},
		},
		{
			name: "zeev tokenFile missing",
			yaml: func(t *testing.T) string {
				return editConfig(t, example, "  token: zeev-dev-token", "  tokenFile: "+missing)
			},
			want: []string{"zeev.tokenFile", missing},
		},
		{
			name: "zeev token and login",
			yaml: func(t *testing.T) string {
				return editConfig(t, example, "  # login: integracao@example.com", "  login: integracao@example.com")
			},
			want: []string{"zeev.token", "not both"},
		},
		{
			name: "zeev login without password",
			yaml: func(t *testing.T) string {
				return editConfig(t, example, "  token: zeev-dev-token", "  login: integracao@example.com")
			},
			want: []string{"zeev.password"},
		},
		{
			name: "zeev base URL without scheme",
			yaml: func(t *testing.T) string {
				return editConfig(t, example, "baseURL: http://127.0.0.1:8081 ", "baseURL: 127.0.0.1:8081 ")
			},
			want: []string{"zeev.baseURL", `"127.0.0.1:8081"`},
		},
		{
			name: "senior without credentials",
			yaml: func(t *testing.T) string {
				s := editConfig(t, example, "  accessKey: ponte-dev-key", "  #")
				s = editConfig(t, s, "  secret: senior-dev-secret", "  #")
				return editConfig(t, s, "  tenantName: ponte.dev", "  #")
			},
			want: []string{"senior.token"},
		},
		{
			name: "senior accessKey without tenantName",
			yaml: func(t *testing.T) string { return editConfig(t, example, "  tenantName: ponte.dev", "  #") },
			want: []string{"senior.tenantName"},
		},
		{
			name: "senior header style",
			yaml: func(t *testing.T) string {
				return editConfig(t, example, "  headerStyle: token ", "  headerStyle: cookie ")
			},
			want: []string{"senior.headerStyle", `"cookie"`},
		},
		{
			name: "senior loginURL relative",
			yaml: func(t *testing.T) string {
				return editConfig(t, example, "  loginURL: http://127.0.0.1:8082", "  loginURL: /127.0.0.1:8082")
			},
			want: []string{"senior.loginURL"},
		},
		{
			name: "cidades UG via an unknown aggregator",
			yaml: func(t *testing.T) string {
				return editConfig(t, example, "      clientId: ug-001000-rw\n      clientSecret: cidades-dev-001000-rw",
					`      via: "009999"`)
			},
			want: []string{"cidades.ugs.001000.via", `"009999"`, "not configured"},
		},
		{
			name: "cidades UG via and its own key",
			yaml: func(t *testing.T) string {
				return editConfig(t, example, "      clientId: ug-001000-rw\n",
					"      clientId: ug-001000-rw\n      via: \"001001\"\n")
			},
			want: []string{"cidades.ugs.001000.via"},
		},
		{
			name: "cidades UG secret twice",
			yaml: func(t *testing.T) string {
				return editConfig(t, example, "      clientSecret: cidades-dev-001000-rw",
					"      clientSecret: cidades-dev-001000-rw\n      clientSecretFile: "+tokenFile)
			},
			want: []string{"cidades.ugs.001000.clientSecret", "cidades.ugs.001000.clientSecretFile", "not both"},
		},
		{
			name: "cidades UG without clientId",
			yaml: func(t *testing.T) string { return editConfig(t, example, "      clientId: ug-001000-rw\n", "") },
			want: []string{"cidades.ugs.001000.clientId"},
		},
		{
			name: "cidades token auth",
			yaml: func(t *testing.T) string {
				return editConfig(t, example, "  # tokenURL: http://127.0.0.1:8083/oauth/token ",
					"  tokenAuth: digest #")
			},
			want: []string{"cidades.tokenAuth", `"digest"`},
		},
		{
			name: "cidades responsaveis path without {codigo}",
			yaml: func(t *testing.T) string {
				return editConfig(t, example, "  # tokenURL: http://127.0.0.1:8083/oauth/token ",
					"  paths: {responsaveis: /v1/responsaveis} #")
			},
			want: []string{"cidades.paths.responsaveis"},
		},
		{
			name: "cidades without UGs",
			yaml: func(t *testing.T) string {
				i := strings.Index(example, "  ugs:")
				j := strings.Index(example, "# Access profiles")
				if i < 0 || j < i {
					t.Fatal("example configuration: cidades.ugs not found")
				}
				return example[:i] + example[j:]
			},
			want: []string{"cidades.ugs: at least one UG is required"},
		},
		{
			name: "profile with an unknown license type",
			yaml: func(t *testing.T) string {
				return editConfig(t, example, "profiles:\n",
					"profiles:\n  - orgUnit: X\n    position: Y\n    zeev: {licenseType: admin}\n")
			},
			want: []string{"profiles[0].zeev.licenseType", `"admin"`},
		},
		{
			name: "profile without position",
			yaml: func(t *testing.T) string {
				return editConfig(t, example, "profiles:\n", "profiles:\n  - orgUnit: X\n")
			},
			want: []string{"profiles[0].position: required"},
		},
		{
			name: "duplicate profile",
			yaml: func(t *testing.T) string {
				return editConfig(t, example, "profiles:\n", "profiles:\n  - orgUnit: ti\n    position: ' analista'\n")
			},
			want: []string{"profiles[1]", "already exists"},
		},
		{
			name: "profile role id",
			yaml: func(t *testing.T) string {
				return editConfig(t, example, "profiles:\n", "profiles:\n  - {orgUnit: X, position: Y, senior: {roleIds: [0]}}\n")
			},
			want: []string{"profiles[0].senior.roleIds[0]"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text := tc.yaml(t)
			_, err := parseConfig("ponte.yaml", []byte(text), noEnv, noEnviron)
			if err == nil {
				t.Fatal("parseConfig accepted the configuration")
			}
			for _, w := range tc.want {
				if s, ok := strings.CutPrefix(w, "line:"); ok {
					w = "line " + strconv.Itoa(lineOf(t, text, s)) + ": "
				}
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestConfigEnvOverrides(t *testing.T) {
	example := readExampleConfig(t)
	noToken := editConfig(t, example, "  token: zeev-dev-token", "  #")
	tokenFile := secretFile(t, "rotated-zeev-token")
	tests := []struct {
		name  string
		yaml  string
		env   map[string]string
		check func(t *testing.T, c Config)
	}{
		{
			name: "nats url",
			yaml: example,
			env:  map[string]string{"PONTE_NATS_URL": "nats://a:4222,nats://b:4222"},
			check: func(t *testing.T, c Config) {
				if c.NATS.URL != "nats://a:4222,nats://b:4222" {
					t.Errorf("nats.url = %q", c.NATS.URL)
				}
			},
		},
		{
			name: "worker concurrency",
			yaml: example,
			env:  map[string]string{"PONTE_WORKER_CONCURRENCY": "7"},
			check: func(t *testing.T, c Config) {
				if c.Worker.Concurrency != 7 {
					t.Errorf("worker.concurrency = %d, want 7", c.Worker.Concurrency)
				}
			},
		},
		{
			name: "zeev token file",
			yaml: noToken,
			env:  map[string]string{"PONTE_ZEEV_TOKEN_FILE": tokenFile},
			check: func(t *testing.T, c Config) {
				if c.Zeev.TokenFile != tokenFile {
					t.Errorf("zeev.tokenFile = %q, want %q", c.Zeev.TokenFile, tokenFile)
				}
				zc, err := c.Zeev.client()
				if err != nil {
					t.Fatal(err)
				}
				if tok, err := zc.Token.Reveal(); err != nil || tok != "rotated-zeev-token" {
					t.Errorf("zeev token = %q, %v; want the file's content", tok, err)
				}
			},
		},
		{
			name: "cidades UG secret, a map entry from the file",
			yaml: example,
			env:  map[string]string{"PONTE_CIDADES_UGS_001001_CLIENT_SECRET": "from-env"},
			check: func(t *testing.T, c Config) {
				if got := c.CidadES.UGs["001001"].ClientSecret; got != "from-env" {
					t.Errorf("cidades.ugs.001001.clientSecret = %q, want from-env", got)
				}
				if got := c.CidadES.UGs["001002"].ClientSecret; got != "cidades-dev-001002-rw" {
					t.Errorf("cidades.ugs.001002.clientSecret = %q, want the file's", got)
				}
				cc, err := c.CidadES.client()
				if err != nil {
					t.Fatal(err)
				}
				if s, err := cc.UGs["001001"].ClientSecret.Reveal(); err != nil || s != "from-env" {
					t.Errorf("client secret of 001001 = %q, %v", s, err)
				}
			},
		},
		{
			name: "an optional key the file does not set",
			yaml: example,
			env:  map[string]string{"PONTE_SENIOR_SEARCH_SITUATION": "0"},
			check: func(t *testing.T, c Config) {
				if c.Senior.SearchSituation == nil || *c.Senior.SearchSituation != 0 {
					t.Errorf("senior.searchSituation = %v, want 0", c.Senior.SearchSituation)
				}
			},
		},
		{
			name: "variables that are not ponte's keys but are allowed",
			yaml: example,
			env: map[string]string{
				"PONTE_CONFIG":                           "ponte.yaml", // read by ponte run itself
				"PONTE_WORKER_CONCURENCY":                "",           // empty: ignored like any empty variable
				"PONTE_SERVICE_HOST":                     "10.0.0.7",   // Kubernetes service links of a Service "ponte"
				"PONTE_SERVICE_PORT":                     "8080",
				"PONTE_SERVICE_PORT_HTTP":                "8080",
				"PONTE_PORT":                             "tcp://10.0.0.7:8080",
				"PONTE_PORT_8080_TCP":                    "tcp://10.0.0.7:8080",
				"PONTE_PORT_8080_TCP_PROTO":              "tcp",
				"PONTE_PORT_8080_TCP_PORT":               "8080",
				"PONTE_PORT_8080_TCP_ADDR":               "10.0.0.7",
				"PONTE_METRICS_SERVICE_HOST":             "10.0.0.8", // ... and of a Service "ponte-metrics"
				"PONTE_METRICS_PORT_9090_UDP":            "udp://10.0.0.8:9090",
				"PONTE_CIDADES_UGS_001002_CLIENT_SECRET": "from-env", // a map entry the file lists
				"PONTE_SENIOR_SEARCH_SITUATION":          "1",
				"PONTE_NATS_URL":                         "nats://127.0.0.1:4222",
				"PONTE_JETSTREAM_INPUT_SUBJECTS":         "person.>,contract.>",
			},
			check: func(t *testing.T, c Config) {
				if got := c.CidadES.UGs["001002"].ClientSecret; got != "from-env" {
					t.Errorf("cidades.ugs.001002.clientSecret = %q, want from-env", got)
				}
			},
		},
		{
			name: "types: list, bool, number, duration, unsigned",
			yaml: example,
			env: map[string]string{
				"PONTE_JETSTREAM_INPUT_SUBJECTS":      " hr.> ,contract.>",
				"PONTE_JETSTREAM_MANAGE":              "false",
				"PONTE_ZEEV_RATE_LIMIT":               "2.5",
				"PONTE_NATS_CONNECT_TIMEOUT":          "3s",
				"PONTE_BREAKERS_CONSECUTIVE_FAILURES": "9",
				"PONTE_SENIOR_HEADER_STYLE":           "bearer",
			},
			check: func(t *testing.T, c Config) {
				if !slices.Equal(c.JetStream.InputSubjects, []string{"hr.>", "contract.>"}) {
					t.Errorf("jetstream.inputSubjects = %q", c.JetStream.InputSubjects)
				}
				if c.JetStream.Manage {
					t.Error("jetstream.manage = true, want false")
				}
				if c.Zeev.RateLimit != 2.5 {
					t.Errorf("zeev.rateLimit = %v", c.Zeev.RateLimit)
				}
				if c.NATS.ConnectTimeout != 3*time.Second {
					t.Errorf("nats.connectTimeout = %v", c.NATS.ConnectTimeout)
				}
				if c.Breakers.ConsecutiveFailures != 9 {
					t.Errorf("breakers.consecutiveFailures = %d", c.Breakers.ConsecutiveFailures)
				}
				if c.Senior.HeaderStyle != senior.HeaderBearer {
					t.Errorf("senior.headerStyle = %q", c.Senior.HeaderStyle)
				}
			},
		},
		{
			name: "an empty variable changes nothing",
			yaml: example,
			env:  map[string]string{"PONTE_NATS_NAME": "", "PONTE_WORKER_SOURCE": ""},
			check: func(t *testing.T, c Config) {
				if c.NATS.Name != "ponte" || c.Worker.Source != "ponte" {
					t.Errorf("nats.name = %q, worker.source = %q, want ponte", c.NATS.Name, c.Worker.Source)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseConfig("ponte.yaml", []byte(tc.yaml), envOf(tc.env), environOf(tc.env))
			if err != nil {
				t.Fatalf("parseConfig: %v", err)
			}
			tc.check(t, c)
		})
	}
}

// TestConfigEnvWithoutFile: the environment alone applies, but cannot list UGs, so it is never enough.
func TestConfigEnvWithoutFile(t *testing.T) {
	env := map[string]string{
		"PONTE_LOG_LEVEL":        "debug",
		"PONTE_ZEEV_BASE_URL":    "https://acme.zeev.it",
		"PONTE_ZEEV_TOKEN":       "t",
		"PONTE_SENIOR_TOKEN":     "t",
		"PONTE_CIDADES_BASE_URL": "https://cidades.example",
	}
	c, err := loadConfig("", envOf(env), environOf(env))
	if err == nil || !strings.Contains(err.Error(), "cidades.ugs: at least one UG is required") {
		t.Fatalf("loadConfig without a file: %v, want cidades.ugs: at least one UG is required", err)
	}
	if c.Log.Level != "debug" || c.Zeev.BaseURL != "https://acme.zeev.it" {
		t.Errorf("log.level = %q, zeev.baseURL = %q: the environment was not applied", c.Log.Level, c.Zeev.BaseURL)
	}

	env["PONTE_CIDADES_UGS_001001_CLIENT_ID"] = "id"
	env["PONTE_CIDADES_UGS_001001_CLIENT_SECRET"] = "s"
	_, err = loadConfig("", envOf(env), environOf(env))
	want := "config environment: PONTE_CIDADES_UGS_001001_CLIENT_ID: UG 001001 is not in the configuration file " +
		"(the environment can only change the entries of cidades.ugs that the file lists)\n" +
		"  PONTE_CIDADES_UGS_001001_CLIENT_SECRET: UG 001001 is not in the configuration file"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("loadConfig with UG variables but no file:\n%v\nwant:\n%s", err, want)
	}
}

// TestConfigEnvUnknown checks that a PONTE_* variable that is no key's stops the start, named, with the key
// meant when one is close.
func TestConfigEnvUnknown(t *testing.T) {
	example := readExampleConfig(t)
	tests := []struct {
		name string
		env  map[string]string
		want string // the whole error
	}{
		{name: "letter missing", env: map[string]string{"PONTE_WORKER_CONCURENCY": "8"},
			want: "config environment: PONTE_WORKER_CONCURENCY is not a configuration variable (did you mean PONTE_WORKER_CONCURRENCY?)"},
		{name: "letters swapped", env: map[string]string{"PONTE_WROKER_CONCURRENCY": "8"},
			want: "config environment: PONTE_WROKER_CONCURRENCY is not a configuration variable (did you mean PONTE_WORKER_CONCURRENCY?)"},
		{name: "underscore missing", env: map[string]string{"PONTE_ZEEV_BASEURL": "https://acme.zeev.it"},
			want: "config environment: PONTE_ZEEV_BASEURL is not a configuration variable (did you mean PONTE_ZEEV_BASE_URL?)"},
		{name: "word missing", env: map[string]string{"PONTE_ZEEV_URL": "https://acme.zeev.it"},
			want: "config environment: PONTE_ZEEV_URL is not a configuration variable (did you mean PONTE_ZEEV_BASE_URL?)"},
		{name: "camelCase key not split", env: map[string]string{"PONTE_NATS_CREDSFILE": "/x"},
			want: "config environment: PONTE_NATS_CREDSFILE is not a configuration variable (did you mean PONTE_NATS_CREDS_FILE?)"},
		{name: "nothing close", env: map[string]string{"PONTE_FROBNICATE": "1"},
			want: "config environment: PONTE_FROBNICATE is not a configuration variable (docs/configuration.md lists them)"},
		{name: "a UG the file does not list", env: map[string]string{"PONTE_CIDADES_UGS_009999_CLIENT_SECRET_FILE": "/x"},
			want: "config environment: PONTE_CIDADES_UGS_009999_CLIENT_SECRET_FILE: UG 009999 is not in the configuration file " +
				"(the environment can only change the entries of cidades.ugs that the file lists)"},
		{name: "a UG code mistyped", env: map[string]string{"PONTE_CIDADES_UGS_00101_CLIENT_ID": "x"},
			want: "config environment: PONTE_CIDADES_UGS_00101_CLIENT_ID: UG 00101 is not in the configuration file " +
				"(the environment can only change the entries of cidades.ugs that the file lists; did you mean PONTE_CIDADES_UGS_001001_CLIENT_ID?)"},
		{name: "a field of a UG mistyped", env: map[string]string{"PONTE_CIDADES_UGS_001001_CLIENT_SECRT": "x"},
			want: "config environment: PONTE_CIDADES_UGS_001001_CLIENT_SECRT is not a configuration variable (did you mean PONTE_CIDADES_UGS_001001_CLIENT_SECRET?)"},
		{name: "not a Kubernetes service link", env: map[string]string{"PONTE_HTTP_PORT": "9090"},
			want: "config environment: PONTE_HTTP_PORT is not a configuration variable (docs/configuration.md lists them)"},
		{name: "profiles", env: map[string]string{"PONTE_PROFILES_0_ORG_UNIT": "TI"},
			want: "config environment: PONTE_PROFILES_0_ORG_UNIT: profiles cannot be set from the environment, only in the file"},
		{name: "several, in name order", env: map[string]string{"PONTE_LOG_LEVL": "debug", "PONTE_HTTP_LISTN": ":9090"},
			want: "config environment: PONTE_HTTP_LISTN is not a configuration variable (did you mean PONTE_HTTP_LISTEN?)\n" +
				"  PONTE_LOG_LEVL is not a configuration variable (did you mean PONTE_LOG_LEVEL?)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseConfig("ponte.yaml", []byte(example), envOf(tc.env), environOf(tc.env))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("parseConfig:\n%v\nwant:\n%s", err, tc.want)
			}
		})
	}
}

func TestConfigEnvErrors(t *testing.T) {
	example := readExampleConfig(t)
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{name: "integer", env: map[string]string{"PONTE_WORKER_CONCURRENCY": "abc"},
			want: []string{`config environment: PONTE_WORKER_CONCURRENCY: "abc" is not an integer`}},
		{name: "integer with a fraction", env: map[string]string{"PONTE_WORKER_CONCURRENCY": "2.5"},
			want: []string{`PONTE_WORKER_CONCURRENCY: "2.5" is not an integer`}},
		{name: "integer overflow", env: map[string]string{"PONTE_WORKER_CONCURRENCY": "99999999999999999999"},
			want: []string{`PONTE_WORKER_CONCURRENCY: "99999999999999999999" is too large (at most 9223372036854775807)`}},
		{name: "integer underflow", env: map[string]string{"PONTE_WORKER_CONCURRENCY": "-99999999999999999999"},
			want: []string{`PONTE_WORKER_CONCURRENCY: "-99999999999999999999" is too small (at least -9223372036854775808)`}},
		{name: "number overflow", env: map[string]string{"PONTE_ZEEV_RATE_LIMIT": "1e999"},
			want: []string{`PONTE_ZEEV_RATE_LIMIT: "1e999" is too large`}},
		{name: "duration without unit", env: map[string]string{"PONTE_NATS_CONNECT_TIMEOUT": "10"},
			want: []string{"PONTE_NATS_CONNECT_TIMEOUT"}},
		{name: "boolean", env: map[string]string{"PONTE_JETSTREAM_MANAGE": "yes"},
			want: []string{"PONTE_JETSTREAM_MANAGE"}},
		{name: "number", env: map[string]string{"PONTE_ZEEV_RATE_LIMIT": "fast"},
			want: []string{"PONTE_ZEEV_RATE_LIMIT"}},
		{name: "negative unsigned", env: map[string]string{"PONTE_BREAKERS_HALF_OPEN_REQUESTS": "-1"},
			want: []string{`PONTE_BREAKERS_HALF_OPEN_REQUESTS: "-1" is not a non-negative integer`}},
		{name: "valid type, invalid value", env: map[string]string{"PONTE_WORKER_CONCURRENCY": "-3"},
			want: []string{"config: worker.concurrency"}},
		{name: "map entry", env: map[string]string{"PONTE_CIDADES_UGS_001002_VIA": "009999"},
			want: []string{"cidades.ugs.001002.via"}},
		{name: "token file while the file has the token", env: map[string]string{"PONTE_ZEEV_TOKEN_FILE": secretFile(t, "x")},
			want: []string{"zeev.token", "not both"}},
		{name: "unsigned overflow", env: map[string]string{"PONTE_BREAKERS_CONSECUTIVE_FAILURES": "4294967296"},
			want: []string{`PONTE_BREAKERS_CONSECUTIVE_FAILURES: "4294967296" is too large (at most 4294967295)`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseConfig("ponte.yaml", []byte(example), envOf(tc.env), environOf(tc.env))
			if err == nil {
				t.Fatal("parseConfig accepted the environment")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "bits") {
				t.Errorf("error %q talks of bits", err)
			}
		})
	}
}

func TestScreaming(t *testing.T) {
	tests := []struct{ in, want string }{
		{"baseURL", "BASE_URL"},
		{"tokenTTL", "TOKEN_TTL"},
		{"clientId", "CLIENT_ID"},
		{"nkeySeedFile", "NKEY_SEED_FILE"},
		{"caFile", "CA_FILE"},
		{"url", "URL"},
		{"passwordLoginURL", "PASSWORD_LOGIN_URL"},
		{"maxRetryAfter", "MAX_RETRY_AFTER"},
		{"HTTPServer", "HTTP_SERVER"},
		{"001001", "001001"},
		{"ug-01.a", "UG_01_A"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := screaming(tc.in); got != tc.want {
				t.Errorf("screaming(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	if got := envName([]string{"cidades", "ugs", "001001", "clientSecretFile"}); got != "PONTE_CIDADES_UGS_001001_CLIENT_SECRET_FILE" {
		t.Errorf("envName = %q", got)
	}
}

// configKey is one key of the configuration, found by walking the Config type.
type configKey struct {
	path  string   // dotted, with <ug> for map keys and [] after a list of structs: "profiles[].zeev.licenseType"
	env   []string // path elements for envName; nil inside a list (not settable from the environment)
	typ   reflect.Type
	index []int // field indexes from Config, nil inside maps and lists
}

// mapPlaceholders name the keys of the configuration's maps in paths; other maps use <key>.
var mapPlaceholders = map[string]string{"cidades.ugs": "<ug>"}

// configKeys walks the Config type the way the YAML decoder and overlayEnv do (yaml tags, ",inline", "-").
func configKeys(t *testing.T) []configKey {
	t.Helper()
	var keys []configKey
	var walk func(typ reflect.Type, path, env []string, index []int)
	walk = func(typ reflect.Type, path, env []string, index []int) {
		join := func(extra ...string) []string { return append(append([]string{}, path...), extra...) }
		if typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
			index = nil
		}
		switch {
		case typ == durationType:
		case typ.Kind() == reflect.Struct:
			for i := range typ.NumField() {
				f := typ.Field(i)
				var fi []int
				if index != nil {
					fi = append(append([]int{}, index...), i)
				}
				key, inline, ok := yamlField(f)
				switch {
				case !ok && f.IsExported() && f.Tag.Get("yaml") == "":
					t.Errorf("%s: field %s.%s has no yaml tag", strings.Join(path, "."), typ.Name(), f.Name)
				case !ok:
				case inline:
					walk(f.Type, path, env, fi)
				default:
					var fe []string
					if env != nil {
						fe = append(append([]string{}, env...), key)
					}
					walk(f.Type, join(key), fe, fi)
				}
			}
			return
		case typ.Kind() == reflect.Map:
			ph, ok := mapPlaceholders[strings.Join(path, ".")]
			if !ok {
				ph = "<key>"
			}
			var me []string
			if env != nil {
				me = append(append([]string{}, env...), ph)
			}
			walk(typ.Elem(), join(ph), me, nil)
			return
		case typ.Kind() == reflect.Slice && typ.Elem().Kind() == reflect.Struct:
			p := join()
			p[len(p)-1] += "[]"
			walk(typ.Elem(), p, nil, nil)
			return
		}
		keys = append(keys, configKey{path: strings.Join(path, "."), env: env, typ: typ, index: index})
	}
	walk(reflect.TypeOf(Config{}), nil, []string{}, []int{})
	if len(keys) < 100 {
		t.Fatalf("configKeys found %d keys; the walk is broken", len(keys))
	}
	return keys
}

// docType is the type column of docs/configuration.md for t.
func docType(t reflect.Type) string {
	switch {
	case t == durationType:
		return "duration"
	case t.Kind() == reflect.String:
		return "string"
	case t.Kind() == reflect.Bool:
		return "boolean"
	case isInteger(t.Kind()):
		return "integer"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "number"
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		return "list of strings"
	case t.Kind() == reflect.Slice && isInteger(t.Elem().Kind()):
		return "list of integers"
	}
	return "unsupported type " + t.String()
}

func isInteger(k reflect.Kind) bool {
	return (k >= reflect.Int && k <= reflect.Int64) || (k >= reflect.Uint && k <= reflect.Uint64)
}

// docRow is a row of a key table: | key | type | default | environment variable | description |.
type docRow struct {
	line                      int
	key, typ, def, env, descr string
}

var codeSpan = regexp.MustCompile("`([^`]*)`")

// docKeyRows returns the rows of the key tables of docs/configuration.md by key.
func docKeyRows(t *testing.T) map[string]docRow {
	t.Helper()
	b, err := os.ReadFile(configDoc)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]docRow{}
	inTable := false
	for i, line := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "| key | type | default | environment variable | description |"):
			inTable = true
			continue
		case !strings.HasPrefix(line, "|"):
			inTable = false
			continue
		case !inTable || strings.HasPrefix(line, "|---"):
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 5 {
			t.Errorf("%s:%d: %d cells, want 5 (no | inside cells)", configDoc, i+1, len(cells))
			continue
		}
		for j := range cells {
			cells[j] = strings.TrimSpace(cells[j])
		}
		m := codeSpan.FindStringSubmatch(cells[0])
		if m == nil || m[0] != cells[0] {
			t.Errorf("%s:%d: key cell %q is not one `key`", configDoc, i+1, cells[0])
			continue
		}
		if _, dup := rows[m[1]]; dup {
			t.Errorf("%s:%d: key %s documented twice", configDoc, i+1, m[1])
		}
		rows[m[1]] = docRow{line: i + 1, key: m[1], typ: cells[1], def: cells[2], env: cells[3], descr: cells[4]}
	}
	return rows
}

// TestConfigDocCoversEveryKey fails when a key of Config is missing from docs/configuration.md, or documented with
// another type or environment variable, or when the page documents a key Config does not have.
func TestConfigDocCoversEveryKey(t *testing.T) {
	keys := configKeys(t)
	rows := docKeyRows(t)
	seen := map[string]bool{}
	envs := map[string]string{}
	for _, k := range keys {
		seen[k.path] = true
		row, ok := rows[k.path]
		if !ok {
			t.Errorf("%s: no row for key `%s` (type %s): document it", configDoc, k.path, docType(k.typ))
			continue
		}
		if want := docType(k.typ); row.typ != want {
			t.Errorf("%s:%d: `%s` has type %q, want %q", configDoc, row.line, k.path, row.typ, want)
		}
		wantEnv := "—"
		if k.env != nil {
			name := envName(k.env)
			wantEnv = "`" + name + "`"
			if other, dup := envs[name]; dup {
				t.Errorf("keys %s and %s have the same environment variable %s", other, k.path, name)
			}
			envs[name] = k.path
		}
		if row.env != wantEnv {
			t.Errorf("%s:%d: `%s` has environment variable %s, want %s", configDoc, row.line, k.path, row.env, wantEnv)
		}
		if row.descr == "" {
			t.Errorf("%s:%d: `%s` has no description", configDoc, row.line, k.path)
		}
	}
	for key, row := range rows {
		if !seen[key] {
			t.Errorf("%s:%d: `%s` is not a key of the configuration", configDoc, row.line, key)
		}
	}
}

// TestConfigDocDefaults fails when a default written in docs/configuration.md differs from the code, for every key
// whose default the code exposes: Config.withDefaults and the exported Default* constants of the clients.
func TestConfigDocDefaults(t *testing.T) {
	rows := docKeyRows(t)
	want := map[string]any{
		"zeev.tokenTTL":                zeev.DefaultTokenTTL,
		"senior.baseURL":               senior.DefaultBaseURL,
		"senior.headerStyle":           string(senior.HeaderToken),
		"senior.scope":                 senior.DefaultScope,
		"senior.loginURL":              senior.DefaultLoginURL,
		"senior.passwordLoginURL":      senior.DefaultPasswordLoginURL,
		"senior.tokenLeeway":           senior.DefaultTokenLeeway,
		"senior.cpfLookup":             string(senior.CPFLookupSearch),
		"senior.scanPageSize":          senior.DefaultScanPageSize,
		"senior.scanMaxPages":          senior.DefaultScanMaxPages,
		"senior.maxRegistryCandidates": senior.DefaultMaxRegistryCandidates,
		"cidades.tokenAuth":            string(cidades.TokenAuthForm),
		"cidades.tokenLeeway":          cidades.DefaultTokenLeeway,
		"cidades.writeScope":           cidades.DefaultWriteScope,
		"cidades.pageSize":             cidades.DefaultPageSize,
		"cidades.maxPages":             cidades.DefaultMaxPages,
	}
	for _, target := range []string{"zeev", "senior", "cidades"} {
		// Applied by clients.NewEndpoint, not by withDefaults.
		want[target+".maxIdleConnsPerHost"] = clients.DefaultMaxIdleConnsPerHost
		want[target+".idleConnTimeout"] = clients.DefaultIdleConnTimeout
		want[target+".dialTimeout"] = clients.DefaultDialTimeout
		want[target+".tlsHandshakeTimeout"] = clients.DefaultTLSHandshakeTimeout
	}
	defaults := reflect.ValueOf(Config{}.withDefaults())
	for _, k := range configKeys(t) {
		if k.index == nil {
			continue
		}
		if v := defaults.FieldByIndex(k.index); !v.IsZero() {
			if _, dup := want[k.path]; dup {
				t.Fatalf("%s: default given twice", k.path)
			}
			want[k.path] = v.Interface()
		}
	}
	if len(want) < 40 {
		t.Fatalf("only %d defaults found", len(want))
	}
	for key, w := range want {
		row, ok := rows[key]
		if !ok {
			t.Errorf("%s: no row for %s", configDoc, key)
			continue
		}
		var spans []string
		for _, m := range codeSpan.FindAllStringSubmatch(row.def, -1) {
			spans = append(spans, m[1])
		}
		if len(spans) == 0 {
			t.Errorf("%s:%d: `%s` default %q has no `value`; the code's is %v", configDoc, row.line, key, row.def, w)
			continue
		}
		var got any
		var err error
		switch w.(type) {
		case time.Duration:
			got, err = time.ParseDuration(spans[0])
		case int:
			got, err = strconv.Atoi(spans[0])
		case string:
			got = spans[0]
		case []string:
			got = spans
		default:
			t.Fatalf("%s: unsupported default type %T", key, w)
		}
		if err != nil || !reflect.DeepEqual(got, w) {
			t.Errorf("%s:%d: `%s` default is %q, the code's is %v", configDoc, row.line, key, row.def, w)
		}
	}
}

// TestConfigDocProductionExample checks that the minimal production example of docs/configuration.md, with its
// secret files present and its environment variables set, passes validation.
func TestConfigDocProductionExample(t *testing.T) {
	b, err := os.ReadFile(configDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	_, after, ok := strings.Cut(doc, "## Minimal production example")
	if !ok {
		t.Fatal("no section Minimal production example")
	}
	_, after, ok = strings.Cut(after, "```yaml\n")
	yml, after, ok2 := strings.Cut(after, "```")
	if !ok || !ok2 {
		t.Fatal("no yaml block in Minimal production example")
	}
	file := secretFile(t, "secret")
	fileKey := regexp.MustCompile(`(?m)^(\s*\w*File:\s*)(\S+)`)
	if n := len(fileKey.FindAllString(yml, -1)); n < 4 {
		t.Fatalf("production example reads %d secret files, want its secrets in files", n)
	}
	yml = fileKey.ReplaceAllString(yml, "${1}"+file)
	for _, inline := range []string{"token:", "secret:", "password:", "clientSecret:"} {
		if regexp.MustCompile(`(?m)^\s*` + inline).MatchString(yml) {
			t.Errorf("production example has an inline secret %s", inline)
		}
	}
	env := map[string]string{}
	_, after, _ = strings.Cut(after, "```sh\n")
	block, _, _ := strings.Cut(after, "```")
	for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(k, "PONTE_") {
			t.Fatalf("environment line %q", line)
		}
		env[k] = v
	}
	cfg, err := parseConfig("production example", []byte(yml), envOf(env), environOf(env))
	if err != nil {
		t.Fatalf("production example: %v", err)
	}
	if cfg.Log.Level != env["PONTE_LOG_LEVEL"] || cfg.NATS.URL != env["PONTE_NATS_URL"] {
		t.Errorf("environment not applied: log.level %q, nats.url %q", cfg.Log.Level, cfg.NATS.URL)
	}
}

// TestConfigDocEnvExamples checks the key → environment variable examples of docs/configuration.md.
func TestConfigDocEnvExamples(t *testing.T) {
	b, err := os.ReadFile(configDoc)
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([^`]+)` \\| `(PONTE_[A-Z0-9_]+)` \\|$")
	ms := row.FindAllStringSubmatch(string(b), -1)
	if len(ms) < 3 {
		t.Fatalf("found %d examples", len(ms))
	}
	for _, m := range ms {
		if got := envName(strings.Split(strings.ReplaceAll(m[1], `"`, ""), ".")); got != m[2] {
			t.Errorf("%s: the doc says %s, the code uses %s", m[1], m[2], got)
		}
	}
}

// TestFilesExistNamesTheFirstMissing: with several files missing, the error names the first key in the order
// given, every time (a map's order named a random one).
func TestFilesExistNamesTheFirstMissing(t *testing.T) {
	dir := t.TempDir()
	for range 20 {
		err := filesExist("a.caFile", "", "a.certFile", dir+"/missing-cert", "a.keyFile", dir+"/missing-key")
		if err == nil || !strings.HasPrefix(err.Error(), "a.certFile: ") {
			t.Fatalf("err = %v, want a.certFile named first", err)
		}
	}
	if err := filesExist("a.caFile", dir, "a.certFile", ""); err != nil {
		t.Fatalf("an existing path and an empty one: %v", err)
	}
}
