# `make demo` and `make test` set everything up themselves (a .venv with the
# pinned packages) on a fresh machine that reaches only the package registries.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo
PYTEST_ARGS ?=
DEMO_ARGS ?=
# The Node.js deployment example (tokenizers.js + onnxruntime-node) the tests run.
NODE_DIR := docs/deploy/node
NODE_STAMP := $(NODE_DIR)/node_modules/.installed

.PHONY: demo test lint install bench docs clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# The CLI and the demo are quiet by themselves (zoo.quiet); `DEMO_ARGS=-v` shows TensorFlow's logs.
demo: $(STAMP)
	$(BIN)/python -m zoo.demo --out $(DEMO_DIR) $(DEMO_ARGS)

# --ignore-scripts: onnxruntime-node ships its CPU binary; its install script
# only fetches optional GPU binaries from a host that may be unreachable.
$(NODE_STAMP): $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	cd $(NODE_DIR) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

# pytest imports TensorFlow in-process, outside the CLI's quiet setting.
# ZOO_REQUIRE_NODE=1: the Node.js deployment test must run, not skip.
test: $(STAMP) $(NODE_STAMP) lint
	TF_CPP_MIN_LOG_LEVEL=2 ZOO_REQUIRE_NODE=1 $(BIN)/python -m pytest -n 2 --dist loadgroup --durations=15 $(PYTEST_ARGS)

# ruff (lint + format) and the import-linter layers contract in setup.cfg.
lint: $(STAMP)
	$(BIN)/ruff check zoo tests benchmarks
	$(BIN)/ruff format --check zoo tests benchmarks
	$(BIN)/lint-imports

bench: $(STAMP)
	TF_CPP_MIN_LOG_LEVEL=2 $(BIN)/python benchmarks/bench_models.py resnet20 resnet50

docs: $(STAMP)
	$(BIN)/python -m zoo.docs docs/catalog.md

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache $(NODE_DIR)/node_modules
