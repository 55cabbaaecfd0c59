package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/time/rate"

	"github.com/ponte-dev/ponte/clients"
	"github.com/ponte-dev/ponte/events"
)

const dlqSynopsis = `Usage: ponte dlq list|show|replay|purge [flags] [ID ...]

Inspects and redrives the dead letters kept in the dead-letter stream.

  list             one line per dead letter (--json: one JSON object each; --summary: counts by reason and target)
  show ID          the dead letter, its original event decoded, and its errors
  replay ID ...    publish the original events again, marked as replays (the replayof extension), so that they
                   run again; steps done before are not repeated. Also with filters, or --all. --dry-run lists them.
  purge ID ...     delete dead letters (with filters, or --all); --yes confirms

Filters (list, replay, purge): --type, --reason, --target, --status, --subject, --since, --until.`

// replayableReasons are the reasons whose dead letters a replay can cure once the cause is fixed; the others are
// about the message itself, which must be corrected and published with a new id.
var replayableReasons = []string{events.ReasonConfig, events.ReasonPermanent, events.ReasonExhausted}

func runDLQ(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet("dlq", dlqSynopsis)
	var nf natsFlags
	nf.register(fs, env.getenv)
	stream := fs.String("dlq-stream", "PONTE_DLQ", "stream of dead letters")
	var f dlqFilter
	fs.StringVar(&f.typ, "type", "", "only dead letters of this event type (or unrouted)")
	fs.StringVar(&f.reason, "reason", "", "only dead letters with this reason")
	fs.StringVar(&f.target, "target", "", "only dead letters of this downstream system (zeev, senior, cidades)")
	fs.IntVar(&f.status, "status", 0, "only dead letters with this HTTP status")
	fs.StringVar(&f.subject, "subject", "", "only dead letters of this entity key (the CloudEvent subject)")
	fs.Var(timeFlag{&f.since}, "since", "only dead letters from this time (RFC 3339) or this long ago (e.g. 24h)")
	fs.Var(timeFlag{&f.until}, "until", "only dead letters until this time (RFC 3339) or this long ago")
	all := fs.Bool("all", false, "replay or purge every dead letter the filters select (without filters: all)")
	asJSON := fs.Bool("json", false, "list: one JSON object per dead letter")
	summary := fs.Bool("summary", false, "list: counts by reason and target")
	dryRun := fs.Bool("dry-run", false, "replay: list what would be replayed, publish nothing")
	perSecond := fs.Float64("rate", 50, "replay: at most this many events per second")
	yes := fs.Bool("yes", false, "purge: delete without asking")
	if len(args) == 0 {
		return fs.usageError(errors.New("dlq: missing action (list, show, replay or purge)"))
	}
	action, rest := args[0], args[1:]
	if action == "-h" || action == "-help" || action == "--help" || action == "help" {
		return helpRequested{usage: fs.printUsage}
	}
	ids, err := parseInterleaved(fs, rest)
	if err != nil {
		return err
	}
	switch action {
	case "list":
		if len(ids) > 0 {
			return fs.usageError(fmt.Errorf("dlq list: unexpected argument %q (use the filters)", ids[0]))
		}
	case "show":
		if len(ids) != 1 {
			return fs.usageError(errors.New("dlq show: exactly one dead-letter id"))
		}
	case "replay", "purge":
		if len(ids) == 0 && !*all && f.empty() {
			return fs.usageError(fmt.Errorf("dlq %s: name dead letters by id, or select them with filters or --all", action))
		}
		if *perSecond <= 0 {
			return fs.usageError(errors.New("dlq replay: --rate must be positive"))
		}
	default:
		return fs.usageError(fmt.Errorf("dlq: unknown action %q (list, show, replay or purge)", action))
	}
	nc, js, err := nf.connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	dls, err := loadDeadLetters(ctx, js, *stream)
	if err != nil {
		return err
	}
	selected := f.apply(dls, ids)
	if len(ids) > 0 {
		if missing := missingIDs(selected, ids); len(missing) > 0 {
			return fmt.Errorf("dlq %s: no dead letter %s in stream %s", action, strings.Join(missing, ", "), *stream)
		}
	}
	switch action {
	case "list":
		return listDeadLetters(env.stdout, selected, *asJSON, *summary)
	case "show":
		return showDeadLetter(env.stdout, selected[0])
	case "replay":
		return replayDeadLetters(ctx, env, js, selected, newestOf(dls), *dryRun, *perSecond)
	default:
		return purgeDeadLetters(ctx, env, js, *stream, selected, *yes)
	}
}

