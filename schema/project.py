"""Project library (项目库), positions (岗位) and recurring series: types, inputs and fields.
Rules live in resolvers/project.py; shifts are ordinary activities (signUp as usual)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, TypeAlias

import strawberry

from models.activity import Activity as ActivityModel
from models.activity import ActivityStatus as ActivityStatusModel
from models.project import Frequency as FrequencyModel
from models.project import Position as PositionModel
from models.project import Project as ProjectModel
from models.project import ProjectSeries as SeriesModel
from resolvers import project as rules
from resolvers.validation import decode_tags
from schema.context import Info, administered_teams
from schema.lazy import lazy_class
from schema.relay import (
    BY_ID,
    NEWEST_FIRST,
    Connection,
    Node,
    build_connection,
    check_first,
    decode_id,
    decode_optional_id,
    paginate,
    register_node,
)
from schema.team import Team, team_loader

if TYPE_CHECKING:
    from schema.activity import Activity

# Activities load after projects (schema/lazy.py).
ActivityRef = Annotated["Activity", strawberry.lazy("schema.activity")]

if TYPE_CHECKING:
    Frequency: TypeAlias = FrequencyModel
else:
    Frequency = strawberry.enum(FrequencyModel, name="Frequency",
                                description="How often a series repeats.")


async def _visible_statuses(info: Info, team_id: int) -> list[str]:
    statuses = [s.value for s in ActivityStatusModel]
    viewer = info.context.viewer
    if not viewer.is_platform_admin and team_id not in await administered_teams(info):
        statuses.remove(ActivityStatusModel.DRAFT.value)
    return statuses


async def _manages(info: Info, team_id: int) -> bool:
    """The rule of resolvers.project.check_project_admin, with the request's cached team ids."""
    return info.context.viewer.is_platform_admin or team_id in await administered_teams(info)


async def _activities(info: Info, key: str, column: str, parent_id: int, team_id: int,
                      first: int | None, after: str | None) -> Connection[ActivityRef]:
    """Shifts in creation (= date) order; drafts only for the team's admins. One windowed
    statement for every parent in the request."""
    size = check_first(first)
    statuses = await _visible_statuses(info, team_id)
    loaders = info.context.loaders
    rows = await loaders.windowed((key, tuple(statuses)), ActivityModel, column, size + 1, after,
                                  BY_ID, status=statuses).load(parent_id)
    counter = loaders.counts((key, tuple(statuses)), ActivityModel, column,
                             status__in=statuses)

    async def count() -> int:
        return await counter.load(parent_id)

    return build_connection(rows, size, BY_ID, count, convert=lazy_class(ActivityRef).from_model,
                            started_after=bool(after))


@strawberry.type(description="Statistics of a project, maintained as hours are approved.")
class ProjectStats:
    activities_held: int = strawberry.field(
        description="Activities of the project with at least one approved service record.")
    volunteers_served: int = strawberry.field(
        description="Distinct volunteers with at least one approved record in the project.")
    approved_hours: float = strawberry.field(description="Approved hours in the project.")


@strawberry.type(description="A long-lived programme (项目) owned by a team, e.g. "
                             "U爱·公交文明引导, with fixed posts and recurring shifts.")
