"""Where compiled reads meet the general path: graphql-core's `execute`, wrapped.

Strawberry runs every extension as before (parser and validation caches, the token, depth
and alias limits, input bounds, loading the viewer, replica routing, the operation name) and
then calls the execute function; `CompiledReads.wrap` gives it one that, for a query
operation over HTTP (`Context.compiled_reads`) on PostgreSQL, answers each compilable root
field with one SQL statement and hands the rest, as a document of just those root fields, to
graphql-core's `execute`. The compiled fields' values are `RawJSON`: the bytes PostgreSQL
built, spliced into the response by `encode_response` without becoming Python objects.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)
from graphql.execution.values import VariableValues, get_variable_values
from strawberry.utils.await_maybe import await_maybe

from db.routing import read_connection
from models.volunteer import VolunteerStatus
from schema.reads import roots as _roots  # noqa: F401  (registers the root readers)
from schema.reads import types as _types  # noqa: F401  (registers the declarations)
from schema.reads.compiler import (
    CONVERTERS,
    CURSOR_SHAPES,
    MARKER,
    Build,
    Fallback,
    NotCompilable,
    RootReader,
    Selected,
    collect,
    marker_cursor,
    needs_administered,
    needs_moderated,
    plan_root,
)
from schema.replica import chosen_operation

log = logging.getLogger("tongxin.reads")
PLANS_KEPT = 1000
STATEMENTS_KEPT = 2000


class RawJSON:
    """A root field's value as JSON text the database wrote."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


@dataclass(frozen=True)
class CompiledRoot:
    selected: Selected
    reader: RootReader
    administered: bool  # the selection reads a field only team managers see
    moderated: bool  # the selection depends on the boards the viewer moderates


@dataclass
class OperationPlan:
    operation: OperationDefinitionNode
    fragments: tuple[FragmentDefinitionNode, ...]
    keys: tuple[str, ...]  # the root response keys, in order
    compiled: dict[str, CompiledRoot]
    nodes: dict[str, FieldNode]
    general: dict[frozenset[str], DocumentNode] = field(default_factory=dict)

    def document_for(self, keys: frozenset[str]) -> DocumentNode:
        """A document of just these root fields, for the general executor."""
        document = self.general.get(keys)
        if document is None:
            selections = tuple(self.nodes[key] for key in self.keys if key in keys)
            operation = OperationDefinitionNode(
                operation=self.operation.operation, name=self.operation.name,
                variable_definitions=self.operation.variable_definitions,
                directives=self.operation.directives,
                selection_set=SelectionSetNode(selections=selections))
            document = DocumentNode(definitions=(operation, *self.fragments))
            self.general[keys] = document
        return document


def plan_operation(schema: GraphQLSchema, document: DocumentNode,
                   operation_name: str | None) -> OperationPlan | None:
    """The document's query operation with the root fields that compile; None when nothing
    compiles (or it is not a plain query), so graphql-core runs it untouched."""
    operation = chosen_operation(document, operation_name)
    if operation is None or operation.operation != OperationType.QUERY or operation.directives:
        return None
    query_type = schema.query_type
    assert query_type is not None
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    nodes: dict[str, FieldNode] = {}
    for selection in operation.selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.directives:
            return None  # root fragments and @skip/@include: the general path
        key = selection.alias.value if selection.alias else selection.name.value
        if key in nodes:
            return None  # merged root fields
        nodes[key] = selection
    compiled: dict[str, CompiledRoot] = {}
    for key, node in nodes.items():
        if node.name.value.startswith("__") or node.selection_set is None:
            continue
        try:
            selected = collect(schema, query_type,
                               SelectionSetNode(selections=(node,)), fragments)[0]
            reader = plan_root(selected)
        except NotCompilable as reason:
            log.debug("root field %s not compiled: %s", key, reason)
            continue
        compiled[key] = CompiledRoot(selected, reader, needs_administered((selected,)),
                                     needs_moderated((selected,)))
    if not compiled:
        return None
    return OperationPlan(operation, tuple(fragments.values()), tuple(nodes), compiled, nodes)


