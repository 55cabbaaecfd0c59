// Package chartcheck holds the checks of the ponte Helm chart (charts/ponte) that make chart-check runs: helm
// lint and helm template with every values file, each rendered object decoded strictly into its Kubernetes,
// Prometheus Operator or KEDA Go type, the properties the chart promises (security context, probes, shutdown
// deadline, secrets as files, optional objects off by default), ponte's own check of the configuration the chart
// renders, the PrometheusRule equal to files/alerts.yaml (which make rules-check tests with promtool), and the agreement of the chart with the Dockerfile and its README.
//
// It is a module of its own (charts/tools), so that Helm's and KEDA's dependencies stay out of ponte's go.mod.
// The tests read PONTE_HELM (a helm binary; without it they run go tool helm, slower).
package chartcheck
