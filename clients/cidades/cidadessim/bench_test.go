package cidadessim_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ponte-dev/ponte/clients/cidades/cidadessim"
)

// BenchmarkCreateContratacoes registers drainSize contratações, one POST /v1/contratacoes after the other
// through the simulator's handler (no network), and reports the create rate of the first and of the last
// window of creates. A simulator that never limits a drain keeps the two rates level as its store grows.
func BenchmarkCreateContratacoes(b *testing.B) {
	const drainSize, window = 50_000, 10_000
	var first, last time.Duration
	for range b.N {
		sim := cidadessim.New(fixtures(b), cidadessim.Options{})
		tok := benchToken(b, sim)
		start := time.Now()
		for i := range drainSize {
			if i == window {
				first += time.Since(start)
			}
			if i == drainSize-window {
				start = time.Now()
			}
			benchCreate(b, sim, tok, i)
		}
		last += time.Since(start)
	}
	perSec := func(d time.Duration) float64 { return float64(window*b.N) / d.Seconds() }
	b.ReportMetric(perSec(first), "creates/s-first10k")
	b.ReportMetric(perSec(last), "creates/s-last10k")
	b.ReportMetric(perSec(last)/perSec(first), "last/first")
}

func benchToken(b *testing.B, sim *cidadessim.Server) string {
	b.Helper()
	req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(
		"grant_type=client_credentials&client_id="+cidadessim.DefaultClientID001001+"&client_secret="+cidadessim.DefaultClientSecret001001))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("token: %d %s", rec.Code, rec.Body)
	}
	tok, _ := response{status: rec.Code, body: rec.Body.String()}.json(b)["access_token"].(string)
	return tok
}

func benchCreate(b *testing.B, sim *cidadessim.Server, tok string, i int) {
	body := fmt.Sprintf(`{"numeroContrato":"%06d/2025","anoContrato":2025,"objeto":"Contratação de carga %d",`+
		`"contratado":{"tipoDocumento":"CNPJ","documento":"11444777000161","nome":"Proteção Total Equipamentos Ltda"},`+
		`"valorGlobal":1000.50,"dataAssinatura":"2025-02-10","dataInicioVigencia":"2025-02-10","dataFimVigencia":"2026-02-09"}`, i, i)
	req := httptest.NewRequest(http.MethodPost, "/v1/contratacoes", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		b.Fatalf("create %d: %d %s", i, rec.Code, rec.Body)
	}
}
