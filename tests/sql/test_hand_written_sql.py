"""Every hand-written statement goes through the Sql builder, so no placeholder is numbered or
ordered by hand (the class of the district award that bound the district to the period start
on SQLite). Derived from the source: any raw execution with values, any positional helper and
any placeholder written into a string literal outside resolvers/sql.py is reported."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILDER = Path("resolvers/sql.py")
# Not application code: tests and benches; migrations are frozen history that must not import
# code that changes after them.
SKIPPED = {"tests", "bench", "migrations"}
# Files that still place their own placeholders, and why they are not converted yet. Each
# entry must still be needed: convert the file to Sql, then delete its entry.
PENDING = {
    "resolvers/signup_pg.py": "the one-round-trip sign-up calls its function straight through "
                              "asyncpg's pool (fetchrow with $1..$4): the hot path's CPU",
    "schema/reads/execute.py": "compiled reads run on PostgreSQL only, numbered in call order "
                               "by Build.param; being extended at the same time",
    "db/schema_editors.py": "SQLite's migration editor (sqlite_master, sqlite_sequence: one "
                            "dialect, `?` in order); db/ sits below resolvers/ and may not import "
                            "the builder until it moves to db/",
}
# Tortoise's client methods that take SQL text and a values list.
RAW_EXECUTION = {"execute_query", "execute_query_dict", "execute_many", "execute_insert"}
POSITIONAL_HELPERS = {"SqlParams", "run_sql"}
NUMBERED = re.compile(r"\$\d")
# `?` where SQL takes a value: after a comparison, `(`, `,`, an arithmetic operator or keyword
# (not regex syntax such as `(?:`, nor an XML declaration `<?xml`).
QUESTION_MARK = re.compile(
    r"(?:[=<>(,+*/-]|\b(?:IN|LIKE|VALUES|THEN|ELSE|LIMIT|OFFSET|AND|OR))\s*\?(?![:=!<>P#]|xml)")


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _regex_patterns(tree: ast.AST) -> set[int]:
    patterns = [node.args[0] for node in ast.walk(tree) if isinstance(node, ast.Call) and node.args
                and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "re"]
    return {id(part) for pattern in patterns for part in ast.walk(pattern)
            if isinstance(part, ast.Constant)}


class _Finder(ast.NodeVisitor):
    def __init__(self, tree: ast.AST) -> None:
        # docstrings, and patterns handed to the `re` module (`(.*?)` is not a placeholder)
        self.docstrings = _docstrings(tree) | _regex_patterns(tree)
        self.functions: list[str] = []
        self.found: list[str] = []

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.functions.append(node.name)
        self.generic_visit(node)
        self.functions.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = _function

    def visit_Call(self, node: ast.Call) -> None:
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(
            node.func, "id", None)
        with_values = len(node.args) > 1 or bool(node.keywords) or any(
            isinstance(arg, ast.Starred) for arg in node.args)
        # A client method forwarding its own arguments (db/) is transport, not SQL.
        forwarding = bool(self.functions) and self.functions[-1] == name
        if name in RAW_EXECUTION and with_values and not forwarding:
            self.found.append(f"{node.lineno}: {name}() with values; use resolvers.sql.fetch/"
                              "execute with Sql")
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in POSITIONAL_HELPERS:
            self.found.append(f"{node.lineno}: {node.id}; use resolvers.sql.Sql")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name in POSITIONAL_HELPERS:
                self.found.append(f"{node.lineno}: imports {alias.name}; use resolvers.sql.Sql")

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and id(node) not in self.docstrings and (
                NUMBERED.search(node.value) or QUESTION_MARK.search(node.value)):
            self.found.append(f"{node.lineno}: placeholder written by hand in "
                              f"{node.value[:60]!r}; name it (:name) in Sql")


def hand_written_sql(source: str) -> list[str]:
    tree = ast.parse(source)
    finder = _Finder(tree)
    finder.visit(tree)
    return finder.found


def application_sources() -> dict[str, str]:
    sources = {}
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in SKIPPED or relative == BUILDER or any(
                part.startswith(".") for part in relative.parts):
            continue
        sources[relative.as_posix()] = path.read_text(encoding="utf-8")
    return sources


def test_hand_written_sql_goes_through_the_builder():
    # given
    sources = application_sources()
    # when
    found = [f"{path}:{finding}" for path, source in sources.items() if path not in PENDING
             for finding in hand_written_sql(source)]
    # then
    assert found == []


def test_every_pending_file_still_needs_its_entry():
    # given
    sources = application_sources()
    # when
    done = sorted(path for path in PENDING if not hand_written_sql(sources.get(path, "")))
    # then: these no longer write placeholders by hand; remove them from PENDING
    assert done == []


SITES_BEFORE_THE_BUILDER = '''
async def eligible(award):
    param = SqlParams()
    district = f"AND v.district = {param(award.district)} " if award.district else ""
    sql = f"SELECT 1 WHERE a.starts_at >= {param(start)} {district}"
    return await param.connection.execute_query_dict(sql, param.values)

async def lock(conn, ids):
    marks = ", ".join("?" for _ in ids)
    await conn.execute_query(f"SELECT id FROM t WHERE id IN ({marks})", ids)

HOURS = "INSERT INTO h (district, month) VALUES ($1, $2)"
COUNTER = "UPDATE activity SET waitlist_count = waitlist_count + ? WHERE id = ?"
TABLE = re.search(r"^const zh = \\{(.*?)^\\};", text)
LISTS = re.search(rf"^const {name} = (\\[.*?\\]);", view)
'''


def test_the_check_reports_each_way_of_writing_placeholders_by_hand():
    # when
    found = hand_written_sql(SITES_BEFORE_THE_BUILDER)
    # then
    assert [finding.split(":")[0] for finding in found] == [
        "3", "6", "10", "12", "13"]
