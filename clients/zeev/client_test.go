package zeev_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ponte-dev/ponte/clients"
	"github.com/ponte-dev/ponte/clients/zeev"
)

func TestConfigValidate(t *testing.T) {
	base := clients.EndpointConfig{BaseURL: "https://acme.zeev.it"}
	tests := []struct {
		name    string
		cfg     zeev.Config
		wantErr string // "" for valid
	}{
		{"permanent token", zeev.Config{EndpointConfig: base, Token: clients.SecretValue("t")}, ""},
		{"login and password", zeev.Config{EndpointConfig: base, Login: "a", Password: clients.SecretValue("p"), TokenTTL: time.Minute}, ""},
		{"token from a file", zeev.Config{EndpointConfig: base, Token: clients.SecretFile("/run/secrets/zeev")}, ""},
		{"no credentials", zeev.Config{EndpointConfig: base}, "zeev.token: set token or login+password"},
		{"both", zeev.Config{EndpointConfig: base, Token: clients.SecretValue("t"), Login: "a", Password: clients.SecretValue("p")}, "zeev.token: set either"},
		{"login without password", zeev.Config{EndpointConfig: base, Login: "a"}, "zeev.password: required with login"},
		{"password without login", zeev.Config{EndpointConfig: base, Password: clients.SecretValue("p")}, "zeev.login: required with password"},
		{"negative TTL", zeev.Config{EndpointConfig: base, Token: clients.SecretValue("t"), TokenTTL: -time.Second}, "zeev.tokenTTL:"},
		{"no base URL", zeev.Config{Token: clients.SecretValue("t")}, "zeev.baseURL: required"},
		{"relative base URL", zeev.Config{EndpointConfig: clients.EndpointConfig{BaseURL: "acme.zeev.it"}, Token: clients.SecretValue("t")}, "zeev.baseURL:"},
		{"negative timeout", zeev.Config{EndpointConfig: clients.EndpointConfig{BaseURL: "https://a.zeev.it", Timeout: -1}, Token: clients.SecretValue("t")}, "zeev.timeout:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			_, newErr := zeev.New(tt.cfg, clients.EndpointOptions{})
			if tt.wantErr == "" {
				if err != nil || newErr != nil {
					t.Fatalf("Validate = %v, New = %v; want valid", err, newErr)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("Validate = %v, want an error starting with %q", err, tt.wantErr)
			}
			if newErr == nil || newErr.Error() != err.Error() {
				t.Errorf("New = %v, want the Validate error", newErr)
			}
		})
	}
}

// stub serves fixed answers per "METHOD /path" and counts the calls.
type stub struct {
	answers map[string]struct {
		status int
		body   string
	}
	mu    sync.Mutex
	calls []string
}

