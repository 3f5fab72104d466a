# Everything a newcomer needs: `make serve` and `make test` set up what is missing first.
# Stamp files keep repeated runs quick: nothing is reinstalled unless its inputs changed.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
PY      := $(VENV)/bin/python
UV      := $(VENV)/bin/uv
PELICAN := $(VENV)/bin/pelican
STAMPS  := .stamps
OUTPUT  := output
HOST    := 127.0.0.1
PORT    := 8000
# uv installs from uv.lock; the bootstrap takes the uv version the lock itself pins.
UV_VERSION := $(shell sed -n '/^name = "uv"$$/{n;s/^version = "\(.*\)"$$/\1/p;}' uv.lock)
# Never let uv fetch a Python of its own: the venv's 3.13 is the one.
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

# Python 3.13 through pyenv even when a parent process exported another PYENV_VERSION,
# else whatever python3.13 is on PATH.
PYTHON313 := $(shell PYENV_VERSION=3.13 pyenv which python3.13 2>/dev/null || command -v python3.13 2>/dev/null)

SOURCES := $(shell find content theme plugins site_plugins demos -type f ! -name '*.pyc' 2>/dev/null) \
           pelicanconf.py package-lock.json

.PHONY: help setup lock build serve comments test test-fast bench publish lint clean distclean

help:
	@echo "make serve     set up, build and serve the site on http://$(HOST):$(PORT) with reload"
	@echo "make test      set up and run the whole test suite (browser tests included)"
	@echo "make build     write the site to $(OUTPUT)/"
	@echo "make publish   build with publishconf.py (SITEURL from the environment)"
	@echo "make comments  run a local Isso comment server (isso.dev.cfg) on http://127.0.0.1:8080/"
	@echo "make lock      re-resolve the Python dependencies into uv.lock"
	@echo "make bench     print timings: demos, site build, browser"
	@echo "make lint      ruff check and ruff format --check"
	@echo "make clean     remove build output and caches (distclean also removes .venv, node_modules)"

$(STAMPS):
	@mkdir -p $@

# -- Python -------------------------------------------------------------------
$(PY):
	@if [ -z "$(PYTHON313)" ]; then \
	  echo "error: Python 3.13 not found: install it (e.g. 'pyenv install 3.13') and retry" >&2; exit 1; fi
	$(PYTHON313) -m venv $(VENV)

# uv from PyPI into the venv (also into one made before uv was used here).
$(UV): | $(PY)
	$(PY) -m pip install --quiet 'uv==$(UV_VERSION)'

# Exactly what uv.lock says (--locked also fails when pyproject.toml and the lock disagree).
$(STAMPS)/python-deps: pyproject.toml uv.lock | $(UV) $(STAMPS)
	$(UV) sync --locked --all-extras --python $(PY) --quiet
	@touch $@

lock: | $(UV)
	$(UV) lock --upgrade --python $(PY)

# -- Pyodide runtime from npm ---------------------------------------------------
$(STAMPS)/node-deps: package.json package-lock.json | $(STAMPS)
	@command -v npm >/dev/null || { echo "error: npm not found: install Node.js 18+ with npm (e.g. 'apt-get install nodejs npm') and retry" >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# -- The lab's code editor: CodeMirror 6 from npm, bundled into one ES module ----------
# Built output (gitignored, under build/): the plugin's lab.js imports it when a reader opens
# a figure's Code view. Made by `make setup`, so `make test` on a clean clone has it.
LAB_EDITOR := plugins/pyodide_demos/static/build/lab-editor.js
$(LAB_EDITOR): plugins/pyodide_demos/editor/lab-editor.mjs $(STAMPS)/node-deps
	node_modules/.bin/esbuild $< --bundle --format=esm --minify --target=es2020 \
	  --log-level=warning --outfile=$@

# -- Chromium for the browser tests (Debian's package, never a downloaded build) ------
$(STAMPS)/chromium: | $(STAMPS)
	@if [ -n "$$CHROMIUM" ] || command -v chromium >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing Debian chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "error: chromium not found: run 'sudo apt-get install chromium' (or set CHROMIUM=/path/to/chromium)" >&2; exit 1; fi
	@touch $@

setup: $(STAMPS)/python-deps $(STAMPS)/node-deps $(LAB_EDITOR)

# -- Site ---------------------------------------------------------------------
$(OUTPUT)/index.html: $(SOURCES) $(STAMPS)/python-deps $(STAMPS)/node-deps $(LAB_EDITOR)
	$(PELICAN) content -s pelicanconf.py -o $(OUTPUT)
	@touch $@

build: $(OUTPUT)/index.html

serve: build
	@echo "Serving on http://$(HOST):$(PORT)/ (Ctrl-C stops)"
	# Not strict while serving: a bad fence skips that page with one logged line instead of
	# failing, so the reload loop waits for the fix rather than retrying at once.
	$(PELICAN) content -s pelicanconf.py -o $(OUTPUT) -e PYODIDE_DEMOS_STRICT=false \
	  --autoreload --listen --bind $(HOST) --port $(PORT)

publish: setup
	$(PELICAN) content -s publishconf.py -o $(OUTPUT)

# A local Isso for trying comments: its database lives in .isso/ (gitignored). Build the
# site with ISSO_URL set to see the threads: make serve ISSO_URL=http://127.0.0.1:8080/
comments: $(STAMPS)/python-deps
	@mkdir -p .isso
	@echo "Isso on http://127.0.0.1:8080/ (isso.dev.cfg; Ctrl-C stops)"
	$(VENV)/bin/isso -c isso.dev.cfg run

# -- Checks ---------------------------------------------------------------------
test: setup $(STAMPS)/chromium
	$(PY) -m pytest

test-fast: setup
	$(PY) -m pytest -m "not browser"

bench: setup $(STAMPS)/chromium
	$(PY) bench/run.py

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

clean:
	rm -rf $(OUTPUT) .cache .pytest_cache .ruff_cache
	find . -name __pycache__ -not -path './.venv/*' -not -path './node_modules/*' -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) node_modules $(STAMPS)
