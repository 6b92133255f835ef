"""Tortoise's schema editors, fixed where a migration would lose rows or indexes.

Migrations that change a table on SQLite keep every row, index and trigger; a field added with
`db_index=True` gets its index on every database (Tortoise's `add_field` never creates it,
so sign_up.offer_expires_at, added in 0004, had none).

SQLite alters little in place, so Tortoise's SQLite schema editor rebuilds the table for every
AlterField and RemoveField: CREATE new__t, copy, DROP TABLE t, RENAME. Under
`foreign_keys=ON` (every connection of ours) the DROP first deletes t's rows, and that delete
cascades: ON DELETE CASCADE children are deleted, SET NULL children lose their reference, and a
RESTRICT child anywhere down the cascade fails the whole migration. The new table is created
without the old one's indexes, composite UNIQUEs and triggers. An AlterField that only
changes an enum's listing in the column's description (0004's sign-up status, 0009's
volunteer status) thus deleted the service records of every sign-up and dropped sign_up's
UNIQUE (activity_id, volunteer_id); 0004's new index on hours_audit.created_at was never made.

`SqliteSchemaEditorKeepingRows` replaces Tortoise's editor for SQLite (`install()`):

- an AlterField whose column stays the same on SQLite (a description, a VARCHAR length, which
  SQLite does not enforce, a Python-side default, an index or a UNIQUE added) writes only the
  CREATE / DROP INDEX it needs, as on PostgreSQL;
- anything that still needs the rebuild (a removed column, NULL / NOT NULL, a DB default, a
  type, a foreign key's target or ON DELETE, a UNIQUE removed) runs SQLite's own recipe
  (https://www.sqlite.org/lang_altertable.html#otheralter): foreign keys off, one transaction,
  the indexes and triggers re-created, `PRAGMA foreign_key_check`, the AUTOINCREMENT
  high-water mark kept, a copy left by an earlier failed rebuild dropped. `PRAGMA
  foreign_keys` cannot change inside a transaction, so such a migration must be
  `atomic = False`; in an atomic one the rebuild refuses with that advice instead of deleting
  anything.
"""

from __future__ import annotations

from typing import Any

import tortoise.migrations.executor
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.fields.relational import ForeignKeyFieldInstance
from tortoise.indexes import Index
from tortoise.migrations.constraints import UniqueConstraint
from tortoise.migrations.schema_editor import AsyncpgSchemaEditor, SqliteSchemaEditor
from tortoise.transactions import in_transaction

_installed = False


def _sql_type(editor: SqliteSchemaEditor, field: Any) -> str:
    sql_type = str(field.get_for_dialect(editor.DIALECT, "SQL_TYPE"))
    # SQLite keeps VARCHAR(n)'s text affinity and ignores n
    return "VARCHAR" if sql_type.upper().startswith("VARCHAR") else sql_type


def _column_unchanged(editor: SqliteSchemaEditor, old: Any, new: Any) -> bool:
    """True when the CREATE TABLE text of the column would differ only in its comment."""
    return ((old.source_field or old.model_field_name) == (new.source_field or new.model_field_name)
            and _sql_type(editor, old) == _sql_type(editor, new)
            and old.null == new.null and old.pk == new.pk and old.generated == new.generated
            and old.has_db_default() == new.has_db_default()
            and (not old.has_db_default() or old.db_default == new.db_default)
            and not (old.unique and not new.unique))


def _reference(field: Any) -> tuple[Any, ...] | None:
    if not isinstance(field, ForeignKeyFieldInstance):
        return None
    return (field.related_model._meta.db_table, field.on_delete, field.db_constraint,
            field.to_field_instance.source_field or field.to_field_instance.model_field_name)


