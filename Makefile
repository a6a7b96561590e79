# gokpl build and test entry points. `make test` is what CI runs; it installs
# what it needs (a virtualenv in .venv, the Python test dependencies, the
# pinned Kinesis emulator) and needs no AWS account.

SHELL := /bin/bash
GO ?= go
PYTHON ?= python3
NPM ?= npm
VENV := .venv
VPY := $(VENV)/bin/python
BUILD := build
LIB := $(BUILD)/libgokpl.so
EMULATOR := tests/emulator/node_modules/kinesis-local/main.js
GO_SOURCES := $(shell find core capi internal -name '*.go' -o -name '*.json' -o -name '*.h' -o -name '*.proto' 2>/dev/null) go.mod go.sum
CFLAGS ?= -O1 -g -Wall -Wextra -Werror -std=c11

export GOFLAGS ?= -buildvcs=false

.PHONY: all build venv emulator tools test test-go test-fuzz test-c test-python lint bench bench-go bench-python bench-process demo clean

all: build

PKG_LIB := python/gokpl/libgokpl.so

## build: the shared library (build/libgokpl.so) and the development package's copy of it
build: $(LIB) $(PKG_LIB)

# The version is written once, in python/gokpl/_version.py; the library gets
# it from the linker.
VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"$$/\1/p' python/gokpl/_version.py)

$(LIB): $(GO_SOURCES) python/gokpl/_version.py
	$(GO) build -buildmode=c-shared -trimpath -ldflags "-X main.Version=$(VERSION)" -o $@ ./capi
	rm -f $(BUILD)/libgokpl.h

# The editable install imports python/gokpl, so it needs there what
# setup.py's build step puts in a wheel: the library, the cffi extension,
# the fake endpoint and options.json.
$(PKG_LIB): $(GO_SOURCES) capi/gokpl.h python/gokpl/_cdef.py python/gokpl/_fastpath.c python/gokpl/_version.py build_native.py $(VENV)/.installed
	$(VPY) build_native.py python/gokpl

## venv: .venv with gokpl installed editable (this also builds python/gokpl/libgokpl.so) and test deps
venv: $(VENV)/.installed
$(VENV)/.installed: setup.py pyproject.toml
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -e '.[test]'
	touch $@

## emulator: kinesis-mock from the pinned npm lockfile, and the harness binaries
emulator: $(EMULATOR) tools
$(EMULATOR): tests/emulator/package-lock.json
	$(NPM) ci --prefix tests/emulator --no-audit --no-fund
	touch $@

tools: $(BUILD)/kinesismock $(BUILD)/kinesistest
$(BUILD)/kinesismock: $(GO_SOURCES)
	$(GO) build -o $@ ./internal/kinesismock/cmd/kinesismock
$(BUILD)/kinesistest: $(GO_SOURCES)
	$(GO) build -o $@ ./core/kinesistest/cmd/kinesistest

## test: every suite: Go (with -race), the C ABI programs, pytest
test: test-go test-c test-python

FUZZTIME ?= 5s
FUZZ_TARGETS := core:FuzzParseConfigJSON core:FuzzAggregationRoundTrip core:FuzzDeaggregate core:FuzzPutRecordsBody core/kinesistest:FuzzPutRecordsDecode

# capi's ABI tests call the library through cgo wrappers (capi/abicall.go)
# built only with this tag; without it those tests are left out and
# TestABITestsNeedTheirBuildTag fails.
GO_TEST_TAGS := -tags gokpl_abitest

test-go: emulator
	$(GO) vet $(GO_TEST_TAGS) ./...
	$(GO) test -race -count=1 $(GO_TEST_TAGS) ./...
	$(MAKE) --no-print-directory test-fuzz

