"""Prepared operations: the hottest documents executed without strawberry's per-request
extension machinery, with the same result.

A sign-up crowd sends one document thousands of times a second. For each request the general
path builds an execution context and runs nine schema extensions' hooks (parser and
validation caches, token/depth/alias limits, input bounds, the viewer, replica routing, the
operation name) around graphql-core's executor; at ~1,100 sign-ups/s that machinery cost as
much CPU as the sign-up itself. Here a document is *prepared* once per query text (parsed with
the token limit, validated with every rule the schema applies) and each request then runs
only the per-request part of what those extensions do, in the same order, then graphql-core's
`execute` with the same arguments strawberry passes (same resolvers, same errors), then the
same error processing and coding (`CodedSchema`).

Only token-only operations are prepared (schema/viewer.py: mutations whose root fields and
leaves are listed in TOKEN_ONLY): they never load the viewer, never read a replica and cannot
hold introspection, so of the extensions' per-request effects only the input bounds
(InputGuard) and the operation name remain. Anything else, and any request whose variables do
not coerce or whose inputs are out of bounds, is answered by the general path, which reports
the exact error: `execute` returns None then, before anything ran. If the schema gains an
extension this module does not know, preparing switches itself off (a test guards that the
production schema is prepared), so a new per-request rule can never be skipped silently.

Query operations whose every root field the read compiler answers (schema/reads) are
prepared too: for them each request checks the viewer's account in its statements (LoadViewer's
check, in the same round trip), turns replica reads on where ReplicaReads would, and runs the
compiled statements; a root field that needs the general executor for this request's
arguments, or an account the check refuses, sends the whole request there.

`PREPARED_OPERATIONS=0` turns it off (the differential tests compare both paths).
"""

from __future__ import annotations

import contextlib
import logging
from collections import OrderedDict
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    OperationDefinitionNode,
    specified_rules,
)
from graphql.execution.values import get_variable_values
from strawberry.execution import optimized_is_awaitable
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.schema._graphql_core import execution_context_class_kwargs
from strawberry.types.execution import ExecutionResult

from db.routing import replica_configured, replica_reads
from resolvers.errors import BadInput
from schema.compiled import CompiledField, compile_plan, run
from schema.errors import CodedSchema, finish_result
from schema.limits import check_document_inputs
from schema.reads.execute import OperationPlan
from schema.replica import chosen_operation, replica_safe
from schema.viewer import token_only

log = logging.getLogger("tongxin.prepared")

# The schema extensions whose per-request effects `execute` reproduces (see the docstring).
KNOWN_EXTENSIONS = frozenset({
    "OperationName", "MaxTokensLimiter", "QueryLimits", "ParserCache", "ValidationCache",
    "InputGuard", "LoadViewer", "ReplicaReads", "DisableIntrospection",
})
PLANS_KEPT = 1000
# Documents parsed and validated, per process: strawberry's ParserCache and ValidationCache
# keep one cache per size, shared by every instance of that size (schema/__init__.py).
DOCUMENTS_KEPT = 1000


@dataclass(frozen=True)
class Plan:
    document: DocumentNode
    operation: OperationDefinitionNode
    operation_name: str | None
    compiled: CompiledField | None  # schema/compiled.py: run without graphql-core's executor
    reads: OperationPlan | None = None  # schema/reads: a query whose root fields all compile


