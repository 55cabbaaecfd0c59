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
# Extra flags for make chaos, e.g. CHAOS_ARGS="-run 1,8 -scale 0.5" (see go run ./cmd/ponte-chaos -h).
CHAOS_ARGS  ?=
# The benchmark harness is a module of its own (its reference worker's dependencies stay out of ponte's go.mod);
# extra flags for make bench, e.g. BENCH_ARGS="-run a -scale 0.1 -runs 1" (see cd cmd/ponte-bench && go run . -h).
BENCH_DIR   := cmd/ponte-bench
BENCH_ARGS  ?=
# The chart's checks are a module of their own too (Helm, the Kubernetes API types and KEDA's stay out of go.mod);
# helm is built from the version it pins into .tools/bin once (about 2.5 minutes the first time).
CHART_TOOLS := charts/tools
HELM        := $(TOOLS)/helm
# promtool, for the chart's alerts (make promtool installs it).
PROMTOOL    ?= /usr/bin/promtool

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
test: lint $(NATS_SERVER) chart-check ## Run every test with the race detector (plus vet, staticcheck and gofmt, and the chart's checks), the three fastest chaos scenarios among them, and the benchmark harness's.
	PONTE_CHAOS_NATS_SERVER=$(NATS_SERVER) $(GO) test -race -count=1 -timeout 12m $(PKGS)
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

.PHONY: chart-check
chart-check: $(HELM) ## Lint and render the Helm chart with each values file, decode every object strictly, check the chart's promises, its Dockerfile and promtool on its alerts.
	@test -x $(PROMTOOL) || { echo "chart-check: no promtool at $(PROMTOOL) (make promtool installs it)"; exit 1; }
	cd $(CHART_TOOLS) && PONTE_HELM=$(HELM) PONTE_PROMTOOL=$(PROMTOOL) $(GO) test -count=1 -timeout 10m ./...

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
