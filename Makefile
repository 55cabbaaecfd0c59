# ponte: make help lists the targets.
GO        ?= go
BIN       ?= bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
PKGS      := ./...
# Extra flags for `make run`, e.g. make run ARGS="--nats-port 14222" (see ponte dev -h).
ARGS      ?=
# Tools run from the Go module proxy at pinned versions; nothing to install by hand.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# The nats-server binary of the fault tests and make chaos: the version go.mod embeds, built from the Go module
# proxy into .tools/bin (gitignored).
TOOLS       := $(abspath .tools/bin)
NATS_SERVER := $(TOOLS)/nats-server
NATS_SERVER_VERSION := $(shell awk '$$1 == "github.com/nats-io/nats-server/v2" {print $$2}' go.mod)
# promtool (and the prometheus and alertmanager servers of make prom-check) come from Debian's packages, installed
# by .ci/apt-install when missing.
PROMTOOL    := /usr/bin/promtool
# Extra flags for make chaos, e.g. CHAOS_ARGS="-run 1,8 -scale 0.5" (see go run ./cmd/ponte-chaos -h).
CHAOS_ARGS  ?=
# The benchmark harness is a module of its own (its reference worker's dependencies stay out of ponte's go.mod);
# extra flags for make bench, e.g. BENCH_ARGS="-run a -scale 0.1 -runs 1" (see cd cmd/ponte-bench && go run . -h).
BENCH_DIR   := cmd/ponte-bench
BENCH_ARGS  ?=
# The Grafana dashboard's generator and tests are a module of their own too (the Grafana Foundation SDK and
# Prometheus's PromQL parser stay out of ponte's go.mod). Its schema test type-checks the dashboard against
# Grafana's @grafana/schema with tsc; both come from the npm registry at pinned versions, into .tools.
DASHBOARD_DIR  := charts/dashboard
GRAFANA_SCHEMA := $(abspath .tools/grafana-schema-13.2.3)
# The chart's checks are a module of their own too (Helm, the Kubernetes API types and KEDA's stay out of go.mod);
# helm is built from the version it pins into .tools/bin once (about 2.5 minutes the first time).
CHART_TOOLS := charts/tools
HELM        := $(TOOLS)/helm

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build the static ponte binary into bin/.
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ponte ./cmd/ponte

.PHONY: run
run: ## Run the embedded default: NATS, the three simulators and a worker in one process, with the demo events (flags: ARGS="...").
	$(GO) run ./cmd/ponte dev --demo $(ARGS)

.PHONY: test
test: lint rules-check dashboard-check chart-check $(NATS_SERVER) ## Run every test with the race detector (plus vet, staticcheck and gofmt), the three fastest chaos scenarios among them, the alert rules' tests, the dashboard's checks, the Helm chart's checks, and the benchmark harness's.
	PONTE_CHAOS_NATS_SERVER=$(NATS_SERVER) PONTE_PROMTOOL=$(PROMTOOL) $(GO) test -race -count=1 -timeout 12m $(PKGS)
	cd $(BENCH_DIR) && PONTE_CHAOS_NATS_SERVER=$(NATS_SERVER) $(GO) test -race -count=1 -timeout 5m ./...

.PHONY: lint
lint: ## go vet, staticcheck, and gofmt must print nothing (the three modules).
	$(GO) vet $(PKGS)
	$(GO) run $(STATICCHECK) $(PKGS)
	cd $(BENCH_DIR) && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...
	cd $(CHART_TOOLS) && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

.PHONY: bench
bench: ## Run the microbenchmarks, then the harness on real processes against the reference worker; writes its table into docs/benchmarks.md (flags: BENCH_ARGS="...").
	$(GO) test -run '^$$' -bench . -benchmem -count=1 $(PKGS)
	$(MAKE) --no-print-directory build nats-server
	cd $(BENCH_DIR) && $(GO) run . -ponte $(abspath $(BIN))/ponte -nats-server $(NATS_SERVER) -repo $(CURDIR) -report $(CURDIR)/docs/benchmarks.md $(BENCH_ARGS)

.PHONY: chaos
chaos: build $(NATS_SERVER) ## Run the ten fault scenarios on real processes and write their table into docs/reliability.md (about 10 minutes).
	$(GO) run ./cmd/ponte-chaos -ponte $(BIN)/ponte -nats-server $(NATS_SERVER) -report docs/reliability.md $(CHAOS_ARGS)

.PHONY: rules-check
rules-check: $(PROMTOOL) ## Check the alerting rules (charts/ponte/files/alerts.yaml) and run their promtool unit tests.
	$(PROMTOOL) check rules charts/ponte/files/alerts.yaml
	$(PROMTOOL) test rules charts/rules/alerts_test.yaml

.PHONY: prom-check
prom-check: build ## Prove the metrics and alerts on a real Prometheus and Alertmanager (Debian's, installed when missing): the breaker alert fires, reaches Alertmanager and resolves (about 4 minutes).
	.ci/apt-install prometheus prometheus-alertmanager
	$(GO) run ./cmd/ponte-promcheck -ponte $(BIN)/ponte -repo $(CURDIR)

.PHONY: dashboard
dashboard: ## Regenerate the Grafana dashboard, charts/ponte/files/dashboard.json, from its generator in charts/dashboard.
	cd $(DASHBOARD_DIR) && $(GO) run .

.PHONY: dashboard-check
dashboard-check: $(GRAFANA_SCHEMA)/node_modules/@grafana/schema/package.json ## Check the dashboard: JSON up to date with its generator, structure, Grafana's schema, PromQL of it and of the alert rules.
	cd $(DASHBOARD_DIR) && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...
	cd $(DASHBOARD_DIR) && PONTE_GRAFANA_SCHEMA=$(GRAFANA_SCHEMA) $(GO) test -race -count=1 ./...

$(GRAFANA_SCHEMA)/node_modules/@grafana/schema/package.json:
	command -v npm >/dev/null || .ci/apt-install nodejs npm
	npm install --prefix $(GRAFANA_SCHEMA) --no-audit --no-fund --silent @grafana/schema@13.2.3 typescript@5.9.3

.PHONY: promtool
promtool: $(PROMTOOL) ## Install promtool (Debian's prometheus package) when missing.

$(PROMTOOL):
	.ci/apt-install prometheus

.PHONY: chart-check
chart-check: $(HELM) ## Lint and render the Helm chart with each values file, decode every object strictly, check the chart's promises and its Dockerfile.
	cd $(CHART_TOOLS) && PONTE_HELM=$(HELM) $(GO) test -count=1 -timeout 10m ./...

$(HELM): $(CHART_TOOLS)/go.mod $(CHART_TOOLS)/go.sum
	cd $(CHART_TOOLS) && $(GO) build -o $(HELM) helm.sh/helm/v3/cmd/helm

.PHONY: nats-server
nats-server: $(NATS_SERVER) ## Build the nats-server binary (the version in go.mod) into .tools/bin.

$(NATS_SERVER): go.mod
	GOBIN=$(TOOLS) $(GO) install github.com/nats-io/nats-server/v2@$(NATS_SERVER_VERSION)

.PHONY: sandbox
sandbox: ## Serve the three API simulators on loopback (see docs/sandbox.md).
	$(GO) run ./cmd/ponte sandbox

.PHONY: clean
clean: ## Remove build output.
	rm -rf $(BIN)
