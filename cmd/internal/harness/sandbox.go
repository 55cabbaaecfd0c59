package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ponte-dev/ponte/clients/fault"
)

// The credentials of the sandbox the workers use. The Zeev simulator accepts two permanent tokens, so that a
// rotation (revoke the first, rewrite the token file with the second) can be played.
const (
	// ZeevToken is the Zeev token WriteConfig puts in the workers' token file.
	ZeevToken = "zeev-dev-token"
	// ZeevRotatedToken is the second token the Zeev simulator accepts.
	ZeevRotatedToken = "zeev-rotated-token"
)

// Sim is one simulator of the sandbox: its name (zeev, senior, cidades) and base URL.
type Sim struct {
	Name, Base string
}

// Sandbox is `ponte sandbox` in its own process.
type Sandbox struct {
	P                     *Proc
	Zeev, Senior, CidadES Sim
}

// StartSandbox runs `ponte sandbox` (the binary ponte) on free ports with the fixtures in fixtures, logging to
// dir/sandbox.log, and waits up to 30s until the three simulators answer.
func StartSandbox(ctx context.Context, dir, ponte, fixtures string) (*Sandbox, error) {
	ports, err := FreePorts(3)
	if err != nil {
		return nil, err
	}
	args := []string{"sandbox", "--host", "127.0.0.1", "--fixtures", fixtures,
		"--zeev-port", strconv.Itoa(ports[0]), "--senior-port", strconv.Itoa(ports[1]), "--cidades-port", strconv.Itoa(ports[2]),
		"--zeev-token", ZeevToken + "," + ZeevRotatedToken}
	p, err := Start(dir, "sandbox", ponte, args, nil)
	if err != nil {
		return nil, err
	}
	sb := &Sandbox{P: p,
		Zeev:    Sim{"zeev", fmt.Sprintf("http://127.0.0.1:%d", ports[0])},
		Senior:  Sim{"senior", fmt.Sprintf("http://127.0.0.1:%d", ports[1])},
		CidadES: Sim{"cidades", fmt.Sprintf("http://127.0.0.1:%d", ports[2])},
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, s := range sb.Sims() {
		if err := WaitHTTP(wctx, p, s.Base+"/_sim/faults"); err != nil {
			p.Kill()
			return nil, err
		}
	}
	return sb, nil
}

// Sims returns the three simulators: Zeev, Senior, CidadES.
func (sb *Sandbox) Sims() []Sim { return []Sim{sb.Zeev, sb.Senior, sb.CidadES} }

// Control sends a simulator control (PUT /_sim/faults, POST /_sim/auth/revoke, ...) with body as JSON and checks
// that its status is below 300.
func Control(method, url string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		msg, _ := io.ReadAll(res.Body)
		return fmt.Errorf("%s %s: %d %s", method, url, res.StatusCode, msg)
	}
	return nil
}

// SetFaults replaces a simulator's faults.
func SetFaults(s Sim, f fault.Faults) error { return Control(http.MethodPut, s.Base+"/_sim/faults", f) }

