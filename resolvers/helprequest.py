"""Help requests (求助): post, claim, resolve, list, and the live push to nearby volunteers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from core import pii
from core.geo import Circle
from models.consent import ConsentPurpose
from models.helprequest import HelpRequest, HelpRequestStatus, Urgency
from resolvers.auth import Viewer
from resolvers.consent import check_location_allowed, on_withdrawal
from resolvers.errors import Conflict, Forbidden, NotFound
from resolvers.services import services
from resolvers.team import is_team_admin
from resolvers.validation import (
    LONG_TEXT_MAX,
    NAME_MAX,
    SHORT_TEXT_MAX,
    TAG_MAX,
    check_coordinates,
    check_optional_text,
    check_tags,
    check_text,
    decode_tags,
    encode_tags,
    tag_pattern,
)
from subscriptions import channels
from subscriptions.broker import Broker
from subscriptions.matching import Matcher, MatchEvent, MatchFilter, Watcher

# A volunteer may post this many help requests per hour (spam guard).
CREATE_PER_HOUR = 20


@dataclass
class HelpRequestData:
    title: str
    description: str
    district: str
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    skills: list[str] | None = None
    urgency: Urgency = Urgency.NORMAL





async def do_create_help_request(viewer: Viewer, data: HelpRequestData) -> HelpRequest:
    author = viewer.require_active()
    title = check_text(data.title, "input.title", max_len=SHORT_TEXT_MAX)
    description = check_text(data.description, "input.description", max_len=LONG_TEXT_MAX)
    district = check_text(data.district, "input.district", max_len=NAME_MAX)
    address = check_optional_text(data.address, "input.address", max_len=SHORT_TEXT_MAX)
    latitude, longitude = check_coordinates(data.latitude, data.longitude, prefix="input.")
    skills = check_tags(data.skills, "input.skills")
    await services().limiter.hit(f"help-request:{author.id}", CREATE_PER_HOUR, 3600)
    return await HelpRequest.create(
        created_by=author, title=title, description=description, district=district,
        address_cipher=pii.seal(address, pii.HELP_ADDRESS) if address else None,
        latitude=latitude, longitude=longitude, skills=encode_tags(skills),
        urgency=data.urgency,
    )


async def notify_help_request_created(request: HelpRequest) -> None:
    """After commit: one message on one channel; every process matches its own subscribers."""
    await services().broker.publish(channels.help_requests(), {
        "id": request.id,
        "district": request.district,
        "skills": decode_tags(request.skills),
        "latitude": request.latitude,
        "longitude": request.longitude,
    })


async def _get(request_id: int) -> HelpRequest:
    request = await HelpRequest.get_or_none(id=request_id)
    if request is None:
        raise NotFound("Help request")
    return request


async def do_claim_help_request(viewer: Viewer, request_id: int, team_id: int | None = None
                                ) -> HelpRequest:
    """One conditional UPDATE (status = OPEN) decides between concurrent claimers."""
    volunteer = viewer.require_active()
    request = await _get(request_id)
    if request.created_by_id == volunteer.id:
        raise Forbidden("You cannot claim your own help request.")
    if team_id is not None:
        from models.team import Team

        team = await Team.get_or_none(id=team_id)
        if team is None:
            raise NotFound("Team")
        if not await is_team_admin(viewer, team):
            raise Forbidden("Only an admin of this team can claim on its behalf.")
    changed = await HelpRequest.filter(id=request_id, status=HelpRequestStatus.OPEN).update(
        status=HelpRequestStatus.CLAIMED, claimed_by_id=volunteer.id, claimed_team_id=team_id
    )
    if not changed:
        raise Conflict("This help request is no longer open.")
    await request.refresh_from_db()
    return request


async def can_manage(viewer: Viewer, request: HelpRequest) -> bool:
    """The claimer, platform admins, and admins of the claiming team."""
    if viewer.volunteer is None:
        return False
    if viewer.is_platform_admin or request.claimed_by_id == viewer.id:
        return True
    if request.claimed_team_id is not None:
        await request.fetch_related("claimed_team")
        return request.claimed_team is not None and await is_team_admin(viewer, request.claimed_team)
    return False


async def do_resolve_help_request(viewer: Viewer, request_id: int) -> HelpRequest:
    viewer.require()
    request = await _get(request_id)
    if not await can_manage(viewer, request):
        raise Forbidden("Only the volunteer who claimed it or an admin can resolve it.")
    changed = await HelpRequest.filter(id=request_id, status=HelpRequestStatus.CLAIMED).update(
        status=HelpRequestStatus.RESOLVED, resolved_at=datetime.now(timezone.utc)
    )
    if not changed:
        raise Conflict("Only a claimed help request can be resolved.")
    await request.refresh_from_db()
    return request


async def do_close_help_request(viewer: Viewer, request_id: int) -> HelpRequest:
    """The author or a platform admin withdraws a request that is not resolved yet."""
    volunteer = viewer.require()
    request = await _get(request_id)
    if request.created_by_id != volunteer.id and not viewer.is_platform_admin:
        raise Forbidden("Only the author or a platform admin can close it.")
    changed = await HelpRequest.filter(
        id=request_id, status__in=[HelpRequestStatus.OPEN, HelpRequestStatus.CLAIMED]
    ).update(status=HelpRequestStatus.CLOSED, resolved_at=datetime.now(timezone.utc))
    if not changed:
        raise Conflict("This help request is already resolved or closed.")
    await request.refresh_from_db()
    return request


def check_district(district: str | None, field: str = "district") -> str | None:
    return check_text(district, field, max_len=NAME_MAX) if district is not None else None


def list_help_requests(
    viewer: Viewer,
    *,
    status: HelpRequestStatus | None = None,
    district: str | None = None,
    skill: str | None = None,
    near: Circle | None = None,
) -> QuerySet[HelpRequest]:
    """Signed-in users only (requests carry addresses). `near` narrows by bounding box here;
    the exact circle is checked by the caller with `near.contains`."""
    viewer.require()
    query = HelpRequest.all()
    if status is not None:
        query = query.filter(status=status)
    if district is not None:
        query = query.filter(district=check_district(district))
    if skill is not None:
        query = query.filter(skills__contains=tag_pattern(check_text(skill, "skill", max_len=TAG_MAX)))
    if near is not None:
        query = query.filter(**near.filters())
    return query


def check_match_filter(district: str | None, skills: list[str] | None, near: Circle | None
                       ) -> MatchFilter:
    return MatchFilter(
        district=check_district(district),
        skills=frozenset(check_tags(skills, "skills")),
        circle=near,
    )


def _decode_event(payload: dict[str, Any]) -> MatchEvent | None:
    try:
        return MatchEvent(
            district=str(payload["district"]),
            skills=frozenset(payload.get("skills") or ()),
            latitude=payload.get("latitude"),
            longitude=payload.get("longitude"),
        )
    except (KeyError, TypeError):
        return None


async def _load_event(payload: dict[str, Any]) -> HelpRequest | None:
    return await HelpRequest.get_or_none(id=int(payload["id"]))


async def _catch_up(after_id: int) -> list[tuple[MatchEvent, Any, int]]:
    """Requests posted while Redis was unreachable (pub/sub lost their messages)."""
    missed = await HelpRequest.filter(Q(id__gt=after_id)).order_by("id").limit(1000)
    return [
        (MatchEvent(r.district, frozenset(decode_tags(r.skills)), r.latitude, r.longitude), r, r.id)
        for r in missed
    ]


_matchers: dict[int, Matcher] = {}


def help_request_matcher(broker: Broker | None = None) -> Matcher:
    broker = broker or services().broker
    matcher = _matchers.get(id(broker))
    if matcher is None or matcher.broker is not broker:
        matcher = _matchers[id(broker)] = Matcher(
            broker, channels.help_requests(), decode=_decode_event, load=_load_event,
            catch_up=_catch_up,
        )
    return matcher


@contextlib.asynccontextmanager
async def watch_help_requests(viewer: Viewer, match: MatchFilter) -> AsyncIterator[Watcher]:
    """A live inbox of new help requests matching every part of `match`. Matching by the
    viewer's position needs their LOCATION consent; withdrawing it (from any process) puts
    LOCATION_WITHDRAWN in the inbox at once, and `next_help_request` ends the stream."""
    viewer.require()
    if match.circle is None:
        async with help_request_matcher().watch(match) as watcher:
            yield watcher
        return
    await check_location_allowed(viewer)
    async with help_request_matcher().watch(match) as watcher:
        async with on_withdrawal(viewer, ConsentPurpose.LOCATION,
                                 lambda: watcher.deliver(LOCATION_WITHDRAWN)):
            yield watcher


LOCATION_WITHDRAWN = object()


async def next_help_request(inbox: Watcher) -> HelpRequest:
    item = await inbox.get()
    if item is LOCATION_WITHDRAWN:
        raise Forbidden("You withdrew consent to location use; nearby matching stopped.")
    return item
