package handlers_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ponte-dev/ponte/clients"
	"github.com/ponte-dev/ponte/clients/fault"
	"github.com/ponte-dev/ponte/events"
	"github.com/ponte-dev/ponte/handlers"
)

// poisonContract answers every POST of contract numero with a 500 from the CidadES simulator's own fault injector
// (its own error body), and serves everything else: one event that always fails at a target that answers others.
func poisonContract(numero string, calls *atomic.Int32) func(http.Handler, *fault.Injector) http.Handler {
	return func(next http.Handler, inj *fault.Injector) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/contratacoes") {
				body, _ := io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(body))
				if bytes.Contains(body, []byte(`"numeroContrato":"`+numero+`"`)) {
					calls.Add(1)
					inj.FailNext(1, http.StatusInternalServerError, 0)
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

func signed(numero string) string {
	return strings.Replace(signed12, `"numero": "12/2026"`, fmt.Sprintf(`"numero": %q`, numero), 1)
}

// TestPoisonEventIsDeadLetteredAndNeverHoldsTheBreaker is defect 1 of the settlement issue: an event that always
// gets a 500 must not open the breaker by itself (one event's repeated failures say nothing about the target);
// while other events succeed at the same target, it ends as attempts_exhausted after MaxAttempts calls, and the
// others are unaffected. TestLonePoisonEventIsDeadLettered is the same event with no other traffic.
func TestPoisonEventIsDeadLetteredAndNeverHoldsTheBreaker(t *testing.T) {
	var poisonCalls atomic.Int32
	e := startEnv(t, envOptions{
		cfg:         events.Config{MaxAttempts: 3},
		breakers:    clients.BreakerSettings{ConsecutiveFailures: 2, OpenTimeout: 300 * time.Millisecond},
		cidadesWrap: poisonContract("99/2026", &poisonCalls),
	})
	var mu sync.Mutex
	var opened []string
	e.breakers.Watch(func(key clients.BreakerKey, from, to clients.BreakerState) {
		if to == clients.StateOpen {
			mu.Lock()
			opened = append(opened, key.String())
			mu.Unlock()
		}
	})

	// Other events succeed at the same target and tenant meanwhile: the poison event is to blame for its failures.
	e.publishBinary(contractEvent(handlers.ContractSigned, "poison", "001001", "99/2026", 2026, signed("99/2026")))
	for i, n := range []string{"21/2026", "22/2026", "23/2026"} {
		e.publishBinary(contractEvent(handlers.ContractSigned, fmt.Sprint("good-", i), "001001", n, 2026, signed(n)))
	}
	for i := range 3 {
		e.waitResult(fmt.Sprint("good-", i))
	}
	dl := e.waitDeadLetter("poison")
	if dl.Reason != events.ReasonExhausted || dl.Status != http.StatusInternalServerError || dl.Target != "cidades" || dl.Attempts != 3 {
		t.Errorf("dead letter = reason %s, status %d, target %s, attempts %d; want attempts_exhausted, 500, cidades, 3",
			dl.Reason, dl.Status, dl.Target, dl.Attempts)
	}
	if s := e.breakers.State(clients.BreakerKey{Target: "cidades", Tenant: "001001"}); s != clients.StateClosed {
		t.Errorf("breaker cidades/001001 is %s after the poison event was dead-lettered", s)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(opened) > 0 {
		t.Errorf("the poison event opened the breaker: %v", opened)
	}
}

// TestLonePoisonEventIsDeadLettered: an event that CidadES always answers 500, alone (no other event calls the
// UG, so no other answer tells a bad request from an outage), is dead-lettered after its attempts, not delayed
// forever as an outage: its failure makes the breakers probe the UG with a harmless read, and the UG's answer to
// it is the evidence. The breaker never opens. (The chaos harness's poison scenario found the loop: the last poison
// event of the run, alone, was delivered 157 times in four minutes without a dead letter.)
func TestLonePoisonEventIsDeadLettered(t *testing.T) {
	var poisonCalls atomic.Int32
	e := startEnv(t, envOptions{
		cfg:         events.Config{MaxAttempts: 3},
		breakers:    clients.BreakerSettings{ConsecutiveFailures: 2, OpenTimeout: 300 * time.Millisecond},
		cidadesWrap: poisonContract("99/2026", &poisonCalls),
	})
	opened := e.opens("")
	e.publishBinary(contractEvent(handlers.ContractSigned, "poison", "001001", "99/2026", 2026, signed("99/2026")))
	dl := e.waitDeadLetter("poison")
	if dl.Reason != events.ReasonExhausted || dl.Status != http.StatusInternalServerError || dl.Attempts != 3 {
		t.Errorf("dead letter = reason %s, status %d, attempts %d; want attempts_exhausted, 500, 3", dl.Reason, dl.Status, dl.Attempts)
	}
	probes := 0
	for _, en := range e.cidSim.Faults().Requests() {
		if en.Method == http.MethodGet && en.Path == "/v1/unidades-gestoras" {
			probes++
		}
	}
	if probes == 0 {
		t.Error("no probe of the UG reached CidadES")
	}
	if n := poisonCalls.Load(); n > 6 {
		t.Errorf("the poison event was sent %d times for 3 attempts", n)
	}
	if opened.Load() > 0 {
		t.Errorf("one event alone opened a breaker %d times", opened.Load())
	}
}
