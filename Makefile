# Every target does its own setup and says what it is doing: a virtualenv in .venv, the project in editable
# mode, the Debian packages (scripts/system-deps.sh) and the real parts built from tools/ (`make tools`).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
## Which real parts `make tools` builds (default: all of tools/*/part.toml).
PARTS ?=
## The parts the demo runs; the rest are for the tests.
DEMO_PARTS ?= go-service

.PHONY: venv system-deps tools test unit integration lint demo bench mutants clean

$(STAMP): pyproject.toml
	@bash scripts/step.sh "Python virtualenv in $(VENV)" python3 -m venv $(VENV)
	@bash scripts/step.sh "pip: upgrade pip" $(VENV)/bin/pip install -q --upgrade pip
	@bash scripts/step.sh "pip: the project and its dependencies (pip install -e '.[dev]')" \
		$(VENV)/bin/pip install -q -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

system-deps:
	@bash scripts/system-deps.sh

## Build (once, cached in ~/.cache/observability) every real part; one status line per part.
## Outside CI a part that cannot be built is reported and its tests skip; with CI=true it fails the run.
tools: $(STAMP) system-deps
	@$(PY) -m observability.local.parts build $(PARTS) || [ "$$CI" != "true" ]

## Unit + integration tests (container suites skip without Docker). pytest exit 5 (no tests) fails.
test: tools
	$(PY) -m pytest tests $(PYTEST_ARGS)

unit: $(STAMP)
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check observability tests
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

## The whole pipeline on this machine with a live summary (docs/demo.md); Ctrl-C stops everything.
demo: $(STAMP) system-deps
	@$(MAKE) --no-print-directory tools PARTS="$(DEMO_PARTS)"
	$(VENV)/bin/obs demo

## The processor benchmark (one JSON line; figures in docs/processor.md).
bench: $(STAMP) ; $(PY) bench/process_bench.py

## Plant each deliberate bug of scripts/mutants.py in a copy of the delivery code; fails if any survives its tests.
mutants: $(STAMP)
	@$(MAKE) --no-print-directory tools PARTS="kafka"
	$(PY) scripts/mutants.py

clean:
	rm -rf build .demo .pytest_cache .mypy_cache .ruff_cache
