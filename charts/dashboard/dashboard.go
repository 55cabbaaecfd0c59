package main

// The SDK marks the classic dashboard deprecated in favour of dashboardv2, the schema v2 that only Grafana 12 with
// its new layouts reads. ponte's dashboard is the classic JSON (schemaVersion 42) on purpose: the one the
// Grafana sidecar, provisioning from files and "Import dashboard" take in every current Grafana.
//lint:file-ignore SA1019 the classic dashboard JSON is the one every Grafana imports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/units"
)

const (
	// uid identifies the dashboard across Grafanas: links and the sidecar's updates rely on it staying the same.
	uid = "ponte-overview"
	// title is the dashboard's name in Grafana.
	title = "ponte"

	// settled are the outcomes that end an event: a result published, or a dead letter. The others
	// (retry, delayed, error) are redeliveries to come.
	settled = `outcome=~"success|duplicate|stale|dead_letter"`
	// sent are the requests that went to the target: not those an open breaker, a throttled target or the end
	// of the event's handling kept back.
	sent = `result!~"breaker_open|throttled|canceled"`
	// failed are the requests the target is to blame for, as PonteDownstreamErrorRatioHigh counts them.
	failed = `result=~"server_error|network_error|bad_response"`
)

// row is a row of the dashboard: its title and its panels, laid out left to right, top to bottom.
type row struct {
	title  string
	panels []cog.Builder[dashboard.Panel]
}

// render returns the dashboard as indented JSON with a final newline: the bytes of
// charts/ponte/files/dashboard.json.
func render() ([]byte, error) {
	d, err := build()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep > and & of the expressions readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("encode dashboard: %w", err)
	}
	return b.Bytes(), nil
}

// build assembles the dashboard, then numbers its rows and panels 1, 2, 3, ... in the order they appear.
func build() (dashboard.Dashboard, error) {
	b := dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Description("ponte turns CloudEvents on NATS JetStream into calls on Zeev, Senior and CidadES: what it takes in, how the events settle, how far behind it is, and how the three APIs answer.").
		Tags([]string{"ponte", "nats", "jetstream", "events"}).
		Editable().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Refresh("30s").
		Time("now-6h", "now").
		Timezone(common.TimeZoneBrowser).
		WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").
			Label("Data source").
			Description("The Prometheus that scrapes ponte.").
			Type("prometheus")).
		WithVariable(labelVariable("namespace", "Namespace", "The Kubernetes namespace of the install.",
			"label_values(ponte_build_info, namespace)")).
		WithVariable(labelVariable("job", "Job", "The scrape job of the install (its Service or PodMonitor).",
			`label_values(ponte_build_info{namespace=~"$namespace"}, job)`)).
		Link(docLink("Runbooks", "runbooks.md", "What each alert means, how to confirm it, what to do")).
		Link(docLink("Metrics", "metrics.md", "Every metric ponte exposes, its labels and the question it answers")).
		Link(docLink("Operations", "operations.md#dashboard", "This dashboard's rows and variables"))
	for _, r := range rows() {
		b.WithRow(dashboard.NewRowBuilder(r.title))
		for _, p := range r.panels {
			b.WithPanel(p)
		}
	}
	d, err := b.Build()
	if err != nil {
		return dashboard.Dashboard{}, fmt.Errorf("build dashboard: %w", err)
	}
	// The SDK places every link "inControlsMenu", which newer Grafanas fold into a menu: without a placement,
	// the header's links show beside the variables, where on-call looks for the runbooks.
	for i := range d.Links {
		d.Links[i].Placement = nil
	}
	// The SDK gives every variable the settings of an interval variable (auto, auto_min, auto_count), which
	// Grafana's schema does not have for the others.
	for i := range d.Templating.List {
		if v := &d.Templating.List[i]; v.Type != "interval" {
			v.Auto, v.AutoMin, v.AutoCount = nil, nil, nil
		}
	}
	for i, p := range d.Panels {
		id := uint32(i + 1)
		switch {
		case p.Panel != nil:
			p.Panel.Id = &id
			for j := range p.Panel.Links {
				p.Panel.Links[j].Placement = nil
			}
		case p.RowPanel != nil:
			p.RowPanel.Id = id
		}
	}
	return d, nil
}

