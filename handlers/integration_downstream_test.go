package handlers_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ponte-dev/ponte/clients"
	"github.com/ponte-dev/ponte/clients/fault"
	"github.com/ponte-dev/ponte/clients/zeev/zeevsim"
	"github.com/ponte-dev/ponte/events"
	"github.com/ponte-dev/ponte/handlers"
)

// movedCarla moves Carla (E-0123) from TI/GERENTE to RH/ANALISTA.
const movedCarla = `{
	"person": {"id": "E-0123", "name": "Carla Menezes", "username": "carla.menezes",
	           "email": "carla.menezes@ponte.dev", "cpf": "111.444.777-35", "registry": "000123"},
	"effectiveDate": "2027-03-01T00:00:00-03:00", "orgUnit": "RH", "position": "ANALISTA"}`

// TestOutageOutlivingTheTokenDeadLettersNothing is defect 1 of the downstream-resilience issue: Zeev goes down
// and its temporary token expires meanwhile, so that every call must log in first. The logins fail in the outage:
// they are an outage too (inside the breaker), spend no attempt, and nothing is dead-lettered.
func TestOutageOutlivingTheTokenDeadLettersNothing(t *testing.T) {
	e := startEnv(t, envOptions{zeevLogin: 300 * time.Millisecond})
	e.publishBinary(inputEvent(handlers.PersonHired, "before-outage", "E-0131", hiredDaniela))
	e.waitResult("before-outage")

	e.zeevSim.Faults().SetDown(true)
	e.zeevSim.Faults().ClearLog()
	// The event's retries outlive the token (300ms): they log in again, and the logins fail.
	e.publishBinary(inputEvent(handlers.PersonMoved, "in-outage", "E-0123", movedCarla))
	waitFor(t, 10*time.Second, "6 logins during the outage", func() bool {
		n := 0
		for _, en := range e.zeevSim.Faults().Requests() {
			if en.String() == "POST /api/2/tokens" {
				n++
			}
		}
		return n >= 6
	})
	if dl := forEvent(e.outputs("PONTE_DLQ"), "in-outage"); len(dl) > 0 {
		t.Fatalf("the outage dead-lettered the event: %s", dl[0].ev.Data())
	}
	e.zeevSim.Faults().SetDown(false)
	e.waitResult("in-outage")
}

// TestRevokedCredentialsPauseAndRecoverWithoutRestart is defect 2: Zeev refuses ponte's token (revoked; the
// secret file holds one Zeev does not accept). That is an auth failure: counted, logged, a breaker failure that
// pauses the person events, and no event is dead-lettered. Once the secret file holds the right token again, the
// next probe uses it and the backlog drains, without a restart.
func TestRevokedCredentialsPauseAndRecoverWithoutRestart(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "zeev-token")
	if err := os.WriteFile(tokenFile, []byte("a-revoked-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := startEnv(t, envOptions{
		zeevToken: tokenFile,
		breakers:  clients.BreakerSettings{ConsecutiveFailures: 2, OpenTimeout: 300 * time.Millisecond},
	})
	opened := e.opens("zeev")
	e.publishBinary(inputEvent(handlers.PersonHired, "revoked-1", "E-0131", hiredDaniela))
	e.publishBinary(inputEvent(handlers.PersonMoved, "revoked-2", "E-0123", movedCarla))
	waitFor(t, 10*time.Second, "the zeev breaker to open on the auth failures", func() bool { return opened.Load() > 0 })
	waitFor(t, 10*time.Second, "ponte_downstream_auth_failures_total{target=zeev} to count them", func() bool {
		return e.metric("ponte_downstream_auth_failures_total", "target", "zeev") >= 1
	})
	if n := len(e.outputs("PONTE_DLQ")); n > 0 {
		t.Fatalf("revoked credentials dead-lettered %d event(s): %s", n, e.outputs("PONTE_DLQ")[0].ev.Data())
	}
	// Kubernetes rotates the secret: the file is rewritten.
	if err := os.WriteFile(tokenFile, []byte(zeevsim.DefaultToken), 0o600); err != nil {
		t.Fatal(err)
	}
	e.waitResult("revoked-1")
	e.waitResult("revoked-2")
}

// everyThird answers every third POST of a contratação 429 with Retry-After: 1, from the simulator's own fault
// injector: a third of the writes throttled, deterministically.
func everyThird(next http.Handler, inj *fault.Injector) http.Handler {
	var n atomic.Int32
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/contratacoes") && n.Add(1)%3 == 0 {
			inj.FailNext(1, http.StatusTooManyRequests, time.Second)
		}
		next.ServeHTTP(w, r)
	})
}

// TestThrottlingClosesOneGatePerTenant is defect 3: CidadES answers a third of its writes 429 with Retry-After: 1.
// After each 429, no request from any event reaches that UG before the second has passed (from the simulator's
// request times), the breaker stays closed, and every event completes.
func TestThrottlingClosesOneGatePerTenant(t *testing.T) {
	e := startEnv(t, envOptions{
		cfg:         events.Config{Concurrency: 4, MaxAttempts: 3},
		breakers:    clients.BreakerSettings{ConsecutiveFailures: 2, OpenTimeout: 300 * time.Millisecond},
		cidadesWrap: everyThird,
	})
	opened := e.opens("")
	const n = 16
	for i := range n {
		numero := fmt.Sprintf("%d/2026", 100+i)
		e.publishBinary(contractEvent(handlers.ContractSigned, fmt.Sprint("throttled-", i), "001001", numero, 2026, signed(numero)))
	}
	for i := range n {
		e.waitResultWithin(fmt.Sprint("throttled-", i), 60*time.Second)
	}
	log := e.cidSim.Faults().Requests()
	var throttled, violations []string
	const inFlight = 100 * time.Millisecond // requests already on the wire when the 429 was answered
	for i, en := range log {
		if en.Status != http.StatusTooManyRequests {
			continue
		}
		throttled = append(throttled, en.Time.Format("15:04:05.000"))
		for _, later := range log[i+1:] {
			if d := later.Time.Sub(en.Time); d > inFlight && d < time.Second {
				violations = append(violations, fmt.Sprintf("%s %s %s after the 429", later.Time.Format("15:04:05.000"), later, d.Round(time.Millisecond)))
			}
		}
	}
	if len(throttled) == 0 {
		t.Fatal("no 429 was answered: the test proves nothing")
	}
	if len(violations) > 0 {
		t.Errorf("%d requests reached UG 001001 inside a Retry-After window (429s at %v):\n  %s", len(violations), throttled, strings.Join(violations, "\n  "))
	}
	if opened.Load() > 0 {
		t.Errorf("the 429s opened a breaker %d times", opened.Load())
	}
	if dl := e.outputs("PONTE_DLQ"); len(dl) > 0 {
		t.Errorf("throttling dead-lettered %d event(s): %s", len(dl), dl[0].ev.Data())
	}
}