// WriteConfig writes the workers' configuration to dir/ponte.yaml: example (examples/ponte.yaml) as it is,
// pointed at the NATS cluster nc and the sandbox sb, with the Zeev token in a file (dir/zeev-token, so that it can
// be rotated) and the changes set asks for ("worker.ackWait": "10s"). Zeev's rate limit is lifted: the example's
// 5 requests per second stands for a real tenant, and would make a run of thousands of hires last an hour.
// On a cluster of more than one node, jetstream.replicas is 3.
func WriteConfig(dir, example string, nc *NATSCluster, sb *Sandbox, set map[string]any) (config, tokenFile string, err error) {
	raw, err := os.ReadFile(example)
	if err != nil {
		return "", "", err
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		return "", "", fmt.Errorf("%s: %w", example, err)
	}
	tokenFile = filepath.Join(dir, "zeev-token")
	if err := os.WriteFile(tokenFile, []byte(ZeevToken), 0o600); err != nil {
		return "", "", err
	}
	sub := func(k string) map[string]any {
		m, ok := cfg[k].(map[string]any)
		if !ok {
			m = map[string]any{}
			cfg[k] = m
		}
		return m
	}
	sub("nats")["url"] = nc.URLs()
	z := sub("zeev")
	z["baseURL"] = sb.Zeev.Base
	delete(z, "token")
	z["tokenFile"] = tokenFile
	z["rateLimit"] = 0
	s := sub("senior")
	s["baseURL"] = sb.Senior.Base + "/api/v1"
	s["loginURL"] = sb.Senior.Base + "/t/senior.com.br/bridge/1.0/anonymous/rest/platform/authentication/actions/loginWithKey"
	sub("cidades")["baseURL"] = sb.CidadES.Base
	sub("log")["level"] = "info"
	if len(nc.Nodes) > 1 {
		sub("jetstream")["replicas"] = 3
	}
	for path, v := range set {
		section, key, _ := strings.Cut(path, ".")
		sub(section)[key] = v
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return "", "", err
	}
	config = filepath.Join(dir, "ponte.yaml")
	return config, tokenFile, os.WriteFile(config, out, 0o644)
}

// PersonName, Registry and CPF are generated person i's name, Senior registry and CPF, as WriteFixtures
// registers them in Senior (with the Senior personId 700000+i).
func PersonName(i int) string { return fmt.Sprintf("Pessoa Caos %05d", i) }

// Registry is generated person i's registry (matrícula); see PersonName.
func Registry(i int) string { return fmt.Sprintf("C%05d", i) }

// CPF returns a valid CPF for generated person i, formatted: nine digits from i and the two check digits.
func CPF(i int) string {
	d := []byte(fmt.Sprintf("%09d", 300000000+i))
	check := func(n int) byte {
		sum := 0
		for k := range n {
			sum += int(d[k]-'0') * (n + 1 - k)
		}
		r := sum * 10 % 11
		if r == 10 {
			r = 0
		}
		return byte('0' + r)
	}
	d = append(d, check(9))
	d = append(d, check(10))
	s := string(d)
	return s[0:3] + "." + s[3:6] + "." + s[6:9] + "-" + s[9:11]
}

// WriteFixtures copies the sandbox fixtures from src (examples/sandbox) into dir, with the generated persons 0
// to persons-1 registered in Senior (so hires find them by CPF) and enough Zeev licence seats for them all.
func WriteFixtures(src, dir string, persons int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	read := func(name string) (string, error) {
		b, err := os.ReadFile(filepath.Join(src, name))
		return string(b), err
	}
	zeev, err := read("zeev.yaml")
	if err != nil {
		return err
	}
	for _, seat := range []string{"  actor: ", "  requester: "} {
		start := strings.Index(zeev, "\n"+seat)
		if start < 0 {
			return fmt.Errorf("%s/zeev.yaml: no %q licence line to raise", src, strings.TrimSpace(seat))
		}
		end := strings.IndexByte(zeev[start+1:], '\n') + start + 1
		zeev = zeev[:start+1] + seat + "1000000" + zeev[end:]
	}
	senior, err := read("senior.yaml")
	if err != nil {
		return err
	}
	at := strings.Index(senior, "\npersonRoles:")
	if at < 0 {
		return fmt.Errorf("%s/senior.yaml: no personRoles key to add the people before", src)
	}
	var b bytes.Buffer
	b.WriteString("\n  # The chaos harness's people.\n")
	for i := range persons {
		id := 700000 + i
		fmt.Fprintf(&b, "  - id: %d\n    name: %q\n    documents:\n      - {id: %d, documentTypeId: 1, document: %q}\n    registry: %q\n    situation: 0\n",
			id, PersonName(i), 10*id, CPF(i), Registry(i))
	}
	senior = senior[:at] + b.String() + senior[at:]
	cidades, err := read("cidades.yaml")
	if err != nil {
		return err
	}
	for name, body := range map[string]string{"zeev.yaml": zeev, "senior.yaml": senior, "cidades.yaml": cidades} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}