## test-fuzz: a short run of every fuzz target (FUZZTIME each)
# A run that fails without a failing input (the fuzzing engine itself gave
# up, as it rarely does on a loaded machine) shows its output and runs once
# more; a failing input, written to testdata/fuzz/, fails at once.
test-fuzz:
	@log=$$(mktemp); trap 'rm -f $$log' EXIT; \
	for target in $(FUZZ_TARGETS); do \
		pkg=$${target%%:*}; name=$${target##*:}; \
		for attempt in 1 2; do \
			echo "fuzz ./$$pkg $$name for $(FUZZTIME)"; \
			if $(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) ./$$pkg >$$log 2>&1; then \
				tail -n 3 $$log; break; \
			fi; \
			tail -n 40 $$log; \
			if grep -q 'Failing input written to' $$log || [ $$attempt -eq 2 ]; then exit 1; fi; \
			echo "fuzz ./$$pkg $$name: failed without a failing input; once more"; \
		done; \
	done

test-c: $(LIB) $(BUILD)/kinesistest
	tests/c/run.sh $(BUILD)

test-python: venv $(PKG_LIB) emulator
	$(VPY) -m pytest tests/python

## lint: gofmt, go vet, staticcheck (pinned), ruff, mypy --strict
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint: venv
	@out=$$(gofmt -l core capi internal); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(GO_TEST_TAGS) ./...
	$(GO) run $(STATICCHECK) $(GO_TEST_TAGS) ./...
	$(GO) run $(STATICCHECK) ./capi
	$(VENV)/bin/ruff check python tests examples bench
	$(VENV)/bin/ruff format --check python
	$(VENV)/bin/mypy

## bench: every benchmark (Go engine, Python put path, process soaks, peers, memory under overload, the Go peer); results in bench/results/
bench: bench-go bench-python bench-process bench-peers bench-memory bench-go-peers

bench-go:
	mkdir -p bench/results
	$(GO) test -run '^$$' -bench . -benchmem -count 3 -cpu 1,2 ./core/ | tee bench/results/core-go.txt

## bench-python: put_record latency and confirmed throughput from one Python thread
bench-python: venv $(PKG_LIB) $(BUILD)/kinesistest
	$(VPY) bench/bench_put.py

## bench-process: 1,000,000 put/wait cycles (handle tables, RSS) and a throttled-endpoint soak (RSS levels off)
bench-process: venv $(PKG_LIB) $(BUILD)/kinesistest
	$(VPY) bench/bench_process.py

BENCH_VENV := bench/.venv
BENCH_VPY := $(BENCH_VENV)/bin/python
PEERS_FLAGS ?=
GO_PEERS_FLAGS ?=
MEMORY_FLAGS ?=
.PHONY: bench-venv bench-peers bench-memory bench-go-peers

## bench-venv: bench/.venv with the peers from PyPI (bench/requirements-peers.txt) and gokpl from this repository
bench-venv: $(BENCH_VENV)/.installed
$(BENCH_VENV)/.installed: bench/requirements-peers.txt setup.py pyproject.toml
	test -x $(BENCH_VPY) || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VPY) -m pip install --quiet --upgrade pip
	$(BENCH_VPY) -m pip install --quiet -r bench/requirements-peers.txt
	$(BENCH_VPY) -m pip install --quiet -e .
	touch $@

## bench-peers: gokpl against aiokpl, boto3 and aws-kinesis-agg (PEERS_FLAGS=--quick for a one-minute run); results in bench/results/peers.json and docs/benchmarks.md
bench-peers: bench-venv $(PKG_LIB) emulator
	$(BENCH_VPY) bench/peers.py $(PEERS_FLAGS)

## bench-go-peers: gokpl's engine against a8m/kinesis-producer from Go (bench/gopeers, its own module), 1,000,000 records, 6 alternating rounds in fresh processes (GO_PEERS_FLAGS='-rounds 2' for a shorter run); results in bench/results/go-peers.json and docs/benchmarks.md
bench-go-peers: $(BUILD)/kinesistest
	cd bench/gopeers && $(GO) build -o ../../$(BUILD)/gopeers .
	$(BUILD)/gopeers -endpoint-bin $(BUILD)/kinesistest -out bench/results/go-peers.json $(GO_PEERS_FLAGS)
	$(BUILD)/gopeers -render bench/results/go-peers.json -doc docs/benchmarks.md

## bench-memory: RSS growth while every request is throttled, 5 KB records, max_outstanding_bytes 64 and 256 MiB, 180 s each in a fresh process (MEMORY_FLAGS='--seconds 60' for a shorter run); bound 1.25 x budget + 32 MiB; results in bench/results/memory.json, the plot and docs/benchmarks.md's memory section
bench-memory: bench-venv $(PKG_LIB) $(BUILD)/kinesistest
	$(BENCH_VPY) bench/bench_memory.py $(MEMORY_FLAGS)

## demo: start the emulator, publish 100,000 records, read them all back, print a summary, stop (exit 1 if any was lost)
demo: venv $(PKG_LIB) emulator
	$(VPY) examples/demo.py

## test-wheels-arm64: install the aarch64 wheel in dist/ (or ARM64_WHEEL=path) into a Debian arm64 root (build/arm64-root, made on first use by tests/wheels/arm64_root.sh) and run tests/wheels/wheel_checks.py there under qemu user emulation; needs root, debootstrap and qemu-user-static (installed with apt-get if missing). Part of `make test-wheels`, not of `make test`.
.PHONY: test-wheels-arm64
ARM64_WHEEL ?=
test-wheels-arm64:
	@whl="$(ARM64_WHEEL)"; \
	if [ -z "$$whl" ]; then whl=$$(ls dist/gokpl-*manylinux*aarch64*.whl 2>/dev/null | head -n1); fi; \
	if [ -z "$$whl" ] || [ ! -f "$$whl" ]; then \
		echo "test-wheels-arm64: no aarch64 wheel (dist/gokpl-*manylinux*aarch64*.whl); build one first, or pass ARM64_WHEEL=path" >&2; exit 1; \
	fi; \
	tests/wheels/run_arm64.sh "$$whl" $(BUILD)/arm64-root

