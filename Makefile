# Two commands: `make run` (everything, with demo data) and `make test` (the whole suite).
PYTHON ?= python3
PORT ?= 8000
# Test processes for `make test` (pytest-xdist): one per core by default.
TEST_PROCESSES ?= auto
VENV := .venv
PY := $(VENV)/bin/python

# When this `make` started: `make run` reports how long it took to serve the login page.
STARTED := $(shell date +%s)

.PHONY: setup run test lint format bench demo migrate clean

# What the app needs to run (`make run`, production) ...
$(VENV)/.runtime: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (found " + sys.version.split()[0] + ")")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# ... and, on top, the test and tooling packages (`make test`, lint, bench).
$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

var/gbstats/.installed: requirements-reference.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet --no-deps --upgrade --target var/gbstats -r requirements-reference.txt
	touch $@

# Evidently and NannyML, the references of the drift engine's tests. They need pandas 2, so
# they live in a venv of their own (about 2.5 GB), kept outside the checkout and keyed by
# the pin file, so a fresh clone on the same machine reuses it.
REFS_VENV ?= $(HOME)/.cache/mlprojects/refs-$(shell cat requirements-monitoring-reference.txt | $(PYTHON) -c 'import hashlib,sys; print(hashlib.sha1(sys.stdin.buffer.read()).hexdigest()[:12])')
$(REFS_VENV)/.installed: requirements-monitoring-reference.txt
	test -x $(REFS_VENV)/bin/python || $(PYTHON) -m venv $(REFS_VENV)
	$(REFS_VENV)/bin/python -m pip install --quiet -r requirements-monitoring-reference.txt
	touch $@

# Full mlflow for the prototype's test against a real scoring server (`mlflow models serve`).
# Its pins (gunicorn<27, pyarrow<26) clash with the app's, so it gets a venv of its own,
# outside the checkout and keyed by the pin file, like the drift references.
MLFLOW_VENV ?= $(HOME)/.cache/mlprojects/mlflow-$(shell cat requirements-mlflow-serve.txt | $(PYTHON) -c 'import hashlib,sys; print(hashlib.sha1(sys.stdin.buffer.read()).hexdigest()[:12])')
$(MLFLOW_VENV)/.installed: requirements-mlflow-serve.txt
	test -x $(MLFLOW_VENV)/bin/python || $(PYTHON) -m venv $(MLFLOW_VENV)
	$(MLFLOW_VENV)/bin/python -m pip install --quiet -r requirements-mlflow-serve.txt
	touch $@

setup: $(VENV)/.dev node_modules/.installed  ## install Python (runtime and dev) and npm dependencies only

migrate: $(VENV)/.runtime node_modules/.installed
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py load_demo

run: demo  ## serve the app with a Celery worker and beat on http://127.0.0.1:$(PORT)
	@echo ""
	@echo "  mlprojects is starting on http://127.0.0.1:$(PORT)  (Ctrl-C stops the web server, the worker and beat)"
	@echo "  Demo logins (password: mlprojects-demo):"
	@echo "    owner@example.com  admin@example.com  member@example.com"
	@echo "    stakeholder@example.com  viewer@example.com   (organization 'demo')"
	@echo "    other@example.com                               (organization 'other')"
	@echo ""
	@$(PY) -c "$$WAIT_READY" $(STARTED) $(PORT) $$$$ & APP_PORT=$(PORT) $(VENV)/bin/honcho start -f Procfile

# Polls the login page in the background of `make run` and prints the time since `make`
# started once it is served; stops polling when `make run` ends (argv: start, port, pid).
define WAIT_READY
import os, sys, time, urllib.request
started, port, shell = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
url = f"http://127.0.0.1:{port}/accounts/login/"
while True:
    try:
        os.kill(shell, 0)
    except OSError:
        sys.exit()
    try:
        if urllib.request.urlopen(url, timeout=5).status == 200:
            break
    except OSError:
        pass
    time.sleep(0.5)
print(f"\n  mlprojects is ready in {time.time() - started:.0f} s: {url}\n", flush=True)
endef
export WAIT_READY

test: setup var/gbstats/.installed $(REFS_VENV)/.installed $(MLFLOW_VENV)/.installed  ## the whole suite (SQLite by default; PostgreSQL when DATABASE_URL is set)
	DJANGO_SETTINGS_MODULE=mlprojects.settings.test GBSTATS_PATH=var/gbstats MONITORING_REFERENCE_PYTHON=$(REFS_VENV)/bin/python MLFLOW_SERVE_PYTHON=$(MLFLOW_VENV)/bin/python $(PY) -m pytest -n $(TEST_PROCESSES) --dist loadgroup

lint: setup  ## style, migrations, API schema and import contracts (CI runs it before the tests)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DJANGO_SETTINGS_MODULE=mlprojects.settings.test $(PY) manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=mlprojects.settings.test $(PY) manage.py spectacular --fail-on-warn --file /dev/null
	$(VENV)/bin/lint-imports --no-cache

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: setup  ## benchmark scripts; each prints ratios against a reference measured in the same run
	@for script in bench/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf var/broker var/test.sqlite3* staticfiles
