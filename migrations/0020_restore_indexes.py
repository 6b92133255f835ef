"""Creates the indexes and UNIQUE constraints the models declare that a database migrated
before db/schema_editors.py lacks.

On SQLite, Tortoise rebuilt sign_up (0004), volunteer and help_request (0006) and volunteer
again (0009) without their indexes: sign_up lost UNIQUE (activity_id, volunteer_id) and its
two lookup indexes, volunteer its (district, status, gender, birth_date, last_approved_at)
index, help_request (status, district) and created_at; 0004's index on hours_audit.created_at
was never made. On both databases Tortoise's AddField did not create its field's db_index
(sign_up.offer_expires_at, 0004). A database migrated with the safe editor has them all and
this migration finds nothing to do, as does a second run.

If duplicate rows made while a UNIQUE was missing prevent it, the migration stops and names
them: which duplicate to keep is a person's decision (docs/operations.md, Migrations)."""

from typing import Any

from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import UniqueConstraint

PG_INDEXES = """
SELECT ix.indisunique AS is_unique, array_agg(a.attname ORDER BY k.n) AS columns
FROM pg_index ix
JOIN pg_class t ON t.oid = ix.indrelid
JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, n) ON true
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
WHERE t.relname = $1 AND t.relnamespace = current_schema()::regnamespace
GROUP BY ix.indexrelid, ix.indisunique"""


async def _present(client: Any, table: str) -> set[tuple[tuple[str, ...], bool]]:
    if client.capabilities.dialect == "postgres":
        return {(tuple(row["columns"]), bool(row["is_unique"]))
                for row in await client.execute_query_dict(PG_INDEXES, [table])}
    present = set()
    for row in await client.execute_query_dict(f'PRAGMA index_list("{table}")'):
        columns = await client.execute_query_dict(f'PRAGMA index_info("{row["name"]}")')
        present.add((tuple(column["name"] for column in columns), bool(row["unique"])))
    return present


def _declared(model: Any) -> list[tuple[tuple[str, ...], bool]]:
    meta = model._meta
    column = {name: meta.fields_db_projection.get(name, name) for name in meta.fields_map}
    for name, field in meta.fields_map.items():
        if getattr(field, "source_field", None):
            column[name] = field.source_field
    declared = []
    for name, field in meta.fields_map.items():
        if name not in meta.fields_db_projection or field.pk:
            continue
        if field.unique:
            declared.append(((meta.fields_db_projection[name],), True))
        elif field.index:
            declared.append(((meta.fields_db_projection[name],), False))
    for together in meta.unique_together:
        declared.append((tuple(column.get(name, name) for name in together), True))
    for index in meta.indexes:
        names = index.field_names if isinstance(index, Index) else index
        if type(index) in (Index, tuple, list) and names:
            declared.append((tuple(column.get(name, name) for name in names), False))
    return declared


async def restore_indexes(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    for model in apps.apps["models"].values():
        table = model._meta.db_table
        present = await _present(client, table)
        for columns, unique in _declared(model):
            # a UNIQUE index also serves lookups on the same columns
            if (columns, unique) in present or (not unique and (columns, True) in present):
                continue
            if not unique:
                await schema_editor.add_index(model, Index(fields=columns))
                continue
            listed = ", ".join(f'"{column}"' for column in columns)
            duplicates = await client.execute_query_dict(
                f'SELECT {listed}, count(*) AS copies FROM "{table}" GROUP BY {listed} '
                "HAVING count(*) > 1 LIMIT 20")
            if duplicates:
                raise RuntimeError(f"{table} has rows that repeat ({', '.join(columns)}), which "
                                   f"must be unique; resolve them and migrate again: {duplicates}")
            await schema_editor.add_constraint(model, UniqueConstraint(fields=columns))
            present.add((columns, True))


class Migration(migrations.Migration):
    dependencies = [('models', '0019_volunteer_import_cancel')]

    initial = False

    operations = [ops.RunPython(restore_indexes, ops.RunPython.noop)]
