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
test: lint ## Run every test with the race detector (plus vet, staticcheck and gofmt).
	$(GO) test -race -count=1 -timeout 12m $(PKGS)

.PHONY: lint
lint: ## go vet, staticcheck, and gofmt must print nothing.
	$(GO) vet $(PKGS)
	$(GO) run $(STATICCHECK) $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

.PHONY: bench
bench: ## Run the benchmarks (speed and memory targets).
	$(GO) test -run '^$$' -bench . -benchmem -count=1 $(PKGS)

.PHONY: sandbox
sandbox: ## Serve the three API simulators on loopback (see docs/sandbox.md).
	$(GO) run ./cmd/ponte sandbox

.PHONY: clean
clean: ## Remove build output.
	rm -rf $(BIN)
