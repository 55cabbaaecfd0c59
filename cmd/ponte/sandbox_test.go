package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// zeevKBExample is the body of the JavaScript fetch example of the Zeev knowledge-base page "Criar ou atualizar
// dados de pessoas" (shared/apis/003_dc68ce487c23479d.txt), verbatim.
var zeevKBExample = func() string {
	b, err := os.ReadFile("../../clients/zeev/zeevsim/testdata/kb-fetch-example.json")
	if err != nil {
		panic(err)
	}
	return string(b)
}()

// The POST and PUT examples of the Senior document "Integração de vínculo entre pessoa e papel"
// (shared/apis/004_6f257e60d67f9e75.txt), verbatim.
const (
	seniorPostExample = `{
"id": 0,
"personId": 29,
"roleId": 2,
"startDate": "2017-03-24T10:09:00-03:00"
}`
	seniorPutExample = `{
"id": 39,
"personId": 29,
"roleId": 2,
"startDate": "2017-03-24T10:52:00-03:00",
"endDate": "2017-03-25T14:50:00-03:00"
}`
)

// cidadesContratacao is a valid new contratação of UG 001001.
const cidadesContratacao = `{
  "numeroContrato": "031/2025",
  "anoContrato": 2025,
  "objeto": "Aquisição de equipamentos de proteção individual para as unidades de saúde",
  "contratado": {"tipoDocumento": "CNPJ", "documento": "11444777000161", "nome": "Proteção Total Equipamentos Ltda"},
  "valorGlobal": 187450.90,
  "dataAssinatura": "2025-02-10",
  "dataInicioVigencia": "2025-02-10",
  "dataFimVigencia": "2026-02-09"
}`

// lockedBuffer is an io.Writer that the sandbox writes to while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// sandboxBanner matches what `ponte sandbox` prints: the base URLs and the credentials the test uses.
var sandboxBanner = regexp.MustCompile(`(?s)Zeev BPM\s+(http://\S+)/api/2/\.\.\.\s+Authorization: Bearer (\S+)` +
	`.*Senior Ronda X\s+(http://\S+)\s+token: (\S+)` +
	`.*CidadES\s+(http://\S+)/v1/\.\.\.` +
	`.*UG 001001\s+client_id=(\S+)\s+client_secret=(\S+)\s+\(read and send\)` +
	`.*Fault injection:`)

// sandboxInfo is what the test read from the banner.
type sandboxInfo struct {
	zeevURL, zeevToken     string
	seniorAPI, seniorToken string
	cidadesURL             string
	cidadesID, cidadesKey  string
}

// startSandbox runs `ponte sandbox` on free ports through run and waits for its banner. stop cancels it and
// returns what run returned; it is also called at cleanup.
func startSandbox(t *testing.T, flags ...string) (info sandboxInfo, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr lockedBuffer
	done := make(chan error, 1)
	go func() {
		args := append([]string{"sandbox", "--zeev-port", "0", "--senior-port", "0", "--cidades-port", "0"}, flags...)
		done <- run(ctx, args, noEnv, noEnviron, &stdout, &stderr)
	}()
	var (
		once   sync.Once
		runErr error
	)
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(5 * time.Second):
				runErr = errors.New("run did not return within 5s of the cancellation")
			}
		})
		return runErr
	}
	t.Cleanup(func() { _ = stop() })

	deadline := time.After(5 * time.Second)
	for {
		if m := sandboxBanner.FindStringSubmatch(stdout.String()); m != nil {
			return sandboxInfo{
				zeevURL: m[1], zeevToken: m[2], seniorAPI: m[3], seniorToken: m[4],
				cidadesURL: m[5], cidadesID: m[6], cidadesKey: m[7],
			}, stop
		}
		select {
		case err := <-done:
			t.Fatalf("ponte sandbox returned before serving: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
		case <-deadline:
			t.Fatalf("no sandbox banner within 5s\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// call sends one request and returns the status, the headers and the body.
func call(t *testing.T, c *http.Client, method, target string, header http.Header, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, target, err)
	}
	return resp.StatusCode, resp.Header, b
}

// decodeObject decodes a JSON object, keeping numbers as json.Number.
func decodeObject(t *testing.T, b []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, b)
	}
	return m
}

