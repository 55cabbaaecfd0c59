package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/ponte-dev/ponte/clients/fault"
	"github.com/ponte-dev/ponte/cmd/internal/harness"
)

// scenarios are the ten faults of docs/reliability.md, in its order.
func scenarios() []*scenario {
	return []*scenario{
		{id: "1", name: "worker SIGKILLed 3 times at random points, restarted", nodes: 1, workers: 1, persons: 500, contracts: 500,
			fault: func(r *run) error {
				for k := range 3 {
					if err := r.waitFraction(r.between(0.15+0.25*float64(k), 0.3+0.25*float64(k))); err != nil {
						return err
					}
					if err := r.killAndRestart(); err != nil {
						return err
					}
				}
				return nil
			}},
		{id: "2", name: "nats-server restarted: SIGTERM 2s down, SIGKILL 15s down", nodes: 1, workers: 1, persons: 500, contracts: 500,
			fault: func(r *run) error {
				n := r.nats.Nodes[0]
				for _, step := range []struct {
					at   float64
					sig  syscall.Signal
					down time.Duration
				}{{0.2, syscall.SIGTERM, 2 * time.Second}, {0.55, syscall.SIGKILL, 15 * time.Second}} {
					if err := r.waitFraction(step.at); err != nil {
						return err
					}
					r.logf("%v to nats-server at %d settled, down %v", step.sig, r.obs.settled(r.acked), step.down)
					if err := n.P.Stop(step.sig, 30*time.Second); err != nil {
						return err
					}
					time.Sleep(step.down) // the downtime is the fault itself
					if err := r.nats.StartNode(r.ctx, n); err != nil {
						return err
					}
				}
				return nil
			}},
		{id: "3", name: "3-node cluster, R3: the input stream's leader SIGKILLed", nodes: 3, workers: 1, persons: 500, contracts: 500, timeout: 8 * time.Minute,
			fault: func(r *run) error {
				if err := r.waitFraction(0.3); err != nil {
					return err
				}
				ctx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
				defer cancel()
				st, err := r.js.Stream(ctx, "PONTE_EVENTS")
				if err != nil {
					return err
				}
				info := st.CachedInfo()
				if info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
					return fmt.Errorf("PONTE_EVENTS is not replicated on three nodes: %+v", info.Cluster)
				}
				n := r.nats.Node(info.Cluster.Leader)
				if n == nil {
					return fmt.Errorf("no node is the stream leader %q", info.Cluster.Leader)
				}
				r.logf("SIGKILL the stream leader %s at %d settled, down 10s", n.Name, r.obs.settled(r.acked))
				n.P.Kill()
				time.Sleep(10 * time.Second) // the downtime is the fault itself
				return r.nats.StartNode(r.ctx, n)
			}},
		{id: "4", name: "3 worker replicas, the pinned one SIGKILLed", nodes: 1, workers: 3, persons: 500, contracts: 500,
			fault: func(r *run) error {
				if err := r.waitFraction(r.between(0.25, 0.5)); err != nil {
					return err
				}
				w := r.busiest()
				r.logf("SIGKILL %s (the busiest of 3) at %d settled", w.name, r.obs.settled(r.acked))
				w.p.Kill()
				return nil
			}},
		{id: "5", name: "CidadES answers 503 for 45s, then heals", nodes: 1, workers: 1, persons: 500, contracts: 500,
			config: map[string]any{"worker.maxAckPending": 1000},
			fault: func(r *run) error {
				if err := r.waitFraction(0.1); err != nil {
					return err
				}
				if err := harness.SetFaults(r.sb.CidadES, fault.Faults{FailureRate: 1, FailureStatus: http.StatusServiceUnavailable}); err != nil {
					return err
				}
				before := r.obs.resultsWith("-p")
				r.logf("CidadES down (503) at %d settled", r.obs.settled(r.acked))
				time.Sleep(45 * time.Second) // the outage is the fault itself
				during := r.obs.resultsWith("-p") - before
				r.logf("persons settled during the outage: %d", during)
				if during == 0 && before < r.load.persons*3 {
					r.problem("no person event settled while CidadES was down: one API's outage stopped the others")
				}
				return harness.SetFaults(r.sb.CidadES, fault.Faults{})
			}},
		{id: "6", name: "Zeev throttles (429, Retry-After 2s) 5% of calls", nodes: 1, workers: 1, persons: 300, contracts: 100,
			before: func(r *run) error {
				return harness.SetFaults(r.sb.Zeev, fault.Faults{ThrottleRate: 0.05, RetryAfter: fault.Duration(2 * time.Second)})
			},
			fault: func(r *run) error {
				if err := r.waitFraction(0.7); err != nil {
					return err
				}
				// The one worker ran the whole scenario: its counter covers every breaker of the run.
				if n := r.ws.live()[0].metric("ponte_circuit_breaker_transitions_total", `to="open"`); n > 0 {
					r.problem("the 429s opened a breaker %v times: throttling is no failure", n)
				}
				return harness.SetFaults(r.sb.Zeev, fault.Faults{})
			},
			check: func(r *run, v *verdict) {
				log := r.obs.requests("zeev")
				const inFlight = 100 * time.Millisecond // requests already on the wire when the 429 was answered
				throttled := 0
				for i, e := range log {
					if e.Status != http.StatusTooManyRequests {
						continue
					}
					throttled++
					for _, later := range log[i+1:] {
						if d := later.Received.Sub(e.Time); d > inFlight && d < 2*time.Second {
							v.problem("%s reached Zeev %v after a 429 with Retry-After 2s", later.String(), d.Round(time.Millisecond))
						}
					}
				}
				if throttled == 0 {
					v.problem("Zeev answered no 429: the scenario proves nothing")
				}
				r.logf("Zeev answered %d requests 429", throttled)
			}},
		{id: "7", name: "slow APIs (1-1.5s per call), ackWait 4s", nodes: 1, workers: 1, persons: 60, contracts: 60,
			config: map[string]any{"worker.ackWait": "4s", "worker.concurrency": 32},
			before: func(r *run) error {
				for _, s := range r.sb.Sims() {
					if err := harness.SetFaults(s, fault.Faults{Latency: fault.Duration(time.Second), Jitter: fault.Duration(500 * time.Millisecond)}); err != nil {
						return err
					}
				}
				return nil
			},
			check: func(r *run, v *verdict) {
				if v.timeoutRedeliveries > 0 {
					v.problem("%d redeliveries after AckWait with slow APIs: a running event lost its message", v.timeoutRedeliveries)
				}
				if longest := longestHire(r); longest < 4*time.Second {
					v.problem("the longest hire took %v, within ackWait 4s: the scenario proves nothing", longest)
				} else {
					r.logf("the longest hire took %v (ackWait 4s)", longest.Round(100*time.Millisecond))
				}
			}},
		{id: "8", name: "1% poison: not CloudEvents, schema-invalid, Zeev 400, CidadES always 500", nodes: 1, workers: 1, persons: 500, contracts: 500, poison: 24,
			config: map[string]any{"worker.backoffMax": "2s"},
			before: func(r *run) error {
				return harness.SetFaults(r.sb.CidadES, fault.Faults{FailMatch: poisonMarker, FailureStatus: http.StatusInternalServerError})
			}},
		{id: "9", name: "Zeev token revoked for 20s, then the token file rewritten", nodes: 1, workers: 1, persons: 300, contracts: 300,
			fault: func(r *run) error {
				if err := r.waitFraction(0.15); err != nil {
					return err
				}
				if err := harness.Control(http.MethodPost, r.sb.Zeev.Base+"/_sim/auth/revoke", map[string]string{"kind": "token", "value": harness.ZeevToken}); err != nil {
					return err
				}
				r.logf("Zeev token revoked at %d settled", r.obs.settled(r.acked))
				time.Sleep(20 * time.Second) // the revoked stretch is the fault itself
				r.logf("token file rewritten with the new token at %d settled", r.obs.settled(r.acked))
				return os.WriteFile(r.tokenFile, []byte(harness.ZeevRotatedToken), 0o600)
			}},
		{id: "10", name: "worker SIGKILLed while CidadES writes wait for their answer, 3 times", nodes: 1, workers: 1, persons: 100, contracts: 300,
			config: map[string]any{"worker.concurrency": 32},
			before: func(r *run) error {
				return harness.SetFaults(r.sb.CidadES, fault.Faults{AnswerDelay: fault.Duration(time.Second)})
			},
			fault: func(r *run) error {
				for k := range 3 {
					if err := r.waitFraction(0.1 + 0.25*float64(k)); err != nil {
						return err
					}
					time.Sleep(time.Duration(r.between(0.1, 0.9) * float64(time.Second))) // a random point of a held answer
					if err := r.killAndRestart(); err != nil {
						return err
					}
				}
				return nil
			},
			check: func(r *run, v *verdict) {
				again := 0
				for _, e := range r.obs.requests("cidades") {
					if e.Method == http.MethodPost && e.Status == http.StatusConflict {
						again++
					}
				}
				if again == 0 {
					v.problem("no CidadES create was sent again after a kill: no kill fell between a write and its settlement")
				}
				r.logf("CidadES creates sent again after a kill (answered 409, read back): %d", again)
			}},
	}
}

