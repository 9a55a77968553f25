# The README's two commands are `make run` and `make test`; everything else is a helper.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy
unexport PYTHONDONTWRITEBYTECODE

PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
RUN := $(UV) run --frozen --no-sync
SCORING := $(RUN) scoring
SCALE ?= 1.0
SEED ?= 42

.PHONY: help setup run test check lint typecheck format pytest bench clean-data

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m pip install --quiet --user uv || $(PYTHON) -m pip install --quiet uv

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --all-groups --all-extras --compile-bytecode
	@touch $@

setup: .venv/.synced  ## install uv and the locked environment (.venv)

run: setup  ## the main job: generate, validate, collect, rate (see README)
	$(SCORING) generate --scale $(SCALE) --seed $(SEED)
	$(SCORING) validate --quarantine
	$(SCORING) collect
	$(SCORING) rate tax
	$(SCORING) rate rural
	$(SCORING) lists

test: setup check pytest  ## lint, type check and the whole test suite

check: lint typecheck  ## ruff lint + format check, mypy strict on scoring/

lint:
	$(RUN) ruff check scoring tests bench
	$(RUN) ruff format --check scoring tests bench

typecheck:
	$(RUN) mypy

format:  ## apply ruff fixes and formatting
	$(RUN) ruff check --fix scoring tests bench
	$(RUN) ruff format scoring tests bench

pytest:
	$(RUN) pytest -n 2 scoring tests

bench: setup  ## run every benchmark at its default size (one at a time)
	@for b in bench/bench_*.py; do echo "== $$b"; $(RUN) python $$b || exit 1; done

clean-data:  ## remove generated data (data/raw, curated, ...), keeping the folders' READMEs
	find data -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
