package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The reference worker: what a competent team would write by hand to give ponte's guarantees for
// contract.signed, the simplest way, so that every figure of ponte's has a baseline measured in the same run
// (issue 10). Per message, with a pool of goroutines pulling from one durable consumer of the input stream:
//
//  1. claim: KV Create of the event's key with a per-message TTL of ackWait (a concurrent or later delivery of the
//     same event finds it: a completed event is acked, a claimed one handed back);
//  2. POST /v1/contratacoes to CidadES with the UG's OAuth token (client credentials, fetched once per UG and
//     cached until it expires; fetched again on a 401); a 409 means it is already registered: success;
//  3. publish the result event on ponte.result.contract.signed.<key>, awaiting its PubAck (the results stream
//     keeps one message per subject: a result published before is not published twice);
//  4. KV Update of the key with the completion, at the claim's revision;
//  5. Ack.
//
// No validation, no breakers, no metrics, no per-entity order; a failure hands the message back after a second.

// refConfig is the reference worker's settings, from its flags.
type refConfig struct {
	natsURL, cidades   string
	listen             string
	concurrency        int
	ackWait            time.Duration
	maxAckPending      int
	stream, subjects   string
	results, bucket    string
	consumer, source   string
	ugs                map[string][2]string // UG -> client id, secret
	httpTimeout        time.Duration
	tokenLeeway        time.Duration
	maxIdlePerHostConn int
}