// labelVariable is a query variable listing the values of a label of ponte_build_info: one per install.
func labelVariable(name, label, description, query string) *dashboard.QueryVariableBuilder {
	return dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Description(description).
		Datasource(datasource()).
		Query(dashboard.StringOrMap{String: cog.ToPtr(query)}).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc)
}

// docLink is a link in the dashboard's header to one of ponte's documents.
func docLink(title, doc, tooltip string) *dashboard.DashboardLinkBuilder {
	return dashboard.NewDashboardLinkBuilder(title).
		Type(dashboard.DashboardLinkTypeLink).
		Url(docsURL + doc).
		Tooltip(tooltip).
		Icon("doc").
		TargetBlank(true)
}

// rows are the dashboard's rows, top to bottom.
func rows() []row {
	return []row{
		overviewRow(),
		throughputRow(),
		processingLatencyRow(),
		eventAgeRow(),
		consumerLagRow(),
		deadLettersRow(),
		downstreamRow(),
		breakersRow(),
		throttlingRow(),
		replicasRow(),
	}
}

// quantile is the expression of the p quantile of a histogram, per the labels of by (none: over every series of
// the install).
func quantile(p, metric string, by ...string) string {
	return "histogram_quantile(" + p + ", sum by (" + strings.Join(append([]string{"le"}, by...), ", ") + ") (rate(" +
		metric + "_bucket{SEL}[$__rate_interval])))"
}

// percentiles are the p50, p90 and p99 of a histogram over every series of the install.
func percentiles(metric string) []target {
	q := func(p, legend string) target { return target{expr: quantile(p, metric), legend: legend} }
	return []target{q("0.5", "p50"), q("0.9", "p90"), q("0.99", "p99")}
}

func overviewRow() row {
	return row{title: "Overview", panels: []cog.Builder[dashboard.Panel]{
		statPanel(spec{
			title:       "Settled events/s",
			description: "How many events per second get a result or a dead letter (outcomes success, duplicate, stale and dead_letter), over every replica? 0 while messages wait is PonteNoProgress.",
			unit:        units.OpsPerSecond,
			targets:     []target{{expr: "sum(rate(ponte_events_processed_total{SEL, " + settled + "}[$__rate_interval]))"}},
			w:           4, h: 4,
			runbooks: []string{"PonteNoProgress"},
		}).ColorMode(common.BigValueColorModeNone),
		statPanel(spec{
			title:       "Lag",
			description: "How many messages wait for ponte's consumer: pending (not delivered yet) plus ack pending (delivered, not settled), the lag KEDA scales on. Every replica reports it: the maximum is taken. PonteConsumerLagGrowing fires above 1000 when it keeps growing.",
			unit:        units.Short,
			targets: []target{{
				expr:   "max by (stream, consumer) (ponte_consumer_pending_messages{SEL} + ponte_consumer_ack_pending_messages{SEL})",
				legend: "{{consumer}}",
			}},
			w: 4, h: 4,
			runbooks: []string{"PonteConsumerLagGrowing"},
		}, step{1000, "orange"}),
		statPanel(spec{
			title:       "Oldest unsettled",
			description: "How old is the oldest message not settled yet (0 when none)? Orange from an hour (PonteOldestUnsettledTooOld), red from two days (PonteOldestUnsettledNearMaxAge): messages near the stream's max age are dead-lettered as attempts_exhausted.",
			unit:        units.Seconds,
			targets:     []target{{expr: "max(ponte_consumer_oldest_unsettled_age_seconds{SEL})"}},
			w:           4, h: 4,
			runbooks: []string{"PonteOldestUnsettledTooOld"},
		}, step{3600, "orange"}, step{2 * 86400, "red"}),
		statPanel(spec{
			title:       "Dead letters in range",
			description: "How many events ended on the dead-letter stream in the dashboard's time range? The Dead letters row says which types and reasons; ponte dlq list --summary lists them.",
			unit:        units.Short,
			targets:     []target{{expr: "sum(increase(ponte_events_dead_letters_total{SEL}[$__range]))"}},
			instant:     true,
			w:           4, h: 4,
			runbooks: []string{"PonteDeadLetters"},
		}, step{1, "orange"}).Decimals(0),
		statPanel(spec{
			title:       "Open breakers",
			description: "How many circuit breakers (one per target, one per CidadES UG) are open now? Their events wait on the stream, no attempt spent, until a probe succeeds.",
			unit:        units.Short,
			targets:     []target{{expr: `sum(max by (target, tenant) (ponte_circuit_breaker_state{SEL, state="open"}))`}},
			w:           4, h: 4,
			runbooks: []string{"PonteCircuitBreakerOpen"},
		}, step{1, "red"}).Decimals(0),
		statPanel(spec{
			title:       "Replicas",
			description: "How many replicas of ponte report metrics (the series of ponte_build_info)? One holds the consumer, the others stand by.",
			unit:        units.Short,
			targets:     []target{{expr: "count(ponte_build_info{SEL})"}},
			w:           4, h: 4,
		}).Thresholds(dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps([]dashboard.Threshold{
			{Color: "red"}, {Value: cog.ToPtr(1.0), Color: "green"},
		})).Decimals(0),
	}}
}