// TestSandboxServesDocumentExamples starts `ponte sandbox` and sends the source documents' own examples to it over
// real HTTP, in order (state accumulates), with the credentials the sandbox prints.
func TestSandboxServesDocumentExamples(t *testing.T) {
	sb, stop := startSandbox(t)
	c := &http.Client{Timeout: 5 * time.Second}

	t.Run("zeev create or update", func(t *testing.T) {
		h := http.Header{
			"Accept":        {"application/json"},
			"Content-Type":  {"application/json"},
			"Authorization": {"Bearer " + sb.zeevToken},
		}
		// The example person does not exist in the fixtures: the first call creates, the second updates.
		for _, want := range []string{"Created", "Update"} {
			status, _, body := call(t, c, http.MethodPost, sb.zeevURL+"/api/2/users", h, zeevKBExample)
			if status != http.StatusOK {
				t.Fatalf("want 200 %s, got %d: %s", want, status, body)
			}
			got := decodeObject(t, body)
			if got["action"] != want || got["username"] != "alan.cooper" || got["leadershipId"] != json.Number("4321") {
				t.Errorf("want action %q for alan.cooper with leadershipId 4321, got %s", want, body)
			}
		}
	})

	t.Run("senior person role", func(t *testing.T) {
		h := http.Header{"Content-Type": {"application/json"}, "token": {sb.seniorToken}}
		for _, tc := range []struct {
			name, method, body string
			wantStatus         int
			wantBody           map[string]any // nil: no body
		}{
			{
				name: "POST example", method: http.MethodPost, body: seniorPostExample, wantStatus: http.StatusOK,
				// The document's response shape; 40 is the fixtures' nextPersonRoleId.
				wantBody: map[string]any{
					"id": json.Number("40"), "personId": json.Number("29"), "roleId": json.Number("2"),
					"startDate": "2017-03-24T10:09:00-03:00", "endDate": "",
				},
			},
			// Link 39 started in 2017 and the example changes only its end date.
			{name: "PUT example", method: http.MethodPut, body: seniorPutExample, wantStatus: http.StatusOK},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, _, body := call(t, c, tc.method, sb.seniorAPI+"/person/role", h, tc.body)
				if status != tc.wantStatus {
					t.Fatalf("want %d, got %d: %s", tc.wantStatus, status, body)
				}
				if tc.wantBody == nil {
					if len(body) != 0 {
						t.Errorf("want no body, got %q", body)
					}
					return
				}
				if got := decodeObject(t, body); !reflect.DeepEqual(got, tc.wantBody) {
					t.Errorf("want exactly %v, got %s", tc.wantBody, body)
				}
			})
		}
	})

	t.Run("cidades token and contratacao", func(t *testing.T) {
		form := url.Values{
			"grant_type": {"client_credentials"}, "client_id": {sb.cidadesID}, "client_secret": {sb.cidadesKey},
		}.Encode()
		status, _, body := call(t, c, http.MethodPost, sb.cidadesURL+"/oauth/token",
			http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, form)
		if status != http.StatusOK {
			t.Fatalf("token: want 200, got %d: %s", status, body)
		}
		tok, _ := decodeObject(t, body)["access_token"].(string)
		if tok == "" {
			t.Fatalf("token: no access_token in %s", body)
		}
		h := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + tok}}
		status, header, body := call(t, c, http.MethodPost, sb.cidadesURL+"/v1/contratacoes", h, cidadesContratacao)
		if status != http.StatusCreated {
			t.Fatalf("create: want 201, got %d: %s", status, body)
		}
		got := decodeObject(t, body)
		id, _ := got["id"].(json.Number)
		if id == "" || header.Get("Location") != "/v1/contratacoes/"+string(id) {
			t.Errorf("create: want Location /v1/contratacoes/<id>, got %q for %s", header.Get("Location"), body)
		}
		if got["codigoUnidadeGestora"] != "001001" || got["numeroContrato"] != "031/2025" {
			t.Errorf("create: want contratação 031/2025 of UG 001001, got %s", body)
		}
	})

	if err := stop(); err != nil {
		t.Errorf("run returned %v after the context was cancelled, want nil", err)
	}
}