// reference runs the reference worker until ctx ends: `ponte-bench reference -nats URL -cidades URL ...`.
func reference(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("ponte-bench reference", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c refConfig
	fs.StringVar(&c.natsURL, "nats", nats.DefaultURL, "the NATS server URLs, comma-separated")
	fs.StringVar(&c.cidades, "cidades", "http://127.0.0.1:8083", "the CidadES API root")
	fs.StringVar(&c.listen, "listen", "127.0.0.1:0", "the address of /readyz (answers 200 once the consumer is bound)")
	fs.IntVar(&c.concurrency, "concurrency", 128, "messages processed at once (goroutines of the pool)")
	fs.DurationVar(&c.ackWait, "ack-wait", 30*time.Second, "the consumer's AckWait, also the claim's TTL")
	fs.IntVar(&c.maxAckPending, "max-ack-pending", 1000, "the consumer's MaxAckPending")
	fs.StringVar(&c.stream, "stream", "PONTE_EVENTS", "the input stream (created with ponte's configuration if absent)")
	fs.StringVar(&c.subjects, "subjects", "person.>,contract.>", "the input stream's subjects")
	fs.StringVar(&c.results, "results", "PONTE_RESULTS", "the result stream, on ponte.result.>")
	fs.StringVar(&c.bucket, "bucket", "reference-ledger", "the key-value bucket of claims and completions")
	fs.StringVar(&c.consumer, "consumer", "reference-events", "the durable consumer's name")
	fs.StringVar(&c.source, "source", "ponte-reference", "the CloudEvents source of the results")
	ugs := fs.String("ugs", "001001=ug-001001-rw:cidades-dev-001001-rw,001002=ug-001002-rw:cidades-dev-001002-rw",
		"the UGs' integration keys: ug=clientId:secret, comma-separated (the sandbox's development keys)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c.httpTimeout, c.tokenLeeway, c.maxIdlePerHostConn = 10*time.Second, 30*time.Second, c.concurrency
	c.ugs = map[string][2]string{}
	for _, kv := range strings.Split(*ugs, ",") {
		ug, cred, ok1 := strings.Cut(kv, "=")
		id, secret, ok2 := strings.Cut(cred, ":")
		if !ok1 || !ok2 {
			return fmt.Errorf("-ugs: %q is not ug=clientId:secret", kv)
		}
		c.ugs[ug] = [2]string{id, secret}
	}
	if c.concurrency < 1 {
		return errors.New("-concurrency: must be at least 1")
	}
	return runReference(ctx, c)
}

// refWorker is the running reference worker.
type refWorker struct {
	cfg    refConfig
	js     jetstream.JetStream
	kv     jetstream.KeyValue
	http   *http.Client
	tokens map[string]*refToken // by UG, fixed at start
}

// refToken is one UG's cached OAuth token. mu is held while a token is fetched, so that it is fetched once.
type refToken struct {
	ug, clientID, secret string
	mu                   sync.Mutex
	value                string
	expiry               time.Time
}

func runReference(ctx context.Context, cfg refConfig) error {
	nc, err := nats.Connect(cfg.natsURL, nats.Name("ponte-reference"), nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("reference: connect %s: %w", cfg.natsURL, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("reference: jetstream: %w", err)
	}
	w := &refWorker{cfg: cfg, js: js, tokens: map[string]*refToken{},
		http: &http.Client{Timeout: cfg.httpTimeout, Transport: &http.Transport{
			Proxy: http.ProxyFromEnvironment, MaxIdleConns: 2 * cfg.maxIdlePerHostConn,
			MaxIdleConnsPerHost: cfg.maxIdlePerHostConn, IdleConnTimeout: 90 * time.Second,
		}}}
	for ug, cred := range cfg.ugs {
		w.tokens[ug] = &refToken{ug: ug, clientID: cred[0], secret: cred[1]}
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	cons, err := w.setUp(sctx)
	cancel()
	if err != nil {
		return err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(2 * cfg.concurrency))
	if err != nil {
		return fmt.Errorf("reference: consume %s: %w", cfg.consumer, err)
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		it.Stop()
		return fmt.Errorf("reference: listen %s: %w", cfg.listen, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			// The one figure the harness reads from it, named as the Prometheus Go collector names it in ponte's.
			s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
			metrics.Read(s)
			fmt.Fprintf(rw, "go_memstats_alloc_bytes_total %d\n", s[0].Value.Uint64())
			return
		}
		io.WriteString(rw, "ok\n") //nolint:errcheck // a probe
	})}
	go srv.Serve(ln) //nolint:errcheck // closed below
	var wg sync.WaitGroup
	for range cfg.concurrency {
		wg.Go(func() {
			for {
				m, err := it.Next()
				if err != nil {
					return // the iterator was stopped
				}
				w.handle(context.WithoutCancel(ctx), m) // a message taken is settled, even while stopping
			}
		})
	}
	<-ctx.Done()
	it.Drain()
	wg.Wait()
	srv.Close()
	return nil
}

// setUp creates the streams and the bucket if they are absent (with ponte's configuration of them) and the
// durable consumer.
func (w *refWorker) setUp(ctx context.Context) (jetstream.Consumer, error) {
	subjects := strings.Split(w.cfg.subjects, ",")
	for _, sc := range []jetstream.StreamConfig{
		{Name: w.cfg.stream, Subjects: subjects, Storage: jetstream.FileStorage, MaxAge: 7 * 24 * time.Hour, Duplicates: 2 * time.Minute},
		{Name: w.cfg.results, Subjects: []string{"ponte.result.>"}, Storage: jetstream.FileStorage, MaxAge: 7 * 24 * time.Hour,
			Duplicates: 2 * time.Minute, MaxMsgsPerSubject: 1, Discard: jetstream.DiscardNew, DiscardNewPerSubject: true},
	} {
		if _, err := w.js.Stream(ctx, sc.Name); errors.Is(err, jetstream.ErrStreamNotFound) {
			_, err = w.js.CreateStream(ctx, sc)
			if err != nil {
				return nil, fmt.Errorf("reference: create stream %s: %w", sc.Name, err)
			}
		} else if err != nil {
			return nil, fmt.Errorf("reference: stream %s: %w", sc.Name, err)
		}
	}
	kv, err := w.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: w.cfg.bucket, Storage: jetstream.FileStorage,
		History: 1, TTL: 30 * 24 * time.Hour, LimitMarkerTTL: time.Minute})
	if err != nil {
		return nil, fmt.Errorf("reference: bucket %s: %w", w.cfg.bucket, err)
	}
	w.kv = kv
	cons, err := w.js.CreateOrUpdateConsumer(ctx, w.cfg.stream, jetstream.ConsumerConfig{
		Durable: w.cfg.consumer, AckPolicy: jetstream.AckExplicitPolicy, AckWait: w.cfg.ackWait,
		DeliverPolicy: jetstream.DeliverAllPolicy, MaxAckPending: w.cfg.maxAckPending, MaxDeliver: 5000,
		FilterSubjects: subjects,
	})
	if err != nil {
		return nil, fmt.Errorf("reference: consumer %s: %w", w.cfg.consumer, err)
	}
	return cons, nil
}

