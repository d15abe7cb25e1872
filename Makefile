# `make demo` and `make test` work on a fresh clone: each creates .venv when it
# is missing and installs the project into it first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: demo lint test bench schemas clean

$(INSTALLED): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(INSTALLED)

demo: $(INSTALLED)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash scripts/demo.sh

lint: $(INSTALLED)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy

test: lint
	bash scripts/ensure_chromium.sh
	$(PY) -m pytest

bench: $(INSTALLED)
	$(PY) bench/run.py
	$(PY) bench/compare_bench.py
	$(PY) bench/authoring_bench.py
	$(PY) bench/otel_bench.py
	$(PY) bench/sync_bench.py
	$(PY) bench/http_bench.py

schemas: $(INSTALLED)
	$(VENV)/bin/gitevals schema --write schemas
	$(VENV)/bin/gitevals schema --write example-evals/schemas

clean:
	rm -rf $(VENV) .pytest_cache