func (s *stub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.Method + " " + r.URL.Path
	s.mu.Lock()
	s.calls = append(s.calls, key)
	s.mu.Unlock()
	a, ok := s.answers[key]
	if !ok {
		a.status, a.body = http.StatusNotFound, `{"error":{"code":"NotFound","key":"","message":"","vars":[],"details":[]}}`
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	w.Write([]byte(a.body)) //nolint:errcheck
}

func (s *stub) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

func stubClient(t *testing.T, s *stub, mutate func(*zeev.Config)) *zeev.Client {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	cfg := zeev.Config{EndpointConfig: clients.EndpointConfig{BaseURL: srv.URL}, Token: clients.SecretValue("tok")}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := zeev.New(cfg, clients.EndpointOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type answer = struct {
	status int
	body   string
}

func TestRejectedAnswers(t *testing.T) {
	ctx := context.Background()
	s := &stub{answers: map[string]answer{
		"POST /api/2/users":                       {200, `{"action":"Error","id":0,"username":"alan.cooper","message":"falha ao gravar"}`},
		"PATCH /api/2/users/7/account/activate":   {200, `{"success":false}`},
		"PATCH /api/2/users/7/account/deactivate": {200, `{"success":false,"message":"pessoa bloqueada"}`},
	}}
	c := stubClient(t, s, nil)
	tests := []struct {
		name string
		call func() error
		op   string
		want string // in the error text
	}{
		{"action Error", func() error { _, err := c.UpsertUser(ctx, kbExample()); return err }, "upsert_user", "falha ao gravar"},
		{"activate success false", func() error { return c.ActivateUser(ctx, 7) }, "activate_user", "zeev activate user 7"},
		{"deactivate success false", func() error { return c.DeactivateUser(ctx, 7) }, "deactivate_user", "pessoa bloqueada"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var re *zeev.RejectedError
			if !errors.As(err, &re) {
				t.Fatalf("error %v (%T) is not a *zeev.RejectedError", err, err)
			}
			if re.Operation != tt.op || !clients.IsPermanent(err) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %+v (permanent %v): %v", re, clients.IsPermanent(err), err)
			}
		})
	}
}

// TestUpsertSuccessRule: only a 200 whose action is Created, Retrieved or Update with a user id is a success. Any
// other 2xx is an *UnexpectedAnswerError naming the status and the action: retryable, like the 5xx it stands for,
// never a success with user id 0.
func TestUpsertSuccessRule(t *testing.T) {
	ctx := context.Background()
	t.Run("documented answers", func(t *testing.T) {
		for _, action := range []string{zeev.ActionCreated, zeev.ActionRetrieved, zeev.ActionUpdate} {
			s := &stub{answers: map[string]answer{"POST /api/2/users": {200, `{"action":"` + action + `","id":4324,"username":"alan.cooper"}`}}}
			res, err := stubClient(t, s, nil).UpsertUser(ctx, kbExample())
			if err != nil || res.Action != action || res.ID != 4324 {
				t.Errorf("%s: got %+v, %v", action, res, err)
			}
		}
	})
	tests := []struct {
		name   string
		answer answer
		status int
		action string // as the error names it
	}{
		{"empty object", answer{200, `{}`}, 200, "no action"},
		{"lower-case error", answer{200, `{"action":"error","id":0}`}, 200, `action "error"`},
		{"empty 200", answer{200, ``}, 200, "no action"},
		{"204", answer{204, ``}, 204, "no action"},
		{"unknown action", answer{200, `{"action":"Deleted","id":4324}`}, 200, `action "Deleted"`},
		{"Created with id 0", answer{200, `{"action":"Created","id":0,"username":"alan.cooper"}`}, 200, `action "Created"`},
		{"Update without id", answer{200, `{"action":"Update","username":"alan.cooper"}`}, 200, `action "Update"`},
		{"Retrieved with a negative id", answer{200, `{"action":"Retrieved","id":-1}`}, 200, `action "Retrieved"`},
		{"201 Created", answer{201, `{"action":"Created","id":4324}`}, 201, `action "Created"`},
		{"JSON null", answer{200, `null`}, 200, "no action"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &stub{answers: map[string]answer{"POST /api/2/users": tt.answer}}
			res, err := stubClient(t, s, nil).UpsertUser(ctx, kbExample())
			if err == nil {
				t.Fatalf("got %+v and no error", res)
			}
			var ue *zeev.UnexpectedAnswerError
			if !errors.As(err, &ue) {
				t.Fatalf("error %v (%T) is not a *zeev.UnexpectedAnswerError", err, err)
			}
			if ue.Status != tt.status || ue.Operation != "upsert_user" {
				t.Errorf("got %+v", ue)
			}
			if clients.IsPermanent(err) {
				t.Errorf("permanent: %v", err)
			}
			for _, want := range []string{"zeev upsert user alan.cooper", fmt.Sprintf("HTTP %d", tt.status), tt.action} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
		})
	}
	t.Run("counted by the breaker like a 5xx, unlike a rejection", func(t *testing.T) {
		for _, tt := range []struct {
			body     string
			wantOpen bool
		}{
			{`{}`, true},
			{`{"action":"Error","id":0}`, false}, // a permanent *RejectedError: Zeev is up and refused the request
		} {
			s := &stub{answers: map[string]answer{"POST /api/2/users": {200, tt.body}}}
			srv := httptest.NewServer(s)
			t.Cleanup(srv.Close)
			br := clients.NewBreakers(clients.BreakerSettings{ConsecutiveFailures: 2}, nil)
			c, err := zeev.New(zeev.Config{EndpointConfig: clients.EndpointConfig{BaseURL: srv.URL}, Token: clients.SecretValue("tok")},
				clients.EndpointOptions{Breakers: br})
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				c.UpsertUser(ctx, kbExample()) //nolint:errcheck // the breaker's state is the point
			}
			if open := br.State(clients.BreakerKey{Target: zeev.Target}) == clients.StateOpen; open != tt.wantOpen {
				t.Errorf("%s: breaker open = %v, want %v", tt.body, open, tt.wantOpen)
			}
		}
	})
}

