package main

import (
	"strconv"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/bargauge"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/statetimeline"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

const (
	// datasourceVar is the reference every panel, target and query variable uses: the datasource template
	// variable, so that no Grafana's datasource UID is written into the dashboard.
	datasourceVar = "${datasource}"
	// selector is the install's selector. It is put into every selector of every expression, where the
	// expression says SEL, so that one Grafana serves several installs of ponte.
	selector = `namespace=~"$namespace", job=~"$job"`
	// docsURL is where the documents the panels link to are published: the runbook_url of every alert points
	// into the same runbooks.md.
	docsURL = "https://github.com/ponte-dev/ponte/blob/main/docs/"
)

// target is one query of a panel: a PromQL expression, with SEL where the install's selector goes, and the
// legend of its series.
type target struct {
	expr   string
	legend string
}

// spec is what every panel has, whatever its kind.
type spec struct {
	title string
	// description says which question the panel answers; Grafana shows it as the panel's tooltip.
	description string
	unit        string
	targets     []target
	// instant makes the targets instant queries (a stat or bar gauge over the time range).
	instant bool
	w, h    uint32
	// runbooks names the alerts whose runbook the panel links to.
	runbooks []string
}

// promQL puts the install's selector where expr says SEL.
func promQL(expr string) string {
	return strings.ReplaceAll(expr, "SEL", selector)
}

// datasource is the reference to the datasource template variable.
func datasource() common.DataSourceRef {
	return common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr(datasourceVar)}
}

// queries builds the spec's targets, with reference ids A, B, C, ...
func (s spec) queries() []cog.Builder[variants.Dataquery] {
	qs := make([]cog.Builder[variants.Dataquery], 0, len(s.targets))
	for i, t := range s.targets {
		q := prometheus.NewDataqueryBuilder().
			RefId(string(rune('A' + i))).
			Datasource(datasource()).
			Expr(promQL(t.expr))
		if t.legend != "" {
			q.LegendFormat(t.legend)
		}
		if s.instant {
			q.Instant().Format(prometheus.PromQueryFormatTimeSeries)
		} else {
			q.Range()
		}
		qs = append(qs, q)
	}
	return qs
}

// links are the panel's links to the runbooks of its alerts.
func (s spec) links() []cog.Builder[dashboard.DashboardLink] {
	ls := make([]cog.Builder[dashboard.DashboardLink], 0, len(s.runbooks))
	for _, alert := range s.runbooks {
		ls = append(ls, dashboard.NewDashboardLinkBuilder("Runbook: "+alert).
			Type(dashboard.DashboardLinkTypeLink).
			Url(docsURL+"runbooks.md#"+strings.ToLower(alert)).
			TargetBlank(true))
	}
	return ls
}

// step is a threshold: from value on, the panel colours the value color.
type step struct {
	value float64
	color string
}

// thresholds are green below the first step, then each step's colour.
func thresholds(steps ...step) *dashboard.ThresholdsConfigBuilder {
	ts := []dashboard.Threshold{{Color: "green"}}
	for _, s := range steps {
		ts = append(ts, dashboard.Threshold{Value: cog.ToPtr(s.value), Color: s.color})
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(ts)
}

// state is one value of a state-timeline panel: what it means and its colour.
type state struct {
	value float64
	text  string
	color string
}

// stateMappings maps each state's value to its text and colour.
func stateMappings(states ...state) []dashboard.ValueMapping {
	options := make(map[string]dashboard.ValueMappingResult, len(states))
	for i, s := range states {
		options[formatValue(s.value)] = dashboard.ValueMappingResult{
			Text:  cog.ToPtr(s.text),
			Color: cog.ToPtr(s.color),
			Index: cog.ToPtr(int32(i)),
		}
	}
	return []dashboard.ValueMapping{{ValueMap: &dashboard.ValueMap{Type: dashboard.MappingTypeValueToText, Options: options}}}
}

// formatValue writes a state's value as Grafana's value mappings key it: 0, 1, 2.
func formatValue(v float64) string {
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// legend is the legend of the time series panels: a table below the graph, with the mean and the maximum.
func legend() *common.VizLegendOptionsBuilder {
	return common.NewVizLegendOptionsBuilder().
		DisplayMode(common.LegendDisplayModeTable).
		Placement(common.LegendPlacementBottom).
		ShowLegend(true).
		Calcs([]string{"mean", "max", "lastNotNull"})
}

// tooltip shows every series at the cursor, largest first.
func tooltip() *common.VizTooltipOptionsBuilder {
	return common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderDescending)
}

// timeseriesPanel is a graph over time of the spec's targets.
func timeseriesPanel(s spec) *timeseries.PanelBuilder {
	p := timeseries.NewPanelBuilder().
		Title(s.title).
		Description(s.description).
		Datasource(datasource()).
		Targets(s.queries()).
		Links(s.links()).
		Unit(s.unit).
		Min(0).
		Span(s.w).
		Height(s.h).
		Legend(legend()).
		Tooltip(tooltip()).
		LineWidth(1).
		FillOpacity(10).
		ShowPoints(common.VisibilityModeNever).
		Thresholds(thresholds())
	return p
}

// withThresholdLines draws the thresholds on a time series panel as dashed lines: the alert's threshold.
func withThresholdLines(p *timeseries.PanelBuilder, steps ...step) *timeseries.PanelBuilder {
	return p.Thresholds(thresholds(steps...)).
		ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed))
}

// statPanel is one big number per series: the last value, coloured by the thresholds.
func statPanel(s spec, steps ...step) *stat.PanelBuilder {
	graph := common.BigValueGraphModeArea
	if s.instant {
		graph = common.BigValueGraphModeNone
	}
	return stat.NewPanelBuilder().
		Title(s.title).
		Description(s.description).
		Datasource(datasource()).
		Targets(s.queries()).
		Links(s.links()).
		Unit(s.unit).
		Span(s.w).
		Height(s.h).
		Thresholds(thresholds(steps...)).
		ColorMode(common.BigValueColorModeBackground).
		GraphMode(graph).
		TextMode(common.BigValueTextModeValue).
		Orientation(common.VizOrientationAuto).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false))
}

// stateTimelinePanel is one band per series, coloured by the state its value maps to.
func stateTimelinePanel(s spec, states ...state) *statetimeline.PanelBuilder {
	return statetimeline.NewPanelBuilder().
		Title(s.title).
		Description(s.description).
		Datasource(datasource()).
		Targets(s.queries()).
		Links(s.links()).
		Span(s.w).
		Height(s.h).
		Mappings(stateMappings(states...)).
		Thresholds(thresholds()).
		ColorScheme(dashboard.NewFieldColorBuilder().Mode(dashboard.FieldColorModeIdThresholds)).
		ShowValue(common.VisibilityModeNever).
		MergeValues(true).
		FillOpacity(80).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom).
			ShowLegend(true)).
		Tooltip(tooltip())
}

// barGaugePanel is one horizontal bar per series: their values side by side.
func barGaugePanel(s spec, steps ...step) *bargauge.PanelBuilder {
	return bargauge.NewPanelBuilder().
		Title(s.title).
		Description(s.description).
		Datasource(datasource()).
		Targets(s.queries()).
		Links(s.links()).
		Unit(s.unit).
		Span(s.w).
		Height(s.h).
		Min(0).
		Thresholds(thresholds(steps...)).
		DisplayMode(common.BarGaugeDisplayModeBasic).
		Orientation(common.VizOrientationHorizontal).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false))
}
