package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ponte-dev/ponte/clients"
	"github.com/ponte-dev/ponte/clients/cidades"
	"github.com/ponte-dev/ponte/clients/senior"
	"github.com/ponte-dev/ponte/clients/zeev"
	"github.com/ponte-dev/ponte/events"
	"github.com/ponte-dev/ponte/handlers"
)

// logLevels are the values of log.level and of PUT /loglevel.
var logLevels = []string{"debug", "info", "warn", "error"}

// Config is the whole configuration of `ponte run`: a YAML file, then PONTE_* environment variables on top
// (PONTE_ plus the key path in SCREAMING_SNAKE, e.g. zeev.tokenFile → PONTE_ZEEV_TOKEN_FILE). Every key is
// documented in docs/configuration.md and examples/ponte.yaml.
type Config struct {
	NATS      NATSConfig              `yaml:"nats"`
	JetStream events.Topology         `yaml:"jetstream"`
	Worker    events.Config           `yaml:"worker"`
	HTTP      HTTPConfig              `yaml:"http"`
	Log       LogConfig               `yaml:"log"`
	Tracing   TracingConfig           `yaml:"tracing"`
	Breakers  clients.BreakerSettings `yaml:"breakers"`
	Zeev      ZeevConfig              `yaml:"zeev"`
	Senior    SeniorConfig            `yaml:"senior"`
	CidadES   CidadESConfig           `yaml:"cidades"`
	Profiles  []handlers.Profile      `yaml:"profiles"`
}

// NATSConfig is how the worker reaches the NATS cluster.
type NATSConfig struct {
	// URL is one or more comma-separated server URLs. Default nats://127.0.0.1:4222.
	URL string `yaml:"url"`
	// Name is the connection name shown by the server. Default "ponte".
	Name string `yaml:"name"`
	// CredsFile is a user credentials file (JWT + NKey seed), as mounted from a Secret.
	CredsFile string `yaml:"credsFile"`
	// NKeySeedFile is an NKey seed file; exclusive with CredsFile.
	NKeySeedFile string `yaml:"nkeySeedFile"`
	// UserFile and PasswordFile hold a user name and password; exclusive with the two above.
	UserFile     string    `yaml:"userFile"`
	PasswordFile string    `yaml:"passwordFile"`
	TLS          TLSConfig `yaml:"tls"`
	// ConnectTimeout bounds the first connection. Default 10s.
	ConnectTimeout time.Duration `yaml:"connectTimeout"`
	// DrainTimeout bounds nc.Drain at shutdown. Default 10s.
	DrainTimeout time.Duration `yaml:"drainTimeout"`
}

// TLSConfig are PEM files; CertFile and KeyFile go together.
type TLSConfig struct {
	CAFile   string `yaml:"caFile"`
	CertFile string `yaml:"certFile"`
	KeyFile  string `yaml:"keyFile"`
}

// HTTPConfig is the operations endpoint: /metrics, /healthz, /readyz.
type HTTPConfig struct {
	// Listen is the address. Default ":8080"; "-" disables the endpoint.
	Listen string `yaml:"listen"`
	// Pprof serves Go's runtime profiles under /debug/pprof/ on the same address. Off by default: a profile
	// shows the process's internals and costs CPU while it is taken.
	Pprof bool `yaml:"pprof"`
}

// LogConfig shapes the logs on stderr.
type LogConfig struct {
	// Level is debug, info (default), warn or error.
	Level string `yaml:"level"`
	// Format is json (default) or text.
	Format string `yaml:"format"`
}

