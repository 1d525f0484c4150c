# `make run` and `make test` each do the whole set-up from a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export FLASK_APP := wsgi

.PHONY: run test install install-dev migrate seed browser clean

run: install migrate seed
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

# Tests run in PYTEST_WORKERS processes (pytest-xdist; default one per CPU);
# PYTEST_WORKERS=1 runs them serially in one process.
PYTEST_WORKERS ?= auto
XDIST = $(if $(filter 0 1,$(PYTEST_WORKERS)),-n 0,-n $(PYTEST_WORKERS) --dist loadgroup)

test: install-dev browser
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
# here). Installed when missing and we may; otherwise the e2e tests skip.
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache
