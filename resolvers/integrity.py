"""The database's integrity, checked from its rows alone: after a restore, a soak, a fault or a
fuzz run. Plain SQL, the same on SQLite and PostgreSQL; read-only.

- counters equal their rows: an activity's `taken_count` is its CONFIRMED plus OFFERED
  sign-ups, `offered_count` its OFFERED ones, `waitlist_count` its WAITLISTED ones;
- no capacity exceeded: `taken_count <= capacity`, `waitlist_count <= waitlist_limit`;
- points balances equal their ledger: `points_account.balance = SUM(points_entry.delta)`, and a
  volunteer with ledger entries but no account has a ledger summing to 0;
- no orphan rows: every foreign key points at a row that exists (SQLite enforces foreign keys
  per connection only, and a partial restore would show here).

`rows` (rows per table) lets a restore drill compare with what was acknowledged before the
backup; the soak run (bench/) calls `integrity_report` at its end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.fields.relational import ForeignKeyFieldInstance, OneToOneFieldInstance

# Only the activities whose counts disagree with their rows, or exceed their limits.
ACTIVITY_COUNTS = """
SELECT id, capacity, taken_count, offered_count, waitlist_count, waitlist_limit,
       confirmed_rows, offered_rows, waitlisted_rows
FROM (SELECT a.id, a.capacity, a.taken_count, a.offered_count, a.waitlist_count, a.waitlist_limit,
             COALESCE(s.confirmed_rows, 0) AS confirmed_rows,
             COALESCE(s.offered_rows, 0) AS offered_rows,
             COALESCE(s.waitlisted_rows, 0) AS waitlisted_rows
      FROM activity a
      LEFT JOIN (SELECT activity_id,
                        SUM(CASE WHEN status = 'CONFIRMED' THEN 1 ELSE 0 END) AS confirmed_rows,
                        SUM(CASE WHEN status = 'OFFERED' THEN 1 ELSE 0 END) AS offered_rows,
                        SUM(CASE WHEN status = 'WAITLISTED' THEN 1 ELSE 0 END) AS waitlisted_rows
                 FROM sign_up GROUP BY activity_id) s ON s.activity_id = a.id) counted
WHERE taken_count <> confirmed_rows + offered_rows OR offered_count <> offered_rows
   OR waitlist_count <> waitlisted_rows OR taken_count > capacity
   OR waitlist_count > waitlist_limit
ORDER BY id
"""

POINTS_BALANCES = """
SELECT volunteer_id, balance, ledger
FROM (SELECT a.volunteer_id, a.balance, COALESCE(e.ledger, 0) AS ledger
      FROM points_account a
      LEFT JOIN (SELECT volunteer_id, SUM(delta) AS ledger FROM points_entry
                 GROUP BY volunteer_id) e ON e.volunteer_id = a.volunteer_id) balances
WHERE balance <> ledger
UNION ALL
SELECT e.volunteer_id, 0 AS balance, SUM(e.delta) AS ledger
FROM points_entry e
WHERE NOT EXISTS (SELECT 1 FROM points_account a WHERE a.volunteer_id = e.volunteer_id)
GROUP BY e.volunteer_id HAVING SUM(e.delta) <> 0
ORDER BY 1
"""

# A problem list is for a person: the first few of a kind, then how many more.
SHOWN_PER_KIND = 20


@dataclass
class IntegrityReport:
    problems: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def _values(row: Any) -> tuple[Any, ...]:
    return tuple(row.values()) if isinstance(row, dict) else tuple(row)


def _capped(kind: str, found: list[str]) -> list[str]:
    if len(found) <= SHOWN_PER_KIND:
        return found
    return [*found[:SHOWN_PER_KIND], f"{kind}: {len(found) - SHOWN_PER_KIND} more"]


async def activity_problems(connection: BaseDBAsyncClient) -> list[str]:
    _, rows = await connection.execute_query(ACTIVITY_COUNTS)
    found = []
    for row in rows:
        (activity_id, capacity, taken, offered, waitlisted, waitlist_limit, confirmed_rows,
         offered_rows, waitlisted_rows) = (int(value) for value in _values(row))
        if (taken, offered, waitlisted) != (confirmed_rows + offered_rows, offered_rows,
                                            waitlisted_rows):
            found.append(f"activity {activity_id}: counts taken {taken}, offered {offered}, "
                         f"waitlisted {waitlisted} but rows confirmed {confirmed_rows}, "
                         f"offered {offered_rows}, waitlisted {waitlisted_rows}")
        if taken > capacity or waitlisted > waitlist_limit:
            found.append(f"activity {activity_id}: {taken}/{capacity} places taken, "
                         f"{waitlisted}/{waitlist_limit} waitlisted")
    return _capped("activities", found)


async def points_problems(connection: BaseDBAsyncClient) -> list[str]:
    _, rows = await connection.execute_query(POINTS_BALANCES)
    return _capped("points balances", [
        f"volunteer {volunteer_id}: balance {balance} but ledger {ledger}"
        for volunteer_id, balance, ledger in (_values(row) for row in rows)])


def _foreign_keys() -> list[tuple[str, str, str, str]]:
    """(child table, column, parent table, parent key) of every foreign key of the models."""
    keys = []
    for app in Tortoise.apps.values():
        for model in app.values():
            for name, relation in model._meta.fields_map.items():
                if not isinstance(relation, ForeignKeyFieldInstance | OneToOneFieldInstance):
                    continue
                parent = relation.related_model._meta
                keys.append((model._meta.db_table, relation.source_field or f"{name}_id",
                             parent.db_table, parent.pk.source_field or parent.pk_attr))
    return sorted(set(keys))


async def orphan_problems(connection: BaseDBAsyncClient) -> list[str]:
    keys = _foreign_keys()
    if not keys:
        return []
    # One statement for all of them: ~100 foreign keys, one round trip.
    probes = " UNION ALL ".join(
        f"SELECT {index} AS k, COUNT(*) AS n FROM \"{child}\" c WHERE c.\"{column}\" IS NOT NULL "
        f"AND NOT EXISTS (SELECT 1 FROM \"{parent}\" p WHERE p.\"{parent_key}\" = c.\"{column}\")"
        for index, (child, column, parent, parent_key) in enumerate(keys))
    _, rows = await connection.execute_query(probes)
    found = []
    for index, count in (_values(row) for row in rows):
        if count:
            child, column, parent, _ = keys[int(index)]
            found.append(f"{child}.{column}: {count} rows point at a missing {parent}")
    return found


async def row_counts(connection: BaseDBAsyncClient) -> dict[str, int]:
    tables = sorted({model._meta.db_table for app in Tortoise.apps.values()
                     for model in app.values()})
    counts = " UNION ALL ".join(f"SELECT '{table}' AS t, COUNT(*) AS n FROM \"{table}\""
                                for table in tables)
    _, rows = await connection.execute_query(counts)
    return {str(table): int(count) for table, count in (_values(row) for row in rows)}


async def integrity_report() -> IntegrityReport:
    """Every check above on the default connection (the primary, never a replica)."""
    connection = connections.get("default")
    problems = [*await activity_problems(connection), *await points_problems(connection),
                *await orphan_problems(connection)]
    return IntegrityReport(problems, await row_counts(connection))


async def integrity_problems() -> list[str]:
    return (await integrity_report()).problems