class CompiledReads:
    def __init__(self) -> None:
        self._plans: OrderedDict[tuple[int, str | None], tuple[DocumentNode,
                                                                OperationPlan | None]] = \
            OrderedDict()
        # Each root field's statement as written, by plan, viewer facts and variables (LRU).
        self._statements: OrderedDict[tuple[Any, ...], Written] = OrderedDict()
        self.compiled_roots = 0  # statements run and fallbacks taken, for tests and benches
        self.fallbacks = 0

    def plan(self, schema: GraphQLSchema, document: DocumentNode,
             operation_name: str | None) -> OperationPlan | None:
        # The parser cache hands out one DocumentNode per query text: identity is the key.
        key = (id(document), operation_name)
        cached = self._plans.get(key)
        if cached is not None and cached[0] is document:
            return cached[1]
        plan = plan_operation(schema, document, operation_name)
        self._plans[key] = (document, plan)
        if len(self._plans) > PLANS_KEPT:
            self._plans.popitem(last=False)
        return plan

    def wrap(self, execute: Callable[..., Any]) -> Callable[..., Any]:
        def compiled_execute(schema: GraphQLSchema, document: DocumentNode,
                             **kwargs: Any) -> Any:
            context = kwargs.get("context_value")
            if not getattr(context, "compiled_reads", False):
                return execute(schema, document, **kwargs)
            plan = self.plan(schema, document, kwargs.get("operation_name"))
            if plan is None or read_connection().capabilities.dialect != "postgres":
                return execute(schema, document, **kwargs)
            return self.run(plan, execute, schema, document, kwargs)

        return compiled_execute

    async def answer(self, plan: OperationPlan, variables: VariableValues,
                     context: Any) -> dict[str, Any] | None:
        """The data of an operation whose root fields all compiled, or None when one of them
        needs the general executor for this request (nothing else ran then but reads)."""
        if read_connection().capabilities.dialect != "postgres" or \
                len(plan.compiled) != len(plan.keys):
            return None
        data: dict[str, Any] = {}
        administered: set[int] | None = None
        for key, root in plan.compiled.items():
            build = Build(context.viewer, variables, administered)
            answer = await self._root(build, key, root)
            if answer is None:
                return None
            data[key] = answer
            administered = build.administered
        return data

    async def _root(self, build: Build, key: str, root: CompiledRoot) -> RawJSON | None:
        """One compiled root field's JSON, or None when the general executor must answer it."""
        try:
            if root.administered:
                await build.load_administered()
            if root.moderated:
                await build.load_moderated()
            answer = RawJSON(await self._statement(build, root))
        except Fallback:
            self.fallbacks += 1
            return None
        except Exception:  # the general path meets the same failure and reports it
            log.debug("compiled root field %s failed; general path", key, exc_info=True)
            self.fallbacks += 1
            return None
        self.compiled_roots += 1
        return answer

    async def run(self, plan: OperationPlan, execute: Callable[..., Any],
                  schema: GraphQLSchema, document: DocumentNode,
                  kwargs: dict[str, Any]) -> ExecutionResult:
        coerced = get_variable_values(schema, plan.operation.variable_definitions or (),
                                      kwargs.get("variable_values") or {})
        if isinstance(coerced, list):  # worded by graphql-core, as always
            return await await_maybe(execute(schema, document, **kwargs))
        context = kwargs["context_value"]
        values: dict[str, Any] = {}
        administered: set[int] | None = None
        for key, root in plan.compiled.items():
            build = Build(context.viewer, coerced, administered)
            answer = await self._root(build, key, root)
            if answer is not None:
                values[key] = answer
            administered = build.administered
        rest = frozenset(key for key in plan.keys if key not in values)
        if not rest:
            return ExecutionResult(data={key: values[key] for key in plan.keys})
        general_document = document if not values else plan.document_for(rest)
        result = await await_maybe(execute(schema, general_document, **kwargs))
        if result.data is None or not values:
            return result  # type: ignore[no-any-return]
        data = {key: values[key] if key in values else result.data[key] for key in plan.keys}
        return ExecutionResult(data=data, errors=result.errors)

    async def _statement(self, build: Build, root: CompiledRoot) -> str:
        key = (id(root), build.facts(), repr(build.variables))
        written = self._statements.get(key)
        if written is not None and written.root is root:
            self._statements.move_to_end(key)
            params = written.params(build.subject)
            build.markers, build.finish = written.markers, written.finish
            build.null_needs_administered, build.rows = written.null_needs_administered, written.rows
        else:
            written = await self._write(build, root, key)
            params = build.params
        unread = not build.viewer.loaded
        _, rows = await read_connection().execute_query(written.sql, params)
        if build.rows is not None:  # plain rows, the account's status last in each
            if unread and not rows:
                await build.viewer.load()  # refused: the general path answers 401
            elif unread and rows[0][len(rows[0]) - 1] in (None, VolunteerStatus.PENDING_CONSENT.value):
                raise Fallback
            text = build.rows(list(rows))
            return replace_markers(text) if build.markers else text
        text = rows[0][0]
        if unread and rows[0][1] in (None, VolunteerStatus.PENDING_CONSENT.value):
            raise Fallback  # the general path loads the viewer and answers 401
        if text is None and build.null_needs_administered:
            retry = Build(build.viewer, build.variables, await build.load_administered(),
                          moderated=build.moderated)
            return await self._statement(retry, root)
        if text is None:
            return "null"
        if build.finish is not None:
            text = build.finish(text)
        return replace_markers(text) if build.markers else text  # type: ignore[no-any-return]

    async def _write(self, build: Build, root: CompiledRoot, key: tuple[Any, ...]) -> Written:
        """The root field's statement written for this request; kept for the next request of
        the same key when writing it read nothing more about the viewer (a reader that loads
        the viewer's account or teams while writing leaves the key it was looked up by)."""
        expression = await root.reader.build(build, root.selected)
        # The account check Viewer.load makes, in the same round trip.
        account = ("(SELECT account.status FROM volunteer account WHERE account.id = "
                   f"{build.viewer_id()})") if not build.viewer.loaded else None
        if build.rows is not None:  # the reader's statement, each row with the status last
            sql = f"SELECT q.*, {account} FROM ({expression}) q" if account else expression
        else:
            sql = f"SELECT ({expression})::text" + (f", {account}" if account else "")
        # Interned: the requests of one plan and kind of viewer that differ only in their
        # variables' values share one text (a statement is a few KB, the cache holds 2,000).
        written = Written(root, sys.intern(sql), tuple(build.params), tuple(build.subject_slots),
                          tuple(build.now_slots), build.markers, build.finish,
                          build.null_needs_administered, build.rows)
        if build.facts() == key[1]:
            self._statements[key] = written
            if len(self._statements) > STATEMENTS_KEPT:
                self._statements.popitem(last=False)
        return written