## wheels: the sdist and cp39-abi3 wheels for manylinux2014 (glibc 2.17), x86-64 and aarch64, in dist/, cross-built with zig as the C toolchain, each checked with auditwheel show and twine check; musllinux_1_2 wheels too, kept in build/wheels/ (Go does not start under musl yet); tools: pyproject's `wheels` dependency group, into .venv (docs/install.md)
.PHONY: wheels wheels-tools test-wheels lambda-layers
wheels: wheels-tools
	$(VPY) build_support/wheels.py wheels

wheels-tools:
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet --group wheels

## test-wheels: run the release wheels of `make wheels`: the x86-64 one through the packaging test's install-and-run check (a fresh virtualenv, no Go, CPython 3.9 and 3.13 where present), then the aarch64 one and an arm64 Lambda layer under qemu (test-wheels-arm64, test-layer-arm64; root needed; about 4 minutes the first time, for the Debian arm64 root, then about 40 s)
test-wheels: test-wheels-x86-64 test-wheels-arm64 test-layer-arm64

.PHONY: test-wheels-x86-64
test-wheels-x86-64: venv
	@set -- dist/gokpl-*-cp39-abi3-manylinux2014_x86_64.whl; \
	if [ ! -f "$$1" ]; then echo "test-wheels: no manylinux2014_x86_64 wheel in dist/; run 'make wheels'"; exit 1; fi; \
	echo "test-wheels: $$1"; \
	GOKPL_TEST_WHEEL="$$1" $(VPY) -m pytest tests/python/test_packaging.py -k test_wheel_installs_and_runs_without_go

## lambda-layers: an AWS Lambda layer zip per architecture in dist/ (python/gokpl and cffi for LAYER_PYTHON, 3.12 by default) from the manylinux2014 wheels of `make wheels`; the one for this machine's architecture is run from the unpacked layer alone
lambda-layers: wheels-tools
	$(VPY) build_support/wheels.py lambda-layers

## test-layer-arm64: run an arm64 Lambda layer in the Debian arm64 root under qemu (tests/wheels/run_arm64.sh --layer): unpacked into /opt/layer, the quick start by the root's python3 -S with PYTHONPATH the layer's python/ alone. The root's CPython is 3.11, so the layers are built for ARM64_LAYER_PYTHON (3.11) from dist/'s manylinux2014 wheels and kept in $(BUILD)/layers/, not dist/ (or ARM64_LAYER=path.zip). Needs root; part of `make test-wheels`, not of `make test`.
.PHONY: test-layer-arm64
ARM64_LAYER ?=
ARM64_LAYER_PYTHON ?= 3.11
test-layer-arm64:
	@zip="$(ARM64_LAYER)"; \
	if [ -z "$$zip" ]; then \
		test -x $(VPY) || { echo "test-layer-arm64: no $(VPY); run 'make wheels-tools'" >&2; exit 1; }; \
		LAYER_PYTHON=$(ARM64_LAYER_PYTHON) $(VPY) build_support/wheels.py lambda-layers || exit 1; \
		mkdir -p $(BUILD)/layers; \
		mv -f dist/gokpl-*-lambda-layer-python$(ARM64_LAYER_PYTHON)-*.zip $(BUILD)/layers/; \
		zip=$$(ls $(BUILD)/layers/gokpl-*-lambda-layer-python$(ARM64_LAYER_PYTHON)-arm64.zip | head -n1); \
	fi; \
	tests/wheels/run_arm64.sh --layer "$$zip" $(BUILD)/arm64-root

clean:
	rm -rf $(BUILD) python/gokpl/libgokpl.so python/gokpl/_gokpl_cffi.abi3.so python/gokpl/kinesistest python/gokpl/options.json

## proto: regenerate internal/aggpb/aggregated.pb.go (needs protoc; protoc-gen-go is built at go.mod's protobuf version). Not run by CI.
.PHONY: proto
proto:
	GOBIN=$(abspath $(BUILD)) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$$($(GO) list -m -f '{{.Version}}' google.golang.org/protobuf)
	protoc --plugin=protoc-gen-go=$(BUILD)/protoc-gen-go --go_out=. --go_opt=paths=source_relative internal/aggpb/aggregated.proto