class PreparedOperations:
    def __init__(self, schema: CodedSchema, *, max_tokens: int,
                 rules: list[type] | tuple[type, ...]) -> None:
        self.schema = schema
        self.max_tokens = max_tokens
        # as the general path's execution context has them: graphql-core's, then the
        # extensions' (QueryLimits, DisableIntrospection) in their order
        self.rules = (*specified_rules, *rules)
        self.compile = True  # False: every plan runs through graphql-core (differential tests)
        self._plans: OrderedDict[tuple[str, str | None], Plan | None] = OrderedDict()
        extensions = schema.get_extensions()
        unknown = sorted({type(e).__name__ for e in extensions} - KNOWN_EXTENSIONS)
        resolving = [type(e).__name__ for e in extensions if e._implements_resolve()]
        self.enabled = not unknown and not resolving and not schema.directives
        if not self.enabled:
            log.warning("prepared operations off: extensions %s not accounted for",
                        unknown or resolving or "directives")

    def plan(self, query: str, operation_name: str | None) -> Plan | None:
        """The prepared form of a document, or None (the general path answers it)."""
        key = (query, operation_name)
        if key in self._plans:
            return self._plans[key]
        plan = self._prepare(query, operation_name) if self.enabled else None
        self._plans[key] = plan
        if len(self._plans) > PLANS_KEPT:
            self._plans.popitem(last=False)
        return plan

    def _prepare(self, query: str, operation_name: str | None) -> Plan | None:
        # The general path's caches, looked up now (strawberry keeps one per size, made anew if
        # cleared): a document this path parsed and validated and then left to the general
        # path (a mutation, a read that does not compile, an invalid one) is not parsed and
        # validated again there (the fuzz's new documents were validated twice, a third of the
        # server's CPU), and both paths validate with the same rules (strawberry's
        # validate_document adds its own two).
        parse_cached = ParserCache(maxsize=DOCUMENTS_KEPT).cached_parse_document
        validate_cached = ValidationCache(maxsize=DOCUMENTS_KEPT).cached_validate_document
        try:
            # the keyword as MaxTokensLimiter gives it, so that both paths share the entry
            document = parse_cached(query, max_tokens=self.max_tokens)
        except GraphQLError:
            return None
        token = token_only(document, operation_name)
        if not token and self.schema.reads is None:
            return None
        if validate_cached(self.schema._schema, document, self.rules):
            return None
        reads = None
        if not token:
            reads = self._compiled_query(document, operation_name)
            if reads is None:
                return None
        operation = chosen_operation(document, operation_name)
        assert operation is not None  # token_only() found it
        if reads is not None:
            return Plan(document, operation, operation_name, None, reads)
        compiled = compile_plan(self.schema._schema, operation) if self.compile else None
        return Plan(document, operation, operation_name, compiled)

    def _compiled_query(self, document: DocumentNode,
                        operation_name: str | None) -> OperationPlan | None:
        reads = self.schema.reads
        if reads is None:
            return None
        plan = reads.plan(self.schema._schema, document, operation_name)
        return plan if plan is not None and len(plan.compiled) == len(plan.keys) else None

    async def execute(self, plan: Plan, variables: dict[str, Any] | None,
                      context: Any) -> ExecutionResult | None:
        """The operation's result as `CodedSchema.execute` would give it; None when the
        general path must answer (nothing was executed)."""
        schema = self.schema
        graphql_schema = schema._schema
        coerced = get_variable_values(graphql_schema, plan.operation.variable_definitions or (),
                                      variables or {})
        if isinstance(coerced, list):  # variable errors: worded by the general path
            return None
        try:  # InputGuard
            check_document_inputs(graphql_schema, plan.document, variables)
        except BadInput:
            return None
        # OperationName: the name given, else the document's (as strawberry derives it)
        context.operation_name = plan.operation_name or (
            plan.operation.name.value if plan.operation.name else None)
        if plan.reads is not None:
            return await self._read(plan, plan.reads, coerced, context)
        if plan.compiled is not None:
            data, errors = await run(plan.compiled, graphql_schema, plan.operation, coerced,
                                     context)
            return self._finish(data, errors or None, context)
        result = await schema._get_execute_function()(
            graphql_schema,
            plan.document,
            root_value=None,
            middleware=schema._get_middleware_manager([]),
            variable_values=variables,
            operation_name=plan.operation_name,
            context_value=context,
            is_awaitable=optimized_is_awaitable,
            **execution_context_class_kwargs(schema.execution_context_class),
            **schema._get_custom_context_kwargs(None),
        )
        return self._finish(result.data, result.errors, context)

    async def _read(self, plan: Plan, reads: OperationPlan, variables: Any,
                    context: Any) -> ExecutionResult | None:
        # LoadViewer: each statement checks the account itself (schema/reads/execute.py), or
        # the viewer is loaded when the plan needs their teams or boards; a refused account
        # sends the request to the general path, which answers 401.
        replica = replica_configured() and replica_safe(plan.document, plan.operation_name)
        with replica_reads() if replica else contextlib.nullcontext():  # ReplicaReads
            data = await self.schema.reads.answer(reads, variables, context)
        return None if data is None else self._finish(data, None, context)

    def _finish(self, data: dict[str, Any] | None, errors: list[GraphQLError] | None,
                context: Any) -> ExecutionResult:
        if errors:
            self.schema._process_errors(errors, SimpleNamespace(context=context))  # type: ignore[arg-type]
        finished = ExecutionResult(data=data, errors=errors, extensions=None)
        finish_result(finished, context)
        return finished