// TestSandboxAuthControls starts `ponte sandbox` with short token lifetimes and checks that each simulator serves
// them at /_sim/auth, and that a credential revoked over HTTP is refused and works again once restored.
func TestSandboxAuthControls(t *testing.T) {
	sb, _ := startSandbox(t, "--zeev-token-ttl", "30s", "--senior-token-ttl", "45s", "--cidades-token-ttl", "1m")
	c := &http.Client{Timeout: 5 * time.Second}
	seniorRoot := strings.TrimSuffix(sb.seniorAPI, "/api/v1")
	for _, tc := range []struct{ base, want string }{
		{sb.zeevURL, `{"tokenTTL":"30s"}`}, {seniorRoot, `{"tokenTTL":"45s"}`}, {sb.cidadesURL, `{"tokenTTL":"1m0s"}`},
	} {
		if status, _, body := call(t, c, http.MethodGet, tc.base+"/_sim/auth", nil, ""); status != 200 || strings.TrimSpace(string(body)) != tc.want {
			t.Errorf("GET %s/_sim/auth: %d %s, want %s", tc.base, status, body, tc.want)
		}
	}
	cred := `{"kind":"token","value":"` + sb.zeevToken + `"}`
	whoami := func() int {
		status, _, _ := call(t, c, http.MethodGet, sb.zeevURL+"/api/2/tokens", http.Header{"Authorization": {"Bearer " + sb.zeevToken}}, "")
		return status
	}
	for _, step := range []struct {
		path string
		want int
	}{{"/_sim/auth/revoke", 401}, {"/_sim/auth/restore", 200}} {
		if status, _, body := call(t, c, http.MethodPost, sb.zeevURL+step.path, nil, cred); status != 204 {
			t.Fatalf("POST %s: %d %s", step.path, status, body)
		}
		if got := whoami(); got != step.want {
			t.Errorf("after %s: GET /api/2/tokens answered %d, want %d", step.path, got, step.want)
		}
	}
}

// TestSandboxAcceptsSeveralZeevTokens: `--zeev-token a,b` accepts both permanent tokens, prints the first, and
// revoking one leaves the other working, which is how a rotation is tried against the sandbox.
func TestSandboxAcceptsSeveralZeevTokens(t *testing.T) {
	sb, _ := startSandbox(t, "--zeev-token", "zeev-old-token,zeev-new-token")
	if sb.zeevToken != "zeev-old-token" {
		t.Errorf("the banner shows token %q, want the first, zeev-old-token", sb.zeevToken)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	whoami := func(tok string) int {
		status, _, _ := call(t, c, http.MethodGet, sb.zeevURL+"/api/2/tokens", http.Header{"Authorization": {"Bearer " + tok}}, "")
		return status
	}
	for _, tok := range []string{"zeev-old-token", "zeev-new-token"} {
		if got := whoami(tok); got != 200 {
			t.Errorf("GET /api/2/tokens with %s answered %d, want 200", tok, got)
		}
	}
	if status, _, body := call(t, c, http.MethodPost, sb.zeevURL+"/_sim/auth/revoke", nil, `{"kind":"token","value":"zeev-old-token"}`); status != 204 {
		t.Fatalf("revoke: %d %s", status, body)
	}
	if got, other := whoami("zeev-old-token"), whoami("zeev-new-token"); got != 401 || other != 200 {
		t.Errorf("after revoking the old token: old %d, new %d; want 401 and 200", got, other)
	}
}
