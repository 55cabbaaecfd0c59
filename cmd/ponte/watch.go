package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"sort"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ponte-dev/ponte/events"
)

func runWatch(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet("watch", "Usage: ponte watch [flags]\n\nFollows results and dead letters live, one line each, until interrupted.")
	var nf natsFlags
	nf.register(fs, env.getenv)
	all := fs.Bool("all", false, "show every result and dead letter kept in the streams, not only new ones")
	resultStream := fs.String("result-stream", "PONTE_RESULTS", "stream of result events")
	dlqStream := fs.String("dlq-stream", "PONTE_DLQ", "stream of dead letters")
	verbose := fs.Bool("v", false, "print every step of results and every error of dead letters")
	if err := fs.parse(args, 0); err != nil {
		return err
	}
	nc, js, err := nf.connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	lines := make(chan string, 64)
	for _, stream := range []string{*resultStream, *dlqStream} {
		if err := follow(ctx, js, stream, *all, func(ev *event.Event) { lines <- describe(ev, *verbose) }); err != nil {
			return err
		}
	}
	fmt.Fprintf(env.stderr, "watching %s and %s on %s (Ctrl-C to stop)\n", *resultStream, *dlqStream, redactURL(nf.url))
	for {
		select {
		case <-ctx.Done():
			return nil
		case l := <-lines:
			fmt.Fprintln(env.stdout, l)
		}
	}
}

// follow calls fn for every event on stream (from now, or from the start when all is set) until ctx ends.
func follow(ctx context.Context, js jetstream.JetStream, stream string, all bool, fn func(*event.Event)) error {
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverNewPolicy}
	if all {
		cfg.DeliverPolicy = jetstream.DeliverAllPolicy
	}
	c, err := js.OrderedConsumer(ctx, stream, cfg)
	if err != nil {
		return fmt.Errorf("follow stream %s: %w", stream, err)
	}
	cc, err := c.Consume(func(m jetstream.Msg) {
		ev, err := events.Decode(m.Headers(), m.Data())
		if err != nil {
			return
		}
		fn(ev)
	})
	if err != nil {
		return fmt.Errorf("follow stream %s: %w", stream, err)
	}
	go func() { <-ctx.Done(); cc.Stop() }()
	return nil
}

// describe renders a result or dead-letter event on one line (more with verbose).
func describe(ev *event.Event, verbose bool) string {
	cause, _ := ev.Extensions()["causationid"].(string)
	switch {
	case strings.HasSuffix(ev.Type(), ".processed"):
		var r events.Result
		if err := ev.DataAs(&r); err != nil {
			return fmt.Sprintf("?    %s %s: unreadable result: %v", ev.Type(), cause, err)
		}
		var steps []string
		for _, s := range r.Steps {
			steps = append(steps, fmt.Sprintf("%s.%s %s%s", s.Target, s.Operation, s.Status, ids(s.IDs)))
		}
		if !verbose && len(steps) > 4 {
			steps = append(steps[:4], fmt.Sprintf("+%d more", len(steps)-4))
		}
		return fmt.Sprintf("OK   %-18s %-18s id=%s  %s", r.EventType, ev.Subject(), cause, strings.Join(steps, ", "))
	case strings.HasSuffix(ev.Type(), ".deadlettered"):
		var d events.DeadLetter
		if err := ev.DataAs(&d); err != nil {
			return fmt.Sprintf("?    %s %s: unreadable dead letter: %v", ev.Type(), cause, err)
		}
		typ := d.EventType
		if typ == "" {
			typ = strings.TrimSuffix(ev.Type(), ".deadlettered")
		}
		id := cause
		if id == "" {
			id = "(none)"
		}
		msg := d.Message
		if len(d.Errors) > 0 {
			// One entry per message, with every field it concerns: "/orgUnit, /position: no profile".
			var es []string
			fields := map[string][]string{}
			for _, e := range d.Errors {
				if _, seen := fields[e.Message]; !seen {
					es = append(es, e.Message)
				}
				fields[e.Message] = append(fields[e.Message], orRoot(e.Field))
			}
			for i, m := range es {
				es[i] = strings.Join(fields[m], ", ") + ": " + m
			}
			if !verbose && len(es) > 3 {
				es = append(es[:3], fmt.Sprintf("+%d more", len(es)-3))
			}
			msg = strings.Join(es, "; ")
		}
		where := ""
		if d.Target != "" {
			where = fmt.Sprintf(" [%s %s HTTP %d]", d.Target, d.Operation, d.Status)
		}
		line := fmt.Sprintf("DLQ  %-18s %-18s id=%s  %s%s: %s", typ, ev.Subject(), id, d.Reason, where, msg)
		if verbose {
			line += "\n     " + describeOriginal(d.Original)
		}
		return line
	}
	return fmt.Sprintf("?    %s %s", ev.Type(), ev.ID())
}

// describeOriginal says what the dead letter holds of the input message: its start, or, when the body was left
// out, its size and where it is in the input stream.
func describeOriginal(o events.Original) string {
	where := ""
	if o.Stream != "" {
		where = fmt.Sprintf(" (%s seq %d)", o.Stream, o.Sequence)
	}
	if o.Data == "" {
		raw, _ := base64.StdEncoding.DecodeString(o.Excerpt)
		return fmt.Sprintf("original on %s%s: %d bytes, not carried; it starts %s", o.Subject, where, o.Size, truncate(string(raw), 200))
	}
	raw, _ := base64.StdEncoding.DecodeString(o.Data)
	return fmt.Sprintf("original on %s%s: %s", o.Subject, where, truncate(string(raw), 200))
}

func ids(m map[string]int64) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return " (" + strings.Join(parts, " ") + ")"
}