class Project(Node):
    model: strawberry.Private[ProjectModel]
    name: str = strawberry.field(description="Name.")
    category: str = strawberry.field(description="Category, e.g. 文明交通, 助老.")
    district: str = strawberry.field(description="District.")
    description: str = strawberry.field(description="Description.")
    cover_image_url: str | None = strawberry.field(description="Cover image URL.")
    created_at: datetime = strawberry.field(description="When it was created.")
    stats: ProjectStats = strawberry.field(description="Activities held, volunteers served, "
                                                       "approved hours.")

    @classmethod
    def from_model(cls, model: ProjectModel) -> Project:
        return cls(db_id=model.id, model=model, name=model.name, category=model.category,
                   district=model.district, description=model.description,
                   cover_image_url=model.cover_image_url, created_at=model.created_at,
                   stats=ProjectStats(activities_held=model.activities_held,
                                      volunteers_served=model.volunteers_served,
                                      approved_hours=round(model.approved_hours, 2)))

    @strawberry.field(description="The owning team.")
    async def team(self, info: Info) -> Team:
        return Team.from_model(await team_loader(info).load(self.model.team_id))

    @strawberry.field(description="Fixed posts (岗位) of the project.")
    async def positions(self, info: Info) -> list[Position]:
        rows = await info.context.loaders.grouped("project.positions", PositionModel,
                                                  "project_id").load(self.db_id)
        return [Position.from_model(row) for row in rows]

    @strawberry.field(description="Whether the signed-in volunteer manages the project (an "
                                  "admin of its team or a parent team, or a platform admin): "
                                  "adds posts, schedules and extends series.")
    async def viewer_can_manage(self, info: Info) -> bool:
        return await _manages(info, self.model.team_id)

    @strawberry.field(description="The project's recurring series, oldest first; for those "
                                  "who manage the project (empty for others).")
    async def series(self, info: Info) -> list[ProjectSeries]:
        if not await _manages(info, self.model.team_id):
            return []
        rows = await info.context.loaders.grouped("project.series", SeriesModel,
                                                  "project_id").load(self.db_id)
        return [ProjectSeries.from_model(row) for row in rows]

    @strawberry.field(description="The project's activities (shifts), in date order of "
                                  "generation; drafts for the team's admins only.")
    async def activities(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[ActivityRef]:
        return await _activities(info, "project.activities", "project_id", self.db_id,
                                 self.model.team_id, first, after)


@strawberry.type(description="A fixed post (岗位) in a project, e.g. one bus line's stop, with "
                             "its capacity per shift and required qualifications.")
class Position(Node):
    model: strawberry.Private[PositionModel]
    name: str = strawberry.field(description="Name of the post.")
    address: str | None = strawberry.field(description="Where the post is.")
    latitude: float | None = strawberry.field(description="Latitude, if known.")
    longitude: float | None = strawberry.field(description="Longitude, if known.")
    capacity_per_shift: int = strawberry.field(description="Volunteers per shift.")
    qualifications: list[str] = strawberry.field(description="Qualifications each shift needs.")
    minimum_age: int | None = strawberry.field(description="Minimum age each shift needs.")

    @classmethod
    def from_model(cls, model: PositionModel) -> Position:
        return cls(db_id=model.id, model=model, name=model.name, address=model.address,
                   latitude=model.latitude, longitude=model.longitude,
                   capacity_per_shift=model.capacity_per_shift,
                   qualifications=decode_tags(model.qualifications),
                   minimum_age=model.minimum_age)

    @strawberry.field(description="Shifts of this post (sign up to one with signUp).")
    async def shifts(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[ActivityRef]:
        project = await info.context.loaders.by_id(ProjectModel).load(self.model.project_id)
        assert project is not None
        return await _activities(info, "position.shifts", "position_id", self.db_id,
                                 project.team_id, first, after)


@strawberry.type(description="A recurring rule that generated dated shifts of a project.")
class ProjectSeries(Node):
    model: strawberry.Private[SeriesModel]
    title: str = strawberry.field(description="Title given to each generated activity.")
    frequency: Frequency = strawberry.field(description="WEEKLY or MONTHLY.")
    weekdays: list[int] = strawberry.field(description="WEEKLY: ISO weekdays (1 = Monday).")
    day_of_month: int | None = strawberry.field(description="MONTHLY: day of the month.")
    start_time: str = strawberry.field(description="Start, HH:MM Beijing time.")
    duration_minutes: int = strawberry.field(description="Length of each shift.")
    capacity: int = strawberry.field(description="Places per generated activity.")
    first_date: date = strawberry.field(description="First date covered.")
    last_date: date = strawberry.field(description="Last date covered.")

    @classmethod
    def from_model(cls, model: SeriesModel) -> ProjectSeries:
        return cls(db_id=model.id, model=model, title=model.title,
                   frequency=FrequencyModel(model.frequency),
                   weekdays=[int(d) for d in decode_tags(model.weekdays)],
                   day_of_month=model.day_of_month, start_time=model.start_time,
                   duration_minutes=model.duration_minutes, capacity=model.capacity,
                   first_date=model.first_date, last_date=model.last_date)

    @strawberry.field(description="The post the shifts are for, if any.")
    async def position(self, info: Info) -> Position | None:
        if self.model.position_id is None:
            return None
        row = await info.context.loaders.by_id(PositionModel).load(self.model.position_id)
        return Position.from_model(row) if row else None


@strawberry.type(description="A series and how many activities the call generated.")
class SeriesPayload:
    series: ProjectSeries = strawberry.field(description="The series.")
    created: int = strawberry.field(description="Activities generated by this call.")
    activities: list[ActivityRef] = strawberry.field(
        description="The activities generated by this call, in date order (at most 366).")

    @classmethod
    def of(cls, series: SeriesModel, activities: list[ActivityModel]) -> SeriesPayload:
        convert = lazy_class(ActivityRef).from_model
        return cls(series=ProjectSeries.from_model(series), created=len(activities),
                   activities=[convert(activity) for activity in activities])


async def _project_node(info: Info, db_id: int) -> Project | None:
    row = await info.context.loaders.by_id(ProjectModel).load(db_id)
    return Project.from_model(row) if row else None


async def _position_node(info: Info, db_id: int) -> Position | None:
    row = await info.context.loaders.by_id(PositionModel).load(db_id)
    return Position.from_model(row) if row else None


async def _series_node(info: Info, db_id: int) -> ProjectSeries | None:
    row = await info.context.loaders.by_id(SeriesModel).load(db_id)
    return ProjectSeries.from_model(row) if row else None


register_node("Project", _project_node)
register_node("Position", _position_node)
register_node("ProjectSeries", _series_node)


async def activity_project(info: Info, model: ActivityModel) -> Project | None:
    if model.project_id is None:
        return None
    row = await info.context.loaders.by_id(ProjectModel).load(model.project_id)
    return Project.from_model(row) if row else None


async def activity_position(info: Info, model: ActivityModel) -> Position | None:
    if model.position_id is None:
        return None
    row = await info.context.loaders.by_id(PositionModel).load(model.position_id)
    return Position.from_model(row) if row else None


@strawberry.input(description="Filter of the project library.")
class ProjectFilter:
    category: str | None = strawberry.field(default=None, description="Exact category.")
    district: str | None = strawberry.field(default=None, description="Exact district.")
    team_id: strawberry.ID | None = strawberry.field(default=None, description="Owning team.")
    search: str | None = strawberry.field(default=None,
                                          description="Words in the name or description.")


@strawberry.input(description="A new project.")
class ProjectInput:
    team_id: strawberry.ID = strawberry.field(description="Owning team (its admins manage it).")
    name: str = strawberry.field(description="Name.")
    category: str = strawberry.field(description="Category, e.g. 助老.")
    district: str = strawberry.field(description="District it serves.")
    description: str = strawberry.field(default="", description="What the project does.")
    cover_image_url: str | None = strawberry.field(default=None, description="http(s) URL.")


@strawberry.input(description="A new fixed post in a project.")
class PositionInput:
    name: str = strawberry.field(description="Name of the post.")
    capacity_per_shift: int = strawberry.field(description="1–10,000 volunteers per shift.")
    address: str | None = strawberry.field(default=None, description="Where to go.")
    latitude: float | None = strawberry.field(default=None, description="With longitude.")
    longitude: float | None = strawberry.field(default=None, description="With latitude.")
    qualifications: list[str] | None = strawberry.field(
        default=None, description="Qualifications every shift needs.")
    minimum_age: int | None = strawberry.field(default=None,
                                               description="Minimum age every shift needs.")


@strawberry.input(description="A weekly or monthly rule generating dated shifts.")
class SeriesInput:
    frequency: Frequency = strawberry.field(description="WEEKLY or MONTHLY.")
    start_time: str = strawberry.field(description="HH:MM, Beijing time.")
    duration_minutes: int = strawberry.field(description="15–1,440 minutes.")
    first_date: date = strawberry.field(description="First date (Beijing).")
    last_date: date = strawberry.field(description="Last date; at most 366 days after the first.")
    weekdays: list[int] | None = strawberry.field(
        default=None, description="WEEKLY: ISO weekdays, 1 = Monday … 7 = Sunday.")
    day_of_month: int | None = strawberry.field(
        default=None, description="MONTHLY: 1–31 (months without that day are skipped).")
    position_id: strawberry.ID | None = strawberry.field(
        default=None, description="The post; shifts inherit its capacity and requirements.")
    title: str | None = strawberry.field(default=None,
                                         description="Default: project · position name.")
    capacity: int | None = strawberry.field(default=None,
                                            description="Default: the post's capacity.")
    publish: bool = strawberry.field(default=True,
                                     description="Publish the shifts (else drafts).")


@strawberry.type
class ProjectQuery:
    @strawberry.field(description="The project library, newest first.")
    async def projects(self, info: Info, first: int | None = None, after: str | None = None,
                       filter: ProjectFilter | None = None) -> Connection[Project]:
        where = filter or ProjectFilter()
        query = rules.list_projects(rules.ProjectFilter(
            category=where.category, district=where.district,
            team_id=decode_optional_id(where.team_id, "Team", "filter.teamId"),
            search=where.search))
        return await paginate(query, first, after, convert=Project.from_model,
                              order=NEWEST_FIRST)


@strawberry.type
class ProjectMutation:
    @strawberry.mutation(description="Create a project (team admins).")
    async def create_project(self, info: Info, input: ProjectInput) -> Project:
        model = await rules.do_create_project(
            info.context.viewer, decode_id(input.team_id, "Team", "teamId"), rules.ProjectData(
                name=input.name, category=input.category, district=input.district,
                description=input.description, cover_image_url=input.cover_image_url))
        return Project.from_model(model)

    @strawberry.mutation(description="Add a fixed post to a project (project admins).")
    async def create_position(self, info: Info, project_id: strawberry.ID,
                              input: PositionInput) -> Position:
        model = await rules.do_create_position(
            info.context.viewer, decode_id(project_id, "Project", "projectId"),
            rules.PositionData(name=input.name, capacity_per_shift=input.capacity_per_shift,
                               address=input.address, latitude=input.latitude,
                               longitude=input.longitude, qualifications=input.qualifications,
                               minimum_age=input.minimum_age))
        return Position.from_model(model)

    @strawberry.mutation(description="Generate dated shifts from a weekly/monthly rule; each is "
                                     "an ordinary activity, editable on its own.")
    async def schedule_series(self, info: Info, project_id: strawberry.ID,
                              input: SeriesInput) -> SeriesPayload:
        series, activities = await rules.do_schedule_series(
            info.context.viewer, decode_id(project_id, "Project", "projectId"),
            decode_optional_id(input.position_id, "Position", "positionId"),
            rules.SeriesData(frequency=FrequencyModel(input.frequency),
                             start_time=input.start_time,
                             duration_minutes=input.duration_minutes,
                             first_date=input.first_date, last_date=input.last_date,
                             weekdays=input.weekdays, day_of_month=input.day_of_month,
                             title=input.title, capacity=input.capacity,
                             publish=input.publish))
        return SeriesPayload.of(series, activities)

    @strawberry.mutation(description="Extend a series to a later last date; only dates it does "
                                     "not have yet are generated.")
    async def extend_series(self, info: Info, series_id: strawberry.ID, last_date: date,
                            publish: bool = True) -> SeriesPayload:
        series, activities = await rules.do_extend_series(
            info.context.viewer, decode_id(series_id, "ProjectSeries", "seriesId"), last_date,
            publish)
        return SeriesPayload.of(series, activities)


__all__ = ["Position", "Project", "ProjectMutation", "ProjectQuery", "ProjectSeries",
           "activity_position", "activity_project"]
