# ecometer — build, test and benchmark.
# `make test` is the project's test command (README, CI): it installs the tools
# the tests need into ./.tools/bin once, then runs vet, staticcheck and the tests
# with the race detector against real servers.

GO          ?= go
TOOLS       := $(CURDIR)/.tools/bin
INFLUXD     := $(TOOLS)/influxd
STATICCHECK := $(TOOLS)/staticcheck
INFLUXD_VERSION     := v1.8.10
STATICCHECK_VERSION := v0.8.2
export ECOMETER_INFLUXD := $(INFLUXD)

.PHONY: all build test vet lint tools bench fuzz clean

all: build

# The version is the git tag, else 0.0.0-<commit>; -buildvcs=true records the
# revision even where GOFLAGS turns it off.
VERSION ?= $(shell git describe --tags --dirty 2>/dev/null || echo "0.0.0-$$(git rev-parse --short HEAD 2>/dev/null || echo unknown)")

build:
	$(GO) build -buildvcs=true -ldflags "-X main.version=$(VERSION)" -o ecometer ./cmd/ecometer

tools: $(INFLUXD) $(STATICCHECK)

# influxd 1.8.10 builds as pure Go in a few minutes; it is built once.
$(INFLUXD):
	@echo "building influxd $(INFLUXD_VERSION) into $(TOOLS) (once; takes a few minutes)"
	GOBIN=$(TOOLS) $(GO) install github.com/influxdata/influxdb/cmd/influxd@$(INFLUXD_VERSION)

$(STATICCHECK):
	GOBIN=$(TOOLS) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

vet:
	$(GO) vet ./...

lint: $(STATICCHECK)
	$(STATICCHECK) ./...

test: tools vet lint
	$(GO) test -race -timeout 40m ./...

# Benchmarks against the real servers (figures for the closing notes). The
# InfluxDB write paths (influx BenchmarkWrite, outbox BenchmarkInflux) report
# ecometer's CPU per point (client-cpu-µs/point) next to influxd's.
bench: tools
	$(GO) test -run '^$$' -bench . -benchmem -timeout 30m ./internal/store/...

# A short run of every fuzz target (go test -fuzz takes one target at a time).
FUZZTIME ?= 20s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -f ecometer
