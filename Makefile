# `make demo` and `make test` work on a fresh clone; everything else is a helper.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The first interpreter of each version that really runs (a pyenv shim may not).
find_python = $(shell for p in $$(command -v python$(1)) $$HOME/.pyenv/versions/$(1)*/bin/python$(1) /usr/bin/python$(1); do \
	[ -x "$$p" ] && "$$p" -c "" 2>/dev/null && { echo "$$p"; break; }; done)
PYTHON ?= $(or $(call find_python,3.11),$(shell command -v python3))
PYTHON_NEW ?= $(call find_python,3.12)
VENV := .venv
VENV_NEW := .venv-django6
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=
# Test databases are named after the checkout, so that two checkouts on one server never share one.
export TEST_DB_TAG ?= _$(shell printf %s "$(CURDIR)" | cksum | cut -d' ' -f1)
# The sign-in integrations' host packages (django_engagelab_otp/contrib), tested in every run.
CONTRIB_EXTRAS := otp,two-factor,allauth,drf
# tests/contrib run apart, with the host packages' apps installed (tests/contrib/settings.py).
CONTRIB := tests/contrib --ds tests.contrib.settings

.PHONY: help demo test test-sqlite test-postgres test-django6 lint docs bench reliability mutation dist clean

help:
	@echo "make demo   - run the demo site against the local simulator (ports: DEMO_PORT, SIMULATOR_PORT)"
	@echo "make test   - the whole suite: SQLite + PostgreSQL (Django 5.2), and Django 6 on Python 3.12"
	@echo "make lint   - ruff"
	@echo "make bench  - benchmarks (bench/)"
	@echo "make docs   - the documentation site (mkdocs.yml, docs/) into site/, warnings as errors"
	@echo "make reliability - the fault, bad-input, concurrency, secret-scan and cache-backend figures (docs/reliability.md)"
	@echo "make mutation - mutmut's scores of the safeguard modules, each against its own tests (not part of make test)"

$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip
	$(VENV)/bin/python -m pip install -q -e '.[test,dev,docs,redis,$(CONTRIB_EXTRAS),tasks,celery,rq]' 'Django>=5.2,<6'
	touch $@

$(VENV_NEW)/.installed: setup.cfg pyproject.toml
	@test -n "$(PYTHON_NEW)" || { echo "Python 3.12 is needed to test Django 6"; exit 1; }
	test -x $(VENV_NEW)/bin/python || $(PYTHON_NEW) -m venv $(VENV_NEW)
	$(VENV_NEW)/bin/python -m pip install -q --upgrade pip
	$(VENV_NEW)/bin/python -m pip install -q -e '.[test,demo,redis,$(CONTRIB_EXTRAS),tasks,celery,rq]' 'Django>=6,<6.2'
	touch $@

venv: $(VENV)/.installed

# What the demo needs only: the package from this checkout. -qq: pip shows
# errors only, so that the demo's instructions are what is left on the screen.
$(VENV)/.demo-installed: setup.cfg pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/python -m pip install -qq --disable-pip-version-check -e .
	@touch $@

# DEMO_PORT, SIMULATOR_PORT and DEMO_DATABASE reach the demo through the environment.
demo: $(VENV)/.demo-installed
	@$(VENV)/bin/python -m django_engagelab_otp.demo

# The demo's makemigrations check runs on an in-memory database: it reads no data and leaves no file behind.
test: $(VENV)/.installed
	@$(VENV)/bin/python -c "import django; print('Django', django.get_version())"
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres
	$(MAKE) --no-print-directory test-django6
	$(MAKE) --no-print-directory docs
	$(VENV)/bin/ruff check .
	DATABASE_URL=sqlite://:memory: $(VENV)/bin/python -m django_engagelab_otp.demo.manage makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=tests.contrib.settings $(VENV)/bin/python -m django makemigrations --check --dry-run

test-sqlite: $(VENV)/.installed
	$(VENV)/bin/pytest -n 2 --cov --cov-report= $(PYTEST_ARGS)
	$(VENV)/bin/pytest -n 2 $(CONTRIB) --cov --cov-append --cov-report=term $(PYTEST_ARGS)

# The wheel's demo (-m wheel) uses no database of the suite: the SQLite run, on the same Python and
# Django, has already tried it. The Django 6 run tries it again, on Python 3.12 and Django 6.
test-postgres: $(VENV)/.installed
	@if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || $(VENV)/bin/python -c "import psycopg; psycopg.connect('$(PG_URL)').close()" 2>/dev/null; then \
		DATABASE_URL=$(PG_URL) $(VENV)/bin/pytest -n 2 -m "not wheel" $(PYTEST_ARGS) && \
		DATABASE_URL=$(PG_URL) $(VENV)/bin/pytest -n 2 $(CONTRIB) $(PYTEST_ARGS); \
	elif [ -n "$$REQUIRE_POSTGRES" ]; then echo "PostgreSQL does not answer on 127.0.0.1:5432"; exit 1; \
	else echo "PostgreSQL does not answer: skipping the PostgreSQL run"; fi

test-django6: $(VENV_NEW)/.installed
	@$(VENV_NEW)/bin/python -c "import django; print('Django', django.get_version())"
	DATABASE_URL=$(PG_URL) $(VENV_NEW)/bin/pytest -n 2 -m "not browser" $(PYTEST_ARGS)
	DATABASE_URL=$(PG_URL) $(VENV_NEW)/bin/pytest -n 2 $(CONTRIB) $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

# The tables of settings, errors and magic recipients are written from the code (docs/hooks.py).
docs: $(VENV)/.installed
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

bench: $(VENV)/.installed
	$(VENV)/bin/python bench/run.py

reliability: $(VENV)/.installed
	PG_URL=$(PG_URL) $(VENV)/bin/python bench/reliability.py

# Not part of `make test`: it runs each safeguard's tests once per mutant. MUTATION_ARGS: groups, --survivors.
MUTATION_ARGS ?=
$(VENV)/.mutation: $(VENV)/.installed setup.cfg
	$(VENV)/bin/python -m pip install -q -e '.[mutation]'
	touch $@

mutation: $(VENV)/.mutation
	$(VENV)/bin/python bench/mutation.py $(MUTATION_ARGS)

dist: $(VENV)/.installed
	rm -rf dist && $(VENV)/bin/python -m build --outdir dist .

clean:
	rm -rf $(VENV) $(VENV_NEW) dist build site *.egg-info .coverage
