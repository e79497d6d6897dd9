# Recouvre — two commands: `make demo` and `make test`. Each bootstraps what it needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed
DEBIAN_PACKAGES := libreoffice-writer-nogui python3-uno poppler-utils qpdf fonts-dejavu fonts-liberation2 \
	fonts-crosextra-carlito fonts-crosextra-caladea libnss3-tools softhsm2 chromium
PYTEST_ARGS ?=

.PHONY: install demo run test bench bench-tools clean system-packages lock

install: system-packages $(STAMP)

system-packages:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages: $$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else \
	    echo "missing Debian packages; run as root:"; \
	    echo "  apt-get install --no-install-recommends $$missing"; exit 1; \
	  fi; \
	fi
	@if [ -x generators/install_converter.sh ]; then generators/install_converter.sh; fi

$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check uv==0.13.9
	$(UV) pip sync -q --python $(PY) requirements.lock
	$(UV) pip install -q --python $(PY) --no-deps --config-settings editable_mode=compat -e .
	@touch $(STAMP)

lock:
	$(UV) pip compile -q pyproject.toml --extra dev -o requirements.lock

demo: install
	$(VENV)/bin/recouvre demo --out out/demo

run: install
	$(VENV)/bin/recouvre serve

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install bench-tools
	$(PY) -m bench --readme README.md

# wrk drives the HTTP benchmark's load from a separate process.
bench-tools:
	@if ! command -v wrk >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian package: wrk"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk; \
	  else \
	    echo "missing Debian package; run as root:"; \
	    echo "  apt-get install --no-install-recommends wrk"; exit 1; \
	  fi; \
	fi

clean:
	rm -rf out .pytest_cache