func throughputRow() row {
	return row{title: "Throughput", panels: []cog.Builder[dashboard.Panel]{
		timeseriesPanel(spec{
			title:       "Settled events by type and outcome",
			description: "How did the messages settle, per second? success is the throughput; duplicate (settled before) and stale (older than an event already applied) publish a result without a call; retry (the event's fault), delayed (a breaker open, a throttled target, stopping) and error (the result or the ledger failed) are redeliveries to come. Summed over the replicas: only the one holding the consumer moves.",
			unit:        units.OpsPerSecond,
			targets: []target{{
				expr:   "sum by (type, outcome) (rate(ponte_events_processed_total{SEL}[$__rate_interval]))",
				legend: "{{type}} {{outcome}}",
			}},
			w: 12, h: 8,
			runbooks: []string{"PonteNoProgress", "PonteConsumerLagGrowing"},
		}),
		timeseriesPanel(spec{
			title:       "Received events by type",
			description: "How many messages per second does ponte take from the input stream? Redeliveries count again: received above settled means events come back (retry, delayed, error). unrouted is a message on a subject with no handler.",
			unit:        units.OpsPerSecond,
			targets: []target{{
				expr:   "sum by (type) (rate(ponte_events_received_total{SEL}[$__rate_interval]))",
				legend: "{{type}}",
			}},
			w: 12, h: 8,
		}),
		timeseriesPanel(spec{
			title:       "Events in progress by type",
			description: "How many messages are being processed right now (fetched, not settled yet)? At most worker.concurrency; stuck at it with little throughput means the targets answer slowly.",
			unit:        units.Short,
			targets: []target{{
				expr:   "sum by (type) (ponte_events_in_progress{SEL})",
				legend: "{{type}}",
			}},
			w: 12, h: 8,
		}),
		timeseriesPanel(spec{
			title:       "Time since an event of the type settled",
			description: "How long ago did an event of each type last get a result or a dead letter? Types that never settled since the replica started are left out. Growing for every type while messages wait is PonteNoProgress.",
			unit:        units.Seconds,
			targets: []target{{
				expr:   "time() - max by (type) (ponte_events_last_processed_timestamp_seconds{SEL} > 0)",
				legend: "{{type}}",
			}},
			w: 12, h: 8,
			runbooks: []string{"PonteNoProgress"},
		}),
	}}
}

func processingLatencyRow() row {
	return row{title: "Processing latency", panels: []cog.Builder[dashboard.Panel]{
		timeseriesPanel(spec{
			title:       "Processing time percentiles",
			description: "How long does one delivery take, from fetch to settlement, downstream calls included (ponte_events_processing_duration_seconds)? p50, p90 and p99 over every type.",
			unit:        units.Seconds,
			targets:     percentiles("ponte_events_processing_duration_seconds"),
			w:           12, h: 8,
			runbooks: []string{"PonteConsumerLagGrowing"},
		}),
		timeseriesPanel(spec{
			title:       "Processing time p99 by type",
			description: "Which event type is slow? The p99 of one delivery per type; a type calling a slow target is slow. The Downstream row says which target.",
			unit:        units.Seconds,
			targets: []target{{
				expr:   quantile("0.99", "ponte_events_processing_duration_seconds", "type"),
				legend: "{{type}}",
			}},
			w: 12, h: 8,
		}),
	}}
}

