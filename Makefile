# pystatus: `make run` and `make test` work on a fresh machine (python3 >= 3.11, node >= 20).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NPM_DIR := tests/interop
NPM_STAMP := $(NPM_DIR)/node_modules/.installed
PROTOS := $(wildcard src/pystatus/*/proto/*.proto src/pystatus/*/*/proto/*.proto)

.PHONY: setup run test lint bench proto lock clean statusgo gowaku chromium screenshots

# Dependencies come from requirements.lock (exact versions and hashes), so every machine and CI
# build the same set; `make lock` regenerates it after pyproject.toml changes.
$(PY_STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

$(NPM_STAMP): $(NPM_DIR)/package.json $(NPM_DIR)/package-lock.json
	cd $(NPM_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(PY_STAMP) $(NPM_STAMP) chromium

# The web client's browser tests drive Debian's Chromium through Playwright, never a
# downloaded browser: installed when missing and apt-get can (as root); else they skip.
chromium:
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
	  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; \
	fi

# The status-go v1.1.0 peer the interop tests drive (tests/interop/statusgo), built when Go is
# installed. Its dependencies predate Go 1.23's linkname checks, so it is built with the Go
# its go.mod pins (GOTOOLCHAIN fetches that Go through the module proxy).
GO := $(shell command -v go 2>/dev/null)
STATUSGO_DIR := tests/interop/statusgo
STATUSGO_BIN := $(STATUSGO_DIR)/bin/statusgo-peer
STATUSGO_TOOLCHAIN = $(shell sed -n 's/^toolchain //p' $(STATUSGO_DIR)/go.mod)

$(STATUSGO_BIN): $(wildcard $(STATUSGO_DIR)/*.go) $(STATUSGO_DIR)/go.mod $(STATUSGO_DIR)/go.sum
	cd $(STATUSGO_DIR) && GOTOOLCHAIN=$(STATUSGO_TOOLCHAIN) CGO_ENABLED=1 \
	  go build -tags gowaku_no_rln -trimpath -o bin/statusgo-peer .

# status-go's protocol/encryption package alone (tests/interop/statusgo_hr), for the hash ratchet
# interop tests; same go.mod requirements as the peer, so it reuses its build cache.
STATUSGO_HR_DIR := tests/interop/statusgo_hr
STATUSGO_HR_BIN := $(STATUSGO_HR_DIR)/bin/statusgo-hr

$(STATUSGO_HR_BIN): $(wildcard $(STATUSGO_HR_DIR)/*.go) $(STATUSGO_HR_DIR)/go.mod $(STATUSGO_HR_DIR)/go.sum
	cd $(STATUSGO_HR_DIR) && GOTOOLCHAIN=$(STATUSGO_TOOLCHAIN) CGO_ENABLED=1 \
	  go build -tags gowaku_no_rln -trimpath -o bin/statusgo-hr .

statusgo: $(STATUSGO_BIN) $(STATUSGO_HR_BIN)

# The go-waku peer (tests/interop/gowaku): go-waku at the version status-go v1.1.0 embeds,
# driven as a library by a small program of ours; built with the Go its go.mod names.
GOWAKU_DIR := tests/interop/gowaku
GOWAKU_BIN := $(GOWAKU_DIR)/bin/gowaku-peer
GOWAKU_TOOLCHAIN = $(shell sed -n 's/^toolchain //p' $(GOWAKU_DIR)/go.mod)

$(GOWAKU_BIN): $(wildcard $(GOWAKU_DIR)/*.go) $(GOWAKU_DIR)/go.mod $(GOWAKU_DIR)/go.sum
	cd $(GOWAKU_DIR) && GOTOOLCHAIN=$(GOWAKU_TOOLCHAIN) CGO_ENABLED=1 \
	  go build -tags gowaku_no_rln -trimpath -o bin/gowaku-peer .

gowaku: $(GOWAKU_BIN)

ifneq ($(GO),)
setup: $(STATUSGO_BIN) $(STATUSGO_HR_BIN) $(GOWAKU_BIN)
endif

# The node needs only the Python environment; the test peers are built by `make test`.
run: $(PY_STAMP)
	$(BIN)/pystatus node --rest=true --filter=true --lightpush=true --peer-exchange=true \
	  --metrics-server=true $(ARGS)

# The web client's main screens, taken in Chromium from two local accounts, into docs/.
screenshots: $(PY_STAMP) $(NPM_STAMP) chromium
	$(BIN)/python -m tests.web.screenshots docs

lint: $(PY_STAMP)
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

# The suite runs in PYTEST_WORKERS processes (pytest-xdist): most tests wait on real processes
# and the network, so workers overlap those waits even on 2 cores. --dist loadgroup keeps each
# xdist_group on one worker (tests/conftest.py names them). PYTEST_WORKERS=0 runs it in this
# process; PYTEST_ARGS adds flags (a later -n wins; -p no:xdist needs PYTEST_WORKERS=).
PYTEST_WORKERS ?= 3
test: setup lint
	$(BIN)/pytest $(if $(PYTEST_WORKERS),-n $(PYTEST_WORKERS) --dist loadgroup) $(PYTEST_ARGS)

# py-libp2p, the reference Python libp2p, runs from its own venv: it is trio-only and pins
# its own dependencies.
PYLIBP2P_STAMP := .venv-pylibp2p/.installed
$(PYLIBP2P_STAMP):
	$(PYTHON) -m venv .venv-pylibp2p
	.venv-pylibp2p/bin/pip install --quiet libp2p==0.8.1
	touch $@

bench: setup $(PYLIBP2P_STAMP)
	$(BIN)/python -m bench $(ARGS)

proto: $(PY_STAMP)
	@# Imports between .proto files are spelled from src/, so generated code imports by package.
	@for f in $(PROTOS); do \
	  PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m grpc_tools.protoc -Isrc --python_out=src --mypy_out=src $${f#src/} || exit 1; \
	done
	$(BIN)/ruff format --quiet $(PROTOS:.proto=_pb2.pyi)

lock:
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet pip-tools
	.venv-lock/bin/pip-compile --quiet --extra dev --generate-hashes --strip-extras --allow-unsafe \
	  --no-emit-find-links -o requirements.lock pyproject.toml
	rm -rf .venv-lock

clean:
	rm -rf $(VENV) .venv-pylibp2p $(NPM_DIR)/node_modules .mypy_cache .ruff_cache .pytest_cache .hypothesis
