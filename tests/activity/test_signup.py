import asyncio
from datetime import timedelta

from models.activity import Activity, SignUp, SignUpStatus
from models.notification import Notification
from models.volunteer import VolunteerStatus
from schema.relay import to_global_id
from tests.activity.factory import make_activity
from tests.helpers import count_statements, execute, make_team, make_volunteer

SIGN_UP = """
mutation SignUp($id: ID!) {
  signUp(activityId: $id) { id status waitlistPosition activity { confirmedCount waitlistCount remaining } }
}"""
CANCEL = "mutation Cancel($id: ID!) { cancelSignUp(activityId: $id) { id status } }"
MY_SIGN_UP = """
query Mine($id: ID!) { node(id: $id) { ... on Activity { mySignUp { status waitlistPosition } } } }"""


async def _setup(capacity: int = 2, waitlist_limit: int | None = None):
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    activity = await make_activity(team, admin, capacity=capacity, waitlist_limit=waitlist_limit)
    return admin, team, activity


async def test_confirmed_then_waitlisted_then_refused(db):
    # given
    _, _, activity = await _setup(capacity=2, waitlist_limit=2)
    people = [await make_volunteer(f"志愿者{i}") for i in range(5)]
    gid = to_global_id("Activity", activity.id)
    # when
    results = [await execute(SIGN_UP, {"id": gid}, as_=p) for p in people]
    # then
    statuses = [r.data["signUp"]["status"] if r.data else r.codes[0] for r in results]
    assert statuses == ["CONFIRMED", "CONFIRMED", "WAITLISTED", "WAITLISTED", "CONFLICT"]
    assert [r.data["signUp"]["waitlistPosition"] for r in results[:4]] == [None, None, 1, 2]
    assert results[3].data["signUp"]["activity"] == {
        "confirmedCount": 2, "waitlistCount": 2, "remaining": 0}
    await activity.refresh_from_db()
    assert (activity.taken_count, activity.waitlist_count) == (2, 2)
    assert await SignUp.filter(activity_id=activity.id).count() == 4


async def test_signing_up_twice_returns_the_same_sign_up(db):
    # given
    _, _, activity = await _setup()
    person = await make_volunteer()
    gid = to_global_id("Activity", activity.id)
    first = (await execute(SIGN_UP, {"id": gid}, as_=person)).ok()["signUp"]
    # when
    second = (await execute(SIGN_UP, {"id": gid}, as_=person)).ok()["signUp"]
    # then
    assert second["id"] == first["id"]
    assert second["activity"]["confirmedCount"] == 1


async def test_cancel_promotes_earliest_waitlisted_and_tells_them(db):
    # given
    _, _, activity = await _setup(capacity=1, waitlist_limit=3)
    first, second, third = [await make_volunteer(f"志愿者{i}") for i in range(3)]
    gid = to_global_id("Activity", activity.id)
    for person in (first, second, third):
        (await execute(SIGN_UP, {"id": gid}, as_=person)).ok()
    # when
    cancelled = (await execute(CANCEL, {"id": gid}, as_=first)).ok()["cancelSignUp"]
    # then
    assert cancelled["status"] == "CANCELLED"
    mine = (await execute(MY_SIGN_UP, {"id": gid}, as_=second)).ok()["node"]["mySignUp"]
    assert mine == {"status": "CONFIRMED", "waitlistPosition": None}
    theirs = (await execute(MY_SIGN_UP, {"id": gid}, as_=third)).ok()["node"]["mySignUp"]
    assert theirs == {"status": "WAITLISTED", "waitlistPosition": 1}
    await activity.refresh_from_db()
    assert (activity.taken_count, activity.waitlist_count) == (1, 1)
    told = await Notification.filter(volunteer_id=second.id).values_list("kind", flat=True)
    assert list(told) == ["WAITLIST_PROMOTED"]


async def test_overlapping_confirmed_sign_up_is_refused(db):
    # given
    admin, team, activity = await _setup()
    other = await make_activity(team, admin, title="同一时间的另一活动",
                                starts_in=timedelta(days=3, hours=1))
    person = await make_volunteer()
    (await execute(SIGN_UP, {"id": to_global_id("Activity", activity.id)}, as_=person)).ok()
    # when
    result = await execute(SIGN_UP, {"id": to_global_id("Activity", other.id)}, as_=person)
    # then
    assert result.codes == ["CONFLICT"]
    assert not await SignUp.exists(activity_id=other.id)
    assert (await Activity.get(id=other.id)).taken_count == 0