// contractSigned is the data of a contract.signed event, as far as the create needs it.
type contractSigned struct {
	Contrato struct {
		Numero     string `json:"numero"`
		Ano        int    `json:"ano"`
		Objeto     string `json:"objeto"`
		Contratado struct {
			Documento string `json:"documento"`
			Nome      string `json:"nome"`
		} `json:"contratado"`
		ValorGlobal    json.Number `json:"valorGlobal"`
		DataAssinatura string      `json:"dataAssinatura"`
		Vigencia       struct {
			Inicio string `json:"inicio"`
			Fim    string `json:"fim"`
		} `json:"vigencia"`
		ModalidadeLicitacao          string `json:"modalidadeLicitacao,omitempty"`
		NumeroProcessoAdministrativo string `json:"numeroProcessoAdministrativo,omitempty"`
		FundamentoLegal              string `json:"fundamentoLegal,omitempty"`
	} `json:"contrato"`
}

// contratacao is the body of POST /v1/contratacoes.
type contratacao struct {
	NumeroContrato string `json:"numeroContrato"`
	AnoContrato    int    `json:"anoContrato"`
	Objeto         string `json:"objeto"`
	Contratado     struct {
		TipoDocumento string `json:"tipoDocumento"`
		Documento     string `json:"documento"`
		Nome          string `json:"nome"`
	} `json:"contratado"`
	ValorGlobal                  json.Number `json:"valorGlobal"`
	DataAssinatura               string      `json:"dataAssinatura"`
	DataInicioVigencia           string      `json:"dataInicioVigencia"`
	DataFimVigencia              string      `json:"dataFimVigencia"`
	ModalidadeLicitacao          string      `json:"modalidadeLicitacao,omitempty"`
	NumeroProcessoAdministrativo string      `json:"numeroProcessoAdministrativo,omitempty"`
	FundamentoLegal              string      `json:"fundamentoLegal,omitempty"`
}

// The values of the key of a claimed and of a completed event.
var (
	claimedValue = []byte("claimed")
	donePrefix   = "done "
)

// handle settles one message: claim, create, result, completion, ack; on a failure it hands the message back
// after a second, releasing the claim.
func (w *refWorker) handle(ctx context.Context, m jetstream.Msg) {
	h := m.Headers()
	id, ug := h.Get("ce-id"), h.Get("ce-ug")
	sum := sha256.Sum256([]byte(h.Get("ce-source") + "\x00" + id))
	key := hex.EncodeToString(sum[:20])
	rev, err := w.kv.Create(ctx, key, claimedValue, jetstream.KeyTTL(w.cfg.ackWait))
	if errors.Is(err, jetstream.ErrKeyExists) {
		if e, gerr := w.kv.Get(ctx, key); gerr == nil && strings.HasPrefix(string(e.Value()), donePrefix) {
			m.Ack() //nolint:errcheck // a lost ack is a redelivery, answered the same way
			return
		}
		m.NakWithDelay(time.Second) //nolint:errcheck // another delivery holds the claim
		return
	}
	if err != nil {
		m.NakWithDelay(time.Second) //nolint:errcheck // the server is busy: again later
		return
	}
	fail := func() {
		w.kv.Delete(ctx, key, jetstream.LastRevision(rev)) //nolint:errcheck // the claim lapses on its own otherwise
		m.NakWithDelay(time.Second)                        //nolint:errcheck // redelivered after AckWait otherwise
	}
	var ev contractSigned
	if err := json.Unmarshal(m.Data(), &ev); err != nil || w.tokens[ug] == nil {
		m.Term() //nolint:errcheck // not a contract.signed of a known UG: never retried
		return
	}
	ctID, err := w.create(ctx, ug, ev)
	if err != nil {
		fail()
		return
	}
	res := nats.NewMsg("ponte.result." + h.Get("ce-type") + "." + key)
	res.Header.Set("ce-specversion", "1.0")
	res.Header.Set("ce-id", key)
	res.Header.Set("ce-source", w.cfg.source)
	res.Header.Set("ce-type", h.Get("ce-type")+".processed")
	res.Header.Set("ce-causationid", id)
	res.Header.Set("content-type", "application/json")
	res.Header.Set(nats.MsgIdHdr, key)
	res.Data = fmt.Appendf(nil, `{"eventId":%q,"eventType":%q,"steps":[{"target":"cidades","operation":"create_contratacao","status":"done","ids":{"contratacaoId":%d}}],"completedAt":%q}`,
		id, h.Get("ce-type"), ctID, time.Now().Format(time.RFC3339Nano))
	if _, err := w.js.PublishMsg(ctx, res); err != nil {
		var apiErr *jetstream.APIError
		if !errors.As(err, &apiErr) || !strings.Contains(apiErr.Description, "maximum messages per subject") {
			fail()
			return
		}
	}
	if _, err := w.kv.Update(ctx, key, []byte(donePrefix+key), rev); err != nil {
		fail()
		return
	}
	m.Ack() //nolint:errcheck // a lost ack is a redelivery, answered from the completion
}

