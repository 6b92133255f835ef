"""Walking the waitlist when places free up (resolvers.waitlist): arrival order, people who
cannot take a place now keep their turn, and a long run of them spans several pages."""

from tortoise import connections

from models.activity import SignUp, SignUpStatus
from resolvers import waitlist
from schema.relay import to_global_id
from tests.activity.factory import make_activity
from tests.helpers import execute, make_team, make_volunteer

SIGN_UP = "mutation SignUp($id: ID!) { signUp(activityId: $id) { status } }"
UPDATE = """
mutation Update($id: ID!, $input: ActivityUpdateInput!) {
  updateActivity(id: $id, input: $input) { confirmedCount waitlistCount }
}"""


async def _crowd(n: int):
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    activity = await make_activity(team, admin, capacity=1, waitlist_limit=20)
    first = await make_volunteer("先到")
    (await execute(SIGN_UP, {"id": to_global_id("Activity", activity.id)}, as_=first)).ok()
    people = [await make_volunteer(f"候补{i}") for i in range(n)]
    for person in people:
        result = (await execute(SIGN_UP, {"id": to_global_id("Activity", activity.id)},
                                as_=person)).ok()
        assert result["signUp"]["status"] == "WAITLISTED"
    return admin, team, activity, people


async def test_next_in_line_yields_in_arrival_order_past_busy_people_across_pages(db):
    # given: 9 waitlisted; the first 7 cannot take a place (a page is places + 5 = 7)
    _, _, activity, people = await _crowd(9)
    busy_ids = {p.id for p in people[:7]}

    async def busy(volunteer_id: int) -> bool:
        return volunteer_id in busy_ids

    # when
    got = [s.volunteer_id async for s in
           waitlist.next_in_line(connections.get("default"), activity, 2, busy)]
    fewer = [s.volunteer_id async for s in
             waitlist.next_in_line(connections.get("default"), activity, 1, busy)]
    # then
    assert got == [people[7].id, people[8].id]
    assert fewer == [people[7].id]


async def test_more_capacity_passes_over_people_now_busy_elsewhere_who_keep_their_turn(db):
    # given: 8 waitlisted on X; the first 6 of them since confirmed on Y at the same time
    admin, team, activity, people = await _crowd(8)
    elsewhere = await make_activity(team, admin, title="同一时间的另一场", capacity=10,
                                  starts_at=activity.starts_at)
    assert elsewhere.starts_at == activity.starts_at
    for person in people[:6]:
        confirmed = (await execute(SIGN_UP, {"id": to_global_id("Activity", elsewhere.id)},
                                   as_=person)).ok()
        assert confirmed["signUp"]["status"] == "CONFIRMED"
    # when: two more places on X
    counts = (await execute(UPDATE, {"id": to_global_id("Activity", activity.id),
                                     "input": {"capacity": 3}}, as_=admin)).ok()
    # then: the two free people behind them get the places, the busy six keep their turn
    assert counts["updateActivity"] == {"confirmedCount": 3, "waitlistCount": 6}
    on_x = {s.volunteer_id: s.status for s in await SignUp.filter(activity_id=activity.id)}
    assert [on_x[p.id] for p in people] == [SignUpStatus.WAITLISTED] * 6 + [
        SignUpStatus.CONFIRMED] * 2
