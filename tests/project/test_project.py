"""Project library: projects, positions, recurring series of shifts signed up through the
existing sign-up path, the filtered connection and statistics maintained on write."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from models.activity import Activity, ActivityStatus, SignUp, SignUpStatus
from models.hours import ServiceRecord
from models.project import Frequency, Project, ProjectTally
from resolvers.auth import Viewer
from resolvers.hours import do_approve_hours, do_check_in, do_check_out, do_reject_hours
from resolvers.project import rebuild_project_stats, series_days
from schema.relay import to_global_id
from tests.activity.factory import make_activity
from tests.helpers import count_statements, execute, make_team, make_volunteer
from tests.training.factory import qualify

CREATE_PROJECT = """
mutation P($input: ProjectInput!) { createProject(input: $input) { id name stats { activitiesHeld } } }"""
CREATE_POSITION = """
mutation P($id: ID!, $input: PositionInput!) {
  createPosition(projectId: $id, input: $input) { id name capacityPerShift qualifications }
}"""
SCHEDULE = """
mutation S($id: ID!, $input: SeriesInput!) {
  scheduleSeries(projectId: $id, input: $input) { created series { id weekdays lastDate } }
}"""
EXTEND = """
mutation E($id: ID!, $last: Date!) { extendSeries(seriesId: $id, lastDate: $last) { created } }"""
SHIFTS = """
query S($id: ID!) {
  node(id: $id) {
    ... on Position {
      shifts(first: 50) {
        totalCount
        edges { node { id title startsAt capacity status requirements { qualifications minimumAge }
                       project { name } position { name } } }
      }
    }
  }
}"""
SIGN_UP = "mutation S($id: ID!) { signUp(activityId: $id) { status } }"
UPDATE = "mutation U($id: ID!, $input: ActivityUpdateInput!) { updateActivity(id: $id, input: $input) { capacity } }"
CANCEL = "mutation C($id: ID!) { cancelActivity(id: $id, reason: \"暴雨停运\") { status } }"
PROJECTS = """
query P($first: Int, $filter: ProjectFilter) {
  projects(first: $first, filter: $filter) {
    totalCount
    edges { node { name district stats { activitiesHeld volunteersServed approvedHours }
                   team { name } positions { name } activities(first: 3) { totalCount edges { node { title } } } } }
  }
}"""


def _next(weekday: int) -> date:
    """The first given ISO weekday at least two days from today (Beijing)."""
    day = datetime.now(UTC).date() + timedelta(days=2)
    while day.isoweekday() != weekday:
        day += timedelta(days=1)
    return day


async def _project(admin, team, **extra):
    return (await execute(CREATE_PROJECT, {"input": {
        "teamId": to_global_id("Team", team.id), "name": "U爱·公交文明引导", "category": "文明交通",
        "district": "朝阳区", "description": "公交站台文明引导。", **extra}}, as_=admin)
            ).ok()["createProject"]


async def test_a_weekly_series_generates_shifts_signed_up_through_the_usual_path(db):
    # given
    admin = await make_volunteer("队长")
    team = await make_team(admin, "公交志愿服务队")
    project = await _project(admin, team)
    position = (await execute(CREATE_POSITION, {"id": project["id"], "input": {
        "name": "1路 国贸站", "capacityPerShift": 2, "qualifications": ["文明引导员"],
        "address": "国贸站台", "latitude": 39.9087, "longitude": 116.4605}}, as_=admin)
                ).ok()["createPosition"]
    monday = _next(1)
    # when: Mondays and Wednesdays for two weeks
    scheduled = (await execute(SCHEDULE, {"id": project["id"], "input": {
        "frequency": "WEEKLY", "weekdays": [3, 1, 1], "startTime": "07:30", "durationMinutes": 120,
        "firstDate": monday.isoformat(), "lastDate": (monday + timedelta(days=13)).isoformat(),
        "positionId": position["id"]}}, as_=admin)).ok()["scheduleSeries"]
    shifts = (await execute(SHIFTS, {"id": position["id"]})).ok()["node"]["shifts"]
    first = shifts["edges"][0]["node"]
    people = [await make_volunteer(f"引导员{i}") for i in range(4)]
    for person in people[:3]:
        await qualify(person, "文明引导员")
    outcomes = [await execute(SIGN_UP, {"id": first["id"]}, as_=p) for p in people]
    # then
    assert scheduled["created"] == 4 and scheduled["series"]["weekdays"] == [1, 3]
    assert shifts["totalCount"] == 4
    assert first["title"] == "U爱·公交文明引导·1路 国贸站"
    assert datetime.fromisoformat(first["startsAt"]) == \
        datetime.fromisoformat(f"{monday.isoformat()}T07:30:00+08:00")  # Beijing time
    assert (first["capacity"], first["status"]) == (2, "PUBLISHED")
    assert first["requirements"] == {"qualifications": ["文明引导员"], "minimumAge": None}
    assert first["project"] == {"name": "U爱·公交文明引导"}
    assert first["position"] == {"name": "1路 国贸站"}
    assert [o.data["signUp"]["status"] if o.data else o.codes[0] for o in outcomes] == \
        ["CONFIRMED", "CONFIRMED", "WAITLISTED", "FORBIDDEN"]
    assert outcomes[3].errors[0]["extensions"]["reason"] == "NOT_QUALIFIED"
    other = shifts["edges"][1]["node"]["id"]
    assert (await execute(SIGN_UP, {"id": other}, as_=people[0])).ok()["signUp"]["status"] == \
        "CONFIRMED"  # one shift's sign-ups never touch another's


async def test_one_shift_is_edited_or_cancelled_without_breaking_the_series(db):
    # given
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    project = await _project(admin, team)
    monday = _next(1)
    scheduled = (await execute(SCHEDULE, {"id": project["id"], "input": {
        "frequency": "WEEKLY", "weekdays": [1], "startTime": "08:00", "durationMinutes": 60,
        "capacity": 5, "firstDate": monday.isoformat(),
        "lastDate": (monday + timedelta(days=14)).isoformat()}}, as_=admin)).ok()["scheduleSeries"]
    rows = await Activity.filter(project__name=project["name"]).order_by("starts_at")
    # when
    (await execute(UPDATE, {"id": to_global_id("Activity", rows[0].id),
                            "input": {"capacity": 9}}, as_=admin)).ok()
    (await execute(CANCEL, {"id": to_global_id("Activity", rows[1].id)}, as_=admin)).ok()
    extended = (await execute(EXTEND, {"id": scheduled["series"]["id"],
                                       "last": (monday + timedelta(days=28)).isoformat()},
                              as_=admin)).ok()["extendSeries"]
    shrink = await execute(EXTEND, {"id": scheduled["series"]["id"],
                                    "last": monday.isoformat()}, as_=admin)
    # then
    after = await Activity.filter(project_id=rows[0].project_id).order_by("starts_at")
    assert scheduled["created"] == 3 and extended["created"] == 2
    assert [a.capacity for a in after] == [9, 5, 5, 5, 5]
    assert [a.status for a in after][:2] == [ActivityStatus.PUBLISHED, ActivityStatus.CANCELLED]
    assert [e["extensions"].get("field") for e in shrink.errors] == ["lastDate"]


async def test_series_input_is_validated_and_only_project_admins_schedule(db):
    # given
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    outsider = await make_volunteer("路人")
    project = await _project(admin, team)
    today = datetime.now(UTC).date()
    base = {"frequency": "WEEKLY", "weekdays": [1], "startTime": "08:00", "durationMinutes": 60,
            "capacity": 3, "firstDate": today.isoformat(),
            "lastDate": (today + timedelta(days=30)).isoformat()}
    cases = {
        "weekdays": {**base, "weekdays": []},
        "startTime": {**base, "startTime": "25:00"},
        "durationMinutes": {**base, "durationMinutes": 5},
        "lastDate": {**base, "lastDate": (today + timedelta(days=400)).isoformat()},
        "dayOfMonth": {**base, "frequency": "MONTHLY", "weekdays": None, "dayOfMonth": 32},
        "capacity": {**base, "capacity": None},
    }
    # when
    results = {field: await execute(SCHEDULE, {"id": project["id"], "input": value}, as_=admin)
               for field, value in cases.items()}
    foreign = await execute(SCHEDULE, {"id": project["id"], "input": base}, as_=outsider)
    bad_project = await execute(CREATE_PROJECT, {"input": {
        "teamId": to_global_id("Team", team.id), "name": "x", "category": "y", "district": "z",
        "coverImageUrl": "javascript:alert(1)"}}, as_=admin)
    # then
    for field, result in results.items():
        assert [e["extensions"].get("field") for e in result.errors] == [field], result.errors
    assert foreign.codes == ["FORBIDDEN"]
    assert [e["extensions"].get("field") for e in bad_project.errors] == ["coverImageUrl"]
    assert await Activity.all().count() == 0


def test_monthly_series_skip_months_without_the_day():
    days = series_days(Frequency.MONTHLY, date(2027, 1, 1), date(2027, 5, 31), [], 31)
    assert days == [date(2027, 1, 31), date(2027, 3, 31), date(2027, 5, 31)]


async def test_projects_filter_and_statements_do_not_grow_with_the_page(db):
    # given
    admin = await make_volunteer("队长")
    team = await make_team(admin, "公交志愿服务队")
    for index in range(6):
        project = await _project(admin, team, name=f"U爱·公交文明引导{index}路",
                                 district="朝阳区" if index % 2 else "海淀区")
        for _ in range(2):
            await execute(CREATE_POSITION, {"id": project["id"], "input": {
                "name": f"{index}路站台", "capacityPerShift": 2}}, as_=admin)
    await _project(admin, team, name="社区助老", category="助老")

    async def statements_for(first: int) -> int:
        with count_statements() as statements:
            page = (await execute(PROJECTS, {"first": first, "filter": {
                "category": "文明交通"}})).ok()["projects"]
        assert len(page["edges"]) == first and page["totalCount"] == 6
        return len(statements)

    # when
    by_district = (await execute(PROJECTS, {"filter": {"district": "朝阳区", "search": "路",
                                                       "teamId": to_global_id("Team", team.id)}})
                   ).ok()["projects"]
    bad_team = await execute(PROJECTS, {"filter": {"teamId": to_global_id("Volunteer", 1)}})
    # then
    assert by_district["totalCount"] == 3
    assert bad_team.codes == ["BAD_USER_INPUT"]
    assert await statements_for(2) == await statements_for(6)


async def test_project_stats_follow_hours_decisions_and_match_a_rebuild(db):
    # given: two finished shifts of one project, three attendances
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    project = await Project.create(team=team, created_by=admin, name="U爱·公交文明引导",
                                   category="文明交通", district="朝阳区", description="")
    outside = await make_activity(team, admin, title="项目外活动",
                                  starts_in=timedelta(days=-3), status=ActivityStatus.FINISHED)
    shifts = [await make_activity(team, admin, title=f"班次{i}", project_id=project.id,
                                  starts_in=timedelta(days=-2 + i, hours=-6),
                                  status=ActivityStatus.FINISHED) for i in range(2)]
    a, b = await make_volunteer("甲"), await make_volunteer("乙")
    records = []
    for activity, person in ((shifts[0], a), (shifts[0], b), (shifts[1], a), (outside, a)):
        await SignUp.create(activity=activity, volunteer=person, status=SignUpStatus.CONFIRMED)
        await do_check_in(Viewer(person), activity.id, now=activity.starts_at)
        sign_up = await do_check_out(Viewer(person), activity.id,
                                     now=activity.starts_at + timedelta(hours=2))
        records.append(await ServiceRecord.get(sign_up_id=sign_up.id))
    reviewer = Viewer(admin)
    # when
    for record in records:
        await do_approve_hours(reviewer, record.id)
    await project.refresh_from_db()
    after_approvals = (project.activities_held, project.volunteers_served, project.approved_hours)
    await do_reject_hours(reviewer, records[1].id, "未到岗")  # b's only record
    await project.refresh_from_db()
    after_reject = (project.activities_held, project.volunteers_served, project.approved_hours)
    await rebuild_project_stats()
    await project.refresh_from_db()
    rebuilt = (project.activities_held, project.volunteers_served, project.approved_hours)
    # then
    assert after_approvals == (2, 2, 6.0)
    assert after_reject == (2, 1, 4.0)
    assert rebuilt == after_reject
    assert await ProjectTally.filter(project_id=project.id).count() == 3


async def test_project_and_position_names_take_their_full_column(db):
    # given: names at the 200 characters the schema states
    admin = await make_volunteer("队长")
    team = await make_team(admin, "公交志愿服务队")
    name = "名" * 200
    # when
    project = await _project(admin, team, name=name)
    position = (await execute(CREATE_POSITION, {"id": project["id"], "input": {
        "name": name, "capacityPerShift": 2}}, as_=admin)).ok()["createPosition"]
    # then
    assert project["name"] == position["name"] == name
