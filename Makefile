# Wardline: `make run` builds and starts the appliance; `make test` installs
# what the tests need and runs every check and test. `make help` lists all.
SHELL    := /bin/bash
GO       ?= go
GOBIN    := $(shell $(GO) env GOPATH)/bin
VERSION  := $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X github.com/wardline/wardline/appliance.Version=$(VERSION)
BIN      := bin/wardline
RUNFLAGS ?=
FUZZTIME ?= 30s

.PHONY: help build run test lint deps unit bench bench-ad fuzz clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

build: ## build bin/wardline
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/wardline

run: build ## build and start the appliance with embedded defaults (./wardline-data)
	./$(BIN) serve $(RUNFLAGS)

deps: ## install the Debian packages and Go tools the tests need
	./scripts/install-deps.sh

lint: deps ## gofmt check, go vet, staticcheck
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GOBIN)/staticcheck ./...

unit: ## go test -race ./... (without installing anything)
	$(GO) test -race -timeout 30m ./...

test: deps lint unit ## install what the tests need, then lint and run every test with -race

bench: ## the benchmarks quoted in the issues' closing notes
	$(GO) test -run '^$$' -bench . -benchtime 2s -count 5 ./store/

bench-ad: deps ## AD sync benchmarks against a Samba DC with 10,000 users (about 3 minutes)
	$(GO) test -run '^$$' -bench 'BenchmarkADSync' -benchtime 3x -timeout 30m ./appliance/
	$(GO) test -run '^$$' -bench 'Search50k|IndexLoad50k' -benchtime 2s -count 5 ./directory/

fuzz: ## run each fuzz target for FUZZTIME (default 30s)
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

clean: ## remove build output (never the data directory)
	rm -rf bin dist
