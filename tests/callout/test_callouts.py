import asyncio
from typing import Any

from models.helprequest import CallOut, CallOutAnswer
from models.notification import Notification, SmsOutbox
from models.team import TeamType
from models.volunteer import VolunteerStatus
from resolvers.auth import Viewer
from schema import schema
from schema.context import Context
from subscriptions import channels
from tests.helpers import execute, make_team, make_volunteer, until, wait_for_subscribers

CALL = """
mutation Call($input: CallOutInput!) {
  callOut(input: $input) { id message districts skills needed comingCount filled team { name } }
}"""
ANSWER = "mutation A($id: ID!, $coming: Boolean!) { answerCallOut(id: $id, coming: $coming) { comingCount cannotCount myAnswer } }"
LIST = "query { callOuts { totalCount edges { node { message myAnswer } } } }"
LIVE = "subscription Live($d: String) { callOuts(district: $d) { message comingCount cannotCount } }"


def call_input(**overrides: Any) -> dict[str, Any]:
    return {"message": "暴雨内涝，急需转移老人", "districts": ["朝阳区"], "skills": ["急救", "驾驶"],
            "needed": 2, **overrides}


async def rescue_setup() -> dict[str, Any]:
    """An emergency-team admin and volunteers of different districts, skills and states."""
    chief = await make_volunteer("队长")
    team = await make_team(chief, "蓝天救援队", type=TeamType.EMERGENCY)
    people = {
        "medic": await make_volunteer("医生", skills=["急救"]),
        "driver": await make_volunteer("司机", skills=["驾驶", "电工"]),
        "lawyer": await make_volunteer("律师", skills=["法律"]),
        "far_medic": await make_volunteer("海淀医生", district="海淀区", skills=["急救"]),
        "suspended": await make_volunteer("停用", skills=["急救"], status=VolunteerStatus.SUSPENDED),
        "imported": await make_volunteer("导入", skills=["急救"],
                                         status=VolunteerStatus.PENDING_CONSENT),
    }
    return {"chief": chief, "team": team, **people}


async def call(as_: Any, **overrides: Any) -> dict[str, Any]:
    return (await execute(CALL, {"input": call_input(**overrides)}, as_=as_)).ok()["callOut"]


async def test_emergency_admin_calls_out_matching_active_volunteers(db):
    # given
    s = await rescue_setup()
    # when
    created = await call(s["chief"])
    # then
    assert created["comingCount"] == 0 and created["team"] == {"name": "蓝天救援队"}
    notified = set(await Notification.filter(kind="CALL_OUT").values_list("volunteer_id", flat=True))
    assert notified == {s["medic"].id, s["driver"].id}
    assert await SmsOutbox.all().count() == 2
    # and targeted volunteers see it in their list, others do not
    assert (await execute(LIST, as_=s["medic"])).ok()["callOuts"]["totalCount"] == 1
    assert (await execute(LIST, as_=s["lawyer"])).ok()["callOuts"]["totalCount"] == 0
    assert (await execute(LIST, as_=s["chief"])).ok()["callOuts"]["totalCount"] == 1


async def test_only_platform_and_emergency_admins_call_out(db):
    # given
    s = await rescue_setup()
    community_admin = await make_volunteer("社区队长")
    await make_team(community_admin, "社区队")
    platform = await make_volunteer("平台", platform_admin=True)
    # then
    assert (await execute(CALL, {"input": call_input()}, as_=community_admin)).codes == ["FORBIDDEN"]
    assert (await execute(CALL, {"input": call_input()}, as_=s["medic"])).codes == ["FORBIDDEN"]
    assert (await execute(CALL, {"input": call_input()})).codes == ["UNAUTHENTICATED"]
    assert (await call(platform))["team"] is None
    assert await CallOut.all().count() == 1


async def test_bad_input_gets_its_field_and_writes_nothing(db):
    s = await rescue_setup()
    cases = [({"message": ""}, "message"), ({"districts": []}, "districts"),
             ({"needed": 0}, "needed"), ({"needed": 10_001}, "needed"),
             ({"skills": ["x" * 31]}, "skills"), ({"teamId": "bm9wZTox"}, "teamId")]
    for overrides, field in cases:
        result = await execute(CALL, {"input": call_input(**overrides)}, as_=s["chief"])
        assert result.codes == ["BAD_USER_INPUT"], overrides
        assert result.errors[0]["extensions"]["field"] == field
    assert await CallOut.all().count() == 0 and await Notification.all().count() == 0


async def test_answers_count_once_and_changes_move_between_counts(db):
    # given
    s = await rescue_setup()
    call_id = (await call(s["chief"]))["id"]
    # when / then
    first = (await execute(ANSWER, {"id": call_id, "coming": True}, as_=s["medic"])).ok()
    assert first["answerCallOut"] == {"comingCount": 1, "cannotCount": 0, "myAnswer": "COMING"}
    again = (await execute(ANSWER, {"id": call_id, "coming": True}, as_=s["medic"])).ok()
    assert again["answerCallOut"]["comingCount"] == 1
    changed = (await execute(ANSWER, {"id": call_id, "coming": False}, as_=s["medic"])).ok()
    assert changed["answerCallOut"] == {"comingCount": 0, "cannotCount": 1, "myAnswer": "CANNOT"}
    # and someone not targeted cannot answer (nor learn that it exists)
    assert (await execute(ANSWER, {"id": call_id, "coming": True}, as_=s["lawyer"])).codes == [
        "NOT_FOUND"]
    assert (await execute(ANSWER, {"id": call_id, "coming": True}, as_=s["suspended"])).codes == [
        "NOT_FOUND"]


