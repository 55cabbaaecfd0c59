package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/ponte-dev/ponte/clients"
	"github.com/ponte-dev/ponte/clients/cidades"
	"github.com/ponte-dev/ponte/clients/cidades/cidadessim"
	"github.com/ponte-dev/ponte/clients/fault"
	"github.com/ponte-dev/ponte/clients/senior"
	"github.com/ponte-dev/ponte/clients/senior/seniorsim"
	"github.com/ponte-dev/ponte/clients/zeev"
	"github.com/ponte-dev/ponte/clients/zeev/zeevsim"
	"github.com/ponte-dev/ponte/events"
	"github.com/ponte-dev/ponte/events/eventstest"
	"github.com/ponte-dev/ponte/examples"
	"github.com/ponte-dev/ponte/handlers"
	"github.com/ponte-dev/ponte/schemas"
)

// The integration tests run the real worker (events.Worker on an embedded JetStream server) with the real
// handlers and clients against the three simulators over HTTP, loaded with the sandbox fixtures
// (examples/sandbox/*.yaml). Every test starts its own server, simulators and worker.
//
// The fixture people the tests use:
//
//   - Zeev carla.menezes (user 4321, TI/GERENTE, groups colaboradores and ti-admins) carries CPF 111.444.777-35
//     and registry 000123: Senior knows that CPF as person 123, linked to roles 4 (link 36) and 5 (link 37)
//     since 2024-02-01. She is the existing employee of person.moved and person.terminated.
//   - Senior 131 Daniela Prado Vieira (CPF 048.315.726-08) has no links and no Zeev user: a new hire.
//   - Senior 123 as "Alan Cooper" (no Zeev user alan.cooper): a hire who already holds role 4.
//   - Zeev's next user id is 4324; Senior's next link id is 40; CidadES's next contratação id is 6.

// brt is the UTC offset of the events' dates (Espírito Santo).
var brt = time.FixedZone("-03", -3*60*60)

// handlersNow is the handlers' clock (Deps.Now): it decides which Senior links have started.
var handlersNow = time.Date(2026, 12, 15, 12, 0, 0, 0, brt)

// testProfiles are the access profiles of the tests.
func testProfiles() []handlers.Profile {
	return []handlers.Profile{
		{
			OrgUnit: "TI", Position: "ANALISTA",
			Zeev:   handlers.ZeevAccess{Positions: []handlers.ZeevPosition{{TeamCode: "TI", PositionCode: "ANALISTA"}}, Groups: []string{"colaboradores"}},
			Senior: handlers.SeniorAccess{RoleIDs: []int64{3, 4}}, // Acesso TI, Acesso Prédio Sede
		},
		{
			OrgUnit: "RH", Position: "ANALISTA",
			Zeev:   handlers.ZeevAccess{Positions: []handlers.ZeevPosition{{TeamCode: "RH", PositionCode: "ANALISTA"}}, Groups: []string{"colaboradores"}},
			Senior: handlers.SeniorAccess{RoleIDs: []int64{4}},
		},
	}
}

// envOptions tune one test environment; the zero value is the default.
type envOptions struct {
	cfg      events.Config           // BackoffBase, BackoffMax and MaxAttempts default to 20ms, 200ms and 3
	breakers clients.BreakerSettings // default: 5 consecutive failures, open for 300ms
	ugs      map[string]cidades.UGConfig
	// seniorFault, when set, fails one precise request to the Senior simulator.
	seniorFault *nthFault
	// zeevLogin makes the Zeev client log in (POST /api/2/tokens) for temporary tokens of the given lifetime,
	// instead of sending the permanent token; 0 keeps the permanent token.
	zeevLogin time.Duration
	// zeevToken, when set, is the file the Zeev client reads its permanent token from (re-read when it changes).
	zeevToken string
	// workers is how many workers share the consumers, each on its own connection, as replicas would. Default 1.
	workers int
	// cidadesWrap, when set, wraps the CidadES simulator (its fault injector given) to disturb chosen requests.
	cidadesWrap func(next http.Handler, inj *fault.Injector) http.Handler
	// wrap, when set, wraps each simulator's handler (after the faults above), given the target's name.
	wrap func(target string, next http.Handler) http.Handler
	// tracerProvider, when set, is the worker's and the clients' (spans recorded); nil records none.
	tracerProvider trace.TracerProvider
}

// nthFault disturbs the nth request matching method and path. With status, the simulator's own fault injector
// answers it with that status instead of serving it (so it is logged like any other request). With loseResponse,
// the simulator serves it (its state changes, the log shows its status) but the connection is closed before the
// answer reaches the client, as when a response is lost on the network.
type nthFault struct {
	method, path string
	nth          int
	status       int
	loseResponse bool
}

