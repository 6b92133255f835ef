"""What the project library page needs to manage a project: whether the viewer may, the
project's series (managers only) with their post, and the shifts a call generated."""

from __future__ import annotations

from datetime import timedelta

from models.activity import Activity
from resolvers.auth import Viewer
from resolvers.messages import ZH
from schema import schema
from schema.context import Context
from schema.relay import to_global_id
from tests.helpers import add_member, execute, make_team, make_volunteer
from tests.project.test_project import CREATE_POSITION, _next, _project

SCHEDULE = """
mutation S($id: ID!, $input: SeriesInput!) {
  scheduleSeries(projectId: $id, input: $input) { created activities { id title status } }
}"""
EXTEND = """
mutation E($id: ID!, $last: Date!) {
  extendSeries(seriesId: $id, lastDate: $last, publish: false) { created activities { id status } }
}"""
PROJECT = """
query P($id: ID!) { node(id: $id) { ... on Project { viewerCanManage
  series { id title frequency weekdays startTime durationMinutes firstDate lastDate position { name } } } } }"""


async def test_managers_see_the_series_and_the_shifts_each_call_generated(db):
    # given a project of a sub-team, its post, and people around it
    admin = await make_volunteer("总队长")
    parent = await make_team(admin, "公交志愿总队")
    sub = await make_team(await make_volunteer("分队长"), "公交一分队", parent=parent)
    member = await make_volunteer("队员")
    await add_member(sub, member)
    platform = await make_volunteer("平台管理员", platform_admin=True)
    project = await _project(admin, sub)
    post = (await execute(CREATE_POSITION, {"id": project["id"], "input": {
        "name": "国贸站", "capacityPerShift": 2}}, as_=admin)).ok()["createPosition"]
    monday = _next(1)

    # when the parent team's admin schedules Mondays for two weeks, then extends as drafts
    scheduled = (await execute(SCHEDULE, {"id": project["id"], "input": {
        "frequency": "WEEKLY", "weekdays": [1], "startTime": "07:30", "durationMinutes": 90,
        "firstDate": monday.isoformat(), "lastDate": (monday + timedelta(days=13)).isoformat(),
        "positionId": post["id"]}}, as_=admin)).ok()["scheduleSeries"]
    seen = {name: (await execute(PROJECT, {"id": project["id"]}, as_=person)).ok()["node"]
            for name, person in (("admin", admin), ("member", member), ("platform", platform),
                                 ("visitor", None))}
    series_id = seen["admin"]["series"][0]["id"]
    extended = (await execute(EXTEND, {"id": series_id, "last": (monday + timedelta(days=20)).isoformat()},
                              as_=admin)).ok()["extendSeries"]

    # then each call names the shifts it generated, in date order
    rows = await Activity.filter(project__name=project["name"]).order_by("starts_at")
    assert scheduled["created"] == 2
    assert [a["id"] for a in scheduled["activities"]] == [to_global_id("Activity", r.id) for r in rows[:2]]
    assert {a["title"] for a in scheduled["activities"]} == {"U爱·公交文明引导·国贸站"}
    assert extended == {"created": 1, "activities": [{"id": to_global_id("Activity", rows[2].id), "status": "DRAFT"}]}
    # and only those who manage the project (a parent team's admin, a platform admin) see its series
    assert {name: node["viewerCanManage"] for name, node in seen.items()} == \
        {"admin": True, "member": False, "platform": True, "visitor": False}
    assert seen["member"]["series"] == seen["visitor"]["series"] == []
    assert seen["admin"]["series"] == seen["platform"]["series"] == [{
        "id": series_id, "title": "U爱·公交文明引导·国贸站", "frequency": "WEEKLY", "weekdays": [1],
        "startTime": "07:30", "durationMinutes": 90, "firstDate": monday.isoformat(),
        "lastDate": (monday + timedelta(days=13)).isoformat(), "position": {"name": "国贸站"}}]


async def test_a_series_error_names_its_field_in_chinese_and_writes_nothing(db):
    # given
    admin = await make_volunteer("队长")
    project = await _project(admin, await make_team(admin))
    monday = _next(1)
    # when the last date is before the first
    result = await schema.execute(SCHEDULE, variable_values={"id": project["id"], "input": {
        "frequency": "WEEKLY", "weekdays": [1], "startTime": "07:30", "durationMinutes": 90, "capacity": 3,
        "firstDate": monday.isoformat(), "lastDate": (monday - timedelta(days=1)).isoformat()}},
        context_value=Context(viewer=Viewer(admin), client_address="127.0.0.1", language=ZH))
    # then a Chinese reader is told which field, in Chinese, and nothing was written
    error = (result.errors or [])[0].formatted
    assert (error["extensions"]["field"], error["message"]) == ("lastDate", "“最后一天”填写有误，请检查。")
    assert (await execute(PROJECT, {"id": project["id"]}, as_=admin)).ok()["node"]["series"] == []
    assert await Activity.all().count() == 0