// TracingConfig is the OpenTelemetry tracing of the worker: a span per delivery of an event, a child span per step
// and one per HTTP request, exported over OTLP/HTTP. Off by default; the trace context of the input events is
// carried to the APIs and into the results and dead letters either way (docs/operations.md, Tracing).
type TracingConfig struct {
	// Enabled turns the spans and their export on. Default false.
	Enabled bool `yaml:"enabled"`
	// Endpoint is the OTLP/HTTP traces URL of the collector, e.g. "http://otel-collector:4318/v1/traces"; a URL
	// without a path gets /v1/traces. http sends in plain text, https over TLS. Required when enabled.
	Endpoint string `yaml:"endpoint"`
	// HeadersFile is a file of HTTP headers sent with every export, one "Name: value" per line (blank lines and
	// lines starting with # are skipped), such as a collector's API key; re-read when it changes, never logged.
	HeadersFile string `yaml:"headersFile"`
	// TLS are PEM files for an https endpoint: a CA to trust instead of the system's, a client certificate.
	TLS TLSConfig `yaml:"tls"`
	// SampleRatio is the share of new traces recorded, from 0 to 1, for events that arrive without a trace
	// context; an event with one follows its sampled flag (a parent-based sampler). Default 1.
	SampleRatio *float64 `yaml:"sampleRatio"`
	// ServiceName is the service.name of the spans. Default "ponte".
	ServiceName string `yaml:"serviceName"`
	// Timeout bounds one export of a batch of spans, retries included. Default 10s.
	Timeout time.Duration `yaml:"timeout"`
	// ShutdownTimeout bounds the export of the spans still queued at shutdown, the last step of a graceful stop.
	// Default 5s.
	ShutdownTimeout time.Duration `yaml:"shutdownTimeout"`
}

// secret returns the secret given as a file (preferred) or inline; nil if neither. Setting both is an error
// naming key.
func secret(key, value, file string) (*clients.Secret, error) {
	switch {
	case value != "" && file != "":
		return nil, fmt.Errorf("%s: set %s or %sFile, not both", key, key, key)
	case file != "":
		if _, err := os.Stat(file); err != nil {
			return nil, fmt.Errorf("%sFile: %w", key, err)
		}
		return clients.SecretFile(file), nil
	case value != "":
		return clients.SecretValue(value), nil
	}
	return nil, nil
}

// ZeevConfig is zeev.Config plus its secrets, by value (token, password; for development) or by file
// (tokenFile, passwordFile; re-read when they change).
type ZeevConfig struct {
	zeev.Config   `yaml:",inline"`
	TokenValue    string `yaml:"token"`
	TokenFile     string `yaml:"tokenFile"`
	PasswordValue string `yaml:"password"`
	PasswordFile  string `yaml:"passwordFile"`
}

