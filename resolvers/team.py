"""Teams: hierarchy, membership applications and decisions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models.team import Membership, MembershipRole, MembershipStatus, Team, TeamType
from resolvers.auth import Viewer
from resolvers.errors import BadInput, Conflict, Forbidden, NotFound
from resolvers.validation import NAME_MAX, check_text


@dataclass
class TeamData:
    name: str
    type: TeamType
    district: str
    parent_id: int | None = None


def ancestor_ids(team: Team) -> list[int]:
    return [int(part) for part in team.path.strip("/").split("/") if part]


async def is_team_admin(viewer: Viewer, team: Team) -> bool:
    """Platform admins and admins of the team or of any ancestor may act on it."""
    if viewer.volunteer is None:
        return False
    if viewer.is_platform_admin:
        return True
    return await Membership.exists(
        volunteer_id=viewer.volunteer.id,
        team_id__in=ancestor_ids(team),
        role=MembershipRole.ADMIN,
        status=MembershipStatus.APPROVED,
    )


async def administered_team_ids(volunteer_id: int) -> set[int]:
    """Teams the volunteer administers directly or through an ancestor team."""
    direct = await Membership.filter(
        volunteer_id=volunteer_id, role=MembershipRole.ADMIN, status=MembershipStatus.APPROVED
    ).values_list("team_id", flat=True)
    if not direct:
        return set()
    condition = Q()
    for team_id in direct:
        condition |= Q(path__contains=f"/{team_id}/")
    ids: list[int] = await Team.filter(condition).values_list("id", flat=True)  # type: ignore[assignment]
    return set(ids)


async def check_team_admin(viewer: Viewer, team_id: int) -> Team:
    viewer.require()
    team = await Team.get_or_none(id=team_id)
    if team is None:
        raise NotFound("Team")
    if not await is_team_admin(viewer, team):
        raise Forbidden("Only an admin of this team or a parent team can do that.")
    return team





async def do_create_team(viewer: Viewer, data: TeamData) -> Team:
    """Top-level teams: any active volunteer (EMERGENCY: platform admins). Sub-teams: parent admins."""
    creator = viewer.require_active()
    name = check_text(data.name, "name", max_len=100)
    district = check_text(data.district, "district", max_len=NAME_MAX)
    parent: Team | None = None
    if data.parent_id is not None:
        parent = await Team.get_or_none(id=data.parent_id)
        if parent is None:
            raise NotFound("Parent team")
        if not await is_team_admin(viewer, parent):
            raise Forbidden("Only an admin of the parent team can create a sub-team.")
    elif data.type == TeamType.EMERGENCY and not viewer.is_platform_admin:
        raise Forbidden("Only platform admins create top-level emergency teams.")
    async with in_transaction():
        team = await Team.create(
            name=name, type=data.type, district=district, parent=parent, created_by=creator
        )
        team.path = f"{parent.path if parent else '/'}{team.id}/"
        await team.save(update_fields=["path"])
        await Membership.create(
            team=team,
            volunteer=creator,
            role=MembershipRole.ADMIN,
            status=MembershipStatus.APPROVED,
            decided_by=creator,
            decided_at=datetime.now(timezone.utc),
        )
    return team


async def do_join_team(viewer: Viewer, team_id: int) -> Team:
    """Applying again is idempotent; a rejected volunteer may apply again."""
    volunteer = viewer.require_active()
    team = await Team.get_or_none(id=team_id)
    if team is None:
        raise NotFound("Team")
    async with in_transaction():
        membership, created = await Membership.get_or_create(
            team=team, volunteer=volunteer, defaults={"status": MembershipStatus.PENDING}
        )
        if not created and membership.status == MembershipStatus.REJECTED:
            membership.status = MembershipStatus.PENDING
            membership.decided_at = None
            await membership.save(update_fields=["status", "decided_at"])
    return team


async def do_decide_membership(
    viewer: Viewer, team_id: int, volunteer_id: int, approve: bool
) -> Team:
    team = await check_team_admin(viewer, team_id)
    membership = await Membership.get_or_none(team_id=team.id, volunteer_id=volunteer_id)
    if membership is None:
        raise NotFound("Membership application")
    if membership.role == MembershipRole.ADMIN and not approve and membership.volunteer_id == viewer.id:
        raise BadInput("volunteerId", "You cannot reject your own admin membership.")
    membership.status = MembershipStatus.APPROVED if approve else MembershipStatus.REJECTED
    membership.decided_by_id = viewer.id
    membership.decided_at = datetime.now(timezone.utc)
    await membership.save(update_fields=["status", "decided_by_id", "decided_at"])
    return team


async def do_leave_team(viewer: Viewer, team_id: int) -> Team:
    """Ends the caller's membership (or application). The last approved admin stays: a team
    without one could never approve anyone again."""
    volunteer = viewer.require()
    team = await Team.get_or_none(id=team_id)
    if team is None:
        raise NotFound("Team")
    async with in_transaction() as conn:
        membership = await Membership.filter(team_id=team.id, volunteer_id=volunteer.id
                                             ).using_db(conn).first()
        if membership is None:
            raise NotFound("Membership")
        if membership.role == MembershipRole.ADMIN and membership.status == MembershipStatus.APPROVED \
                and not await Membership.filter(team_id=team.id, role=MembershipRole.ADMIN,
                                                status=MembershipStatus.APPROVED
                                                ).exclude(id=membership.id).using_db(conn).exists():
            raise Conflict("You are the team's last admin; make someone else admin first.")
        await Membership.filter(id=membership.id).using_db(conn).delete()
    return team


def list_teams(
    *, type: TeamType | None = None, district: str | None = None, parent_id: int | None = None
) -> QuerySet[Team]:
    query = Team.all()
    if type is not None:
        query = query.filter(type=type)
    if district:
        query = query.filter(district=check_text(district, "district", max_len=NAME_MAX))
    if parent_id is not None:
        query = query.filter(parent_id=parent_id)
    return query
