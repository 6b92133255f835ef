# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Python may write bytecode caches (__pycache__, ignored by git). Some machines set
# PYTHONDONTWRITEBYTECODE=1 for everything, and then every process compiles every module it
# imports from source: ~1 s of CPU more per server, CLI command, test worker or multiprocessing
# child, and `make test` starts over a hundred of them (pytest's assertion rewriting is not
# cached either). The install below relies on first imports writing the caches (--no-compile).
unexport PYTHONDONTWRITEBYTECODE
# The Python install and the test-only npm install are independent: `make test` runs them side
# by side (each alone leaves a core idle for ~10 s of a clean clone's set-up).
MAKEFLAGS += --jobs=2
# Test-only Node packages (the GraphQL-over-HTTP audit, real GraphQL clients): tests/node.
NODE_STAMP := tests/node/node_modules/.installed

.PHONY: run test test-fast lint schema fuzz screenshots cluster bench-cluster soak chaos clean

UV := $(VENV)/bin/uv

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# The packages are installed by uv (Astral's installer, from PyPI into the venv): the same
# packages pip would install, in 8 s instead of 15 (2 s once its cache is warm), which is on
# the critical path of every clean clone's `make test` and every newcomer's `make run`. Like
# pip with --no-compile, it writes no bytecode at install time: a module's bytecode is
# written when it is first imported, not for every module of every dependency.
$(UV): | $(PY)
	$(PY) -m pip install -q --disable-pip-version-check uv

$(STAMP): pyproject.toml | $(UV)
	$(UV) pip install -q --python $(PY) -e ".[dev]"
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

# Every test on both backends (browsers and the scale-out cluster included) in pytest-xdist
# workers, with ruff + mypy running alongside; either failing fails the build. Ends with the 15
# slowest tests. TEST_WORKERS sets the number of worker processes.
TEST_WORKERS ?= 3
XDIST = -n $(TEST_WORKERS) --dist loadgroup

test: $(STAMP) $(NODE_STAMP)
	@lint_log=$$(mktemp); \
	{ $(PY) -m ruff check . && $(PY) -m mypy; } >$$lint_log 2>&1 & lint=$$!; \
	$(PY) -m pytest $(XDIST) --durations=15; tests=$$?; \
	wait $$lint; linted=$$?; \
	echo "ruff + mypy:"; cat $$lint_log; rm -f $$lint_log; \
	[ $$tests -eq 0 ] && [ $$linted -eq 0 ]

# The inner loop (well under a minute): SQLite + memory only, no server processes, browsers
# or cluster. `make test` before pushing.
test-fast: $(STAMP)
	$(PY) -m pytest $(XDIST) --backend sqlite -m "not e2e and not cluster" -q --durations=5

# Long fuzz run on both backends: per strategy, operations tried, share past input validation,
# failures. Knobs: FUZZ_EXAMPLES_PER_FIELD (random), FUZZ_STATEFUL_ROUNDS, FUZZ_SEED (docs/inputs.md).
fuzz: $(STAMP)
	FUZZ_EXAMPLES_PER_FIELD=$${FUZZ_EXAMPLES_PER_FIELD:-60} FUZZ_STATEFUL_ROUNDS=$${FUZZ_STATEFUL_ROUNDS:-20} \
		$(PY) -m pytest tests/fuzz/test_schema_fuzz.py -s -q

# docs/screenshots/*.png from the demo data, in headless Chromium (apt-get install chromium chromium-driver;
# the tests' browsers are chromium-headless-shell, .ci/run installs all three)
screenshots: $(STAMP)
	$(PY) -m tests.web.screenshots

# The scale-out set-up on this machine (PostgreSQL primary + streaming replica, 6-node Redis
# Cluster, 3 app nodes, haproxy) on free ports; Ctrl-C stops every process it started.
cluster: $(STAMP)
	$(PY) scripts/cluster.py --nodes $${NODES:-3}

bench-cluster: $(STAMP)
	$(PY) -m bench.cluster

# Hours of a day's mixed traffic (Locust, bench/locustfile.py) on PostgreSQL + Redis with 2
# workers and open WebSockets: p50/p99 per operation over time, answers by code, RSS and open
# fds per worker, then the integrity check; plots in docs/operations/soak-*.png.
# SOAK_MINUTES (30), SOAK_USERS, SOAK_WATCHERS, SOAK_VOLUNTEERS, SOAK_MIX (docs/operations.md).
SOAK_MINUTES ?= 30
soak: $(STAMP)
	@$(PY) -c 'import locust' 2>/dev/null || $(UV) pip install -q --python $(PY) -e ".[soak]"
	$(PY) -m bench.soak --minutes $(SOAK_MINUTES)

# Scripted faults under load, on a PostgreSQL and a redis-server of its own (never the
# machine's): worker SIGKILL in a flash crowd, PostgreSQL restarts (fast, immediate), Redis
# stopped 20 s then flushed, never-reading WebSocket clients, PostgreSQL's link cut 10 s.
# FAULTS=kill,pg-cut picks some; CHAOS_* knobs in bench/chaos.py.
chaos: $(STAMP)
	$(PY) -m bench.chaos $(if $(FAULTS),--faults $(FAULTS))

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache tests/node/node_modules
