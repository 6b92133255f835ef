"""Every argument passes one boundary before any resolver runs: text must be valid, printable
Unicode within a maximum length and every list within a maximum number of entries.

The bounds are one table (`BOUNDS_BY_COORDINATE`, then `BOUNDS_BY_NAME`, then the defaults by
scalar), printed into the schema's descriptions so GraphiQL shows them. Resolvers may be
stricter (a phone is 11 digits); they are never looser, and a value past the boundary never
reaches a database, so SQLite and PostgreSQL answer alike (PostgreSQL rejects NUL in text,
SQLite stores it; both fail on lone surrogates at encode time).

The check runs in `on_validate`, after the (cached) validation of the document and before
execution, for queries, mutations and subscriptions alike. Which arguments a document holds is
worked out once per document and cached; per request only the values are walked."""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLArgument,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    TypeInfo,
    TypeInfoVisitor,
    Undefined,
    ValueNode,
    Visitor,
    get_named_type,
    value_from_ast_untyped,
    visit,
)
from graphql.language import ArgumentNode
from strawberry.extensions import SchemaExtension

from core import pii
from core.settings import post_body_max_chars
from resolvers.attendance import BATCH_MAX as ATTENDANCE_BATCH_MAX
from resolvers.errors import BadInput
from resolvers.validation import HOME_ADDRESS_MAX, TAG_MAX, TAGS_MAX, check_id_number, check_phone


@dataclass(frozen=True)
class Bound:
    max_chars: int
    multiline: bool = False
    max_items: int = 100
    # Where the value is stored or compared, for tests/schema/test_columns.py, which holds
    # max_chars to that column's max_length (a longer value fails in Tortoise or PostgreSQL,
    # not here). Unset, the column is the one named like the argument. `unstored` says why a
    # value reaches no column; `normalised_by` is the rule that makes the value the column
    # holds (a phone typed with +86 and spaces is stored as 11 digits).
    column: str | None = None
    unstored: str | None = None
    normalised_by: Callable[[str], str] | None = None

    def describe(self, *, is_list: bool, is_text: bool) -> str:
        text = f"≤ {self.max_chars:,} characters" + (", multi-line" if self.multiline else ", one line")
        if is_list:
            text = f"≤ {self.max_items:,} entries" + (f" of {text}" if is_text else "")
        return f"Bounded: {text}."


def _sealed_phone(raw: str) -> str:
    return pii.seal(check_phone(raw), pii.PHONE)


def _sealed_home_address(raw: str) -> str:
    return pii.seal(raw.strip(), pii.HOME_ADDRESS)


def _sealed_id_number(raw: str) -> str:
    return pii.seal(check_id_number(raw).id_number, pii.ID_NUMBER)


NAME = Bound(50)
TAG = Bound(TAG_MAX, max_items=TAGS_MAX)
SHORT = Bound(200)
LONG = Bound(20_000, multiline=True)
REASON = Bound(500, multiline=True)
PASSWORD = Bound(128, unstored="only its hash is stored")
CURSOR = Bound(200, unstored="a cursor the server signed, decoded before use")
POST_BODY = Bound(post_body_max_chars(), multiline=True)  # a deployment setting

DEFAULT_STRING = SHORT
DEFAULT_ID = Bound(100)
DEFAULT_DATETIME = Bound(64)

BOUNDS_BY_NAME: dict[str, Bound] = {
    # people and places
    "realName": NAME, "displayName": NAME, "district": NAME, "category": NAME,
    "districts": TAG, "name": Bound(100), "slug": NAME,
    # Stored sealed (core/pii.py): the ciphertext of the normalised value must fit.
    "phone": Bound(20, column="Volunteer.phone_cipher", normalised_by=_sealed_phone),
    "idNumber": Bound(32, column="Volunteer.id_number_cipher", normalised_by=_sealed_id_number),
    "homeAddress": Bound(HOME_ADDRESS_MAX, column="Volunteer.home_address_cipher",
                         normalised_by=_sealed_home_address),
    "password": PASSWORD, "currentPassword": PASSWORD, "newPassword": PASSWORD,
    # tags
    "skill": replace(TAG, column="Volunteer.skills"), "skills": TAG,
    # text
    "title": SHORT, "address": SHORT, "description": LONG, "body": LONG,
    "reason": REASON, "message": Bound(1000, multiline=True),
    # keys, codes, searches, cursors
    "query": Bound(100, unstored="a full-text search term"),
    "search": replace(SHORT, unstored="matched with LIKE, never stored"),
    "key": Bound(100), "draftKey": Bound(100, column="Draft.key"),
    "code": Bound(40), "checkInCode": Bound(20), "after": CURSOR,
    "idempotencyKey": Bound(64), "deviceId": Bound(64), "clientId": Bound(64),
    "photoUrls": Bound(500, max_items=9), "ids": Bound(100, max_items=100),
    # training, projects, announcements
    "videoUrl": Bound(500), "materialUrl": Bound(500), "coverImageUrl": Bound(500),
    "attachments": Bound(500, max_items=10), "qualification": NAME,
    "qualifications": Bound(50, max_items=10), "questions": Bound(200, max_items=100),
    "options": Bound(200, max_items=10, column="Assessment.questions"), "openingHours": SHORT,
}