func TestLoginErrorsNeverRevealSecrets(t *testing.T) {
	const password = "s3cr3t-P4ss"
	tests := []struct {
		name   string
		answer answer
		perm   bool
	}{
		{"401 echoing the request", answer{401, `{"login":"integracao","password":"` + password + `","error":{"code":"InvalidCredentials","message":"Login ou senha inválidos."}}`}, false}, // an auth failure: retryable once the password is fixed
		{"500 echoing the request", answer{500, `{"request":{"password":"` + password + `"}}`}, false},
		{"200 without a token", answer{200, `{"userId":1,"username":"integracao","password":"` + password + `"}`}, false},
		{"200 undecodable", answer{200, `{"temporaryToken":42,"password":"` + password + `"}`}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &stub{answers: map[string]answer{"POST /api/2/tokens": tt.answer}}
			c := stubClient(t, s, func(cfg *zeev.Config) {
				cfg.Token, cfg.Login, cfg.Password = nil, "integracao", clients.SecretValue(password)
			})
			_, err := c.WhoAmI(context.Background())
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("error reveals the password: %v", err)
			}
			if clients.IsPermanent(err) != tt.perm {
				t.Errorf("permanent = %v, want %v: %v", clients.IsPermanent(err), tt.perm, err)
			}
			if !strings.Contains(err.Error(), "zeev login integracao") {
				t.Errorf("error does not name the login: %v", err)
			}
			mustEqual(t, "calls", s.Calls(), []string{"POST /api/2/tokens"})
		})
	}
}

func TestTemporaryTokenNotInErrors(t *testing.T) {
	// A 200 whose body cannot be decoded becomes a TransportError quoting the body: the token must be redacted.
	const tok = "0123456789abcdef-temporary"
	s := &stub{answers: map[string]answer{"GET /api/2/tokens": {200, `{"userId":"one","username":"x","temporaryToken":"` + tok + `"}`}}}
	c := stubClient(t, s, nil)
	_, err := c.WhoAmI(context.Background())
	var te *clients.TransportError
	if !errors.As(err, &te) {
		t.Fatalf("got %v, want a *clients.TransportError", err)
	}
	if strings.Contains(err.Error(), tok) {
		t.Errorf("error reveals the temporary token: %v", err)
	}
}

func TestUnreadableTokenFile(t *testing.T) {
	s := &stub{}
	c := stubClient(t, s, func(cfg *zeev.Config) { cfg.Token = clients.SecretFile(t.TempDir() + "/missing") })
	_, err := c.WhoAmI(context.Background())
	if err == nil || !strings.Contains(err.Error(), "zeev token (file ") {
		t.Errorf("got %v, want an error naming the token file", err)
	}
	if calls := s.Calls(); len(calls) != 0 {
		t.Errorf("calls without a token: %v", calls)
	}
}

func TestMetricsSeriesDeclared(t *testing.T) {
	reg := prometheus.NewRegistry()
	_, err := zeev.New(zeev.Config{EndpointConfig: clients.EndpointConfig{BaseURL: "http://127.0.0.1:1"}, Token: clients.SecretValue("t")},
		clients.EndpointOptions{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	// 12 operations × 8 results.
	if n := testutil.CollectAndCount(reg, "ponte_downstream_requests_total"); n != 12*len(clients.EndpointResults) {
		t.Errorf("ponte_downstream_requests_total has %d series, want %d", n, 12*len(clients.EndpointResults))
	}
}

func TestAPIErrorParsedFromWholeBody(t *testing.T) {
	// The fields come from the whole body, not from the excerpt kept in the error text (clients.ExcerptLimit
	// bytes), and CPF numbers in them are masked.
	details := `"` + strings.Repeat("detalhe ", 100) + `"`
	s := &stub{answers: map[string]answer{"POST /api/2/users": {400, `{"error":{"details":[` + details + `],` +
		`"code":"UserAlreadyExists","key":"error.user.alreadyexists","message":"Já existe: CPF 529.982.247-25.","vars":["username"]}}`}}}
	c := stubClient(t, s, nil)
	_, err := c.UpsertUser(context.Background(), kbExample())
	var ae *zeev.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not a *zeev.APIError", err, err)
	}
	if len(ae.Err.Body) >= len(ae.Err.RawBody()) {
		t.Fatalf("the test body (%d bytes) is not longer than the excerpt", len(ae.Err.RawBody()))
	}
	mustEqual(t, "fields", []any{ae.Code, ae.Key, ae.Message, ae.Vars},
		[]any{zeev.CodeUserAlreadyExists, "error.user.alreadyexists", "Já existe: CPF 529.***.***-25.", []string{"username"}})
}