@dataclass(frozen=True)
class Written:
    """A root field's statement as written for one request, and what to refill for the next
    request of the same plan, kind of viewer and variables: the viewer's id and the clock."""

    root: CompiledRoot  # held, so the id in the key is never reused while kept
    sql: str
    template: tuple[Any, ...]
    subject_slots: tuple[int, ...]
    now_slots: tuple[int, ...]
    markers: bool
    finish: Callable[[str], str] | None
    null_needs_administered: bool
    rows: Callable[[list[Any]], str] | None

    def params(self, subject: int | None) -> list[Any]:
        params = list(self.template)
        for slot in self.subject_slots:
            params[slot] = subject
        if self.now_slots:
            now = datetime.now(UTC)
            for slot in self.now_slots:
                params[slot] = now
        return params


_MARKERS = re.compile(f'"{MARKER}(?:(\\d+):([-\\d:.]+)|v(\\d+):([^"]*))"')


def _replacement(match: re.Match[str]) -> str:
    shape, keys, converter, value = match.groups()
    if converter is not None:
        return json.dumps(CONVERTERS[int(converter)](value))
    # A sealed cursor is urlsafe base64 and a dot: a JSON string as it is.
    return f'"{marker_cursor(int(shape), keys.split(":"))}"'


def replace_markers(text: str) -> str:
    """Each marker the statement wrote, replaced: a cursor by the signed cursor of its keys,
    an InPython value by its converted value; each distinct marker once (a page's endCursor
    is its last edge's cursor)."""
    done: dict[str, str] = {}

    def replacement(match: re.Match[str]) -> str:
        found = done.get(match.group(0))
        if found is None:
            found = done[match.group(0)] = _replacement(match)
        return found

    return _MARKERS.sub(replacement, text)


def encode_response(data: object) -> str:
    """The HTTP response body, compiled fields' JSON spliced in as the database wrote it."""
    payload = data.get("data") if isinstance(data, dict) else None
    if not isinstance(payload, dict) or not any(isinstance(v, RawJSON) for v in payload.values()):
        return json.dumps(data, separators=(",", ":"))
    spliced: dict[str, str] = {}
    placeholders: dict[str, Any] = {}
    for key, value in payload.items():
        if isinstance(value, RawJSON):
            token = f"{MARKER}raw{len(spliced)}"
            spliced[json.dumps(token)] = value.text
            placeholders[key] = token
        else:
            placeholders[key] = value
    encoded = json.dumps({**data, "data": placeholders}, separators=(",", ":"))  # type: ignore[dict-item]
    for token, text in spliced.items():
        encoded = encoded.replace(token, text, 1)
    return encoded


__all__ = ["CURSOR_SHAPES", "CompiledReads", "RawJSON", "encode_response", "plan_operation"]
