package cidades_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ponte-dev/ponte/clients"
	"github.com/ponte-dev/ponte/clients/cidades"
)

func TestDate(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		want    cidades.Date
		wantErr bool
	}{
		{"date", `"2024-03-01"`, cidades.NewDate(2024, time.March, 1), false},
		{"ASP.NET date-time", `"2024-03-01T00:00:00"`, cidades.NewDate(2024, time.March, 1), false},
		{"null", `null`, cidades.Date{}, false},
		{"empty", `""`, cidades.Date{}, false},
		{"Brazilian order", `"01/03/2024"`, cidades.Date{}, true},
		{"no such day", `"2024-02-30"`, cidades.Date{}, true},
		{"number", `20240301`, cidades.Date{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d cidades.Date
			err := json.Unmarshal([]byte(tt.json), &d)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if d != tt.want {
				t.Errorf("got %v, want %v", d, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		d    cidades.Date
		want string
	}{{cidades.NewDate(2024, time.March, 1), `"2024-03-01"`}, {cidades.Date{}, `null`}} {
		b, err := json.Marshal(tt.d)
		if err != nil || string(b) != tt.want {
			t.Errorf("Marshal(%#v) = %s, %v; want %s", tt.d, b, err, tt.want)
		}
	}
	var y struct{ D cidades.Date }
	if err := yaml.Unmarshal([]byte("d: 2024-03-01\n"), &y); err != nil || y.D != cidades.NewDate(2024, time.March, 1) {
		t.Errorf("yaml: %v, %v", y.D, err)
	}
	if got := cidades.DateOf(time.Date(2024, 3, 1, 23, 59, 0, 0, time.UTC)); got.String() != "2024-03-01" {
		t.Errorf("DateOf = %v", got)
	}
}

func TestMoney(t *testing.T) {
	tests := []struct {
		json    string
		want    cidades.Money
		wantErr bool
	}{
		{`1234.50`, 123450, false},
		{`1234.5`, 123450, false},
		{`1234`, 123400, false},
		{`0.01`, 1, false},
		{`-3.10`, -310, false},
		{`1.5e3`, 150000, false},
		{`1.2345e2`, 12345, false},
		{`"99.90"`, 9990, false},
		{`null`, 0, false},
		{`1234.567`, 0, true},
		{`1.23456e2`, 0, true},
		{`"1.234,50"`, 0, true},
		{`"abc"`, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.json, func(t *testing.T) {
			var m cidades.Money
			err := json.Unmarshal([]byte(tt.json), &m)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if m != tt.want {
				t.Errorf("got %d, want %d", m, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		m    cidades.Money
		want string
	}{{123450, "1234.50"}, {5, "0.05"}, {-5, "-0.05"}, {0, "0.00"}, {100000000, "1000000.00"}} {
		b, err := json.Marshal(tt.m)
		if err != nil || string(b) != tt.want {
			t.Errorf("Marshal(%d) = %s, %v; want %s", tt.m, b, err, tt.want)
		}
	}
	for _, s := range []string{"12,50", " 1", "1.", ".5", "+1", "0x10", "1e2", ""} {
		if _, err := cidades.ParseMoney(s); err == nil {
			t.Errorf("ParseMoney(%q) accepted", s)
		}
	}
}

func TestTimestamp(t *testing.T) {
	tests := []struct {
		json string
		want string
	}{
		{`"2024-03-04T10:15:00-03:00"`, "2024-03-04T10:15:00-03:00"},
		{`"2024-03-04T13:15:00Z"`, "2024-03-04T13:15:00Z"},
		{`"2024-03-04T10:15:00.123"`, "2024-03-04T10:15:00-03:00"}, // no offset: Espírito Santo time
		{`"2024-03-04"`, "2024-03-04T00:00:00-03:00"},
		{`null`, "0001-01-01T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.json, func(t *testing.T) {
			var ts cidades.Timestamp
			if err := json.Unmarshal([]byte(tt.json), &ts); err != nil {
				t.Fatal(err)
			}
			if got := ts.Format(time.RFC3339); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
	var ts cidades.Timestamp
	if err := json.Unmarshal([]byte(`"ontem"`), &ts); err == nil {
		t.Error("accepted a non-date")
	}
}

// TestProblemError checks how error answers become *ProblemError, including bodies longer than the excerpt limit
// and bodies that are not ProblemDetails.
func TestProblemError(t *testing.T) {
	long := strings.Repeat("x", 200)
	tests := []struct {
		name       string
		status     int
		body       string
		fields     []string
		title      string
		detail     string
		sentinel   error
		permanent  bool
		inMessage  string
		notMessage string
	}{
		{
			name:   "ProblemDetails",
			status: 400,
			body: `{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.1","title":"One or more validation errors occurred.",` +
				`"status":400,"errors":{"contratado.documento":["CNPJ inválido."],"objeto":["Muito longo.","Outra."]},"traceId":"00-ab-cd-00"}`,
			fields: []string{"contratado.documento", "objeto"}, title: "One or more validation errors occurred.",
			permanent: true, inMessage: "[objeto: Muito longo.; Outra.]",
		},
		{
			name:   "longer than the excerpt: every field is kept",
			status: 400,
			body: `{"title":"One or more validation errors occurred.","status":400,"errors":{"a":["` + long + `"],"b":["` + long +
				`"],"c":["` + long + `"],"d":["` + long + `"]}}`,
			fields: []string{"a", "b", "c", "d"}, title: "One or more validation errors occurred.", permanent: true,
		},
		{
			name:     "ASP.NET casing",
			status:   404,
			body:     `{"Type":"t","Title":"Not Found","Status":404,"Detail":"Contratação 9 não encontrada.","TraceId":"x"}`,
			title:    "Not Found",
			detail:   "Contratação 9 não encontrada.",
			sentinel: cidades.ErrNotFound, permanent: true,
		},
		{
			name:     "not ProblemDetails",
			status:   409,
			body:     `<html>conflict</html>`,
			sentinel: cidades.ErrConflict, permanent: true, inMessage: "<html>conflict</html>",
		},
		{
			name:     "empty body",
			status:   403,
			sentinel: cidades.ErrForbidden, permanent: true, inMessage: "HTTP 403 Forbidden",
		},
		{
			name:       "a CPF in a message is masked",
			status:     400,
			body:       `{"title":"t","errors":{"cpf":["O CPF 52998224725 não pertence à UG."]}}`,
			fields:     []string{"cpf"},
			title:      "t",
			permanent:  true,
			inMessage:  "529.***.***-25",
			notMessage: "52998224725",
		},
		{
			name:   "500",
			status: 500,
			body:   `{"title":"An error occurred while processing your request.","status":500}`,
			title:  "An error occurred while processing your request.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/oauth/token" {
					fmt.Fprint(w, `{"access_token":"t","token_type":"Bearer","expires_in":3600,"scope":"cidades.leitura"}`)
					return
				}
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			c, err := cidades.New(cidades.Config{
				EndpointConfig: clients.EndpointConfig{BaseURL: srv.URL},
				UGs:            map[string]cidades.UGConfig{"001001": devKeys["001001"]},
			}, clients.EndpointOptions{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.GetContratacao(context.Background(), "001001", 9)
			pe := wantErr(t, err, tt.status, tt.sentinel, tt.permanent)
			equal(t, "fields", pe.FieldNames(), tt.fields)
			equal(t, "title", pe.Title, tt.title)
			equal(t, "detail", pe.Detail, tt.detail)
			if tt.inMessage != "" && !strings.Contains(err.Error(), tt.inMessage) {
				t.Errorf("message %q does not contain %q", err, tt.inMessage)
			}
			if tt.notMessage != "" && strings.Contains(err.Error(), tt.notMessage) {
				t.Errorf("message %q contains %q", err, tt.notMessage)
			}
			for _, s := range []error{cidades.ErrNotFound, cidades.ErrConflict, cidades.ErrForbidden, cidades.ErrUnauthorized} {
				if s != tt.sentinel && errors.Is(err, s) {
					t.Errorf("matches %v", s)
				}
			}
		})
	}
	t.Run("FieldErrors ignores case and $.", func(t *testing.T) {
		pe := &cidades.ProblemError{Fields: map[string][]string{"$.Contratado.Documento": {"inválido"}}}
		equal(t, "FieldErrors", pe.FieldErrors("contratado.documento"), []string{"inválido"})
		equal(t, "FieldErrors of another field", len(pe.FieldErrors("objeto")), 0)
	})
}

func TestTokenResponses(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		status  int
		wantErr string
		write   bool
	}{
		{"read and send", `{"access_token":"t","token_type":"Bearer","expires_in":3600,"scope":"cidades.leitura cidades.escrita"}`, 200, "", true},
		{"read only", `{"access_token":"t","token_type":"bearer","expires_in":"3600","scope":"cidades.leitura"}`, 200, "", false},
		{"no expiry", `{"access_token":"t","scope":"cidades.escrita"}`, 200, "", true},
		{"no token", `{"token_type":"Bearer","expires_in":3600}`, 200, "without access_token", false},
		{"not a bearer token", `{"access_token":"t","token_type":"MAC"}`, 200, `token_type "MAC"`, false},
		{"not JSON", `<html>`, 200, "decode", false},
		{"400 invalid_client", `{"error":"invalid_client"}`, 400, "unauthorized", false},
		{"503", `{}`, 503, "HTTP 503", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			}))
			defer srv.Close()
			c, err := cidades.New(cidades.Config{
				EndpointConfig: clients.EndpointConfig{BaseURL: srv.URL},
				UGs:            map[string]cidades.UGConfig{"001001": devKeys["001001"]},
			}, clients.EndpointOptions{})
			if err != nil {
				t.Fatal(err)
			}
			write, err := c.CanWrite(context.Background(), "001001")
			noSecret(t, err)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatal(err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			equal(t, "CanWrite", write, tt.write)
		})
	}
}

func TestTimestampMarshal(t *testing.T) {
	for _, tt := range []struct {
		ts   cidades.Timestamp
		want string
	}{
		{cidades.Timestamp{}, `null`},
		{cidades.Timestamp{Time: time.Date(2024, 3, 4, 10, 15, 0, 0, time.FixedZone("", -3*60*60))}, `"2024-03-04T10:15:00-03:00"`},
	} {
		b, err := json.Marshal(tt.ts)
		if err != nil || string(b) != tt.want {
			t.Errorf("Marshal = %s, %v; want %s", b, err, tt.want)
		}
	}
}

// TestCreateEmptyAnswer checks a 201 without a body: the id comes from Location.
func TestCreateEmptyAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth/token" {
			fmt.Fprint(w, `{"access_token":"t","token_type":"Bearer","expires_in":3600,"scope":"cidades.leitura cidades.escrita"}`)
			return
		}
		w.Header().Set("Location", "/v1/contratacoes/42")
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	c, err := cidades.New(cidades.Config{
		EndpointConfig: clients.EndpointConfig{BaseURL: srv.URL},
		UGs:            map[string]cidades.UGConfig{"001001": devKeys["001001"]},
	}, clients.EndpointOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.CreateContratacao(context.Background(), "001001", newContratacao("1/2025"))
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "id and numero", []any{got.ID, got.NumeroContrato}, []any{int64(42), "1/2025"})
}

// TestProblemErrorMessageIsBounded: the message goes to logs and dead letters, so a huge answer is cut and folded
// onto one line.
func TestProblemErrorMessageIsBounded(t *testing.T) {
	e := &cidades.ProblemError{
		Status: 400, Title: "Bad", Detail: strings.Repeat("linha\nlonga ", 2000),
		Err: &clients.StatusError{Target: "cidades", Operation: "create_contratacao", Status: 400},
	}
	msg := e.Error()
	if len(msg) > 2048+len("…") || strings.Contains(msg, "\n") || !strings.HasSuffix(msg, "…") {
		t.Fatalf("message of %d bytes, newline %v", len(msg), strings.Contains(msg, "\n"))
	}
}
