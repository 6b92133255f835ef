"""One pass up the migration chain on an SQLite database that holds data (run as a process of
its own by test_migration_upgrades.py: `migrate` initialises Tortoise globally).

Before each migration every table that exists then and is empty gets one row: a value of the
column's type in every column, nullable ones included, and every foreign key pointing at a
row of its table, so each kind of reference (CASCADE, SET NULL, RESTRICT) has something to
act on. After each migration no table may have fewer rows and no foreign key column fewer
values (unless the migration names the table in `deletes_rows_from`), no index or trigger may
be gone (unless a column of it was removed or the migration removes indexes on purpose); at
the end the database has every index that the models declare (what `generate_schemas`
makes). Prints the problems as JSON lines."""

from __future__ import annotations

import asyncio
import importlib
import json
import sqlite3
import sys
from typing import Any

from tortoise import Tortoise
from tortoise.migrations import operations as ops
from tortoise.migrations.api.migrate import migrate

from db import migration_state
from db.config import tortoise_config

# operations after which an index may be gone on purpose (the final check still holds)
REMOVES_INDEXES = (ops.RemoveIndex, ops.RemoveConstraint, ops.RenameIndex, ops.AlterModelOptions,
                   ops.DeleteModel, ops.RenameModel)
VALUES = [("INT", 1), ("BOOL", 1), ("REAL", 1.5), ("FLOA", 1.5), ("DOUB", 1.5), ("DEC", "1"),
          ("NUMERIC", "1"), ("TIMESTAMP", "2026-01-01T00:00:00+00:00"),
          ("DATETIME", "2026-01-01T00:00:00+00:00"), ("DATE", "2026-01-01"), ("TIME", "12:00:00"),
          ("JSON", "{}"), ("BLOB", b"\x00")]


def tables(db: sqlite3.Connection) -> list[str]:
    rows = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
    virtual = [name for name, sql in rows if sql and sql.upper().startswith("CREATE VIRTUAL")]
    return [name for name, _ in rows if not name.startswith("sqlite_") and name != "tortoise_migrations"
            and not any(name == v or name.startswith(v + "_") for v in virtual)]


def value_of(declared: str) -> Any:
    return next((value for key, value in VALUES if key in declared.upper()), "x")


def fill_empty_tables(db: sqlite3.Connection) -> None:
    empty = [t for t in tables(db) if db.execute(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone() is None]
    references = {t: {fk[3]: (fk[2], fk[4]) for fk in db.execute(f'PRAGMA foreign_key_list("{t}")')}
                  for t in empty}
    pending = list(empty)
    while pending:
        ready = [t for t in pending if not any(
            parent in pending and parent != t for column, (parent, _) in references[t].items()
            if db.execute('SELECT "notnull" FROM pragma_table_info(?) WHERE name = ?',
                          [t, column]).fetchone()[0])]
        assert ready, f"tables whose NOT NULL references form a cycle: {pending}"
        for table in ready:
            columns, values = [], []
            for _, column, declared, _, default, pk in db.execute(f'PRAGMA table_info("{table}")'):
                if pk and "INT" in declared.upper():
                    continue
                if column in references[table]:
                    parent, key = references[table][column]
                    row = db.execute(f'SELECT "{key}" FROM "{parent}" LIMIT 1').fetchone()
                    if row is not None:
                        columns.append(column)
                        values.append(row[0])
                elif default is None:
                    columns.append(column)
                    values.append(value_of(declared))
            names = ", ".join(f'"{column}"' for column in columns)
            db.execute(f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(values))})',
                       values)
            pending.remove(table)
    for table in empty:  # references to tables filled later, and to the table itself
        for column, (parent, key) in references[table].items():
            db.execute(f'UPDATE "{table}" SET "{column}" = (SELECT "{key}" FROM "{parent}" LIMIT 1) '
                       f'WHERE "{column}" IS NULL')
    db.commit()


def indexes(db: sqlite3.Connection, table: str) -> set[tuple[str, tuple[str, ...], bool]]:
    return {(table, tuple(c[2] for c in db.execute(f'PRAGMA index_info("{index[1]}")')), bool(index[2]))
            for index in db.execute(f'PRAGMA index_list("{table}")').fetchall()}


def snapshot(db: sqlite3.Connection) -> dict[str, Any]:
    rows, references, found, columns = {}, {}, set(), {}
    for table in tables(db):
        rows[table] = db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
        columns[table] = {c[1] for c in db.execute(f'PRAGMA table_info("{table}")')}
        for fk in db.execute(f'PRAGMA foreign_key_list("{table}")').fetchall():
            references[(table, fk[3])] = db.execute(f'SELECT count("{fk[3]}") FROM "{table}"').fetchone()[0]
        found |= indexes(db, table)
    triggers = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    return {"rows": rows, "references": references, "indexes": found, "columns": columns,
            "triggers": triggers}


def compare(name: str, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    migration = importlib.import_module(f"migrations.{name}").Migration
    problems = []
    # a migration that deletes rows on purpose names the tables: `deletes_rows_from = {"t"}`
    deleting = set(getattr(migration, "deletes_rows_from", ()))
    for table, count in before["rows"].items():
        if table not in deleting and after["rows"].get(table, count) < count:
            problems.append(f"{name}: {table} lost rows ({count} -> {after['rows'][table]})")
    for (table, column), count in before["references"].items():
        if table not in deleting and after["references"].get((table, column), count) < count:
            problems.append(f"{name}: {table}.{column} lost references "
                            f"({count} -> {after['references'][(table, column)]})")
    if not any(isinstance(op, REMOVES_INDEXES) for op in migration.operations):
        for table, columns, unique in sorted(before["indexes"] - after["indexes"]):
            if table in after["columns"] and set(columns) <= after["columns"][table]:
                problems.append(f"{name}: {table} lost its {'UNIQUE ' if unique else ''}index "
                                f"({', '.join(columns)})")
    for trigger in sorted(before["triggers"] - after["triggers"]):
        problems.append(f"{name}: trigger {trigger} is gone")
    return problems


async def main(path: str, generated_path: str) -> list[str]:
    before: dict[str, dict[str, Any]] = {}
    problems: list[str] = []

    def progress(event: str, _app: str, name: str) -> None:
        db = sqlite3.connect(path)
        db.execute("PRAGMA foreign_keys = ON")
        try:
            if event == "apply_start":
                fill_empty_tables(db)
                before[name] = snapshot(db)
            elif event == "apply_done":
                problems.extend(compare(name, before[name], snapshot(db)))
        finally:
            db.close()

    migration_state.install()
    try:
        await migrate(config=tortoise_config(f"sqlite://{path}"), progress=progress)
    except Exception as exc:  # the failure is the finding
        problems.append(f"{sorted(before)[-1] if before else '?'}: {type(exc).__name__}: {exc}")
        return problems
    finally:
        await Tortoise.close_connections()
    await Tortoise.init(config=tortoise_config(f"sqlite://{generated_path}"))
    try:
        await Tortoise.generate_schemas()
    finally:
        await Tortoise.close_connections()
    migrated, generated = sqlite3.connect(path), sqlite3.connect(generated_path)
    for table in tables(generated):
        for _, columns, unique in sorted(indexes(generated, table) - indexes(migrated, table)):
            problems.append(f"after all migrations: {table} lacks the {'UNIQUE ' if unique else ''}"
                            f"index ({', '.join(columns)}) its model declares")
    return problems


if __name__ == "__main__":
    for problem in asyncio.run(main(sys.argv[1], sys.argv[2])):
        print(json.dumps(problem, ensure_ascii=False))
