# `make run` and `make test` each do the whole set-up from a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export FLASK_APP := wsgi

.PHONY: run test bench wrk install install-dev migrate seed browser redis clean

run: install migrate seed
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

# Tests run in PYTEST_WORKERS processes (pytest-xdist; default one per CPU);
# PYTEST_WORKERS=1 runs them serially in one process.
PYTEST_WORKERS ?= auto
XDIST = $(if $(filter 0 1,$(PYTEST_WORKERS)),-n 0,-n $(PYTEST_WORKERS) --dist loadgroup)

test: install-dev browser redis
	$(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

migrate: install
	$(BIN)/flask db upgrade

# Loads the demo catalogue into an empty database only; SEED_DEMO=0 skips it.
seed: migrate
	$(BIN)/flask seed-demo --if-empty

# Browser tests drive Debian's Chromium (Playwright's own download cannot work
# here) and check every page with axe-core, from npm at the version
# package-lock.json pins. Chromium, and Debian's nodejs/npm when npm is missing,
# are installed when we may; `npm ci` runs when the lock file changed. Without
# npm the browser tests skip, except in CI (CI=true), where that is an error.
browser: node_modules/.package-lock.json
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

node_modules/.package-lock.json: package.json package-lock.json
	@if ! command -v npm >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's nodejs and npm for axe-core (browser tests)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	fi
	@if command -v npm >/dev/null; then \
		npm ci --prefer-offline --no-audit --no-fund --loglevel=error; \
	else \
		case "$$CI" in 1|true|yes|TRUE|True) \
			echo "npm is required in CI: it installs axe-core for the browser tests" >&2; exit 1;; \
		esac; \
		echo "npm not found: axe-core not installed, so the browser tests will skip (install nodejs and npm, then run make browser)"; \
	fi

# The cross-process rate limit test starts Debian's redis-server (skipped without
# it outside CI). Installed when missing and we may.
redis:
	@if ! command -v redis-server >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's redis-server for the rate limit tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	fi

# The benchmark (not part of `make test`): starts its own PostgreSQL, fake Stripe,
# gunicorn and outbox worker on loopback, runs every scenario with wrk, stops them
# all and writes bench/results/latest.json and latest.md (bench/run.py says how).
# BENCH_DURATION sets the seconds per run (default 10).
bench: install-dev wrk
	$(BIN)/python bench/run.py

# Debian's wrk, the benchmark's load generator, installed when missing and we may.
wrk:
	@if ! command -v wrk >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's wrk for make bench"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache node_modules test-artifacts
