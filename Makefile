# Every target uses the project virtual environment in .venv, created on demand from
# pyproject.toml; nothing relies on packages installed by hand.
PYTHON_BOOTSTRAP ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
KUBECONFIG_LOCAL := $(CURDIR)/.local/cluster/kubeconfig
PYTEST_ARGS ?=

.PHONY: all venv binaries dev test unit integration cluster-up cluster-down cluster-status demo lint bench mutation clean

all: test

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON_BOOTSTRAP) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev]'
	@touch $(STAMP)

venv: $(STAMP)

## Build (or reuse from the cache outside the repo) the control-plane binaries.
binaries: $(STAMP)
	@$(PY) -m localcluster.cli build

## The main job: the controller manager against the embedded local cluster
## (or a real cluster: `make dev KUBECONFIG=/path/to/kubeconfig`).
dev: $(STAMP)
	@$(PY) -m localcluster.cli dev

## Every test: unit, then integration against a real control plane the suite starts itself.
test: $(STAMP)
	@$(PY) -m localcluster.cli test -- $(PYTEST_ARGS)

unit: $(STAMP)
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

integration: $(STAMP)
	$(PY) -m pytest tests/integration tests/e2e $(PYTEST_ARGS)

cluster-up: $(STAMP)
	@$(PY) -m localcluster.cli up --detach

cluster-down: $(STAMP)
	@$(PY) -m localcluster.cli down

cluster-status: $(STAMP)
	@$(PY) -m localcluster.cli status

## The seed walkthrough's multi-batch release on a fresh local cluster (KIND=deployment only for now).
demo: $(STAMP)
	@KIND=$${KIND:-deployment} $(PY) deploy/demo/run.py $(DEMO_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy rollouts runtime webhooks

bench: $(STAMP)
	$(PY) bench/cluster.py

## Mutation testing of rollouts/rollout, rollouts/release and webhooks/workload against the unit suite
## ([tool.mutmut] in pyproject.toml), then the share of mutants killed per directory.
## MUTMUT_CHILDREN: parallel workers (keep it at 1-2 on a shared machine). MUTANTS: a mutant-name glob
## to run a sample, e.g. MUTANTS='rollouts.rollout.*'. Results are kept in mutants/ (incremental).
MUTMUT_CHILDREN ?= 2
MUTANTS ?=
mutation: $(STAMP)
	-$(VENV)/bin/mutmut run --max-children $(MUTMUT_CHILDREN) $(MUTANTS)
	$(PY) bench/mutation_score.py --per-file

clean:
	rm -rf $(VENV) .local .pytest_cache mutants