async def test_concurrent_flip_flopping_keeps_counts_consistent(db):
    # given
    s = await rescue_setup()
    call_id = (await call(s["chief"]))["id"]
    # when: both targets answer many times concurrently
    answers = [execute(ANSWER, {"id": call_id, "coming": i % 3 != 0}, as_=s[who])
               for i in range(12) for who in ("medic", "driver")]
    results = await asyncio.gather(*answers)
    # then: the counts equal the stored answers
    assert all(not r.errors for r in results), [r.errors for r in results if r.errors]
    stored = await CallOut.get()
    rows = await CallOutAnswer.all()
    assert len(rows) == 2
    assert stored.coming_count == sum(r.coming for r in rows)
    assert stored.cannot_count == sum(not r.coming for r in rows)


async def _live(person, **variables: Any) -> Any:
    return await schema.subscribe(LIVE, variable_values=variables,
                                  context_value=Context(viewer=Viewer(person)))


async def _drain(stream: Any, into: list[Any]) -> None:
    async for result in stream:
        assert not result.errors, result.errors
        into.append(result.data["callOuts"])


async def test_caller_watches_counts_live_and_cannot_stops_pushes(db):
    # given
    s = await rescue_setup()
    seen: dict[str, list[Any]] = {"chief": [], "medic": [], "driver": [], "lawyer": []}
    streams = {who: await _live(s[who]) for who in seen}
    tasks = [asyncio.ensure_future(_drain(streams[w], seen[w])) for w in seen]
    await wait_for_subscribers(channels.call_outs(), len(streams))
    try:
        # when: each step once the caller has seen the one before
        call_id = (await call(s["chief"]))["id"]
        await until(lambda: len(seen["chief"]) >= 1, lambda: f"the caller sees the call: {seen}")
        await execute(ANSWER, {"id": call_id, "coming": False}, as_=s["driver"])
        await until(lambda: len(seen["chief"]) >= 2, lambda: f"the caller sees CANNOT: {seen}")
        await execute(ANSWER, {"id": call_id, "coming": True}, as_=s["medic"])
        await until(lambda: len(seen["chief"]) >= 3, lambda: f"the caller sees COMING: {seen}")
        # the last answer reached every stream with the caller's: all of them have handled it
        await wait_for_subscribers(channels.call_outs(), len(streams))
        # then: the caller saw the call and every count change
        assert [(e["comingCount"], e["cannotCount"]) for e in seen["chief"]] == [
            (0, 0), (0, 1), (1, 1)]
        # the medic saw everything, the driver nothing after answering CANNOT
        assert len(seen["medic"]) == 3
        assert [(e["comingCount"], e["cannotCount"]) for e in seen["driver"]] == [(0, 0)]
        # someone not targeted saw nothing
        assert seen["lawyer"] == []
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for stream in streams.values():
            await stream.aclose()


async def test_district_filter_on_the_live_feed(db):
    # given
    s = await rescue_setup()
    seen: list[Any] = []
    stream = await _live(s["chief"], d="海淀区")
    task = asyncio.ensure_future(_drain(stream, seen))
    await wait_for_subscribers(channels.call_outs())
    try:
        # when
        await call(s["chief"], message="朝阳")
        await call(s["chief"], message="海淀", districts=["海淀区"])
        await until(lambda: any(e["message"] == "海淀" for e in seen),
                    lambda: f"the 海淀 call-out reaches its watcher: {seen}")
        # the 朝阳 one went out first: handled by now
        await wait_for_subscribers(channels.call_outs())
        # then
        assert [e["message"] for e in seen] == ["海淀"]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await stream.aclose()


WATCH_ONE = "subscription W($id: ID) { callOuts(id: $id) { comingCount cannotCount } }"


async def _first(person: Any, call_id: str) -> Any:
    stream = await schema.subscribe(WATCH_ONE, variable_values={"id": call_id},
                                    context_value=Context(viewer=Viewer(person)))
    try:
        return await asyncio.wait_for(stream.__anext__(), 5)
    finally:
        await stream.aclose()


async def test_watching_one_call_out_starts_with_the_answers_given_before(db):
    # given: a call-out already answered before anyone watches it
    s = await rescue_setup()
    call_id = (await call(s["chief"]))["id"]
    await execute(ANSWER, {"id": call_id, "coming": True}, as_=s["medic"])
    # when its caller subscribes with its id, then the first message holds that answer
    first = await _first(s["chief"], call_id)
    assert not first.errors, first.errors
    assert first.data["callOuts"] == {"comingCount": 1, "cannotCount": 0}


async def test_watching_one_call_out_shows_nothing_to_someone_it_does_not_target(db):
    # given
    s = await rescue_setup()
    call_id = (await call(s["chief"]))["id"]
    stream = await schema.subscribe(WATCH_ONE, variable_values={"id": call_id},
                                    context_value=Context(viewer=Viewer(s["lawyer"])))
    try:
        # when / then: no first message for someone not targeted
        try:
            result = await asyncio.wait_for(stream.__anext__(), 0.5)
        except TimeoutError:
            result = None
        assert result is None
    finally:
        await stream.aclose()
    # and an id of another type is a coded error
    wrong = await _first(s["chief"], "VGVhbTox")  # Team:1
    assert wrong.errors and wrong.errors[0].extensions["code"] == "BAD_USER_INPUT"