func eventAgeRow() row {
	return row{title: "Event age", panels: []cog.Builder[dashboard.Panel]{
		timeseriesPanel(spec{
			title:       "Event age at settlement",
			description: "How old is an event when it settles with a result or a dead letter: now minus its CloudEvent time? The end-to-end delay the upstream teams see, the time it waited on the stream included. p50, p90 and p99 over every type.",
			unit:        units.Seconds,
			targets:     percentiles("ponte_events_age_seconds"),
			w:           8, h: 8,
		}),
		timeseriesPanel(spec{
			title:       "Event age p99 by type",
			description: "Which event type reaches its targets late? The p99 of now minus the CloudEvent time, per type, when the event settles.",
			unit:        units.Seconds,
			targets: []target{{
				expr:   quantile("0.99", "ponte_events_age_seconds", "type"),
				legend: "{{type}}",
			}},
			w: 8, h: 8,
		}),
		withThresholdLines(timeseriesPanel(spec{
			title:       "Oldest unsettled message",
			description: "How old is the oldest message not settled yet (0 when none)? The dashed lines are the alerts: an hour (PonteOldestUnsettledTooOld) and two days (PonteOldestUnsettledNearMaxAge), well before jetstream.inputMaxAge (7 days by default), when the stream drops messages.",
			unit:        units.Seconds,
			targets: []target{{
				expr:   "max by (stream, consumer) (ponte_consumer_oldest_unsettled_age_seconds{SEL})",
				legend: "{{stream}} {{consumer}}",
			}},
			w: 8, h: 8,
			runbooks: []string{"PonteOldestUnsettledTooOld"},
		}), step{3600, "orange"}, step{2 * 86400, "red"}),
	}}
}

func consumerLagRow() row {
	lag := "max by (stream, consumer) (ponte_consumer_pending_messages{SEL} + ponte_consumer_ack_pending_messages{SEL})"
	return row{title: "Consumer lag", panels: []cog.Builder[dashboard.Panel]{
		withThresholdLines(timeseriesPanel(spec{
			title:       "Lag",
			description: "How many messages wait for ponte's consumer: pending plus ack pending, the lag KEDA scales on (nats consumer info gives the same numbers)? Every replica reports the consumer's figures: the maximum is taken. The dashed line is PonteConsumerLagGrowing's 1000.",
			unit:        units.Short,
			targets:     []target{{expr: lag, legend: "{{stream}} {{consumer}}"}},
			w:           8, h: 8,
			runbooks: []string{"PonteConsumerLagGrowing"},
		}), step{1000, "orange"}),
		timeseriesPanel(spec{
			title:       "Pending, ack pending and redelivered",
			description: "What the lag is made of: pending (in the stream, not delivered yet: num_pending), ack pending (delivered, not settled: num_ack_pending), and redelivered (unsettled messages delivered more than once: num_redelivered).",
			unit:        units.Short,
			targets: []target{
				{expr: "max by (stream, consumer) (ponte_consumer_pending_messages{SEL})", legend: "pending {{consumer}}"},
				{expr: "max by (stream, consumer) (ponte_consumer_ack_pending_messages{SEL})", legend: "ack pending {{consumer}}"},
				{expr: "max by (stream, consumer) (ponte_consumer_redelivered_messages{SEL})", legend: "redelivered {{consumer}}"},
			},
			w: 8, h: 8,
		}),
		timeseriesPanel(spec{
			title:       "Time to drain",
			description: "How long would the lag take to drain at the current settle rate (results and dead letters per second), if nothing more arrived? Infinite when nothing settles while messages wait (PonteNoProgress).",
			unit:        units.Seconds,
			targets: []target{{
				expr:   lag + " / scalar(sum(rate(ponte_events_processed_total{SEL, " + settled + "}[$__rate_interval])))",
				legend: "{{stream}} {{consumer}}",
			}},
			w: 8, h: 8,
			runbooks: []string{"PonteConsumerLagGrowing"},
		}),
	}}
}