// storedDeadLetter is one message of the dead-letter stream.
type storedDeadLetter struct {
	seq uint64
	ev  *event.Event
	dl  events.DeadLetter
}

func (s storedDeadLetter) eventType() string { return strings.TrimSuffix(s.ev.Type(), ".deadlettered") }

// loadDeadLetters reads every dead letter the stream holds now.
func loadDeadLetters(ctx context.Context, js jetstream.JetStream, stream string) ([]storedDeadLetter, error) {
	c, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, fmt.Errorf("read stream %s: %w", stream, err)
	}
	var out []storedDeadLetter
	for {
		batch, err := c.FetchNoWait(500)
		if err != nil {
			return nil, fmt.Errorf("read stream %s: %w", stream, err)
		}
		n := 0
		var pending uint64
		for m := range batch.Messages() {
			n++
			meta, err := m.Metadata()
			if err != nil {
				return nil, fmt.Errorf("read stream %s: %w", stream, err)
			}
			pending = meta.NumPending
			ev, err := events.Decode(m.Headers(), m.Data())
			if err != nil {
				continue // not one of ponte's dead letters
			}
			s := storedDeadLetter{seq: meta.Sequence.Stream, ev: ev}
			if err := ev.DataAs(&s.dl); err != nil {
				continue
			}
			out = append(out, s)
		}
		if err := batch.Error(); err != nil {
			return nil, fmt.Errorf("read stream %s: %w", stream, err)
		}
		if n == 0 || pending == 0 {
			return out, nil
		}
	}
}

// dlqFilter selects dead letters.
type dlqFilter struct {
	typ, reason, target, subject string
	status                       int
	since, until                 time.Time
}

func (f dlqFilter) empty() bool { return f == dlqFilter{} }

// apply returns the dead letters f selects and, when ids are given, only those.
func (f dlqFilter) apply(dls []storedDeadLetter, ids []string) []storedDeadLetter {
	var out []storedDeadLetter
	for _, s := range dls {
		switch {
		case len(ids) > 0 && !slices.Contains(ids, s.ev.ID()),
			f.typ != "" && s.eventType() != f.typ,
			f.reason != "" && s.dl.Reason != f.reason,
			f.target != "" && s.dl.Target != f.target,
			f.status != 0 && s.dl.Status != f.status,
			f.subject != "" && s.ev.Subject() != f.subject,
			!f.since.IsZero() && s.ev.Time().Before(f.since),
			!f.until.IsZero() && s.ev.Time().After(f.until):
			continue
		}
		out = append(out, s)
	}
	return out
}

func missingIDs(found []storedDeadLetter, ids []string) []string {
	var missing []string
	for _, id := range ids {
		if !slices.ContainsFunc(found, func(s storedDeadLetter) bool { return s.ev.ID() == id }) {
			missing = append(missing, id)
		}
	}
	return missing
}

func listDeadLetters(w io.Writer, dls []storedDeadLetter, asJSON, summary bool) error {
	switch {
	case summary:
		counts := map[string]int{}
		for _, s := range dls {
			key := s.dl.Reason
			if s.dl.Target != "" {
				key += " " + s.dl.Target
			}
			counts[key]++
		}
		keys := make([]string, 0, len(counts))
		for k := range counts {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "%6d  %s\n", counts[k], k)
		}
		fmt.Fprintf(w, "%6d  dead letters in all\n", len(dls))
	case asJSON:
		enc := json.NewEncoder(w)
		for _, s := range dls {
			if err := enc.Encode(struct {
				ID      string    `json:"id"`
				Time    time.Time `json:"time"`
				Subject string    `json:"subject,omitempty"`
				events.DeadLetter
			}{s.ev.ID(), s.ev.Time(), s.ev.Subject(), s.dl}); err != nil {
				return err
			}
		}
	default:
		for _, s := range dls {
			where := s.dl.Target
			if s.dl.Status != 0 {
				where += fmt.Sprintf(" %d", s.dl.Status)
			}
			fmt.Fprintf(w, "%s  %s  %-18s %-18s %-14s %-22s %s\n", s.ev.Time().Format(time.RFC3339), s.ev.ID(), s.eventType(),
				s.dl.Reason, strings.TrimSpace(where), orDash(s.ev.Subject()), truncate(s.dl.Message, 120))
		}
	}
	return nil
}