func (f *nthFault) wrap(next http.Handler, inj *fault.Injector) http.Handler {
	var mu sync.Mutex
	seen := 0
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hit := false
		if r.Method == f.method && r.URL.Path == f.path {
			mu.Lock()
			seen++
			hit = seen == f.nth
			mu.Unlock()
		}
		switch {
		case hit && f.loseResponse:
			next.ServeHTTP(httptest.NewRecorder(), r)
			panic(http.ErrAbortHandler) // closes the connection without an answer
		case hit:
			inj.FailNext(1, f.status, 0)
		}
		next.ServeHTTP(w, r)
	})
}

// env is one running worker with its simulators and clients.
type env struct {
	t        *testing.T
	js       jetstream.JetStream
	reg      *prometheus.Registry
	breakers *clients.Breakers

	zeevSim   *zeevsim.Server
	seniorSim *seniorsim.Server
	cidSim    *cidadessim.Server

	zeev    *zeev.Client
	senior  *senior.Client
	cidades *cidades.Client
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := examples.FS.ReadFile("sandbox/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// startEnv starts an embedded JetStream server, the three simulators, the clients and a worker with the
// handlers, and waits until the worker is consuming.
func startEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	e := &env{t: t, reg: prometheus.NewRegistry()}

	zf, err := zeevsim.LoadFixtures(fixture(t, "zeev.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sf, err := seniorsim.LoadFixtures(fixture(t, "senior.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cf, err := cidadessim.LoadFixtures(fixture(t, "cidades.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	e.zeevSim = zeevsim.New(zf, zeevsim.Options{TemporaryTokenTTL: o.zeevLogin})
	e.seniorSim = seniorsim.New(sf, seniorsim.Options{})
	e.cidSim = cidadessim.New(cf, cidadessim.Options{})
	var seniorHandler http.Handler = e.seniorSim
	if o.seniorFault != nil {
		seniorHandler = o.seniorFault.wrap(e.seniorSim, e.seniorSim.Faults())
	}
	var cidHandler http.Handler = e.cidSim
	if o.cidadesWrap != nil {
		cidHandler = o.cidadesWrap(e.cidSim, e.cidSim.Faults())
	}
	var zeevHandler http.Handler = e.zeevSim
	if o.wrap != nil {
		zeevHandler, seniorHandler, cidHandler = o.wrap(zeev.Target, zeevHandler), o.wrap(senior.Target, seniorHandler), o.wrap(cidades.Target, cidHandler)
	}
	zeevSrv, seniorSrv, cidSrv := serve(t, zeevHandler), serve(t, seniorHandler), serve(t, cidHandler)

	bs := o.breakers
	if bs == (clients.BreakerSettings{}) {
		bs = clients.BreakerSettings{ConsecutiveFailures: 5, OpenTimeout: 300 * time.Millisecond}
	}
	e.breakers = clients.NewBreakers(bs, nil)
	epOpts := clients.EndpointOptions{Breakers: e.breakers, Registerer: e.reg, TracerProvider: o.tracerProvider}
	zcfg := zeev.Config{
		EndpointConfig: clients.EndpointConfig{BaseURL: zeevSrv.URL},
		Token:          clients.SecretValue(zeevsim.DefaultToken),
	}
	switch {
	case o.zeevLogin > 0:
		zcfg.Token, zcfg.Login, zcfg.Password, zcfg.TokenTTL = nil, zeevsim.DefaultLogin, clients.SecretValue(zeevsim.DefaultPassword), o.zeevLogin
	case o.zeevToken != "":
		zcfg.Token = clients.SecretFile(o.zeevToken)
	}
	if e.zeev, err = zeev.New(zcfg, epOpts); err != nil {
		t.Fatal(err)
	}
	if e.senior, err = senior.New(senior.Config{
		EndpointConfig: clients.EndpointConfig{BaseURL: seniorSrv.URL + seniorsim.APIPrefix},
		AccessKey:      seniorsim.DefaultAccessKey,
		Secret:         clients.SecretValue(seniorsim.DefaultSecret),
		TenantName:     seniorsim.DefaultTenantName,
		LoginURL:       seniorSrv.URL + seniorsim.LoginWithKeyPath,
	}, epOpts); err != nil {
		t.Fatal(err)
	}
	ugs := o.ugs
	if ugs == nil {
		ugs = map[string]cidades.UGConfig{
			"001000": {ClientID: cidadessim.DefaultClientID001000, ClientSecret: clients.SecretValue(cidadessim.DefaultClientSecret001000)},
			"001001": {ClientID: cidadessim.DefaultClientID001001, ClientSecret: clients.SecretValue(cidadessim.DefaultClientSecret001001)},
			"001002": {ClientID: cidadessim.DefaultClientID001002, ClientSecret: clients.SecretValue(cidadessim.DefaultClientSecret001002)},
		}
	}
	if e.cidades, err = cidades.New(cidades.Config{EndpointConfig: clients.EndpointConfig{BaseURL: cidSrv.URL}, UGs: ugs}, epOpts); err != nil {
		t.Fatal(err)
	}
	profiles, err := handlers.NewProfiles(testProfiles())
	if err != nil {
		t.Fatal(err)
	}
	catalog, err := schemas.New()
	if err != nil {
		t.Fatal(err)
	}

	_, e.js = eventstest.JetStream(t)

	cfg := o.cfg
	if cfg.BackoffBase == 0 {
		cfg.BackoffBase, cfg.BackoffMax = 20*time.Millisecond, 200*time.Millisecond
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 3
	}
	deps := handlers.Deps{Zeev: e.zeev, Senior: e.senior, CidadES: e.cidades, Profiles: profiles, Now: func() time.Time { return handlersNow }}
	for i := range max(o.workers, 1) {
		_, js := eventstest.Connect(t, e.js.Conn().ConnectedUrl())
		var reg prometheus.Registerer = e.reg
		if i > 0 {
			reg = prometheus.NewRegistry() // the metrics the tests read are the first worker's
		}
		w, err := events.NewWorker(js, events.Topology{Manage: true}, cfg, handlers.Routes(deps), catalog,
			events.Options{Logger: slog.New(slog.DiscardHandler), Registerer: reg, Breakers: e.breakers, TracerProvider: o.tracerProvider})
		if err != nil {
			t.Fatal(err)
		}
		eventstest.Run(t, w, false)
	}
	return e

}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ---- events in ----

// inputEvent is a CloudEvent of the catalogue: source urn:example:hr, a fixed time, JSON data.
func inputEvent(typ, id, subject, data string) *event.Event {
	ev := event.New()
	ev.SetID(id)
	ev.SetSource("urn:example:hr")
	ev.SetType(typ)
	ev.SetSubject(subject)
	ev.SetTime(time.Date(2026, 11, 20, 14, 3, 11, 0, brt))
	if err := ev.SetData(event.ApplicationJSON, []byte(data)); err != nil {
		panic(err)
	}
	return &ev
}

// contractEvent is inputEvent with the ug extension and the subject <ug>/<numero>/<ano>.
func contractEvent(typ, id, ug, numero string, ano int, data string) *event.Event {
	ev := inputEvent(typ, id, fmt.Sprintf("%s/%s/%d", ug, numero, ano), data)
	ev.SetExtension("ug", ug)
	return ev
}

func (e *env) publish(m *nats.Msg) *jetstream.PubAck {
	e.t.Helper()
	ack, err := e.js.PublishMsg(context.Background(), m)
	if err != nil {
		e.t.Fatal(err)
	}
	return ack
}

func (e *env) publishBinary(ev *event.Event) {
	e.t.Helper()
	e.publish(events.EncodeBinary(ev.Type(), ev, ""))
}

// ---- events out ----

// output is one message of the result or dead-letter stream.
type output struct {
	msg jetstream.Msg
	ev  *event.Event
}

// outputs returns every message now in stream, decoded.
func (e *env) outputs(stream string) []output {
	e.t.Helper()
	var out []output
	for _, m := range eventstest.Messages(e.t, e.js, stream) {
		out = append(out, output{m.Msg, m.Event})
	}
	return out
}

// forEvent returns the outputs whose causationid is id.
func forEvent(outs []output, id string) []output {
	var mine []output
	for _, o := range outs {
		if o.ev.Extensions()["causationid"] == id {
			mine = append(mine, o)
		}
	}
	return mine
}

// waitOutput waits until stream holds an output for the input event id and returns it.
func (e *env) waitOutput(stream, id string, timeout time.Duration) output {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if mine := forEvent(e.outputs(stream), id); len(mine) > 0 {
			return mine[0]
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no output on %s for event %s after %s (results: %d, dead letters: %d)", stream, id, timeout,
				len(e.outputs("PONTE_RESULTS")), len(e.outputs("PONTE_DLQ")))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitResult waits for the result of event id and returns its data. A dead letter for id fails the test at once.
func (e *env) waitResult(id string) events.Result {
	e.t.Helper()
	return e.waitResultWithin(id, 10*time.Second)
}

// waitResultWithin is waitResult with another timeout.
func (e *env) waitResultWithin(id string, timeout time.Duration) events.Result {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if mine := forEvent(e.outputs("PONTE_RESULTS"), id); len(mine) > 0 {
			var r events.Result
			if err := mine[0].ev.DataAs(&r); err != nil {
				e.t.Fatal(err)
			}
			return r
		}
		if dl := forEvent(e.outputs("PONTE_DLQ"), id); len(dl) > 0 {
			e.t.Fatalf("event %s was dead-lettered: %s", id, dl[0].ev.Data())
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no result for event %s", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitDeadLetter waits for the dead letter of event id and returns its data.
func (e *env) waitDeadLetter(id string) events.DeadLetter {
	e.t.Helper()
	o := e.waitOutput("PONTE_DLQ", id, 10*time.Second)
	var dl events.DeadLetter
	if err := o.ev.DataAs(&dl); err != nil {
		e.t.Fatal(err)
	}
	return dl
}

// ---- calls received by the simulators ----

// call is one request a simulator should have received: "METHOD /path?query", the status it answered, and the
// JSON body of a write ("" for none). An auth call (token endpoints) is matched on method, path and status only.
type call struct {
	line   string
	status int
	body   string
	auth   bool
}

func get(line string, status int) call { return call{line: "GET " + line, status: status} }
func post(line string, status int, body string) call {
	return call{line: "POST " + line, status: status, body: body}
}
func put(line string, status int, body string) call {
	return call{line: "PUT " + line, status: status, body: body}
}
func patch(line string, status int) call { return call{line: "PATCH " + line, status: status} }
func del(line string, status int) call   { return call{line: "DELETE " + line, status: status} }
func login(line string) call             { return call{line: "POST " + line, status: 200, auth: true} }

// The token endpoints of the simulators.
const (
	seniorLogin  = seniorsim.LoginWithKeyPath
	cidadesToken = "/oauth/token"
)

// assertCalls checks that the simulator got exactly want, in order: method, path, query and status of every
// request, and the JSON body of every write compared as parsed JSON.
func assertCalls(t *testing.T, name string, log []fault.Entry, want []call) {
	t.Helper()
	got := make([]string, len(log))
	for i, en := range log {
		got[i] = fmt.Sprintf("%s -> %d", en.String(), en.Status)
	}
	exp := make([]string, len(want))
	for i, c := range want {
		exp[i] = fmt.Sprintf("%s -> %d", c.line, c.status)
	}
	if !reflect.DeepEqual(got, exp) {
		t.Errorf("%s received:\n\t%s\nwant:\n\t%s", name, strings.Join(got, "\n\t"), strings.Join(exp, "\n\t"))
		return
	}
	for i, c := range want {
		en := log[i]
		switch {
		case c.auth:
		case c.body == "":
			if len(bytes.TrimSpace(en.Body)) != 0 {
				t.Errorf("%s call %d %s: body %s, want none", name, i, c.line, en.Body)
			}
		default:
			if !jsonEqual(en.Body, []byte(c.body)) {
				t.Errorf("%s call %d %s: body\n\t%s\nwant\n\t%s", name, i, c.line, en.Body, compact(c.body))
			}
		}
	}
}

func jsonEqual(a, b []byte) bool {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

func compact(s string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		return s
	}
	return b.String()
}

// writes returns the requests of log that change state: every method but GET, token endpoints excluded.
func writes(log []fault.Entry) []string {
	var out []string
	for _, en := range log {
		if en.Method == http.MethodGet || en.Path == seniorLogin || en.Path == cidadesToken {
			continue
		}
		out = append(out, fmt.Sprintf("%s -> %d", en.String(), en.Status))
	}
	return out
}

// clearLogs empties the request logs of the three simulators.
func (e *env) clearLogs() {
	e.zeevSim.Faults().ClearLog()
	e.seniorSim.Faults().ClearLog()
	e.cidSim.Faults().ClearLog()
}

// noCalls checks that no request reached any simulator.
func (e *env) noCalls() {
	e.t.Helper()
	for name, f := range map[string]*fault.Injector{"zeev": e.zeevSim.Faults(), "senior": e.seniorSim.Faults(), "cidades": e.cidSim.Faults()} {
		if log := f.Requests(); len(log) > 0 {
			e.t.Errorf("%s received %d request(s), want none: first %s", name, len(log), log[0])
		}
	}
}

// metric returns the value of the counter or gauge name whose labels include the given pairs (0 if none).
func (e *env) metric(name string, labels ...string) float64 {
	e.t.Helper()
	return eventstest.Metric(e.t, e.reg, name, labels...)
}

// opens counts the times a breaker of target (any target, for "") opens from now on.
func (e *env) opens(target string) *atomic.Int32 {
	var n atomic.Int32
	e.breakers.Watch(func(k clients.BreakerKey, _, to clients.BreakerState) {
		if to == clients.StateOpen && (target == "" || k.Target == target) {
			n.Add(1)
		}
	})
	return &n
}

// linkDaniela is the Senior call that links Daniela (person 131) to role from her hire date, answered status.
func linkDaniela(role, status int) call {
	return post("/api/v1/person/role", status, fmt.Sprintf(`{"id": 0, "personId": 131, "roleId": %d, "startDate": "2026-12-01T08:00:00-03:00"}`, role))
}
