# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Test-only Node packages (the GraphQL-over-HTTP audit, real GraphQL clients): tests/node.
NODE_STAMP := tests/node/node_modules/.installed

.PHONY: run test lint schema fuzz screenshots cluster bench-cluster clean

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e ".[dev]"
	@touch $(STAMP)

$(NODE_STAMP): tests/node/package.json tests/node/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "Node.js 20 with npm is required for the tests"; exit 1; }
	npm ci --prefix tests/node --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)

run: $(STAMP)
	$(PY) server.py migrate
	$(PY) server.py seed-demo
	exec $(PY) server.py serve

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy

schema: $(STAMP)
	$(PY) server.py export-schema > schema.graphql

test: $(STAMP) $(NODE_STAMP) lint
	$(PY) -m pytest

# Long hostile-input run on both backends: prints operations tried, fields covered, failures.
fuzz: $(STAMP)
	FUZZ_EXAMPLES_PER_FIELD=$${FUZZ_EXAMPLES_PER_FIELD:-60} $(PY) -m pytest tests/fuzz/test_schema_fuzz.py -s -q

# docs/screenshots/*.png from the demo data, in headless Chromium (apt-get install chromium chromium-driver)
screenshots: $(STAMP)
	$(PY) -m tests.web.screenshots

# The scale-out set-up on this machine (PostgreSQL primary + streaming replica, 6-node Redis
# Cluster, 3 app nodes, haproxy) on free ports; Ctrl-C stops every process it started.
cluster: $(STAMP)
	$(PY) scripts/cluster.py --nodes $${NODES:-3}

bench-cluster: $(STAMP)
	$(PY) -m bench.cluster

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache tests/node/node_modules