async def test_a_full_activity_names_the_first_rule_broken_and_writes_nothing(db):
    # given: a full activity, a person busy at the same time elsewhere, a free person, and a
    # suspended one
    admin, team, activity = await _setup(capacity=1, waitlist_limit=0)
    (await execute(SIGN_UP, {"id": to_global_id("Activity", activity.id)},
                   as_=await make_volunteer("先到"))).ok()
    elsewhere = await make_activity(team, admin, title="同一时间的另一活动",
                                    starts_in=timedelta(days=3, hours=1))
    busy, free = await make_volunteer("忙碌"), await make_volunteer("空闲")
    suspended = await make_volunteer("停用", status=VolunteerStatus.SUSPENDED)
    (await execute(SIGN_UP, {"id": to_global_id("Activity", elsewhere.id)}, as_=busy)).ok()
    gid = to_global_id("Activity", activity.id)
    # when
    results = {name: await execute(SIGN_UP, {"id": gid}, as_=person)
               for name, person in (("busy", busy), ("free", free), ("suspended", suspended))}
    # then: the same answers on both backends, in the order of the rules
    assert {name: (r.codes, r.errors[0]["extensions"].get("reason")) for name, r in results.items()} == {
        "busy": (["CONFLICT"], "OVERLAP"), "free": (["CONFLICT"], "FULL"),
        "suspended": (["FORBIDDEN"], None)}
    assert await SignUp.filter(activity_id=activity.id).count() == 1


async def test_sign_up_statement_count_is_flat(db):
    # given
    _, _, activity = await _setup(capacity=5)
    person = await make_volunteer()
    # when
    with count_statements() as statements:
        (await execute(SIGN_UP, {"id": to_global_id("Activity", activity.id)}, as_=person)).ok()
    # then
    assert len(statements) <= 9, statements
    assert (await SignUp.get(volunteer_id=person.id)).status == SignUpStatus.CONFIRMED


async def test_simultaneous_overlapping_sign_ups_of_one_person_confirm_at_most_one(db):
    # given: pairs of activities at overlapping times, one person per pair
    admin, team, _ = await _setup()
    pairs = []
    for index in range(12):
        first = await make_activity(team, admin, title=f"上午场{index}", starts_in=timedelta(days=3 + index))
        second = await make_activity(team, admin, title=f"重叠场{index}",
                                     starts_in=timedelta(days=3 + index, hours=1))
        pairs.append((await make_volunteer(f"志愿者{index}"), first, second))
    # when: each person signs up for both at the same moment
    await asyncio.gather(*(execute(SIGN_UP, {"id": to_global_id("Activity", activity.id)}, as_=person)
                           for person, first, second in pairs for activity in (first, second)))
    # then: nobody holds two confirmed places at overlapping times
    for person, _, _ in pairs:
        confirmed = await SignUp.filter(volunteer_id=person.id, status=SignUpStatus.CONFIRMED).count()
        assert confirmed == 1, f"{person.display_name} confirmed {confirmed} overlapping sign-ups"


async def test_a_database_without_the_sign_up_function_gets_it_on_first_use(db):
    # given: a database set up by someone else's tooling (no start-up install); on SQLite
    # there is no function (the transactional path) and installing it is a no-op
    from tortoise import connections

    from resolvers.signup import install_sign_up_function

    if db.postgres:
        await connections.get("default").execute_script(
            "DROP FUNCTION IF EXISTS tongxin_sign_up_v2(int, int, timestamptz, boolean)")
    else:
        await install_sign_up_function()
    _, _, activity = await _setup(capacity=1)
    person = await make_volunteer()
    # when
    result = await execute(SIGN_UP, {"id": to_global_id("Activity", activity.id)}, as_=person)
    # then
    assert result.ok()["signUp"]["status"] == "CONFIRMED"
    await activity.refresh_from_db()
    assert activity.taken_count == 1
