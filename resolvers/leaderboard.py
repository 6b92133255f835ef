"""Leaderboards (光荣榜) over approved hours: volunteers or teams, per week, month, year or all
time, optionally per district (the district of the activity where the hours were served).

With Redis, each board is a sorted set (member = zero-padded id, score = centi-hours, so sums
are exact integers) kept current by `notify_hours_changed` and rebuilt from SQL when its
marker key is missing. Without Redis (or when Redis fails) SQL answers directly. Ties: more
hours first, then the lower id; equal hours share a rank (1, 2, 2, 4).

Rebuilds racing approvals count every delta exactly once. Each delta carries its id (the
hours-audit row written with it) and arrives after its commit. A rebuild first raises the
board's `rebuilding` flag, then reads, in one snapshot, the board from SQL and the ids of the
deltas committed in the last `SEEN_WINDOW` (`seen`). While the flag is up, deltas are also
journalled. Installing (one Lua script) adds the journalled deltas the snapshot did not see,
swaps the board in and keeps `seen`; later arrivals whose id is in `seen` are skipped, since
the snapshot already counted them. So: committed before the snapshot → counted by SQL only;
after it → by its increment only. (A delta whose notify comes more than SEEN_WINDOW after its
commit and after a rebuild could count twice; notifies follow commits within milliseconds.)
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from tortoise import connections
from tortoise.transactions import in_transaction

from core.redis_outage import REDIS_FAILED
from db.routing import read_connection, read_connection_name, replica_reads
from resolvers.errors import BadInput
from resolvers.services import RedisClient, services
from resolvers.sql import Sql, fetch
from resolvers.validation import NAME_MAX, check_text
from subscriptions.channels import NAMESPACE

log = logging.getLogger("tongxin.leaderboard")

# Periods start at local midnight (weeks on Monday) in the platform's time zone.
TIME_ZONE = ZoneInfo(os.environ.get("TONGXIN_TIME_ZONE", "Asia/Shanghai"))
LEADERBOARD_MAX = 100
ALL_DISTRICTS = "*"
# Old period boards expire; the current ones are refreshed by use.
TTL_SECONDS = {"WEEK": 70 * 86400, "MONTH": 400 * 86400, "YEAR": 800 * 86400, "ALL_TIME": None}
REBUILD_LOCK_SECONDS = 300
SEEN_WINDOW = timedelta(minutes=15)
# Hours-audit actions that move approved hours (and so the boards).
BOARD_ACTIONS = ("APPROVE", "ADJUST", "REJECT")
# Whole-table GROUP BYs hash-aggregate in memory instead of walking an index in key order
# (at 5M records: 3.6 s instead of 15.6 s with PostgreSQL's default 4 MB).
AGGREGATE_WORK_MEM = os.environ.get("AGGREGATE_WORK_MEM", "64MB")


# The rows (volunteers, teams) shown on boards are kept per process this long: the top of a
# board is the most read list of the platform, and its hours come fresh from Redis anyway; a
# renamed volunteer shows under the new name on boards within this time.
BOARD_ROWS_TTL_SECONDS = float(os.environ.get("BOARD_ROWS_TTL_SECONDS", "5"))
BOARD_ROWS_MAX = 5_000
_board_rows: dict[tuple[str, int], tuple[float, Any]] = {}


def recent_board_rows(kind: str, ids: Sequence[int]) -> tuple[dict[int, Any], list[int]]:
    """Rows of `kind` read for a board less than BOARD_ROWS_TTL_SECONDS ago, and the ids
    that must be read again."""
    now = time.monotonic()
    found: dict[int, Any] = {}
    missing: list[int] = []
    for entity_id in ids:
        cached = _board_rows.get((kind, entity_id))
        if cached is not None and cached[0] > now:
            found[entity_id] = cached[1]
        else:
            missing.append(entity_id)
    return found, missing


def remember_board_rows(kind: str, rows: dict[int, Any]) -> None:
    if BOARD_ROWS_TTL_SECONDS <= 0:
        return
    if len(_board_rows) + len(rows) > BOARD_ROWS_MAX:
        _board_rows.clear()
    expires = time.monotonic() + BOARD_ROWS_TTL_SECONDS
    for entity_id, row in rows.items():
        _board_rows[kind, entity_id] = (expires, row)


def forget_board_rows() -> None:
    """Drops the cached board rows (after a database reset, e.g. between tests)."""
    _board_rows.clear()


class Period(StrEnum):
    WEEK = "WEEK"
    MONTH = "MONTH"
    YEAR = "YEAR"
    ALL_TIME = "ALL_TIME"


class Scope(StrEnum):
    VOLUNTEERS = "v"
    TEAMS = "t"


@dataclass(frozen=True)
class Standing:
    rank: int
    entity_id: int
    hours: float


def period_start(period: Period, moment: datetime) -> datetime | None:
    """The local start of the period containing `moment` (None for all time)."""
    local = moment.astimezone(TIME_ZONE)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == Period.WEEK:
        return midnight - timedelta(days=midnight.weekday())
    if period == Period.MONTH:
        return midnight.replace(day=1)
    if period == Period.YEAR:
        return midnight.replace(month=1, day=1)
    return None


def period_end(period: Period, start: datetime) -> datetime:
    if period == Period.WEEK:
        return start + timedelta(days=7)
    if period == Period.MONTH:
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start.replace(year=start.year + 1)


def bucket(period: Period, moment: datetime) -> str:
    start = period_start(period, moment)
    if start is None:
        return "all"
    if period == Period.WEEK:
        return f"w{start:%Y%m%d}"
    if period == Period.MONTH:
        return f"m{start:%Y%m}"
    return f"y{start:%Y}"


def board_key(scope: Scope, period: Period, moment: datetime, district: str | None) -> str:
    """The board's sorted set. The part in braces is a Redis Cluster hash tag: the board and
    its `:ready`, `:dirty`, `:lock` and `:staging:*` keys hash to one slot, so each script
    below (which touches one board's keys) runs on one shard."""
    board = f"{scope.value}:{bucket(period, moment)}:{district or ALL_DISTRICTS}"
    return f"{NAMESPACE}:lb:{{{board}}}"


def member(entity_id: int) -> str:
    return f"{entity_id:010d}"


def centi(hours: float) -> int:
    return round(hours * 100)


# KEYS: board, marker, rebuilding, journal, seen (groups of 5; one board's keys share its hash
# tag, so one call per board stays on one slot of a cluster). ARGV: member, delta, delta id
# ('' if unknown). A ready board gets the delta unless its last rebuild's snapshot already
# counted it (`seen`); while a rebuild runs the delta is also journalled for the new board.
_INCREMENT = """
for i = 1, #KEYS, 5 do
  local counted = ARGV[3] ~= '' and redis.call('SISMEMBER', KEYS[i + 4], ARGV[3]) == 1
  if redis.call('EXISTS', KEYS[i + 1]) == 1 and not counted then
    local score = redis.call('ZINCRBY', KEYS[i], ARGV[2], ARGV[1])
    if tonumber(score) <= 0 then redis.call('ZREM', KEYS[i], ARGV[1]) end
  end
  if redis.call('EXISTS', KEYS[i + 2]) == 1 then
    redis.call('RPUSH', KEYS[i + 3], ARGV[1] .. ' ' .. ARGV[2] .. ' ' .. ARGV[3])
  end
end
return 1
"""

# KEYS: board, marker. ARGV: n. The top n with ties at the boundary resolved by lowest member
# (members are zero-padded ids, so ZRANGEBYSCORE's lexical order is id order). nil: no marker.
_TOP = """
if redis.call('EXISTS', KEYS[2]) == 0 then return false end
local n = tonumber(ARGV[1])
local top = redis.call('ZREVRANGE', KEYS[1], 0, n - 1, 'WITHSCORES')
if #top < 2 * n then return top end
local last = top[#top]
local result = {}
for i = 1, #top, 2 do
  if tonumber(top[i + 1]) > tonumber(last) then
    table.insert(result, top[i]); table.insert(result, top[i + 1])
  end
end
local tied = redis.call('ZRANGEBYSCORE', KEYS[1], last, last, 'WITHSCORES', 'LIMIT', 0,
                        n - #result / 2)
for i = 1, #tied do table.insert(result, tied[i]) end
return result
"""

# KEYS: board, marker, rebuilding, journal, staging, staged seen, seen. ARGV: ttl (0: none),
# seen ttl. Adds the journalled deltas the snapshot did not count, then swaps the board in.
_INSTALL = """
local staged_seen = KEYS[6]
for _, entry in ipairs(redis.call('LRANGE', KEYS[4], 0, -1)) do
  local who, delta, id = string.match(entry, '^(%S+) (%S+) ?(%S*)$')
  if id == '' or redis.call('SISMEMBER', staged_seen, id) == 0 then
    redis.call('ZINCRBY', KEYS[5], delta, who)
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', 0)
if redis.call('EXISTS', KEYS[5]) == 1 then
  redis.call('RENAME', KEYS[5], KEYS[1])
else
  redis.call('DEL', KEYS[1])
end
if redis.call('EXISTS', staged_seen) == 1 then
  redis.call('RENAME', staged_seen, KEYS[7]); redis.call('EXPIRE', KEYS[7], ARGV[2])
else
  redis.call('DEL', KEYS[7])
end
redis.call('DEL', KEYS[3], KEYS[4])
redis.call('SET', KEYS[2], '1')
local ttl = tonumber(ARGV[1])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl); redis.call('EXPIRE', KEYS[2], ttl)
end
return 1
"""


async def notify_hours_changed(
    volunteer_id: int, team_id: int, district: str, delta: float, approved_at: datetime,
    delta_id: int | None = None,
) -> None:
    """After commit of an approval/adjustment/rejection: apply `delta` hours to the boards.

    `district` is the activity's district and `approved_at` the record's approval time as
    stored (a rejection of approved hours passes the old approval time and a negative delta).
    `delta_id` is the hours-audit row written with the change (see the module docstring)."""
    redis = services().redis
    amount = centi(delta)
    if redis is None or amount == 0:
        return
    try:
        script = redis.register_script(_INCREMENT)
        for scope, entity_id in ((Scope.VOLUNTEERS, volunteer_id), (Scope.TEAMS, team_id)):
            for period in Period:
                for where in (None, district):
                    key = board_key(scope, period, approved_at, where)
                    await script(keys=[key, f"{key}:ready", f"{key}:rebuilding",
                                       f"{key}:journal", f"{key}:seen"],
                                 args=[member(entity_id), amount,
                                       "" if delta_id is None else str(delta_id)])
    except REDIS_FAILED:
        log.warning("leaderboard update failed; boards rebuild from SQL when flushed",
                    exc_info=True)


def check_board(period: Period, district: str | None, first: int | None) -> tuple[str | None, int]:
    size = 20 if first is None else first
    if not 1 <= size <= LEADERBOARD_MAX:
        raise BadInput("first", f"first must be between 1 and {LEADERBOARD_MAX}.")
    checked = check_text(district, "district", max_len=NAME_MAX) if district is not None else None
    return checked, size


async def leaderboard(period: Period, district: str | None = None, teams: bool = False,
                      first: int | None = 20, *, now: datetime | None = None) -> list[Standing]:
    """The top `first` of a board (public: names and hours only)."""
    where, size = check_board(period, district, first)
    scope = Scope.TEAMS if teams else Scope.VOLUNTEERS
    moment = now or datetime.now(timezone.utc)
    redis = services().redis
    if redis is not None:
        try:
            return await _from_redis(redis, scope, period, moment, where, size)
        except REDIS_FAILED:
            log.warning("leaderboard read from Redis failed; answering from SQL", exc_info=True)
    return _ranked(await board_rows(scope, period, moment, where, limit=size))


async def _from_redis(redis: RedisClient, scope: Scope, period: Period, moment: datetime,
                      district: str | None, size: int) -> list[Standing]:
    key = board_key(scope, period, moment, district)
    top = redis.register_script(_TOP)
    for _ in range(3):
        flat = await top(keys=[key, f"{key}:ready"], args=[size])
        if flat is not None:
            pairs = [(int(flat[i]), int(float(flat[i + 1]))) for i in range(0, len(flat), 2)]
            return _ranked(sorted(pairs, key=lambda p: (-p[1], p[0]))[:size])
        if not await rebuild_board(scope, period, moment, district):
            break  # another process is rebuilding it: SQL answers meanwhile
    return _ranked(await board_rows(scope, period, moment, district, limit=size))


def _ranked(rows: Sequence[tuple[int, int]]) -> list[Standing]:
    standings: list[Standing] = []
    for position, (entity_id, score) in enumerate(rows, start=1):
        rank = standings[-1].rank if standings and centi(standings[-1].hours) == score else position
        standings.append(Standing(rank=rank, entity_id=entity_id, hours=score / 100))
    return standings


def _board_sql(scope: Scope, period: Period, moment: datetime, district: str | None,
               limit: int | None) -> Sql:
    entity = "sr.volunteer_id" if scope == Scope.VOLUNTEERS else "a.team_id"
    where = [Sql("sr.status = :approved", approved="APPROVED")]
    start = period_start(period, moment)
    if start is not None:
        where.append(Sql("sr.approved_at >= :start AND sr.approved_at < :end",
                         start=start.astimezone(timezone.utc),
                         end=period_end(period, start).astimezone(timezone.utc)))
    if district is not None:
        where.append(Sql("a.district = :district", district=district))
    join = "JOIN activity a ON a.id = sr.activity_id" if (
        scope == Scope.TEAMS or district is not None) else ""
    total = "SUM(ROUND(sr.hours * 100))"
    sql = Sql(f"SELECT {entity} AS entity, {total} AS score FROM service_record sr {join} "
              f"WHERE :where GROUP BY {entity} HAVING {total} > 0",
              where=Sql.join(" AND ", where))
    if limit is not None:
        sql += f" ORDER BY score DESC, entity ASC LIMIT {int(limit)}"
    return sql


def _scores(rows: list[dict[str, Any]]) -> list[tuple[int, int]]:
    return [(int(row["entity"]), round(float(row["score"]))) for row in rows]


async def board_rows(scope: Scope, period: Period, moment: datetime, district: str | None,
                     *, limit: int | None = None) -> list[tuple[int, int]]:
    """(entity id, centi-hours) from the database, best first, ties by id."""
    return _scores(await run_aggregate(_board_sql(scope, period, moment, district, limit)))


async def board_snapshot(scope: Scope, period: Period, moment: datetime,
                         district: str | None) -> tuple[list[tuple[int, int]], list[int]]:
    """The whole board and the ids of recently committed deltas, read in one snapshot
    (PostgreSQL REPEATABLE READ; SQLite's write transaction holds writers off)."""
    board = _board_sql(scope, period, moment, district, None)
    recent = Sql("SELECT id FROM hours_audit WHERE created_at >= :since AND :action",
                 since=datetime.now(timezone.utc) - SEEN_WINDOW,
                 action=Sql.one_of("action", BOARD_ACTIONS))
    async with in_transaction() as transaction:
        if transaction.capabilities.dialect == "postgres":
            await transaction.execute_script(
                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ; "
                f"SET LOCAL work_mem = '{AGGREGATE_WORK_MEM}'")
        rows = await fetch(transaction, board)
        seen = await fetch(transaction, recent)
    return _scores(rows), [int(row["id"]) for row in seen]


async def run_aggregate(sql: Sql) -> list[dict[str, Any]]:
    """A read-only aggregate; on PostgreSQL with a larger `work_mem` for its transaction.
    On the read replica inside `replica_reads()` (the leaderboard query's SQL fallback)."""
    connection = read_connection()
    if connection.capabilities.dialect != "postgres":
        return await fetch(connection, sql)
    async with in_transaction(read_connection_name()) as transaction:
        await transaction.execute_script(f"SET LOCAL work_mem = '{AGGREGATE_WORK_MEM}'")
        return await fetch(transaction, sql)


async def rebuild_board(scope: Scope, period: Period, moment: datetime,
                        district: str | None) -> bool:
    """Rebuilds one board from SQL. False when another process holds the rebuild lock."""
    redis = services().redis
    if redis is None:
        return False
    key = board_key(scope, period, moment, district)
    lock = f"{key}:lock"
    token = uuid.uuid4().hex
    if not await redis.set(lock, token, nx=True, ex=REBUILD_LOCK_SECONDS):
        return False
    try:
        install = redis.register_script(_INSTALL)
        ttl = TTL_SECONDS[period.value] or 0
        rebuilding, journal = f"{key}:rebuilding", f"{key}:journal"
        await redis.delete(journal)
        await redis.set(rebuilding, token, ex=REBUILD_LOCK_SECONDS)
        # From the primary: a replica lagging behind increments already applied to Redis
        # would install a board missing them.
        with replica_reads(False):
            rows, seen = await board_snapshot(scope, period, moment, district)
        staging, staged_seen = f"{key}:staging:{token}", f"{key}:seen:{token}"
        for offset in range(0, len(rows), 10_000):
            chunk = rows[offset:offset + 10_000]
            await redis.zadd(staging, {member(entity): score for entity, score in chunk})
        for offset in range(0, len(seen), 10_000):
            await redis.sadd(staged_seen, *seen[offset:offset + 10_000])
        await install(keys=[key, f"{key}:ready", rebuilding, journal, staging, staged_seen,
                            f"{key}:seen"], args=[ttl, int(SEEN_WINDOW.total_seconds())])
        return True
    finally:
        if await redis.get(lock) == token.encode():
            await redis.delete(lock)


async def rebuild_all(now: datetime | None = None) -> int:
    """Rebuilds every current board (each period, both scopes, all districts and each one)."""
    moment = now or datetime.now(timezone.utc)
    if services().redis is None:
        return 0
    _, rows = await connections.get("default").execute_query(
        "SELECT DISTINCT district FROM activity")
    districts: list[str | None] = [None, *sorted(row["district"] for row in rows)]
    rebuilt = 0
    for scope in Scope:
        for period in Period:
            for district in districts:
                rebuilt += int(await rebuild_board(scope, period, moment, district))
    return rebuilt
