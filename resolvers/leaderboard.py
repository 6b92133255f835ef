"""Leaderboards (光荣榜) over approved hours: volunteers or teams, per week, month, year or all
time, optionally per district (the district of the activity where the hours were served).

With Redis, each board is a sorted set (member = zero-padded id, score = centi-hours, so sums
are exact integers) kept current by `notify_hours_changed` and rebuilt from SQL when its
marker key is missing. Without Redis (or when Redis fails) SQL answers directly. Ties: more
hours first, then the lower id; equal hours share a rank (1, 2, 2, 4).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from redis.exceptions import RedisError
from tortoise import connections
from tortoise.transactions import in_transaction

from models.routing import read_connection, read_connection_name, replica_reads
from resolvers.errors import BadInput
from resolvers.services import RedisClient, services
from resolvers.sql import SqlParams
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
# Whole-table GROUP BYs hash-aggregate in memory instead of walking an index in key order
# (at 5M records: 3.6 s instead of 15.6 s with PostgreSQL's default 4 MB).
AGGREGATE_WORK_MEM = os.environ.get("AGGREGATE_WORK_MEM", "64MB")


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


# KEYS: board, marker, dirty (one board: one slot on a cluster). ARGV: member, delta.
# Applies the delta to boards
# that are ready; a board being rebuilt gets its dirty flag so the rebuild starts over.
_INCREMENT = """
for i = 1, #KEYS, 3 do
  if redis.call('EXISTS', KEYS[i + 1]) == 1 then
    local score = redis.call('ZINCRBY', KEYS[i], ARGV[2], ARGV[1])
    if tonumber(score) <= 0 then redis.call('ZREM', KEYS[i], ARGV[1]) end
  else
    redis.call('SET', KEYS[i + 2], '1', 'EX', 600)
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

# KEYS: board, marker, dirty, staging. ARGV: ttl (0: none). Installs the staged board unless
# an increment arrived during the rebuild (then the caller rebuilds again).
_INSTALL = """
if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('DEL', KEYS[4]); return 0 end
if redis.call('EXISTS', KEYS[4]) == 1 then
  redis.call('RENAME', KEYS[4], KEYS[1])
else
  redis.call('DEL', KEYS[1])
end
redis.call('SET', KEYS[2], '1')
local ttl = tonumber(ARGV[1])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl); redis.call('EXPIRE', KEYS[2], ttl)
end
return 1
"""


async def notify_hours_changed(
    volunteer_id: int, team_id: int, district: str, delta: float, approved_at: datetime
) -> None:
    """After commit of an approval/adjustment/rejection: apply `delta` hours to the boards.

    `district` is the activity's district and `approved_at` the record's approval time as
    stored (a rejection of approved hours passes the old approval time and a negative delta)."""
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
                    await script(keys=[key, f"{key}:ready", f"{key}:dirty"],
                                 args=[member(entity_id), amount])
    except RedisError:
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
        except RedisError:
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


async def board_rows(scope: Scope, period: Period, moment: datetime, district: str | None,
                     *, limit: int | None = None) -> list[tuple[int, int]]:
    """(entity id, centi-hours) from the database, best first, ties by id."""
    param = SqlParams()
    entity = "sr.volunteer_id" if scope == Scope.VOLUNTEERS else "a.team_id"
    where = [f"sr.status = {param('APPROVED')}"]
    start = period_start(period, moment)
    if start is not None:
        end = period_end(period, start)
        where.append(f"sr.approved_at >= {param(start.astimezone(timezone.utc))}")
        where.append(f"sr.approved_at < {param(end.astimezone(timezone.utc))}")
    if district is not None:
        where.append(f"a.district = {param(district)}")
    join = "JOIN activity a ON a.id = sr.activity_id" if (
        scope == Scope.TEAMS or district is not None) else ""
    total = "SUM(ROUND(sr.hours * 100))"
    sql = (f"SELECT {entity} AS entity, {total} AS score FROM service_record sr {join} "
           f"WHERE {' AND '.join(where)} GROUP BY {entity} HAVING {total} > 0")
    if limit is not None:
        sql += f" ORDER BY score DESC, entity ASC LIMIT {int(limit)}"
    rows = await run_aggregate(sql, param.values)
    return [(int(row["entity"]), round(float(row["score"]))) for row in rows]


async def run_aggregate(sql: str, values: list[Any]) -> list[dict[str, Any]]:
    """A read-only aggregate; on PostgreSQL with a larger `work_mem` for its transaction.
    On the read replica inside `replica_reads()` (the leaderboard query's SQL fallback)."""
    connection = read_connection()
    if connection.capabilities.dialect != "postgres":
        return list(await connection.execute_query_dict(sql, values))
    async with in_transaction(read_connection_name()) as transaction:
        await transaction.execute_script(f"SET LOCAL work_mem = '{AGGREGATE_WORK_MEM}'")
        return list(await transaction.execute_query_dict(sql, values))


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
        for _ in range(5):
            await redis.delete(f"{key}:dirty")
            # From the primary: a replica lagging behind increments already applied to Redis
            # (and not flagged dirty) would install a board missing them until the next rebuild.
            with replica_reads(False):
                rows = await board_rows(scope, period, moment, district)
            staging = f"{key}:staging:{token}"
            for offset in range(0, len(rows), 10_000):
                chunk = rows[offset:offset + 10_000]
                await redis.zadd(staging, {member(entity): score for entity, score in chunk})
            if await install(keys=[key, f"{key}:ready", f"{key}:dirty", staging], args=[ttl]):
                return True
        return False
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
