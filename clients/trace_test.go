package clients

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestRequestSpanHoldsNoPersonalData checks what a request's span sends to the collector: url.full without the
// query or the user information, and with the e-mail address and CPF of the path masked; the status description
// of a refused request masked like a log line.
func TestRequestSpanHoldsNoPersonalData(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(404)
		fmt.Fprint(w, `{"message":"no user ana.souza@example.com, cpf 12345678909"}`)
	}))
	defer srv.Close()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	e, err := NewEndpoint("zeev", EndpointConfig{BaseURL: srv.URL}, EndpointOptions{TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Do(context.Background(), Request{Operation: "get_user_by_username", Method: "GET",
		Path: "/api/2/users/username/ana.souza@example.com/123.456.789-09?token=secret#frag"})
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 404 {
		t.Fatalf("err = %v, want a 404", err)
	}
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	var url string
	for _, a := range spans[0].Attributes() {
		if a.Key == "url.full" {
			url = a.Value.AsString()
		}
	}
	if want := srv.URL + "/api/2/users/username/a***@example.com/123.***.***-09"; url != want {
		t.Errorf("url.full = %q, want %q", url, want)
	}
	desc := spans[0].Status().Description
	for _, whole := range []string{"ana.souza@", "12345678909", "secret"} {
		if strings.Contains(desc, whole) || strings.Contains(url, whole) {
			t.Errorf("the span holds %q whole: url %q, status %q", whole, url, desc)
		}
	}
}
