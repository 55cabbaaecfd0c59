package main

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	natsce "github.com/cloudevents/sdk-go/protocol/nats_jetstream/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"

	"github.com/ponte-dev/ponte/events"
)

// publisher sends one CloudEvent to a ponte dev instance the way some client does.
type publisher struct {
	name    string
	publish func(t *testing.T, d *devInstance, ev event.Event)
}

// sdkSender publishes through the official Go SDK's NATS JetStream sender, in binary or structured mode.
func sdkSender(structured bool) func(t *testing.T, d *devInstance, ev event.Event) {
	return func(t *testing.T, d *devInstance, ev event.Event) {
		t.Helper()
		sender, err := natsce.NewSenderFromConn(d.nc, "PONTE_EVENTS", ev.Type(), nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx := binding.WithForceBinary(context.Background())
		if structured {
			ctx = binding.WithForceStructured(context.Background())
		}
		if err := sender.Send(ctx, binding.ToMessage(&ev)); err != nil {
			t.Fatalf("SDK send: %v", err)
		}
	}
}

// handWritten publishes with nats.go and ce-* headers written out by hand, as natscli users and other languages'
// clients do; ct names the header that carries the media type, names its capitalisation.
func handWritten(ctHeader string, upper bool) func(t *testing.T, d *devInstance, ev event.Event) {
	return func(t *testing.T, d *devInstance, ev event.Event) {
		t.Helper()
		m := nats.NewMsg(ev.Type())
		name := func(s string) string {
			if upper {
				return strings.ToUpper(s[:1]) + s[1:]
			}
			return s
		}
		set := func(k, v string) { m.Header[name(k)] = []string{v} }
		set("ce-specversion", "1.0")
		set("ce-id", ev.ID())
		set("ce-source", ev.Source())
		set("ce-type", ev.Type())
		set("ce-subject", ev.Subject())
		set("ce-time", ev.Time().Format(time.RFC3339))
		set(ctHeader, "application/json")
		for k, v := range ev.Extensions() {
			set("ce-"+k, fmt.Sprint(v))
		}
		m.Data = ev.Data()
		if _, err := d.js.PublishMsg(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
}

// ponteCLI publishes with `ponte publish`, taking the type, id, subject, ug and data from the event.
func ponteCLI(t *testing.T, d *devInstance, ev event.Event) {
	t.Helper()
	args := []string{ev.Type(), "--id", ev.ID(), "--subject", ev.Subject(), "--data", string(ev.Data())}
	if ug, ok := ev.Extensions()["ug"]; ok {
		args = append(args, "--ug", fmt.Sprint(ug))
	}
	if out, err := d.publishCLI(args...); err != nil {
		t.Fatalf("ponte publish: %v\n%s", err, out)
	}
}

// TestEveryPublisherGetsTheDocumentedResult publishes the demo event of each of the six types to a fresh `ponte
// dev` through clients ponte did not write (the official Go SDK's JetStream sender in binary and structured mode,
// nats.go with hand-written headers in their usual variants) and through `ponte publish`, and requires for every
// one the outcome its demo file documents (a result) with the same steps as ponte's own encoder gets.
func TestEveryPublisherGetsTheDocumentedResult(t *testing.T) {
	demo, err := loadDemo()
	if err != nil {
		t.Fatal(err)
	}
	var inputs []event.Event
	seen := map[string]bool{}
	for _, d := range demo {
		if d.Expect.Outcome != "processed" || d.Publish.Mode == "raw" {
			continue
		}
		var ev event.Event
		if err := json.Unmarshal(d.Event, &ev); err != nil {
			t.Fatalf("%s: %v", d.name, err)
		}
		if !seen[ev.Type()] {
			seen[ev.Type()] = true
			inputs = append(inputs, ev)
		}
	}
	if len(inputs) != 6 {
		t.Fatalf("the demo has a processed event of %d types, want all 6: %v", len(inputs), seen)
	}
	publishers := []publisher{
		{"ponte's own binary encoder", func(t *testing.T, d *devInstance, ev event.Event) {
			if _, err := d.js.PublishMsg(context.Background(), events.EncodeBinary(ev.Type(), &ev, "")); err != nil {
				t.Fatal(err)
			}
		}},
		{"Go SDK JetStream sender, binary mode", sdkSender(false)},
		{"Go SDK JetStream sender, structured mode", sdkSender(true)},
		{"nats.go, hand-written headers with content-type", handWritten("content-type", false)},
		{"nats.go, hand-written headers with ce-datacontenttype", handWritten("ce-datacontenttype", false)},
		{"nats.go, capitalised header names (Ce-Id, Content-Type)", handWritten("content-type", true)},
		{"ponte publish", ponteCLI},
	}
	reference := map[string][]events.StepOutcome{}
	for i, p := range publishers {
		t.Run(p.name, func(t *testing.T) {
			d := startDev(t)
			for _, ev := range inputs {
				p.publish(t, d, ev)
				res := d.waitOutcome(ev.ID()).result(t)
				if res.EventID != ev.ID() || res.EventType != ev.Type() || len(res.Steps) == 0 {
					t.Errorf("%s: result %+v", ev.Type(), res)
				}
				if i == 0 {
					reference[ev.Type()] = res.Steps
				} else if !reflect.DeepEqual(res.Steps, reference[ev.Type()]) {
					t.Errorf("%s: steps\n\t%+v\nwant those of ponte's encoder\n\t%+v", ev.Type(), res.Steps, reference[ev.Type()])
				}
			}
		})
		if i == 0 && len(reference) != len(inputs) {
			t.Fatal("the reference publisher failed; the others cannot be compared")
		}
	}
}