BOUNDS_BY_COORDINATE: dict[str, Bound] = {
    "BoardInput.description": Bound(2000, multiline=True),
    "Mutation.saveDraft(body:)": Bound(50_000, multiline=True),
    "Mutation.createThread(body:)": POST_BODY, "Mutation.reply(body:)": POST_BODY,
    "ExperiencePostInput.body": POST_BODY,
    "Mutation.checkIn(code:)": Bound(20, column="Activity.check_in_code"),
    "Mutation.syncAttendance(entries:)": Bound(200, max_items=ATTENDANCE_BATCH_MAX),
    "QuizQuestionInput.text": Bound(1000, column="Assessment.questions"),
    "ProjectInput.name": SHORT, "PositionInput.name": SHORT, "ServicePointInput.name": SHORT,
    "RewardItemInput.title": Bound(100), "RewardItemUpdate.title": Bound(100),
    "RewardItemInput.description": Bound(2000, multiline=True),
    "RewardItemUpdate.description": Bound(2000, multiline=True),
    "SeriesInput.startTime": Bound(5),
    "SeriesInput.title": replace(SHORT, column="ProjectSeries.title"),
    "Mutation.cancelActivity(reason:)": replace(REASON, column="Activity.cancel_reason"),
    "Mutation.approveHours(reason:)": replace(REASON, column="HoursAudit.reason"),
    "Mutation.rejectHours(reason:)": replace(REASON, column="HoursAudit.reason"),
    "Volunteer.contactPhone(reason:)": Bound(200, column="PiiAccess.reason"),
    "RegisterInput.guardianName": Bound(50, column="ConsentEvent.guardian_name"),
    "RegisterInput.guardianRelation": Bound(20, column="ConsentEvent.guardian_relation"),
    "Mutation.grantConsent(guardianName:)": Bound(50, column="ConsentEvent.guardian_name"),
    "Mutation.grantConsent(guardianRelation:)": Bound(20, column="ConsentEvent.guardian_relation"),
    "Volunteer.identityNumber(reason:)": Bound(200, column="PiiAccess.reason"),
    "Volunteer.contactAddress(reason:)": Bound(200, column="PiiAccess.reason"),
    "Mutation.requestCorrection(field:)": Bound(30, column="DataRequest.field"),
    "Mutation.requestCorrection(value:)": Bound(100, column="DataRequest.requested_value"),
    "Mutation.requestCorrection(reason:)": replace(REASON, column="DataRequest.reason"),
    "Mutation.requestRecordCorrection(reason:)": replace(REASON, column="DataRequest.reason"),
    "Mutation.decideDataRequest(reason:)": replace(REASON, column="DataRequest.decision_reason"),
    "Mutation.deleteAccount(reason:)": replace(REASON, column="DataRequest.reason"),
    "Mutation.decideNomination(reason:)": replace(REASON, column="NominationAudit.reason"),
    "Mutation.decideShiftSwap(reason:)": replace(REASON, column="ShiftSwap.decision_reason"),
    "Mutation.updateRewardItem(reason:)": replace(REASON, column="RewardItemChange.reason"),
    "Mutation.restockRewardItem(reason:)": replace(REASON, column="RewardItemChange.reason"),
    "Mutation.postChatMessage(body:)": Bound(2000, multiline=True, column="ChatMessage.body"),
    "Mutation.sendOrganiserMessage(body:)": Bound(2000, multiline=True,
                                                  column="OrganiserMessage.body"),
    "Mutation.replyToOrganiserMessage(body:)": Bound(2000, multiline=True,
                                                     column="OrganiserMessageReply.body"),
    "Mutation.postChatMessage(mentionIds:)": Bound(100, max_items=20, unstored="decoded IDs"),
    "Mutation.deleteChatMessage(reason:)": replace(REASON, column="ChatModerationLog.reason"),
    "StationHoursInput.opens": Bound(5, unstored="parsed to minutes after midnight"),
    "StationHoursInput.closes": Bound(5, unstored="parsed to minutes after midnight"),
    "InsurancePolicyInput.insurer": Bound(100), "InsurancePolicyInput.policyNumber": Bound(64),
    "InsurancePolicyInput.activityIds": Bound(100, unstored="decoded IDs"),
    "Mutation.openInsuranceClaim(description:)": Bound(2000, multiline=True,
                                                       column="InsuranceClaim.description"),
    "Mutation.openServiceTicket(subject:)": Bound(200, column="ServiceTicket.subject"),
    "Mutation.openServiceTicket(body:)": Bound(4000, multiline=True,
                                               column="ServiceTicketMessage.body"),
    "Mutation.postServiceTicketMessage(body:)": Bound(4000, multiline=True,
                                                      column="ServiceTicketMessage.body"),
    "Mutation.openServiceTicket(attachmentUrls:)": Bound(
        500, max_items=5, column="ServiceTicketMessage.attachment_urls"),
    "Mutation.postServiceTicketMessage(attachmentUrls:)": Bound(
        500, max_items=5, column="ServiceTicketMessage.attachment_urls"),
}

