"""The root fields the read compiler answers, each the SQL twin of its resolver:

- `activities` (schema/activity.py, rules in resolvers/activity.py `list_activities`): the
  same filters in the same order of checks; `near` (distance in Python) is not compiled.
- `me` (schema/volunteer.py): the viewer's own row, null when anonymous.
"""

from __future__ import annotations

from datetime import UTC, datetime

from models.activity import ActivityStatus
from resolvers.activity import NAME_MAX
from resolvers.errors import DomainError
from resolvers.validation import check_aware, check_text
from schema.activity import UPCOMING_FIRST
from schema.reads.compiler import (
    Build,
    Fallback,
    NotCompilable,
    Page,
    Selected,
    after_keys,
    check_connection,
    check_object,
    connection,
    object_json,
    page_arguments,
    root_reader,
)
from schema.reads.declare import Kind

ACTIVITY_ARGUMENTS = frozenset({"first", "after", "status", "district", "category",
                                "hasOpenSlots", "startsAfter", "near"})


def _check_activities(selected: Selected) -> None:
    if {a.name.value for a in selected.node.arguments or ()} - ACTIVITY_ARGUMENTS:
        raise NotCompilable("activities arguments")
    assert selected.children is not None
    check_connection("Activity", selected.children)


@root_reader("activities", _check_activities)
async def activities(b: Build, selected: Selected) -> str:
    arguments = b.arguments(selected)
    if arguments.get("near") is not None:
        raise Fallback
    row = b.alias()
    where: list[str] = []
    status = arguments.get("status")
    if status is None:
        where.append(f"{row}.status <> 'DRAFT'")
    elif ActivityStatus(status) == ActivityStatus.DRAFT and not b.viewer.is_platform_admin:
        teams = sorted(await b.load_administered()) or [0]
        where.append(f"{row}.status = 'DRAFT' AND {row}.team_id = ANY({b.param(teams, 'int[]')})")
    else:
        where.append(f"{row}.status = {b.param(ActivityStatus(status).value, 'text')}")
    try:
        for name in ("district", "category"):
            if arguments.get(name):
                value = check_text(arguments[name], name, max_len=NAME_MAX)
                where.append(f"{row}.{name} = {b.param(value, 'text')}")
        if arguments.get("startsAfter") is not None:
            starts_after = check_aware(arguments["startsAfter"], "startsAfter")
            where.append(f"{row}.starts_at > {b.param(starts_after, 'timestamptz')}")
    except DomainError:
        raise Fallback from None
    open_slots = arguments.get("hasOpenSlots")
    if open_slots is not None:
        now = b.param(datetime.now(UTC), "timestamptz")
        free = f"({row}.capacity - {row}.taken_count)"
        where.append(f"{free} > 0 AND {row}.status = 'PUBLISHED' AND {row}.sign_up_deadline > {now}"
                     if open_slots else
                     f"({free} <= 0 OR {row}.status <> 'PUBLISHED' OR "
                     f"{row}.sign_up_deadline <= {now})")
    size, after = page_arguments(arguments)
    assert selected.children is not None
    return connection(b, selected.children, Page(
        node_type="Activity", source=f"activity {row}", node_alias=row, where=where,
        keys=[(f"{row}.starts_at", Kind.DATETIME, False), (f"{row}.id", Kind.INT, False)],
        order=UPCOMING_FIRST, size=size, after=after_keys(after, UPCOMING_FIRST)))


def _check_me(selected: Selected) -> None:
    assert selected.children is not None
    check_object("Volunteer", selected.children)


@root_reader("me", _check_me)
async def me(b: Build, selected: Selected) -> str:
    if b.viewer.id is None:
        return "NULL"
    row = b.alias()
    assert selected.children is not None
    return (f"(SELECT {object_json(b, 'Volunteer', selected.children, row)} FROM volunteer {row} "
            f"WHERE {row}.id = {b.viewer_id()})")