func deadLettersRow() row {
	return row{title: "Dead letters", panels: []cog.Builder[dashboard.Panel]{
		timeseriesPanel(spec{
			title:       "Dead letters by reason",
			description: "Which bad inputs, refusals and exhausted retries end as dead letters, per minute, and why? Publisher's reasons (not_cloudevent, unknown_type, subject_mismatch, schema_violation, too_large, id_conflict) are fixed by the publisher; config_error, permanent_error and attempts_exhausted are replayed once the cause is fixed (ponte dlq replay).",
			unit:        units.OpsPerMinute,
			targets: []target{{
				expr:   "sum by (reason) (rate(ponte_events_dead_letters_total{SEL}[$__rate_interval])) * 60",
				legend: "{{reason}}",
			}},
			w: 8, h: 8,
			runbooks: []string{"PonteDeadLetters"},
		}),
		barGaugePanel(spec{
			title:       "Dead letters in range by type and reason",
			description: "How many events of each type ended as dead letters in the dashboard's time range, and why? ponte dlq list --type T --reason R --since <range> lists them; ponte dlq show ID names the field or the refusal.",
			unit:        units.Short,
			targets: []target{{
				expr:   "sum by (type, reason) (increase(ponte_events_dead_letters_total{SEL}[$__range])) > 0",
				legend: "{{type}} {{reason}}",
			}},
			instant: true,
			w:       8, h: 8,
			runbooks: []string{"PonteDeadLetters"},
		}, step{1, "orange"}).Decimals(0).NoValue("none"),
		withThresholdLines(timeseriesPanel(spec{
			title:       "Dead-letter ratio",
			description: "Which share of the settled events (results and dead letters) end as dead letters? The dashed line is PonteDeadLetterRatioHigh's 1%: a publisher sends bad events, a target refuses a whole kind of request, or a configuration change broke a handler.",
			unit:        units.PercentUnit,
			targets: []target{{
				expr:   "sum(rate(ponte_events_dead_letters_total{SEL}[$__rate_interval])) / sum(rate(ponte_events_processed_total{SEL, " + settled + "}[$__rate_interval]))",
				legend: "dead letters / settled",
			}},
			w: 8, h: 8,
			runbooks: []string{"PonteDeadLetters"},
		}), step{0.01, "red"}),
	}}
}

func downstreamRow() row {
	return row{title: "Downstream", panels: []cog.Builder[dashboard.Panel]{
		withThresholdLines(timeseriesPanel(spec{
			title:       "Error ratio per target",
			description: "Which share of the requests sent to each API got a 5xx, no answer, or an answer the API does not document? Requests an open breaker or a throttled target kept back are not counted. The dashed line is PonteDownstreamErrorRatioHigh's 5%.",
			unit:        units.PercentUnit,
			targets: []target{{
				expr: "sum by (target) (rate(ponte_downstream_requests_total{SEL, " + failed + "}[$__rate_interval]))" +
					" / sum by (target) (rate(ponte_downstream_requests_total{SEL, " + sent + "}[$__rate_interval]))",
				legend: "{{target}}",
			}},
			w: 8, h: 8,
			runbooks: []string{"PonteDownstreamErrorRatioHigh"},
		}), step{0.05, "orange"}),
		timeseriesPanel(spec{
			title:       "Requests per target and result",
			description: "How many calls per second does ponte make to each API, and how do they end? success (2xx), client_error (4xx but 429), rate_limited (429), server_error (5xx), network_error (no answer), bad_response (a 2xx the API does not document); breaker_open, throttled and canceled were not sent.",
			unit:        units.OpsPerSecond,
			targets: []target{{
				expr:   "sum by (target, result) (rate(ponte_downstream_requests_total{SEL}[$__rate_interval]))",
				legend: "{{target}} {{result}}",
			}},
			w: 8, h: 8,
		}),
		timeseriesPanel(spec{
			title:       "Latency per target",
			description: "How fast does each API answer (the calls that were sent: answered, or failed on the network)? p50 and p99 per target; timeouts show at <target>.timeout.",
			unit:        units.Seconds,
			targets: []target{
				{
					expr:   quantile("0.5", "ponte_downstream_request_duration_seconds", "target"),
					legend: "{{target}} p50",
				},
				{
					expr:   quantile("0.99", "ponte_downstream_request_duration_seconds", "target"),
					legend: "{{target}} p99",
				},
			},
			w: 8, h: 8,
			runbooks: []string{"PonteDownstreamErrorRatioHigh"},
		}),
		timeseriesPanel(spec{
			title:       "Latency p99 per target and operation",
			description: "Which API call is slow? The p99 per target and operation (upsert_user, create_contratacao, login, token, ...).",
			unit:        units.Seconds,
			targets: []target{{
				expr:   quantile("0.99", "ponte_downstream_request_duration_seconds", "target", "operation"),
				legend: "{{target}} {{operation}}",
			}},
			w: 12, h: 8,
		}),
		timeseriesPanel(spec{
			title:       "Refused credentials and token requests",
			description: "Does an API refuse ponte's credentials even after a fresh token (revoked, or rotated and not yet in the secret file: PonteDownstreamAuthFailures), and do ponte's logins and token requests succeed? Per minute, per target and tenant (the UG for CidadES).",
			unit:        units.OpsPerMinute,
			targets: []target{
				{
					expr:   "sum by (target, tenant) (rate(ponte_downstream_auth_failures_total{SEL}[$__rate_interval])) * 60",
					legend: "refused {{target}} {{tenant}}",
				},
				{
					expr:   "sum by (target, tenant, result) (rate(ponte_downstream_token_refreshes_total{SEL}[$__rate_interval])) * 60",
					legend: "token {{result}} {{target}} {{tenant}}",
				},
			},
			w: 12, h: 8,
			runbooks: []string{"PonteDownstreamAuthFailures"},
		}),
	}}
}