// client returns the zeev.Config with its secrets.
func (c ZeevConfig) client() (zeev.Config, error) {
	cfg := c.Config
	var err error
	if cfg.Token, err = secret("zeev.token", c.TokenValue, c.TokenFile); err != nil {
		return cfg, err
	}
	if cfg.Password, err = secret("zeev.password", c.PasswordValue, c.PasswordFile); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// SeniorConfig is senior.Config plus its secrets (token, secret, password), each by value or by file.
type SeniorConfig struct {
	senior.Config `yaml:",inline"`
	TokenValue    string `yaml:"token"`
	TokenFile     string `yaml:"tokenFile"`
	SecretValue   string `yaml:"secret"`
	SecretFile    string `yaml:"secretFile"`
	PasswordValue string `yaml:"password"`
	PasswordFile  string `yaml:"passwordFile"`
}

func (c SeniorConfig) client() (senior.Config, error) {
	cfg := c.Config
	var err error
	if cfg.Token, err = secret("senior.token", c.TokenValue, c.TokenFile); err != nil {
		return cfg, err
	}
	if cfg.Secret, err = secret("senior.secret", c.SecretValue, c.SecretFile); err != nil {
		return cfg, err
	}
	if cfg.Password, err = secret("senior.password", c.PasswordValue, c.PasswordFile); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// CidadESConfig is cidades.Config with each UG's client secret by value or by file.
type CidadESConfig struct {
	cidades.Config `yaml:",inline"`
	UGs            map[string]CidadESUG `yaml:"ugs"`
}

// CidadESUG is one UG's integration key, or the aggregator UG whose key reaches it (via).
type CidadESUG struct {
	ClientID         string `yaml:"clientId"`
	ClientSecret     string `yaml:"clientSecret"`
	ClientSecretFile string `yaml:"clientSecretFile"`
	Via              string `yaml:"via"`
}

func (c CidadESConfig) client() (cidades.Config, error) {
	cfg := c.Config
	cfg.UGs = make(map[string]cidades.UGConfig, len(c.UGs))
	for ug, u := range c.UGs {
		s, err := secret("cidades.ugs."+ug+".clientSecret", u.ClientSecret, u.ClientSecretFile)
		if err != nil {
			return cfg, err
		}
		cfg.UGs[ug] = cidades.UGConfig{ClientID: u.ClientID, ClientSecret: s, Via: u.Via}
	}
	return cfg, cfg.Validate()
}

// defaultNATSURL is nats.url's default, and that of the --nats flag of publish and watch.
const defaultNATSURL = "nats://127.0.0.1:4222"

// withDefaults fills unset keys.
func (c Config) withDefaults() Config {
	if c.NATS.URL == "" {
		c.NATS.URL = defaultNATSURL
	}
	if c.NATS.Name == "" {
		c.NATS.Name = "ponte"
	}
	if c.NATS.ConnectTimeout == 0 {
		c.NATS.ConnectTimeout = 10 * time.Second
	}
	if c.NATS.DrainTimeout == 0 {
		c.NATS.DrainTimeout = 10 * time.Second
	}
	if c.HTTP.Listen == "" {
		c.HTTP.Listen = ":8080"
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "json"
	}
	c.Tracing = c.Tracing.withDefaults()
	c.JetStream = c.JetStream.WithDefaults()
	c.Worker = c.Worker.WithDefaults()
	return c
}

// validate checks the whole configuration and names the first bad key.
func (c Config) validate() error {
	n := c.NATS
	if err := checkNATSURLs(n.URL); err != nil {
		return fmt.Errorf("nats.url: %w", err)
	}
	auth := 0
	for _, f := range []string{n.CredsFile, n.NKeySeedFile, n.UserFile} {
		if f != "" {
			auth++
		}
	}
	if auth > 1 {
		return errors.New("nats: set at most one of credsFile, nkeySeedFile, userFile")
	}
	if (n.UserFile == "") != (n.PasswordFile == "") {
		return errors.New("nats.passwordFile: userFile and passwordFile go together")
	}
	if (n.TLS.CertFile == "") != (n.TLS.KeyFile == "") {
		return errors.New("nats.tls.keyFile: certFile and keyFile go together")
	}
	if c.HTTP.Pprof && c.HTTP.Listen == "-" {
		return errors.New(`http.pprof: the profiles are served on http.listen, which is "-" (disabled)`)
	}
	if err := filesExist("nats.credsFile", n.CredsFile, "nats.nkeySeedFile", n.NKeySeedFile, "nats.userFile", n.UserFile,
		"nats.passwordFile", n.PasswordFile, "nats.tls.caFile", n.TLS.CAFile, "nats.tls.certFile", n.TLS.CertFile,
		"nats.tls.keyFile", n.TLS.KeyFile); err != nil {
		return err
	}
	if !slices.Contains(logLevels, c.Log.Level) {
		return fmt.Errorf("log.level: %q is not one of %s", c.Log.Level, strings.Join(logLevels, ", "))
	}
	switch c.Log.Format {
	case "json", "text":
	default:
		return fmt.Errorf("log.format: %q is not json or text", c.Log.Format)
	}
	if err := c.JetStream.Validate(); err != nil {
		return fmt.Errorf("jetstream.%w", err)
	}
	if err := c.Worker.Validate(); err != nil {
		return fmt.Errorf("worker.%w", err)
	}
	if err := c.Breakers.Validate(); err != nil {
		return fmt.Errorf("breakers.%w", err)
	}
	if _, err := handlers.NewProfiles(c.Profiles); err != nil {
		return err
	}
	if _, err := c.Zeev.client(); err != nil {
		return err
	}
	if _, err := c.Senior.client(); err != nil {
		return err
	}
	if _, err := c.CidadES.client(); err != nil {
		return err
	}
	return c.Tracing.validate()
}

// defaultSampleRatio is tracing.sampleRatio's default.
const defaultSampleRatio = 1.0

// withDefaults fills the unset tracing keys.
func (c TracingConfig) withDefaults() TracingConfig {
	if c.SampleRatio == nil {
		r := defaultSampleRatio
		c.SampleRatio = &r
	}
	if c.ServiceName == "" {
		c.ServiceName = "ponte"
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 5 * time.Second
	}
	return c
}

// filesExist checks the files of key, path pairs, in order, skipping empty paths: the error names the first key
// whose file cannot be found.
func filesExist(keysAndPaths ...string) error {
	for i := 0; i+1 < len(keysAndPaths); i += 2 {
		if path := keysAndPaths[i+1]; path != "" {
			if _, err := os.Stat(path); err != nil {
				return fmt.Errorf("%s: %w", keysAndPaths[i], err)
			}
		}
	}
	return nil
}

// validate checks the tracing keys, naming the first bad one. The endpoint and the files are checked only when
// tracing is enabled (a disabled block may name files that the pod does not mount); the others always.
func (c TracingConfig) validate() error {
	if r := c.SampleRatio; r != nil && !(*r >= 0 && *r <= 1) {
		return fmt.Errorf("tracing.sampleRatio: %v is not between 0 and 1", *r)
	}
	switch {
	case c.Timeout < 0:
		return errors.New("tracing.timeout: must not be negative")
	case c.ShutdownTimeout < 0:
		return errors.New("tracing.shutdownTimeout: must not be negative")
	case (c.TLS.CertFile == "") != (c.TLS.KeyFile == ""):
		return errors.New("tracing.tls.keyFile: certFile and keyFile go together")
	}
	if !c.Enabled {
		return nil
	}
	if c.Endpoint == "" {
		return errors.New("tracing.endpoint: required when tracing.enabled is true, e.g. http://otel-collector:4318/v1/traces")
	}
	u, err := url.Parse(c.Endpoint)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("tracing.endpoint: %q is not an absolute http(s) URL, e.g. http://otel-collector:4318/v1/traces", redactURL(c.Endpoint))
	case u.User != nil:
		return errors.New("tracing.endpoint: must not carry credentials; put them in tracing.headersFile")
	case u.RawQuery != "" || u.Fragment != "":
		return errors.New("tracing.endpoint: must not have a query or fragment (credentials go in tracing.headersFile)")
	case u.Scheme == "http" && c.TLS != (TLSConfig{}):
		return fmt.Errorf("tracing.tls: set for the plain-text endpoint %q; use https", c.Endpoint)
	}
	if err := filesExist("tracing.headersFile", c.HeadersFile, "tracing.tls.caFile", c.TLS.CAFile,
		"tracing.tls.certFile", c.TLS.CertFile, "tracing.tls.keyFile", c.TLS.KeyFile); err != nil {
		return err
	}
	if c.HeadersFile != "" {
		if _, err := readHeaders(clients.SecretFile(c.HeadersFile)); err != nil {
			return fmt.Errorf("tracing.headersFile: %w", err)
		}
	}
	return nil
}

var (
	yamlLine     = regexp.MustCompile(`^yaml: (?:unmarshal errors:\n\s*)?line (\d+): `)
	unknownField = regexp.MustCompile(`field (\S+) not found in type (\S+)`)
)

var lineCannot = regexp.MustCompile(`line (\d+): cannot unmarshal`)

// nameKeys adds the key path to yaml's type errors: "line 64: cannot unmarshal !!int `30` into time.Duration"
// becomes "line 64: breakers.openTimeout: cannot unmarshal ...".
func nameKeys(msg string, doc []byte) string {
	var root yaml.Node
	if yaml.Unmarshal(doc, &root) != nil {
		return msg
	}
	return lineCannot.ReplaceAllStringFunc(msg, func(m string) string {
		line, _ := strconv.Atoi(lineCannot.FindStringSubmatch(m)[1])
		if path := keyAtLine(&root, line, ""); path != "" {
			return fmt.Sprintf("line %d: %s: cannot unmarshal", line, path)
		}
		return m
	})
}

// keyAtLine returns the dotted path of the key whose value starts on line ("profiles[0].zeev.licenseType").
func keyAtLine(n *yaml.Node, line int, path string) string {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if p := keyAtLine(c, line, path); p != "" {
				return p
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			sub := strings.TrimPrefix(path+"."+k.Value, ".")
			if v.Line == line && v.Kind == yaml.ScalarNode {
				return sub
			}
			if p := keyAtLine(v, line, sub); p != "" {
				return p
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			sub := fmt.Sprintf("%s[%d]", path, i)
			if c.Line == line && c.Kind == yaml.ScalarNode {
				return sub
			}
			if p := keyAtLine(c, line, sub); p != "" {
				return p
			}
		}
	}
	return ""
}

// explainUnknown rewrites yaml's "field baseUrl not found in type main.ZeevConfig" as `unknown key "baseUrl" in
// zeev (did you mean "baseURL"?)`, naming the section and the key closest in spelling.
func explainUnknown(m string) string {
	parts := unknownField.FindStringSubmatch(m)
	key, typeName := parts[1], parts[2]
	section, keys := sectionKeys(reflect.TypeOf(Config{}), "", typeName)
	out := fmt.Sprintf("unknown key %q", key)
	if section != "" {
		out += " in " + section
	}
	for _, k := range keys {
		if strings.EqualFold(k, key) || strings.EqualFold(strings.ReplaceAll(k, "_", ""), strings.ReplaceAll(key, "_", "")) {
			return out + fmt.Sprintf(" (did you mean %q?)", k)
		}
	}
	if len(keys) > 0 {
		out += " (known keys: " + strings.Join(keys, ", ") + ")"
	}
	return out
}

// sectionKeys finds the struct type named typeName (as reflect prints it) under t and returns its YAML path and
// its keys, inline fields included.
func sectionKeys(t reflect.Type, path, typeName string) (string, []string) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return "", nil
	}
	if t.String() == typeName {
		return path, yamlKeys(t)
	}
	for i := range t.NumField() {
		f := t.Field(i)
		key, inline, ok := yamlField(f)
		if !ok {
			continue
		}
		sub := path
		if !inline {
			sub = strings.TrimPrefix(path+"."+key, ".")
		}
		if p, keys := sectionKeys(f.Type, sub, typeName); keys != nil {
			return p, keys
		}
	}
	return "", nil
}

func yamlKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		switch key, inline, ok := yamlField(f); {
		case !ok:
		case inline:
			keys = append(keys, yamlKeys(f.Type)...)
		default:
			keys = append(keys, key)
		}
	}
	return keys
}

// loadConfig reads the YAML file at path (strict: an unknown key is an error naming it), rejects the PONTE_*
// variables of environ that are no key's (see checkEnvNames; environ nil skips the check, for ponte dev, which
// reads no variables), applies the PONTE_* overrides read with getenv, fills defaults and validates.
func loadConfig(path string, getenv func(string) string, environ func() []string) (Config, error) {
	var b []byte
	if path != "" {
		var err error
		if b, err = os.ReadFile(path); err != nil {
			return Config{}, fmt.Errorf("config: %w", err)
		}
	}
	return parseConfig(path, b, getenv, environ)
}

// parseConfig is loadConfig on the bytes of the file named name.
func parseConfig(name string, b []byte, getenv func(string) string, environ func() []string) (Config, error) {
	var c Config
	if len(bytes.TrimSpace(b)) > 0 {
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			msg := yamlLine.ReplaceAllString(err.Error(), "line $1: ")
			msg = unknownField.ReplaceAllStringFunc(msg, explainUnknown)
			msg = nameKeys(msg, b)
			return c, fmt.Errorf("config %s: %s", name, strings.TrimSpace(msg))
		}
	}
	if environ != nil {
		if err := checkEnvNames(&c, environ()); err != nil {
			return c, fmt.Errorf("config environment: %w", err)
		}
	}
	applied, err := overlayEnv(&c, getenv)
	if err != nil {
		return c, fmt.Errorf("config environment: %w", err)
	}
	c = c.withDefaults()
	if v := envName([]string{"nats", "url"}); slices.Contains(applied, v) {
		if err := checkNATSURLs(c.NATS.URL); err != nil {
			return c, fmt.Errorf("config: nats.url (from %s): %w", v, err)
		}
	}
	if err := c.validate(); err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	return c, nil
}