// create registers the contract with CidadES and returns the contratação's id (0 when it was already there: 409).
func (w *refWorker) create(ctx context.Context, ug string, ev contractSigned) (int64, error) {
	c := ev.Contrato
	body := contratacao{NumeroContrato: c.Numero, AnoContrato: c.Ano, Objeto: c.Objeto, ValorGlobal: c.ValorGlobal,
		DataAssinatura: c.DataAssinatura, DataInicioVigencia: c.Vigencia.Inicio, DataFimVigencia: c.Vigencia.Fim,
		ModalidadeLicitacao: c.ModalidadeLicitacao, NumeroProcessoAdministrativo: c.NumeroProcessoAdministrativo,
		FundamentoLegal: c.FundamentoLegal}
	body.Contratado.Documento = digits(c.Contratado.Documento)
	body.Contratado.Nome = c.Contratado.Nome
	body.Contratado.TipoDocumento = "CNPJ"
	if len(body.Contratado.Documento) == 11 {
		body.Contratado.TipoDocumento = "CPF"
	}
	b, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	tok := w.tokens[ug]
	for attempt := 0; ; attempt++ {
		bearer, err := tok.get(ctx, w)
		if err != nil {
			return 0, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.cidades+"/v1/contratacoes", bytes.NewReader(b))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+bearer)
		req.Header.Set("Content-Type", "application/json")
		res, err := w.http.Do(req)
		if err != nil {
			return 0, fmt.Errorf("cidades create %s: %w", c.Numero, err)
		}
		var out struct {
			ID int64 `json:"id"`
		}
		err = json.NewDecoder(res.Body).Decode(&out)
		io.Copy(io.Discard, res.Body) //nolint:errcheck // drained for the connection's reuse
		res.Body.Close()
		switch {
		case res.StatusCode == http.StatusCreated && err == nil:
			return out.ID, nil
		case res.StatusCode == http.StatusConflict:
			return 0, nil
		case res.StatusCode == http.StatusUnauthorized && attempt == 0:
			tok.invalidate(bearer)
			continue
		}
		return 0, fmt.Errorf("cidades create %s: HTTP %d", c.Numero, res.StatusCode)
	}
}

// get returns the UG's token, fetching one (client credentials) if none is cached or it expires within the leeway.
func (t *refToken) get(ctx context.Context, w *refWorker) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.value != "" && time.Until(t.expiry) > w.cfg.tokenLeeway {
		return t.value, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {t.clientID}, "client_secret": {t.secret}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.cidades+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := w.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("cidades token for ug %s: %w", t.ug, err)
	}
	defer res.Body.Close()
	var out struct {
		AccessToken string      `json:"access_token"`
		ExpiresIn   json.Number `json:"expires_in"`
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("cidades token for ug %s: HTTP %d", t.ug, res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out.AccessToken == "" {
		return "", fmt.Errorf("cidades token for ug %s: no access_token (%v)", t.ug, err)
	}
	t.value, t.expiry = out.AccessToken, time.Now().Add(100*365*24*time.Hour) // no expires_in: until a 401
	if secs, err := strconv.ParseFloat(out.ExpiresIn.String(), 64); err == nil && secs > 0 {
		t.expiry = time.Now().Add(time.Duration(secs * float64(time.Second)))
	}
	return t.value, nil
}

// invalidate drops the cached token if it is still bearer (the API refused it).
func (t *refToken) invalidate(bearer string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.value == bearer {
		t.value = ""
	}
}

// digits returns the decimal digits of s: "11.222.333/0001-81" -> "11222333000181".
func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}