func breakersRow() row {
	return row{title: "Circuit breakers", panels: []cog.Builder[dashboard.Panel]{
		stateTimelinePanel(spec{
			title:       "Breaker state per target and tenant",
			description: "Which state is each breaker in (one per target, one per CidadES UG)? Open: the target failed for every event, ponte stopped calling it and probes it every breakers.openTimeout; its events wait on the stream, no attempt spent. Half open: a probe is on its way.",
			targets: []target{{
				expr:   `max by (target, tenant) (ponte_circuit_breaker_state{SEL, state="half_open"}) + 2 * max by (target, tenant) (ponte_circuit_breaker_state{SEL, state="open"})`,
				legend: "{{target}} {{tenant}}",
			}},
			w: 12, h: 8,
			runbooks: []string{"PonteCircuitBreakerOpen"},
		}, state{0, "closed", "green"}, state{1, "half open", "yellow"}, state{2, "open", "red"}),
		stateTimelinePanel(spec{
			title:       "Event types paused for an open breaker",
			description: "Are the events of a type waiting, without any call, because a breaker their handler needs is open? They run once a probe closes it.",
			targets: []target{{
				expr:   "max by (type) (ponte_events_paused{SEL})",
				legend: "{{type}}",
			}},
			w: 12, h: 8,
			runbooks: []string{"PonteCircuitBreakerOpen"},
		}, state{0, "running", "green"}, state{1, "paused", "orange"}),
		withThresholdLines(timeseriesPanel(spec{
			title:       "Breaker openings in 30 minutes",
			description: "How often did each breaker open from closed in the last 30 minutes? Above the dashed line (3) is PonteCircuitBreakerFlapping: the target keeps recovering and failing again.",
			unit:        units.Short,
			targets: []target{{
				expr:   `sum by (target, tenant) (increase(ponte_circuit_breaker_transitions_total{SEL, from="closed", to="open"}[30m]))`,
				legend: "{{target}} {{tenant}}",
			}},
			w: 12, h: 8,
			runbooks: []string{"PonteCircuitBreakerOpen"},
		}), step{3, "orange"}),
		timeseriesPanel(spec{
			title:       "Calls kept from the targets by breakers",
			description: "How many calls per second did an open (or probing) breaker keep from its target? Each is an event put back on the stream without spending an attempt.",
			unit:        units.OpsPerSecond,
			targets: []target{{
				expr:   "sum by (target, tenant) (rate(ponte_circuit_breaker_rejected_total{SEL}[$__rate_interval]))",
				legend: "{{target}} {{tenant}}",
			}},
			w: 12, h: 8,
		}),
	}}
}

