# Every target uses the project virtual environment in .venv, created on demand from
# pyproject.toml; nothing relies on packages installed by hand.
PYTHON_BOOTSTRAP ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
KUBECONFIG_LOCAL := $(CURDIR)/.local/cluster/kubeconfig
PYTEST_ARGS ?=
# make test's lanes: pytest-xdist workers, each with its own local cluster (1 = no xdist).
TEST_LANES ?= 2

IMAGE ?= kruise-rollouts-py:latest

.PHONY: all image venv binaries dev test unit integration cluster-up cluster-down cluster-status demo lint bench mutation clean hash-layout hash-vectors hash-layout-at

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
## (or a real cluster: `make dev KUBECONFIG=/path/to/kubeconfig`). The local cluster gets the
## Gateway API CRDs (cached YAML, ≈ 3 s to install) so HTTPRoute-routed Rollouts can be tried, and
## minimal Istio VirtualService/DestinationRule CRDs (customNetworkRefs; deploy/localcluster/istio/).
dev: $(STAMP)
	@$(PY) -m localcluster.cli dev --gateway-api --istio

## Every test: unit, then integration against a real control plane the suite starts itself.
test: $(STAMP)
	@$(PY) -m localcluster.cli test --lanes $(TEST_LANES) -- $(PYTEST_ARGS)

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

## The seed walkthrough on a fresh local cluster: SCENARIO=multibatch (default; KIND=deployment,
## statefulset, daemonset, cloneset, advanced-statefulset, advanced-daemonset), SCENARIO=canary (part 2:
## echoserver, extra canary Deployment, nginx weights), SCENARIO=ab (part 3: A/B by header) or
## SCENARIO=bluegreen (echoserver released blue-green: new pods beside the old, then the traffic, approved).
demo: $(STAMP)
	@SCENARIO=$${SCENARIO:-multibatch} KIND=$${KIND:-deployment} $(PY) deploy/demo/run.py $(DEMO_ARGS)

## The manager's container image (Dockerfile) with the first usable docker / podman / buildah;
## one line and exit 1 when none is usable. `make image IMAGE=registry/name:tag`.
image:
	@$(PYTHON_BOOTSTRAP) deploy/image/build.py --tag $(IMAGE)

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

## Revision hash data (docs/release.md "Revision hash compatibility"): regenerate the Go type layout of
## v1.PodTemplateSpec and the test vectors from tools/podhash, which pins k8s.io/api in its go.mod.
## Needs Go and the Go module proxy; the unit tests only read the committed files.
PODHASH_GO := cd tools/podhash && TZ= GOTOOLCHAIN=local GOFLAGS=-mod=mod go run .
PODHASH_VECTORS := tests/unit/release/data/podhash_vectors.jsonl

hash-layout:
	$(PODHASH_GO) layout > $(CURDIR)/rollouts/release/podhash/layout.json

hash-vectors:
	@mkdir -p $(dir $(PODHASH_VECTORS))
	$(PODHASH_GO) vectors -n 500 -seed 1 > $(CURDIR)/$(PODHASH_VECTORS)

## The same layout for other k8s.io/api versions (V=v0.22.17, V=v0.26.15), built in a scratch copy of
## the tool: the unit tests reproduce the seed walkthrough's real hashes with them (docs/release.md).
hash-layout-at:
	@test -n "$(V)" || { echo "usage: make hash-layout-at V=v0.26.15"; exit 2; }
	@rm -rf .local/podhash-$(V) && mkdir -p .local && cp -r tools/podhash .local/podhash-$(V)
	cd .local/podhash-$(V) && GOTOOLCHAIN=local GOFLAGS=-mod=mod go get k8s.io/api@$(V) k8s.io/apimachinery@$(V)
	cd .local/podhash-$(V) && TZ= GOTOOLCHAIN=local GOFLAGS=-mod=mod go run . layout \
		> $(CURDIR)/tests/unit/release/data/podhash_layout_$(V).json
