"""Teams and their hierarchy: types, inputs and the Query/Mutation fields."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from models.team import Membership, MembershipStatus
from models.team import Team as TeamModel
from models.team import TeamType as TeamTypeModel
from resolvers import chat
from resolvers import team as rules
from schema.context import Info, administered_teams
from schema.lazy import lazy_class
from schema.relay import (
    BY_ID,
    Connection,
    Node,
    build_connection,
    check_first,
    decode_id,
    decode_optional_id,
    paginate,
    register_node,
)
from schema.volunteer import Volunteer, volunteer_loader

if TYPE_CHECKING:
    from schema.activity import Activity, ActivityStatus

# Activities load after teams (schema/lazy.py).
ActivityRef = Annotated["Activity", strawberry.lazy("schema.activity")]

# Registers the model's enum as the GraphQL enum `TeamType` (same class, so values pass through).
TeamType = TeamTypeModel
strawberry.enum(TeamTypeModel, name="TeamType", description="Kinds of volunteer teams.")


def team_loader(info: Info):  # type: ignore[no-untyped-def]
    return info.context.loaders.by_id(TeamModel)


@strawberry.type(description="A volunteer team (志愿服务队伍) in the org hierarchy.")
class Team(Node):
    model: strawberry.Private[TeamModel]
    name: str = strawberry.field(description="Team name.")
    type: TeamType = strawberry.field(description="Kind of team.")
    district: str = strawberry.field(description="District of the team.")
    approved_hours: float = strawberry.field(description="Approved hours served in its activities.")

    @classmethod
    def from_model(cls, model: TeamModel) -> Team:
        return cls(
            db_id=model.id,
            model=model,
            name=model.name,
            type=model.type,
            district=model.district,
            approved_hours=round(model.approved_hours, 2),
        )

    @strawberry.field(description="The parent team, if any.")
    async def parent(self, info: Info) -> Team | None:
        if self.model.parent_id is None:
            return None
        parent = await team_loader(info).load(self.model.parent_id)
        return Team.from_model(parent) if parent else None

    @strawberry.field(description="Direct sub-teams.")
    async def children(self, info: Info) -> list[Team]:
        rows = await info.context.loaders.grouped("team.children", TeamModel, "parent_id").load(
            self.db_id
        )
        return [Team.from_model(row) for row in rows]

    @strawberry.field(description="Approved members.")
    async def member_count(self, info: Info) -> int:
        return await info.context.loaders.counts(
            "team.members", Membership, "team_id", status=MembershipStatus.APPROVED
        ).load(self.db_id)

    @strawberry.field(description="Approved members, oldest membership first.")
    async def members(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Volunteer]:
        return await _member_page(info, self.db_id, first, after, MembershipStatus.APPROVED)

    @strawberry.field(description="Pending applications to join (team admins only).")
    async def applicants(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Volunteer]:
        await rules.check_team_admin(info.context.viewer, self.db_id)
        return await _member_page(info, self.db_id, first, after, MembershipStatus.PENDING)

    @strawberry.field(description="Whether the signed-in volunteer may administer this team.")
    async def viewer_is_admin(self, info: Info) -> bool:
        # rules.is_team_admin's answer, from the viewer's administered teams read once per
        # request (a list of teams would otherwise ask once per team).
        viewer = info.context.viewer
        if viewer.volunteer is None or viewer.is_platform_admin:
            return viewer.volunteer is not None
        return self.db_id in await administered_teams(info)

    @strawberry.field(description="The team's activities, newest first (drafts: its admins only).")
    async def activities(
        self, info: Info, first: int | None = None, after: str | None = None,
        status: Annotated[ActivityStatus, strawberry.lazy("schema.activity")] | None = None,
    ) -> Connection[ActivityRef]:
        return await lazy_class(ActivityRef).of_team(info, self.db_id, first, after, status)


async def _member_page(
    info: Info, team_id: int, first: int | None, after: str | None, status: MembershipStatus
) -> Connection[Volunteer]:
    size = check_first(first)
    loaders = info.context.loaders
    memberships = await loaders.windowed(
        ("team.members", status), Membership, "team_id", size + 1, after, BY_ID, status=status
    ).load(team_id)
    people = await volunteer_loader(info).load_many([m.volunteer_id for m in memberships])
    person_of = {m.id: Volunteer.from_model(p) for m, p in zip(memberships, people, strict=True) if p}
    counter = loaders.counts(("team.members", status), Membership, "team_id", status=status)

    async def count() -> int:
        return await counter.load(team_id)

    return build_connection(
        [m for m in memberships if m.id in person_of], size, BY_ID, count,
        convert=lambda m: person_of[m.id], started_after=bool(after),
    )


async def _node(info: Info, db_id: int) -> Team | None:
    model = await team_loader(info).load(db_id)
    return Team.from_model(model) if model else None


register_node("Team", _node)


@strawberry.input(description="A new team; sub-teams need an admin of the parent.")
class TeamInput:
    name: str
    type: TeamType
    district: str
    parent_id: strawberry.ID | None = None


@strawberry.type
class TeamQuery:
    @strawberry.field(description="Teams, filtered by type, district or parent.")
    async def teams(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        type: TeamType | None = None,
        district: str | None = None,
        parent_id: strawberry.ID | None = None,
    ) -> Connection[Team]:
        query = rules.list_teams(
            type=type, district=district, parent_id=decode_optional_id(parent_id, "Team", "parentId")
        )
        return await paginate(query, first, after, convert=Team.from_model)


@strawberry.type
class TeamMutation:
    @strawberry.mutation(description="Create a team; the creator becomes its first admin.")
    async def create_team(self, info: Info, input: TeamInput) -> Team:
        model = await rules.do_create_team(
            info.context.viewer,
            rules.TeamData(
                name=input.name,
                type=input.type,
                district=input.district,
                parent_id=decode_optional_id(input.parent_id, "Team", "input.parentId"),
            ),
        )
        return Team.from_model(model)

    @strawberry.mutation(description="Apply to join a team; an admin decides.")
    async def join_team(self, info: Info, team_id: strawberry.ID) -> Team:
        model = await rules.do_join_team(info.context.viewer, decode_id(team_id, "Team", "teamId"))
        return Team.from_model(model)

    @strawberry.mutation(description="Approve or reject an application (team admins).")
    async def decide_membership(
        self, info: Info, team_id: strawberry.ID, volunteer_id: strawberry.ID, approve: bool
    ) -> Team:
        model = await rules.do_decide_membership(
            info.context.viewer,
            decode_id(team_id, "Team", "teamId"),
            decode_id(volunteer_id, "Volunteer", "volunteerId"),
            approve,
        )
        if not approve:
            await chat.notify_left(volunteer_id=decode_id(volunteer_id, "Volunteer", "volunteerId"),
                                   team_id=model.id)
        return Team.from_model(model)

    @strawberry.mutation(description="Leave a team: its chat room and member-only views are gone "
                                     "at once. The last admin cannot leave (CONFLICT).")
    async def leave_team(self, info: Info, team_id: strawberry.ID) -> Team:
        model = await rules.do_leave_team(info.context.viewer, decode_id(team_id, "Team", "teamId"))
        await chat.notify_left(volunteer_id=info.context.viewer.id or 0, team_id=model.id)
        return Team.from_model(model)