func throttlingRow() row {
	return row{title: "Throttling", panels: []cog.Builder[dashboard.Panel]{
		stateTimelinePanel(spec{
			title:       "Throttled targets",
			description: "Has a target asked ponte to slow down (429, or 503 with Retry-After)? Throttled while ponte sends it nothing, until the time it asked for; 15 minutes of it is PonteDownstreamThrottled.",
			targets: []target{{
				expr:   "max by (target, tenant) (ponte_downstream_throttled{SEL})",
				legend: "{{target}} {{tenant}}",
			}},
			w: 12, h: 8,
			runbooks: []string{"PonteDownstreamThrottled"},
		}, state{0, "sending", "green"}, state{1, "throttled", "orange"}),
		timeseriesPanel(spec{
			title:       "Rate-limited answers and held-back calls",
			description: "How many requests per second got a 429 (rate_limited), and how many calls ponte did not send because the target asked it to wait (throttled)? Lower the target's rateLimit below the API's quota when this lasts.",
			unit:        units.OpsPerSecond,
			targets: []target{{
				expr:   `sum by (target, result) (rate(ponte_downstream_requests_total{SEL, result=~"rate_limited|throttled"}[$__rate_interval]))`,
				legend: "{{target}} {{result}}",
			}},
			w: 12, h: 8,
			runbooks: []string{"PonteDownstreamThrottled"},
		}),
	}}
}

func replicasRow() row {
	return row{title: "Replicas", panels: []cog.Builder[dashboard.Panel]{
		timeseriesPanel(spec{
			title:       "Replicas",
			description: "How many replicas run (the series of ponte_build_info), and how many of the install's scrape targets are up?",
			unit:        units.Short,
			targets: []target{
				{expr: "count(ponte_build_info{SEL})", legend: "running"},
				{expr: "sum(up{SEL})", legend: "scrape targets up"},
			},
			w: 8, h: 8,
		}).Decimals(0),
		timeseriesPanel(spec{
			title:       "Replicas per version",
			description: "Which ponte builds run, and how many replicas of each (a rollout shows two)?",
			unit:        units.Short,
			targets: []target{{
				expr:   "count by (version, goversion) (ponte_build_info{SEL})",
				legend: "{{version}} ({{goversion}})",
			}},
			w: 8, h: 8,
		}).Decimals(0),
		stateTimelinePanel(spec{
			title:       "Replica holding the consumer",
			description: "Which replica processes the events? The consumer is pinned to one replica at a time (one entity's events run in order): the one whose event counters move. The others stand by and take over within worker.ackWait if it dies. With no events at all, every replica shows idle.",
			targets: []target{{
				expr:   "sum by (instance) (rate(ponte_events_processed_total{SEL}[$__rate_interval])) > bool 0",
				legend: "{{instance}}",
			}},
			w: 8, h: 8,
		}, state{0, "idle or standing by", "text"}, state{1, "processing", "blue"}),
		stateTimelinePanel(spec{
			title:       "NATS connection per replica",
			description: "Is each replica connected to NATS? A disconnected replica fetches nothing and keeps reconnecting; 5 minutes of it is PonteNATSDisconnected.",
			targets: []target{{
				expr:   "max by (instance) (ponte_nats_connected{SEL})",
				legend: "{{instance}}",
			}},
			w: 12, h: 8,
			runbooks: []string{"PonteNATSDisconnected"},
		}, state{0, "disconnected", "red"}, state{1, "connected", "green"}),
		timeseriesPanel(spec{
			title:       "NATS reconnections per replica",
			description: "How often did each replica's NATS connection drop and come back, per minute? Steady reconnections are a flapping network, NATS cluster or credentials.",
			unit:        units.OpsPerMinute,
			targets: []target{{
				expr:   "sum by (instance) (rate(ponte_nats_reconnects_total{SEL}[$__rate_interval])) * 60",
				legend: "{{instance}}",
			}},
			w: 12, h: 8,
			runbooks: []string{"PonteNATSDisconnected"},
		}),
	}}
}
