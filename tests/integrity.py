"""Database integrity after hostile traffic: counters equal their rows, no capacity exceeded,
no row points at a missing parent. Plain SQL, the same on SQLite and PostgreSQL."""

from __future__ import annotations

from tortoise import Tortoise, connections
from tortoise.fields.relational import ForeignKeyFieldInstance

ACTIVITY_COUNTS = """
SELECT a.id, a.capacity, a.taken_count, a.waitlist_count, a.waitlist_limit,
       (SELECT COUNT(*) FROM sign_up s WHERE s.activity_id = a.id AND s.status = 'CONFIRMED'),
       (SELECT COUNT(*) FROM sign_up s WHERE s.activity_id = a.id AND s.status = 'WAITLISTED')
FROM activity a
"""


async def integrity_problems() -> list[str]:
    connection = connections.get("default")
    problems: list[str] = []
    _, rows = await connection.execute_query(ACTIVITY_COUNTS)
    for row in rows:
        activity_id, capacity, confirmed, waitlisted, waitlist_limit, confirmed_rows, waitlisted_rows = (
            tuple(row.values()) if isinstance(row, dict) else tuple(row))
        if confirmed != confirmed_rows or waitlisted != waitlisted_rows:
            problems.append(f"activity {activity_id}: counts {confirmed}/{waitlisted} "
                            f"but rows {confirmed_rows}/{waitlisted_rows}")
        if confirmed > capacity or waitlisted > waitlist_limit:
            problems.append(f"activity {activity_id}: {confirmed}/{capacity} confirmed, "
                            f"{waitlisted}/{waitlist_limit} waitlisted")
    for app in Tortoise.apps.values():
        for model in app.values():
            for name, field in model._meta.fields_map.items():
                if not isinstance(field, ForeignKeyFieldInstance):
                    continue
                child, column = model._meta.db_table, field.source_field or f"{name}_id"
                parent = field.related_model._meta.db_table
                parent_pk = field.related_model._meta.pk.source_field or "id"
                _, orphans = await connection.execute_query(
                    f'SELECT COUNT(*) AS n FROM "{child}" c LEFT JOIN "{parent}" p '
                    f'ON c."{column}" = p."{parent_pk}" '
                    f'WHERE c."{column}" IS NOT NULL AND p."{parent_pk}" IS NULL')
                count = next(iter(dict(orphans[0]).values()))
                if count:
                    problems.append(f"{child}.{column}: {count} rows point at a missing {parent}")
    return problems
