package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ponte-dev/ponte/events"
	"github.com/ponte-dev/ponte/handlers"
	"github.com/ponte-dev/ponte/schemas"
)

// natsFlags are the connection flags shared by publish and watch.
type natsFlags struct {
	url, creds, nkey, ca, cert, key string
	envURL                          string // PONTE_NATS_URL, the default of --nats
}

func (n *natsFlags) register(fs *flagSet, getenv func(string) string) {
	n.envURL = getenv("PONTE_NATS_URL")
	def := n.envURL
	if def == "" {
		def = defaultNATSURL
	}
	fs.StringVar(&n.url, "nats", def, "NATS server URL(s), comma-separated (env PONTE_NATS_URL)")
	fs.StringVar(&n.creds, "creds", getenv("PONTE_NATS_CREDS_FILE"), "NATS user credentials file (env PONTE_NATS_CREDS_FILE)")
	fs.StringVar(&n.nkey, "nkey", getenv("PONTE_NATS_NKEY_SEED_FILE"), "NATS NKey seed file (env PONTE_NATS_NKEY_SEED_FILE)")
	fs.StringVar(&n.ca, "tls-ca", "", "CA certificate file for TLS")
	fs.StringVar(&n.cert, "tls-cert", "", "client certificate file for TLS")
	fs.StringVar(&n.key, "tls-key", "", "client key file for TLS")
}

func (n *natsFlags) connect() (*nats.Conn, jetstream.JetStream, error) {
	if err := checkNATSURLs(n.url); err != nil {
		source := "--nats"
		if n.url == n.envURL {
			source = "PONTE_NATS_URL"
		}
		return nil, nil, fmt.Errorf("%s: %w", source, err)
	}
	cfg := NATSConfig{URL: n.url, Name: "ponte-cli", CredsFile: n.creds, NKeySeedFile: n.nkey,
		TLS: TLSConfig{CAFile: n.ca, CertFile: n.cert, KeyFile: n.key}, ConnectTimeout: 5 * time.Second, DrainTimeout: 5 * time.Second}
	nc, err := connectNATS(cfg, nil, nil)
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// parseInterleaved parses flags and positional arguments in any order (`publish TYPE --data x` and
// `publish --data x TYPE`) and returns the positional ones.
func parseInterleaved(fs *flagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, fs.check(err)
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func runPublish(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet("publish", "Usage: ponte publish TYPE --data @file.json [flags]\n\nBuilds a CloudEvent, validates its data against the schema of TYPE, publishes it to JetStream\nand waits for the acknowledgement.")
	var nf natsFlags
	nf.register(fs, env.getenv)
	data := fs.String("data", "", "event data: inline JSON, @file.json, or @- for stdin (required)")
	subject := fs.String("subject", "", "CloudEvent subject (entity key); default: the person id, or <ug>/<numero>/<ano> for contracts")
	ug := fs.String("ug", "", "CloudEvent extension ug (the CidadES UG); required for contract.* events")
	id := fs.String("id", "", "CloudEvent id; default a new UUID. Reuse an id to publish the same event again")
	source := fs.String("source", "urn:ponte:cli", "CloudEvent source")
	structured := fs.Bool("structured", false, "publish in structured mode (application/cloudevents+json) instead of binary mode")
	noValidate := fs.Bool("no-validate", false, "publish even if the data does not match the schema")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fs.usageError(errors.New("publish: exactly one event TYPE is required"))
	}
	typ := pos[0]
	catalog, err := schemas.New()
	if err != nil {
		return err
	}
	if !catalog.Known(typ) && !*noValidate {
		return fmt.Errorf("publish: unknown event type %q; known types: %s", typ, strings.Join(catalog.Types(), ", "))
	}
	if *data == "" {
		return fs.usageError(errors.New("publish: --data is required"))
	}
	body, err := readData(*data)
	if err != nil {
		return fmt.Errorf("publish --data: %w", err)
	}
	if !json.Valid(body) {
		return errors.New("publish --data: not valid JSON")
	}
	if strings.HasPrefix(typ, "contract.") && *ug == "" && !*noValidate {
		return errors.New("publish: --ug is required for contract events (the CidadES UG)")
	}
	if !*noValidate {
		if err := catalog.Validate(typ, "", body); err != nil {
			var ve *schemas.ValidationError
			if errors.As(err, &ve) {
				fmt.Fprintf(env.stderr, "data does not match the %s schema:\n", typ)
				for _, fe := range ve.Errors {
					fmt.Fprintf(env.stderr, "  %s: %s\n", orRoot(fe.Field), fe.Message)
				}
				return fmt.Errorf("publish: %d validation error(s); nothing published (use --no-validate to send it anyway)", len(ve.Errors))
			}
			return err
		}
	}
	if *id == "" {
		*id = uuid.NewString()
	}
	ev := event.New()
	ev.SetID(*id)
	ev.SetSource(*source)
	ev.SetType(typ)
	ev.SetTime(time.Now())
	if *ug != "" {
		ev.SetExtension("ug", *ug)
	}
	if catalog.Known(typ) {
		ev.SetDataSchema(catalog.URL(typ))
	}
	if err := ev.SetData(event.ApplicationJSON, json.RawMessage(body)); err != nil {
		return err
	}
	if *subject == "" {
		*subject = handlers.EntityKey(ev) // the key the worker checks the subject against
	}
	if *subject != "" {
		ev.SetSubject(*subject)
	}
	var msg *nats.Msg
	if *structured {
		msg, err = events.Encode(typ, &ev, *id)
		if err != nil {
			return err
		}
	} else {
		msg = events.EncodeBinary(typ, &ev, *id)
	}
	nc, js, err := nf.connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ack, err := js.PublishMsg(pctx, msg)
	if err != nil {
		return fmt.Errorf("publish %s: %w", typ, err)
	}
	dup := ""
	if ack.Duplicate {
		dup = " (duplicate: the stream already had this id)"
	}
	fmt.Fprintf(env.stdout, "published %s id=%s subject=%s to stream %s seq %d%s\n", typ, *id, *subject, ack.Stream, ack.Sequence, dup)
	return nil
}

func orRoot(field string) string {
	if field == "" {
		return "(data)"
	}
	return field
}

func readData(arg string) ([]byte, error) {
	switch {
	case arg == "@-":
		return io.ReadAll(os.Stdin)
	case strings.HasPrefix(arg, "@"):
		return os.ReadFile(arg[1:])
	}
	return []byte(arg), nil
}
