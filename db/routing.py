"""Read-replica routing (DATABASE_READ_URL): Tortoise's own router mechanism, switched per
operation by a context variable.

Tortoise routes by model only (`db_for_read(model)`), but the same model is sometimes safe to
read from a lagging replica (an activity in a public list) and sometimes not (the sign-up a
volunteer just made). So the router answers "replica" only while `replica_reads()` is active
in the current context; everything else, and every write, uses the primary ("default").
`schema/replica.py` switches it on for whole GraphQL queries made only of replica-safe root
fields; raw SQL (stats, leaderboard fallback) asks `read_connection()`.

Inside a transaction the router is never consulted for the replica: a transaction's reads
must see its own writes, so `replica_reads()` is ignored while one is open on the primary
(Tortoise's `in_transaction` binds "default" in the context; we check for that).

A replica that cannot be reached (down, restarting, network) must not fail reads the primary
can answer: its client (db/asyncpg_replica) runs such a read on the primary and marks the
replica down, and while it is marked down (REPLICA_RETRY_SECONDS) every read goes to the
primary without trying it. A probe in each process (`watch_replica` in db/asyncpg_replica)
asks the replica `SELECT 1` every REPLICA_PROBE_SECONDS, so its state follows the replica
itself, not only the reads that happened to fail: a dead replica stays marked down without a
read paying for the attempt, and one that is back is used again at the next probe.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from tortoise import connections
from tortoise import transactions as tortoise_transactions
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient

REPLICA = "replica"
REPLICA_RETRY_SECONDS = 5.0
REPLICA_PROBE_SECONDS = 2.0
_replica_reads: ContextVar[bool] = ContextVar("tongxin_replica_reads", default=False)
log = logging.getLogger("tongxin.replica")


class _ReplicaHealth:
    """This process's view of the replica: reachable, or down until a moment (monotonic).

    Read by /readyz and by the metrics; written by the probe and by failed or answered reads.
    Each change of state is logged once, as one line; repeated failures are silent."""

    def __init__(self) -> None:
        self.down_until = 0.0
        self.down_since: float | None = None
        self.last_error = ""

    @property
    def reachable(self) -> bool:
        return self.down_since is None

    def usable(self) -> bool:
        return self.down_until <= time.monotonic()

    def unreachable(self, error: BaseException) -> None:
        now = time.monotonic()
        self.last_error = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        if self.down_since is None:
            self.down_since = now
            log.warning("read replica unreachable (%s); reads go to the primary, checking the "
                        "replica every %.0f s", self.last_error, REPLICA_PROBE_SECONDS)
        self.down_until = now + REPLICA_RETRY_SECONDS

    def answered(self) -> None:
        if self.down_since is not None:
            log.warning("read replica answering again after %.1f s; replica reads resume",
                        time.monotonic() - self.down_since)
            self.down_since = None
            self.down_until = 0.0
            self.last_error = ""


replica_health = _ReplicaHealth()


def replica_configured() -> bool:
    try:
        connections.get(REPLICA)
    except Exception:
        return False
    return True


def _in_primary_transaction() -> bool:
    return isinstance(connections.get("default"), TransactionalDBClient)


def reading_from_replica() -> bool:
    return (_replica_reads.get() and replica_health.usable() and replica_configured()
            and not _in_primary_transaction())


@contextlib.contextmanager
def replica_reads(enabled: bool = True) -> Iterator[None]:
    """Reads in this block may come from the replica (seconds behind at worst)."""
    token = _replica_reads.set(enabled)
    try:
        yield
    finally:
        _replica_reads.reset(token)


def read_connection() -> BaseDBAsyncClient:
    """For raw SQL reads: the replica inside `replica_reads()`, else the primary."""
    return connections.get(REPLICA if reading_from_replica() else "default")


def read_connection_name() -> str:
    return REPLICA if reading_from_replica() else "default"


class ReadReplicaRouter:
    """Installed by `tortoise_config` when DATABASE_READ_URL is set."""

    def db_for_read(self, model: Any) -> str | None:
        return REPLICA if reading_from_replica() else None

    def db_for_write(self, model: Any) -> str | None:
        return None


def default_transactions() -> None:
    """`in_transaction()` / `@atomic()` without a connection name mean the primary.

    Tortoise refuses a bare `in_transaction()` once a second connection exists ("You are
    running with multiple databases..."), and the code base (and every branch adding to it)
    writes bare ones: the replica must not turn each of them into an INTERNAL error. So,
    once, at configuration time, the name defaults to "default" - the only connection writes
    ever use. Pinned by the scale-out tests (every sign-up there runs in one)."""
    module: Any = tortoise_transactions
    if getattr(module._get_connection, "_tongxin_default", False):
        return
    original = module._get_connection

    def get_connection(connection_name: str | None) -> BaseDBAsyncClient:
        return original(connection_name or "default")  # type: ignore[no-any-return]

    get_connection._tongxin_default = True  # type: ignore[attr-defined]
    module._get_connection = get_connection