async def _indexes(client: Any, table: str) -> list[dict[str, Any]]:
    """The table's indexes: name, columns, unique, and the SQL that made them (None for the
    ones a PRIMARY KEY or UNIQUE in the CREATE TABLE made)."""
    found = []
    sql_of = {row["name"]: row["sql"] for row in await client.execute_query_dict(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", [table])}
    for row in await client.execute_query_dict(f'PRAGMA index_list("{table}")'):
        columns = tuple(column["name"] for column in await client.execute_query_dict(
            f'PRAGMA index_info("{row["name"]}")'))
        found.append({"name": row["name"], "columns": columns, "unique": bool(row["unique"]),
                      "sql": sql_of.get(row["name"])})
    return found


class IndexedAddField:
    """An AddField with `db_index=True` creates the index, as `generate_schemas` does."""

    async def add_field(self, model: Any, field_name: str) -> None:
        await super().add_field(model, field_name)  # type: ignore[misc]
        field = model._meta.fields_map[field_name]
        if isinstance(field, ForeignKeyFieldInstance):
            field = model._meta.fields_map[field.source_field or f"{field_name}_id"]
        if field.index and not field.unique and not field.pk:
            column = field.source_field or field.model_field_name
            await self.add_index(model, Index(fields=(column,)))  # type: ignore[attr-defined]


class AsyncpgSchemaEditorIndexing(IndexedAddField, AsyncpgSchemaEditor):
    pass


class SqliteSchemaEditorKeepingRows(IndexedAddField, SqliteSchemaEditor):
    async def alter_field(self, old_model: Any, new_model: Any, field_name: str) -> None:
        old_field = old_model._meta.fields_map[field_name]
        new_field = new_model._meta.fields_map[field_name]
        if _reference(old_field) != _reference(new_field):
            # the base class compares the *_id columns only and would not see this change
            await self._remake_table(new_model, alter_fields=[(old_field, new_field)])
            return
        await super().alter_field(old_model, new_model, field_name)

    async def _alter_field(self, model: Any, old_field: Any, new_field: Any) -> None:
        if not _column_unchanged(self, old_field, new_field):
            await super()._alter_field(model, old_field, new_field)
            return
        column = new_field.source_field or new_field.model_field_name
        if old_field.index != new_field.index:
            if new_field.index:
                await self.add_index(model, Index(fields=(column,)))
            else:
                await self.remove_index(model, Index(fields=(column,)))
        if new_field.unique and not old_field.unique:
            await self.add_constraint(model, UniqueConstraint(fields=(column,)))

    async def _remake_table(self, model: Any, create_field: Any = None, delete_field: Any = None,
                            alter_fields: Any = None) -> None:
        if self.collect_sql:  # sqlmigrate prints the statements
            await super()._remake_table(model, create_field, delete_field, alter_fields)
            return
        table = model._meta.db_table
        if self.atomic_migration:
            raise OperationalError(
                f"rebuilding table {table} on SQLite needs foreign keys off, which SQLite allows "
                "only outside a transaction: set `atomic = False` on this migration "
                "(see docs/operations.md, Migrations)")
        self.collect_sql = True
        try:
            await super()._remake_table(model, create_field, delete_field, alter_fields)
            statements = self.collected_sql
        finally:
            self.collect_sql, self.collected_sql = False, []
        client = self.client
        kept_indexes = [index for index in await _indexes(client, table) if index["sql"]]
        triggers = [row["sql"] for row in await client.execute_query_dict(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", [table])]
        await client.execute_script("PRAGMA foreign_keys = OFF; PRAGMA legacy_alter_table = ON")
        try:
            async with in_transaction(client.connection_name) as tx:
                sequence = await tx.execute_query_dict(
                    "SELECT seq FROM sqlite_sequence WHERE name = ?", [table]) \
                    if await tx.execute_query_dict("SELECT 1 FROM sqlite_master WHERE "
                                                   "name = 'sqlite_sequence'") else []
                # left by Tortoise's own rebuild when its DROP failed outside a transaction
                # (0006 before this editor); the table itself still holds every row
                await tx.execute_query(f'DROP TABLE IF EXISTS "new__{table}"')
                for statement in statements:
                    await tx.execute_query(statement)
                columns = {row["name"] for row in await tx.execute_query_dict(
                    f'PRAGMA table_info("{table}")')}
                present = {(index["columns"], index["unique"]) for index in await _indexes(tx, table)}
                for index in kept_indexes:
                    # an index on a removed column goes with it
                    if set(index["columns"]) <= columns and \
                            (index["columns"], index["unique"]) not in present:
                        await tx.execute_query(index["sql"])
                for trigger in triggers:
                    await tx.execute_query(trigger)
                if sequence:
                    await tx.execute_query(
                        "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?",
                        [sequence[0]["seq"], table])
                broken = await tx.execute_query_dict("PRAGMA foreign_key_check")
                if broken:
                    raise IntegrityError(f"rebuilding {table} would break foreign keys: {broken[:5]}")
        finally:
            await client.execute_script("PRAGMA legacy_alter_table = OFF; PRAGMA foreign_keys = ON")


def install() -> None:
    """Idempotent; `migration_state.install()` calls it before migrations run."""
    global _installed
    if not _installed:
        executor = tortoise.migrations.executor
        executor.SqliteSchemaEditor = SqliteSchemaEditorKeepingRows  # type: ignore[misc]
        executor.AsyncpgSchemaEditor = AsyncpgSchemaEditorIndexing  # type: ignore[misc]
        _installed = True
