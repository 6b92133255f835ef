"""PostgreSQL: a first sign-up in one round trip, the function in signup_pg.sql.

It runs check_sign_up's rules and the write (signup_rules lists each rule beside its twin) in
one implicit transaction, so the activity-row lock is held only for the rest of the call and
its commit. The file is read once at import and installed at start-up (server lifespan, test
set-up) and, if missing, on first use: it is code, versioned by its name, shipped with this
module.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tortoise import connections
from tortoise.backends.asyncpg.client import AsyncpgDBClient
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.transactions import in_transaction

from models.activity import SignUp, SignUpStatus
from resolvers.signup_rules import Outcome, SignUpResult
from resolvers.slots import state_of, with_retries

FUNCTION_NAME = "tongxin_sign_up_v2"
SIGN_UP_FUNCTION = Path(__file__).with_name("signup_pg.sql").read_text(encoding="utf-8")
SIGN_UP_CALL = f"SELECT * FROM {FUNCTION_NAME}($1, $2, $3, $4)"
_INSTALL_LOCK = 4_242_001  # pg_advisory_xact_lock key: workers starting together


def applies(conn: BaseDBAsyncClient | None = None) -> bool:
    return str((conn or connections.get("default")).capabilities.dialect) == "postgres"


async def install_sign_up_function(conn: BaseDBAsyncClient | None = None) -> None:
    """Creates (or replaces) the sign-up function on PostgreSQL; nothing on SQLite."""
    conn = conn or connections.get("default")
    if not applies(conn):
        return
    async with in_transaction(conn.connection_name) as tx:
        await tx.execute_query(f"SELECT pg_advisory_xact_lock({_INSTALL_LOCK})")
        await tx.execute_script(SIGN_UP_FUNCTION)


def _missing_function(exc: BaseException) -> bool:
    text = f"{exc} {exc.__cause__ or ''}"
    return FUNCTION_NAME in text and "does not exist" in text


async def _call(conn: BaseDBAsyncClient, arguments: list[Any]) -> Mapping[str, Any]:
    """The function's row. On the pooled client (the hot path), straight through its asyncpg
    pool: tortoise's query wrapper, debug log and dict copy are a measurable share of a
    sign-up's CPU. asyncpg's errors are translated, and the statement logged (DEBUG, tortoise's
    db_client logger), as tortoise's own methods do; a transaction's client goes through
    tortoise."""
    pool = getattr(conn, "_pool", None)
    if pool is None or not isinstance(conn, AsyncpgDBClient) or \
            isinstance(conn, TransactionalDBClient):
        return (await conn.execute_query_dict(SIGN_UP_CALL, arguments))[0]
    if conn.log.isEnabledFor(logging.DEBUG):  # as tortoise logs its statements
        conn.log.debug("%s: %s", SIGN_UP_CALL, arguments)
    return await conn._translate_exceptions(  # type: ignore[return-value]
        lambda _client: pool.fetchrow(SIGN_UP_CALL, *arguments))


async def _call_installing(conn: BaseDBAsyncClient, arguments: list[Any]) -> Mapping[str, Any]:
    try:
        return await _call(conn, arguments)
    except OperationalError as exc:
        if not _missing_function(exc):
            raise
        await install_sign_up_function(conn)
        return await _call(conn, arguments)


async def sign_up_at_once(activity_id: int, volunteer_id: int, *,
                          requirements_checked: bool) -> SignUpResult:
    """A first sign-up (no row of this person to revive). `requirements_checked`: the caller
    ran check_requirements, so the function skips them."""
    conn = connections.get("default")
    arguments = [volunteer_id, activity_id, datetime.now(UTC), requirements_checked]
    try:
        row = await with_retries(lambda: _call_installing(conn, arguments))
    except IntegrityError:  # the same person's concurrent request inserted first
        return SignUpResult(Outcome.SIGNED_UP)
    outcome = Outcome(row["outcome"])
    if outcome not in (Outcome.CONFIRMED, Outcome.WAITLISTED):
        return SignUpResult(outcome)
    confirmed = outcome == Outcome.CONFIRMED
    sign_up = SignUp(id=int(row["sign_up_id"]), activity_id=activity_id, volunteer_id=volunteer_id,
                     status=SignUpStatus.CONFIRMED if confirmed else SignUpStatus.WAITLISTED,
                     waitlist_seq=None if confirmed else int(row["waitlist_seq"]),
                     checked_in_at=None, checked_out_at=None, created_at=row["created_at"],
                     updated_at=row["created_at"])
    sign_up._saved_in_db = True
    return SignUpResult(outcome, sign_up, state_of(activity_id, row))
