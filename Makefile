# One set of commands for people, pre-commit hooks and GitHub Actions alike.
# `make help` lists them. Every target bootstraps what it needs: on a fresh machine
# with Python 3.11+, git and make, `make run` installs uv (from PyPI, into .tools/),
# the locked environment (.venv/) and then reproduces the pipeline.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
UV_VERSION ?= 0.13.9
# A uv already on PATH is used as is; otherwise one is installed into .tools/.
UV ?= $(or $(shell command -v uv 2>/dev/null),.tools/bin/uv)
VENV := .venv
BIN := $(VENV)/bin
RUN := $(BIN)/python -m

# DVC never phones home from this project, whatever the user's global config says.
export DVC_NO_ANALYTICS := 1
export DVC_NOSCM_UPDATE_CHECK := 1
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Stage commands in dvc.yaml call `python`: make it the project's.
export PATH := $(CURDIR)/$(BIN):$(PATH)

BASE ?=
INPUT ?=
PUSH ?= 0

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --quiet
	@touch $@

.PHONY: install
install: $(VENV)/.synced ## Install the locked environment (uv and all)

.PHONY: run
run: install ## Reproduce the pipeline on the bundled sample (validate, split, train, evaluate)
	$(BIN)/dvc repro
	@$(BIN)/dvc metrics show

.PHONY: test
test: lint ## Lint, then run the whole test suite
	$(BIN)/pytest

.PHONY: lint
lint: install ## Check lint and formatting (ruff) without changing files
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

.PHONY: format
format: install ## Fix lint findings and format the code
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

.PHONY: clean
clean: ## Remove generated files (keeps data, lockfiles and committed results)
	rm -rf dist build reports .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# --- Review report and merge gates (src/gitops) ---------------------------------------

.PHONY: report
report: install ## Compare the workspace with BASE (default: merge base with main); exit 1 when a gate fails
	$(RUN) gitops.report $(if $(BASE),--base "$(BASE)")

.PHONY: bench-report
bench-report: install ## Time the report's comparison on a synthetic 200,000-row test set
	$(BIN)/python tests/benchmarks/bench_report.py
