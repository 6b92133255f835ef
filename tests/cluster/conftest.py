"""The scale-out set-up for the `cluster` tests: the same `Cluster` that `make cluster` runs
(scripts/cluster.py), started once per test run in a temporary directory on free ports.

`redis_cluster` starts only the 6-node Redis Cluster (broker tests); `scale_out` adds the
PostgreSQL primary + streaming replica, 3 app nodes and haproxy. Locally missing binaries skip
these tests loudly; under CI=true they fail the run."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio.cluster import RedisCluster

from scripts.cluster import Cluster, missing_binaries
from subscriptions.cluster import cluster_client
from tests.conftest import IN_CI
from tests.test_health import record_migrations  # noqa: F401 - a fixture for the replica tests


def _require_binaries() -> None:
    missing = missing_binaries()
    if missing:
        message = "cluster binaries missing: " + ", ".join(missing)
        if IN_CI:
            pytest.fail(message + " (CI=true: a missing service is a failure)")
        pytest.skip(message)


METRICS_TOKEN = "cluster-metrics-token"


@pytest.fixture(scope="package")
def cluster_set_up(tmp_root: Path) -> Iterator[Cluster]:
    _require_binaries()
    # Package scope: the dozen processes stop once the last cluster test ran, they do not
    # sit on the shared cores while the rest of the suite runs.
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="cluster-", dir=tmp_root)))
    try:
        cluster.base.mkdir(parents=True, exist_ok=True)
        cluster.start_redis()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="package")
def redis_cluster(cluster_set_up: Cluster) -> Cluster:
    cluster_set_up.wait_redis_ok()
    return cluster_set_up


@pytest.fixture(scope="package")
def scale_out(cluster_set_up: Cluster) -> Cluster:
    """Everything: PostgreSQL primary + replica, Redis Cluster, 3 app nodes, haproxy."""
    cluster = cluster_set_up
    if not cluster.app:
        cluster.start_postgres()
        cluster.app_env["METRICS_TOKEN"] = METRICS_TOKEN  # tests read /metrics on each node
        cluster.start_apps()
        cluster.start_haproxy()
    cluster.wait_redis_ok()
    return cluster


@pytest.fixture
async def cluster_client_(redis_cluster: Cluster) -> AsyncIterator[RedisCluster]:
    client = cluster_client(redis_cluster.redis_url)
    await client.initialize()
    try:
        yield client
    finally:
        await client.aclose()