_SINGLE_LINE_BAD = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_MULTI_LINE_BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def bound_for(coordinate: str, name: str, scalar: GraphQLNamedType) -> Bound:
    found = BOUNDS_BY_COORDINATE.get(coordinate) or BOUNDS_BY_NAME.get(name)
    if found is not None:
        return found
    if scalar.name == "ID":
        return DEFAULT_ID
    if scalar.name in ("DateTime", "Date"):
        return DEFAULT_DATETIME
    return DEFAULT_STRING


def check_text_value(value: str, bound: Bound, field: str) -> None:
    """Refuses control characters (tab and newlines only in multi-line text), C1 controls,
    lone surrogates, and text longer than the bound."""
    bad = (_MULTI_LINE_BAD if bound.multiline else _SINGLE_LINE_BAD).search(value)
    if bad is not None:
        code_point = ord(bad.group())
        if 0xD800 <= code_point <= 0xDFFF:
            raise BadInput(field, f"{field} is not valid Unicode text (a lone surrogate).")
        kind = "a line break or tab" if bad.group() in "\t\n\r" else "a control character"
        raise BadInput(field, f"{field} contains {kind} (U+{code_point:04X}), which it does not accept.")
    if len(value) > bound.max_chars:
        raise BadInput(field, f"{field} must be at most {bound.max_chars:,} characters.")


@dataclass(frozen=True)
class _ArgumentSite:
    coordinate: str  # schema coordinate of the argument, e.g. Mutation.reply(body:)
    name: str
    type: GraphQLInputType
    value: ValueNode


def _walk(value: Any, type_: GraphQLInputType, coordinate: str, name: str, field: str) -> None:
    if value is None or value is Undefined:
        return
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    if isinstance(type_, GraphQLList):
        items = value if isinstance(value, list) else [value]
        bound = bound_for(coordinate, name, get_named_type(type_))
        if len(items) > bound.max_items:
            raise BadInput(field, f"{field} may hold at most {bound.max_items:,} entries.")
        for item in items:
            _walk(item, type_.of_type, coordinate, name, field)
        return
    if isinstance(type_, GraphQLInputObjectType):
        if isinstance(value, dict):
            for key, item in value.items():
                input_field = type_.fields.get(key)
                if input_field is not None:
                    _walk(item, input_field.type, f"{type_.name}.{key}", key,
                          f"{field}.{key}" if field else key)
        return
    if isinstance(value, str) and isinstance(type_, GraphQLScalarType):
        check_text_value(value, bound_for(coordinate, name, type_), field)


def _argument_sites(schema: GraphQLSchema, document: DocumentNode) -> list[_ArgumentSite]:
    type_info = TypeInfo(schema)
    sites: list[_ArgumentSite] = []

    class Collector(Visitor):
        def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
            argument = type_info.get_argument()
            parent = type_info.get_parent_type()
            field_def = type_info.get_field_def()
            if argument is None or type_info.get_directive() is not None or field_def is None:
                return
            field_name = next((name for name, f in getattr(parent, "fields", {}).items()
                               if f is field_def), "?")
            coordinate = f"{getattr(parent, 'name', '?')}.{field_name}({node.name.value}:)"
            sites.append(_ArgumentSite(coordinate, node.name.value, argument.type, node.value))

    visit(document, TypeInfoVisitor(type_info, Collector()))
    return sites


_PLANS: OrderedDict[int, tuple[DocumentNode, list[_ArgumentSite]]] = OrderedDict()
_PLANS_MAX = 1000


def _plan(schema: GraphQLSchema, document: DocumentNode) -> list[_ArgumentSite]:
    key = id(document)
    cached = _PLANS.get(key)
    if cached is not None and cached[0] is document:
        _PLANS.move_to_end(key)
        return cached[1]
    sites = _argument_sites(schema, document)
    _PLANS[key] = (document, sites)  # holding the document keeps its id from being reused
    if len(_PLANS) > _PLANS_MAX:
        _PLANS.popitem(last=False)
    return sites


