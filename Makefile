# Every target does its own setup: a virtualenv in .venv, the project in editable mode, and (for the
# targets that run real servers) the Debian packages they need.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: venv system-deps test unit integration lint demo bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

system-deps:
	bash scripts/system-deps.sh

## Unit + integration tests (container suites skip without Docker). pytest exit 5 (no tests) fails.
test: $(STAMP) system-deps
	$(PY) -m pytest tests $(PYTEST_ARGS)

unit: $(STAMP)
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check observability tests
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

## The whole pipeline on this machine with a live summary (docs/demo.md); Ctrl-C stops everything.
demo: $(STAMP)
	SKIP_KAPI=1 bash scripts/system-deps.sh && $(VENV)/bin/obs demo

## The processor benchmark (one JSON line; figures in docs/processor.md).
bench: $(STAMP) ; $(PY) bench/process_bench.py

clean:
	rm -rf build .demo .pytest_cache .mypy_cache .ruff_cache