func showDeadLetter(w io.Writer, s storedDeadLetter) error {
	fmt.Fprintf(w, "dead letter %s (stream sequence %d), %s\n", s.ev.ID(), s.seq, s.ev.Time().Format(time.RFC3339))
	fmt.Fprintf(w, "  event      %s %s (subject %s)\n", s.dl.EventType, orDash(s.dl.EventID), orDash(s.ev.Subject()))
	fmt.Fprintf(w, "  reason     %s\n  message    %s\n", s.dl.Reason, s.dl.Message)
	if s.dl.Target != "" {
		fmt.Fprintf(w, "  target     %s %s (HTTP %d)\n", s.dl.Target, s.dl.Operation, s.dl.Status)
	}
	if s.dl.Excerpt != "" {
		fmt.Fprintf(w, "  excerpt    %s\n", s.dl.Excerpt)
	}
	fmt.Fprintf(w, "  attempts   %d, first %s, last %s\n", s.dl.Attempts, s.dl.FirstFailureAt.Format(time.RFC3339), s.dl.LastFailureAt.Format(time.RFC3339))
	for _, e := range s.dl.Errors {
		fmt.Fprintf(w, "  error      %s: %s\n", orDash(e.Field), e.Message)
	}
	o := s.dl.Original
	fmt.Fprintf(w, "original message on %s, %d bytes (input stream %s, sequence %d)\n", o.Subject, o.Size, o.Stream, o.Sequence)
	raw, err := base64.StdEncoding.DecodeString(o.Data)
	if err != nil || o.Data == "" {
		fmt.Fprintf(w, "  its body is not in the dead letter (it would not fit): nats stream get %s %d\n", o.Stream, o.Sequence)
		return nil
	}
	ev, derr := events.Decode(nats.Header(o.Headers), raw)
	if derr != nil {
		fmt.Fprintf(w, "  not a CloudEvent: %v\n  body: %s\n", derr, clients.MaskCPF(truncate(string(raw), 2000)))
		return nil
	}
	b, err := json.MarshalIndent(ev, "  ", "  ")
	if err != nil {
		return err
	}
	// On a terminal and in tickets, CPF numbers stay masked; original.data holds them whole (ponte dlq list --json).
	fmt.Fprintf(w, "  %s\n", clients.MaskCPF(string(b)))
	return nil
}

// replayMessage is the original message of s published again as a replay (events.ReplayMessage), for the
// reasons a replay can cure.
func replayMessage(s storedDeadLetter) (*nats.Msg, error) {
	if !slices.Contains(replayableReasons, s.dl.Reason) {
		return nil, fmt.Errorf("a %s dead letter is about the message itself: correct it and publish it with a new id", s.dl.Reason)
	}
	return events.ReplayMessage(&s.dl, s.ev.ID())
}

// newestOf returns, for every event of the dead letters (their ids carry its ledger key), the id of its newest
// dead letter that is a failure of its own rather than an answer to a copy (DeadLetter.Latest): the one the ledger
// lets a replay through for.
func newestOf(dls []storedDeadLetter) map[string]string {
	newest, seqs := map[string]string{}, map[string]uint64{}
	for _, s := range dls {
		key, seq, ok := deadLetterKey(s.ev.ID())
		if !ok || s.dl.Latest != "" {
			continue
		}
		if _, seen := seqs[key]; !seen || seq > seqs[key] {
			newest[key], seqs[key] = s.ev.ID(), seq
		}
	}
	return newest
}

