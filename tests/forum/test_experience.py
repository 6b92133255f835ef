from datetime import timedelta
from typing import Any

import pytest

from forum.models import ExperiencePost
from models.activity import ActivityStatus, SignUp, SignUpStatus
from models.hours import HoursStatus, ServiceRecord
from tests.forum.common import gid, make_activity
from tests.helpers import add_member, count_statements, execute, make_team, make_volunteer

CREATE = """
mutation($input: ExperiencePostInput!) {
  createExperiencePost(input: $input) {
    title body photoUrls author { displayName } activity { title }
  }
}
"""
LIST = """
query($activity: ID) {
  experiencePosts(first: 10, activityId: $activity) { totalCount edges { node { title } } }
}
"""
ACTIVITY_POSTS = """
query($id: ID!) { node(id: $id) { ... on Activity { title
  experiencePosts(first: 5) { totalCount edges { node { title author { displayName } } } } } } }
"""


async def _served(status: SignUpStatus = SignUpStatus.CONFIRMED,
                  activity_status: ActivityStatus = ActivityStatus.FINISHED,
                  ends_in: timedelta = timedelta(days=-1), approved: bool = False):
    admin = await make_volunteer("队长")
    team = await make_team(admin, "朝阳助老队")
    person = await make_volunteer("李明")
    await add_member(team, person)
    activity = await make_activity(team, admin, status=activity_status, ends_in=ends_in)
    sign_up = await SignUp.create(activity=activity, volunteer=person, status=status)
    if approved:
        await ServiceRecord.create(sign_up=sign_up, activity=activity, volunteer=person,
                                   hours_claimed=3, hours=3, status=HoursStatus.APPROVED)
    return person, activity


def _input(activity, **extra) -> dict:
    return {"input": {"activityId": gid("Activity", activity.id), "title": "第一次助老",
                      "body": "陪老人聊天，收获很多。",
                      "photoUrls": ["https://img.example.com/1.jpg"], **extra}}


async def test_volunteer_who_served_writes_an_experience_post(db):
    # given
    person, activity = await _served()
    # when
    result = await execute(CREATE, _input(activity), as_=person)
    # then
    assert result.ok()["createExperiencePost"] == {
        "title": "第一次助老", "body": "陪老人聊天，收获很多。",
        "photoUrls": ["https://img.example.com/1.jpg"], "author": {"displayName": "李明"},
        "activity": {"title": "社区助老活动"}}
    listed = (await execute(LIST, {"activity": gid("Activity", activity.id)})).ok()
    assert listed["experiencePosts"]["totalCount"] == 1


async def test_approved_hours_are_enough_even_before_the_activity_is_marked_finished(db):
    # given
    person, activity = await _served(activity_status=ActivityStatus.PUBLISHED,
                                     ends_in=timedelta(days=1), approved=True)
    # when / then
    (await execute(CREATE, _input(activity), as_=person)).ok()


@pytest.mark.parametrize("case", ["not_finished", "waitlisted", "cancelled", "stranger"])
async def test_only_volunteers_who_served_may_write(db, case):
    # given
    if case == "not_finished":
        person, activity = await _served(activity_status=ActivityStatus.PUBLISHED,
                                         ends_in=timedelta(days=1))
    elif case == "waitlisted":
        person, activity = await _served(status=SignUpStatus.WAITLISTED)
    elif case == "cancelled":
        person, activity = await _served(status=SignUpStatus.CANCELLED)
    else:
        _, activity = await _served()
        person = await make_volunteer("路人")
    # when
    result = await execute(CREATE, _input(activity), as_=person)
    # then
    assert result.codes == ["FORBIDDEN"]
    assert await ExperiencePost.all().count() == 0


async def test_bad_experience_input_is_refused_and_writes_nothing(db):
    # given
    person, activity = await _served()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"title": " "}, "title"),
        ({"body": ""}, "body"),
        ({"photoUrls": ["ftp://img.example.com/1.jpg"]}, "photoUrls"),
        ({"photoUrls": ["javascript:alert(1)"]}, "photoUrls"),
        ({"photoUrls": ["https://"]}, "photoUrls"),
        ({"photoUrls": ["https://a.com/x y.jpg"]}, "photoUrls"),
        ({"photoUrls": ["https://a.com/" + "x" * 500]}, "photoUrls"),
        ({"photoUrls": [f"https://a.com/{i}.jpg" for i in range(10)]}, "photoUrls"),
        ({"activityId": gid("Team", 1)}, "activityId"),
    ]
    for extra, field in cases:
        # when
        result = await execute(CREATE, _input(activity, **extra), as_=person)
        # then
        assert result.codes == ["BAD_USER_INPUT"], extra
        assert result.errors[0]["extensions"]["field"] == field, extra
    missing = await execute(CREATE, _input(activity, activityId=gid("Activity", 999)), as_=person)
    anonymous = await execute(CREATE, _input(activity))
    assert missing.codes == ["NOT_FOUND"] and anonymous.codes == ["UNAUTHENTICATED"]
    assert await ExperiencePost.all().count() == 0


async def test_activity_lists_its_experience_posts_in_one_statement_per_level(db):
    # given
    person, activity = await _served()
    for index in range(3):
        await ExperiencePost.create(activity=activity, team_id=activity.team_id, author=person,
                                    title=f"心得{index}", body="b")
    # when
    with count_statements() as statements:
        result = await execute(ACTIVITY_POSTS, {"id": gid("Activity", activity.id)})
    # then: activity, its posts, their count, their authors
    posts = result.ok()["node"]["experiencePosts"]
    assert [e["node"]["title"] for e in posts["edges"]] == ["心得2", "心得1", "心得0"]
    assert posts["totalCount"] == 3
    assert len(statements) == 4, statements
