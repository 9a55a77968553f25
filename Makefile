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

.PHONY: help setup run test check lint typecheck format pytest bench clean-data marts serve screenshots lab reports mlflow-ui

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m pip install --quiet --user uv || $(PYTHON) -m pip install --quiet uv

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --all-groups --all-extras --compile-bytecode
	@touch $@

setup: .venv/.synced  ## install uv and the locked environment (.venv)

AS_OF ?= 2013-12-31
HOST ?= 127.0.0.1
PORT ?= 8866

run: setup  ## the main job: generate -> validate -> rate -> collect -> train -> promote -> score -> export -> marts -> serve
	$(SCORING) generate --scale $(SCALE) --seed $(SEED)
	$(SCORING) validate --quarantine
	$(SCORING) rate tax
	$(SCORING) collect
	$(SCORING) rate rural
	$(SCORING) lists
	$(SCORING) train sme --model scorecard
	$(SCORING) train sme --model gbm
	$(SCORING) promote sme || [ $$? -eq 1 ]  # exit 1: the gate refused, the champion stays
	$(SCORING) train household --model scorecard
	$(SCORING) train household --model gbm
	$(SCORING) promote household || [ $$? -eq 1 ]
	$(SCORING) score --segment sme --as-of $(AS_OF)
	$(SCORING) score --segment household --as-of $(AS_OF)
	$(SCORING) dispute import
	$(SCORING) export --bank ICBCGD --segment sme --as-of $(AS_OF)
	$(SCORING) export --bank GDRCU --segment household --as-of $(AS_OF)
	$(SCORING) evaluate
	$(SCORING) marts
	@echo "Dashboards: http://$(HOST):$(PORT)/  (Ctrl-C stops them)"
	$(SCORING) serve --host $(HOST) --port $(PORT)

test: setup check pytest  ## lint, type check and the whole test suite

check: lint typecheck  ## ruff lint + format check, mypy strict on scoring/

lint:
	$(RUN) ruff check scoring tests bench notebooks
	$(RUN) ruff format --check scoring tests bench notebooks

typecheck:
	$(RUN) mypy

format:  ## apply ruff fixes and formatting
	$(RUN) ruff check --fix scoring tests bench notebooks
	$(RUN) ruff format scoring tests bench notebooks

pytest:
	$(RUN) pytest -n 2 --dist loadgroup scoring tests

marts: setup  ## rebuild the dashboard marts (data/marts)
	$(SCORING) marts

serve: setup  ## serve the leadership dashboards on http://$(HOST):$(PORT)
	$(SCORING) serve --host $(HOST) --port $(PORT)

screenshots: setup  ## regenerate docs/screenshots (SCALE=1.0)
	$(RUN) python bench/bench_dashboards.py --scale $(SCALE) --repeat 1 --screenshots docs/screenshots

LAB_PORT ?= 8888
LAB_ARGS ?=
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: setup  ## JupyterLab on http://127.0.0.1:$(LAB_PORT) with the notebooks (py:percent files open as notebooks)
	$(RUN) jupyter lab --ip 127.0.0.1 --port $(LAB_PORT) --no-browser $(ALLOW_ROOT) \
		--ServerApp.root_dir=notebooks --LabApp.app_settings_dir=configs/jupyterlab $(LAB_ARGS)

reports: setup  ## execute notebooks/ on the current data and write HTML reports to reports/
	$(SCORING) reports

mlflow-ui: setup  ## the MLflow UI on the embedded store, http://127.0.0.1:5000
	$(RUN) mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db --host 127.0.0.1 --port 5000

bench: setup  ## run every benchmark at its default size (one at a time)
	@for b in bench/bench_*.py; do echo "== $$b"; $(RUN) python $$b || exit 1; done

clean-data:  ## remove generated data (data/raw, curated, ...), keeping the folders' READMEs
	find data -mindepth 1 -maxdepth 1 ! -name README.md -exec rm -rf {} +