// deadLetterKey splits a dead letter's id, ponte-dlq-<event's ledger key>-<input sequence>.
func deadLetterKey(id string) (key string, seq uint64, ok bool) {
	rest, found := strings.CutPrefix(id, "ponte-dlq-")
	i := strings.LastIndexByte(rest, '-')
	if !found || i < 0 {
		return "", 0, false
	}
	seq, err := strconv.ParseUint(rest[i+1:], 10, 64)
	return rest[:i], seq, err == nil
}

// replayDeadLetters replays each of dls that can be: of each event only its newest dead letter (newest, from
// newestOf over the whole stream), since the ledger refuses a replay that names an older one and answers it with
// one more dead letter.
func replayDeadLetters(ctx context.Context, env *environment, js jetstream.JetStream, dls []storedDeadLetter, newest map[string]string, dryRun bool, perSecond float64) error {
	lim := rate.NewLimiter(rate.Limit(perSecond), 1)
	var replayed, skipped int
	for _, s := range dls {
		m, err := replayMessage(s)
		if key, _, ok := deadLetterKey(s.ev.ID()); err == nil && ok {
			switch {
			case s.dl.Latest != "":
				err = fmt.Errorf("it answered a copy of an event dead-lettered before: replay its latest dead letter %s", s.dl.Latest)
			case newest[key] != s.ev.ID():
				err = fmt.Errorf("a newer dead letter of the event exists: replay %s", newest[key])
			}
		}
		if err != nil {
			skipped++
			fmt.Fprintf(env.stdout, "skip    %s  %s %s: %v\n", s.ev.ID(), s.eventType(), orDash(s.dl.EventID), err)
			continue
		}
		if dryRun {
			fmt.Fprintf(env.stdout, "would replay %s  %s %s (%s)\n", s.ev.ID(), s.eventType(), s.dl.EventID, s.dl.Reason)
			replayed++
			continue
		}
		if err := lim.Wait(ctx); err != nil {
			return err
		}
		if _, err := js.PublishMsg(ctx, m); err != nil {
			return fmt.Errorf("replay %s: %w", s.ev.ID(), err)
		}
		replayed++
		fmt.Fprintf(env.stdout, "replayed %s  %s %s\n", s.ev.ID(), s.eventType(), s.dl.EventID)
	}
	verb := "replayed"
	if dryRun {
		verb = "would replay"
	}
	fmt.Fprintf(env.stderr, "%s %d, skipped %d\n", verb, replayed, skipped)
	return nil
}

func purgeDeadLetters(ctx context.Context, env *environment, js jetstream.JetStream, stream string, dls []storedDeadLetter, yes bool) error {
	if !yes {
		for _, s := range dls {
			fmt.Fprintf(env.stdout, "would delete %s  %s %s (%s)\n", s.ev.ID(), s.eventType(), orDash(s.dl.EventID), s.dl.Reason)
		}
		return fmt.Errorf("dlq purge: %d dead letters would be deleted for good: run again with --yes to delete them", len(dls))
	}
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return fmt.Errorf("stream %s: %w", stream, err)
	}
	for _, s := range dls {
		if err := st.DeleteMsg(ctx, s.seq); err != nil {
			return fmt.Errorf("delete %s: %w", s.ev.ID(), err)
		}
	}
	fmt.Fprintf(env.stderr, "deleted %d dead letters\n", len(dls))
	return nil
}

// timeFlag is a flag that takes an RFC 3339 time or a duration before now.
type timeFlag struct{ t *time.Time }

func (f timeFlag) String() string {
	if f.t == nil || f.t.IsZero() {
		return ""
	}
	return f.t.Format(time.RFC3339)
}

func (f timeFlag) Set(v string) error {
	if d, err := time.ParseDuration(v); err == nil {
		*f.t = time.Now().Add(-d)
		return nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return fmt.Errorf("%q is neither an RFC 3339 time nor a duration (24h)", v)
	}
	*f.t = t
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// truncate cuts s to n runes, marking the cut with an ellipsis.
func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