def check_document_inputs(schema: GraphQLSchema, document: DocumentNode,
                          variables: dict[str, Any] | None) -> None:
    """Raises BadInput for the first argument value past its bound (literals and variables)."""
    for site in _plan(schema, document):
        raw = value_from_ast_untyped(site.value, variables or {})
        _walk(raw, site.type, site.coordinate, site.name, site.name)


class InputGuard(SchemaExtension):
    """Must follow ValidationCache: it runs only on documents that validated."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.pre_execution_errors == [] and context.graphql_document is not None:
            try:
                check_document_inputs(context.schema._schema, context.graphql_document,
                                      context.variables)
            except BadInput as error:
                context.pre_execution_errors = [GraphQLError(error.message, original_error=error)]
        yield


def _bounded_inputs(schema: GraphQLSchema) -> Iterator[tuple[str, str, GraphQLArgument | Any]]:
    for type_ in schema.type_map.values():
        if type_.name.startswith("__"):
            continue
        if isinstance(type_, GraphQLObjectType):
            for field_name, field in type_.fields.items():
                for arg_name, argument in field.args.items():
                    yield f"{type_.name}.{field_name}({arg_name}:)", arg_name, argument
        elif isinstance(type_, GraphQLInputObjectType):
            for field_name, input_field in type_.fields.items():
                yield f"{type_.name}.{field_name}", field_name, input_field


def _is_text(named: GraphQLNamedType) -> bool:
    return isinstance(named, GraphQLScalarType) and named.name not in ("Int", "Float", "Boolean")


def bounds_table(schema: GraphQLSchema) -> list[tuple[str, Any, Bound, bool, bool]]:
    """Every text or list input of the schema: (coordinate, holder, bound, is_list, is_text)."""
    rows = []
    for coordinate, name, holder in _bounded_inputs(schema):
        named = get_named_type(holder.type)
        is_list, is_text = "[" in str(holder.type), _is_text(named)
        if is_list or is_text:
            rows.append((coordinate, holder, bound_for(coordinate, name, named), is_list, is_text))
    return rows


def describe_bounds(schema: GraphQLSchema) -> None:
    """Appends each text or list input's bound to its description (SDL and introspection)."""
    for _, holder, bound, is_list, is_text in bounds_table(schema):
        note = bound.describe(is_list=is_list, is_text=is_text)
        if note not in (holder.description or ""):
            holder.description = f"{holder.description} {note}" if holder.description else note


def _table_key(coordinate: str, name: str, scalar: GraphQLNamedType) -> str:
    if coordinate in BOUNDS_BY_COORDINATE:
        return f"`{coordinate}`"
    if name in BOUNDS_BY_NAME:
        return f"`{name}`"
    if not _is_text(scalar):
        return "any other list"
    return f"any other {'DateTime or Date' if scalar.name in ('DateTime', 'Date') else scalar.name}"


def bounds_markdown(schema: GraphQLSchema) -> str:
    """The bounds in force as the Markdown table docs/inputs.md shows: inputs that share a
    bound on one row, so the documentation is printed from this table and cannot disagree."""
    rows: dict[str, tuple[Bound, bool, bool]] = {}
    for coordinate, name, holder in _bounded_inputs(schema):
        named = get_named_type(holder.type)
        is_list, is_text = "[" in str(holder.type), _is_text(named)
        if is_list or is_text:
            key = _table_key(coordinate, name, named)
            bound, any_list, any_text = rows.get(key, (bound_for(coordinate, name, named), False, False))
            rows[key] = (bound, any_list or is_list, any_text or is_text)
    grouped: dict[str, list[str]] = {}
    for key, (bound, is_list, is_text) in rows.items():
        limit = bound.describe(is_list=is_list, is_text=is_text).removeprefix("Bounded: ")
        grouped.setdefault(limit.rstrip("."), []).append(key)
    lines = ["| inputs | bound |", "| --- | --- |"]
    for limit, keys in sorted(grouped.items(), key=lambda item: min(item[1]).strip("`").lower()):
        lines.append(f"| {', '.join(sorted(keys))} | {limit} |")
    return "\n".join(lines) + "\n"


DOCS_BEGIN = "<!-- bounds: printed by `python -m scripts.print_bounds` -->\n"
DOCS_END = "<!-- /bounds -->\n"


def rewrite_docs(path: str, schema: GraphQLSchema) -> None:
    text = open(path, encoding="utf-8").read()
    head, _, rest = text.partition(DOCS_BEGIN)
    _, _, tail = rest.partition(DOCS_END)
    with open(path, "w", encoding="utf-8") as out:
        out.write(head + DOCS_BEGIN + bounds_markdown(schema) + DOCS_END + tail)