// killAndRestart SIGKILLs the (one) live worker and starts another in its place.
func (r *run) killAndRestart() error {
	w := r.ws.live()[0]
	r.logf("SIGKILL %s at %d settled", w.name, r.obs.settled(r.acked))
	w.p.Kill()
	_, err := r.ws.start(r.ctx)
	return err
}

// longestHire is the longest time from a person's Zeev upsert arriving to the answer of the hire's last Senior
// link, over the hires: how long a person.hired ran.
func longestHire(r *run) time.Duration {
	first := map[string]time.Time{}
	for _, e := range r.obs.requests("zeev") {
		if e.Method == http.MethodPost && e.Path == "/api/2/users" && !strings.Contains(string(e.Body), `"replace"`) {
			u := jsonField(e.Body, "username")
			if _, ok := first[u]; !ok {
				first[u] = e.Received
			}
		}
	}
	var longest time.Duration
	for _, e := range r.obs.requests("senior") {
		if e.Method != http.MethodPost || !strings.HasSuffix(e.Path, "/person/role") || rankOf(jsonField(e.Body, "startDate")) != 0 {
			continue
		}
		var i int
		if _, err := fmt.Sscanf(jsonField(e.Body, "personId"), "7%05d", &i); err != nil {
			continue
		}
		if t, ok := first[username(i)]; ok {
			longest = max(longest, e.Time.Sub(t))
		}
	}
	return longest
}
