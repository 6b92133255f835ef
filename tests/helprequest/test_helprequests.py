import asyncio
from typing import Any

from models.helprequest import HelpRequest, HelpRequestStatus
from models.volunteer import VolunteerStatus
from resolvers.auth import Viewer
from schema import schema
from schema.context import Context
from tests.helpers import (
    add_member,
    count_statements,
    execute,
    make_team,
    make_volunteer,
    until,
    wait_for_watchers,
)

CREATE = """
mutation Create($input: HelpRequestInput!) {
  createHelpRequest(input: $input) { id title district skills urgency status latitude
    author { displayName } claimedBy { displayName } }
}"""
CLAIM = "mutation Claim($id: ID!, $team: ID) { claimHelpRequest(id: $id, teamId: $team) { status claimedBy { displayName } claimedTeam { name } } }"
RESOLVE = "mutation Resolve($id: ID!) { resolveHelpRequest(id: $id) { status } }"
CLOSE = "mutation Close($id: ID!) { closeHelpRequest(id: $id) { status } }"
LIST = """
query List($status: HelpRequestStatus, $district: String, $skill: String, $near: GeoInput,
           $first: Int, $after: String) {
  helpRequests(status: $status, district: $district, skill: $skill, near: $near, first: $first,
               after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { title author { displayName } claimedBy { displayName } } }
  }
}"""
PUSHED = """
subscription Pushed($district: String, $skills: [String!], $near: GeoInput) {
  helpRequestCreated(district: $district, skills: $skills, near: $near) { title district skills }
}"""

TIANANMEN = (39.9087, 116.3975)


def request_input(**overrides: Any) -> dict[str, Any]:
    return {"title": "独居老人需要买药", "description": "腿脚不便，需要有人帮忙去药店", "district": "朝阳区",
            "skills": ["助老"], "urgency": "URGENT", **overrides}


async def create(author, **overrides: Any) -> dict[str, Any]:
    return (await execute(CREATE, {"input": request_input(**overrides)}, as_=author)).ok()[
        "createHelpRequest"]


async def test_post_a_help_request(db):
    # given
    resident = await make_volunteer("张阿姨")
    # when
    created = await create(resident, latitude=TIANANMEN[0], longitude=TIANANMEN[1])
    # then
    assert created["status"] == "OPEN" and created["urgency"] == "URGENT"
    assert created["author"] == {"displayName": "张阿姨"} and created["claimedBy"] is None
    assert created["skills"] == ["助老"] and created["latitude"] == TIANANMEN[0]


async def test_bad_input_is_refused_with_its_field_and_writes_nothing(db):
    resident = await make_volunteer()
    cases = [
        ({"title": "  "}, "title"),
        ({"district": ""}, "district"),
        ({"latitude": 39.9}, "longitude"),
        ({"latitude": 91.0, "longitude": 116.0}, "latitude"),
        ({"skills": ["a,b"]}, "skills"),
        ({"description": "x" * 20_001}, "description"),
    ]
    for overrides, field in cases:
        result = await execute(CREATE, {"input": request_input(**overrides)}, as_=resident)
        assert result.codes == ["BAD_USER_INPUT"], overrides
        assert result.errors[0]["extensions"]["field"] == field
    assert (await execute(CREATE, {"input": request_input()})).codes == ["UNAUTHENTICATED"]
    pending = await make_volunteer(status=VolunteerStatus.PENDING_CONSENT)
    assert (await execute(CREATE, {"input": request_input()}, as_=pending)).codes == ["FORBIDDEN"]
    assert await HelpRequest.all().count() == 0


async def test_posting_is_throttled_per_volunteer(db):
    resident = await make_volunteer()
    for _ in range(20):
        await create(resident)
    assert (await execute(CREATE, {"input": request_input()}, as_=resident)).codes == [
        "RATE_LIMITED"]
    assert await HelpRequest.all().count() == 20


async def test_claim_once_then_conflict_and_only_claimer_or_admin_resolves(db):
    # given
    resident = await make_volunteer("张阿姨")
    helper = await make_volunteer("李明")
    late = await make_volunteer("王芳")
    request_id = (await create(resident))["id"]
    # when
    claimed = (await execute(CLAIM, {"id": request_id}, as_=helper)).ok()["claimHelpRequest"]
    again = await execute(CLAIM, {"id": request_id}, as_=late)
    own = await execute(CLAIM, {"id": (await create(resident))["id"]}, as_=resident)
    # then
    assert claimed == {"status": "CLAIMED", "claimedBy": {"displayName": "李明"}, "claimedTeam": None}
    assert again.codes == ["CONFLICT"]
    assert own.codes == ["FORBIDDEN"]
    # when: someone else, then the claimer, resolves
    assert (await execute(RESOLVE, {"id": request_id}, as_=late)).codes == ["FORBIDDEN"]
    resolved = (await execute(RESOLVE, {"id": request_id}, as_=helper)).ok()
    # then
    assert resolved["resolveHelpRequest"]["status"] == "RESOLVED"
    assert (await execute(RESOLVE, {"id": request_id}, as_=helper)).codes == ["CONFLICT"]


async def test_concurrent_claims_have_one_winner(db):
    # given
    resident = await make_volunteer()
    helpers = [await make_volunteer(f"志愿者{i}") for i in range(8)]
    request_id = (await create(resident))["id"]
    # when
    results = await asyncio.gather(*(execute(CLAIM, {"id": request_id}, as_=h) for h in helpers))
    # then
    assert sorted(r.codes[0] if r.errors else "OK" for r in results) == ["CONFLICT"] * 7 + ["OK"]
    stored = await HelpRequest.get()
    assert stored.status == HelpRequestStatus.CLAIMED and stored.claimed_by_id in {h.id for h in helpers}


async def test_claim_for_a_team_lets_its_admin_resolve(db):
    # given
    resident = await make_volunteer()
    admin = await make_volunteer("队长")
    member = await make_volunteer("队员")
    team = await make_team(admin, "朝阳助老队")
    await add_member(team, member)
    request_id = (await create(resident))["id"]
    team_id = (await execute("{ teams { edges { node { id } } } }")).ok()["teams"]["edges"][0]["node"]["id"]
    # when: a plain member cannot claim for the team, its admin can
    assert (await execute(CLAIM, {"id": request_id, "team": team_id}, as_=member)).codes == ["FORBIDDEN"]
    claimed = (await execute(CLAIM, {"id": request_id, "team": team_id}, as_=admin)).ok()
    # then
    assert claimed["claimHelpRequest"]["claimedTeam"] == {"name": "朝阳助老队"}
    assert (await execute(RESOLVE, {"id": request_id}, as_=admin)).ok()


async def test_author_can_close_an_open_request(db):
    resident = await make_volunteer()
    other = await make_volunteer()
    request_id = (await create(resident))["id"]
    assert (await execute(CLOSE, {"id": request_id}, as_=other)).codes == ["FORBIDDEN"]
    assert (await execute(CLOSE, {"id": request_id}, as_=resident)).ok()["closeHelpRequest"] == {
        "status": "CLOSED"}
    assert (await execute(CLAIM, {"id": request_id}, as_=other)).codes == ["CONFLICT"]


async def test_list_filters_by_status_district_skill_and_distance(db):
    # given
    resident = await make_volunteer("张阿姨")
    helper = await make_volunteer("李明")
    await create(resident, title="近处", latitude=39.9100, longitude=116.3975)  # ~150 m
    await create(resident, title="边上", latitude=39.9087, longitude=116.4150)  # ~1.5 km east
    await create(resident, title="远处", latitude=40.0000, longitude=116.3975, skills=["法律"])
    await create(resident, title="海淀", district="海淀区", skills=["法律", "助老"])
    claimed = await create(resident, title="已认领")
    await execute(CLAIM, {"id": claimed["id"]}, as_=helper)
    near = {"latitude": TIANANMEN[0], "longitude": TIANANMEN[1], "radiusKm": 1.6}

    async def titles(**variables: Any) -> list[str]:
        data = (await execute(LIST, variables, as_=helper)).ok()["helpRequests"]
        return [edge["node"]["title"] for edge in data["edges"]]

    # then
    assert await titles(status="CLAIMED") == ["已认领"]
    assert await titles(district="海淀区") == ["海淀"]
    assert await titles(skill="法律") == ["海淀", "远处"]
    assert await titles(near=near) == ["边上", "近处"]
    assert await titles(near={**near, "radiusKm": 1.0}) == ["近处"]
    assert (await execute(LIST, {"near": {**near, "radiusKm": 0}}, as_=helper)).codes == [
        "BAD_USER_INPUT"]
    assert (await execute(LIST, {})).codes == ["UNAUTHENTICATED"]


async def test_near_pages_are_full_and_counted_exactly(db):
    # given: 30 requests inside the circle interleaved with 30 in its bounding-box corners
    resident = await make_volunteer()
    for index in range(30):
        await HelpRequest.create(created_by=resident, title=f"in{index}", description="d",
                                 district="朝阳区", latitude=39.9087, longitude=116.3975)
        await HelpRequest.create(created_by=resident, title=f"corner{index}", description="d",
                                 district="朝阳区", latitude=39.9087 + 0.0130,
                                 longitude=116.3975 + 0.0170)
    near = {"latitude": TIANANMEN[0], "longitude": TIANANMEN[1], "radiusKm": 1.5}
    # when
    first = (await execute(LIST, {"near": near, "first": 20}, as_=resident)).ok()["helpRequests"]
    rest = (await execute(LIST, {"near": near, "first": 20, "after": first["pageInfo"]["endCursor"]},
                          as_=resident)).ok()["helpRequests"]
    # then
    assert len(first["edges"]) == 20 and first["pageInfo"]["hasNextPage"]
    assert len(rest["edges"]) == 10 and not rest["pageInfo"]["hasNextPage"]
    assert first["totalCount"] == 30
    assert all(e["node"]["title"].startswith("in") for e in first["edges"] + rest["edges"])


async def test_list_loads_people_in_batches(db):
    # given
    helper = await make_volunteer()
    for index in range(10):
        resident = await make_volunteer(f"居民{index}")
        request = await create(resident)
        if index % 2:
            await execute(CLAIM, {"id": request["id"]}, as_=helper)
    # when
    with count_statements() as statements:
        result = await execute(LIST, {"first": 10}, as_=helper)
    # then: the page, then authors and claimers in one batch (the count is not requested... it is)
    assert len(result.ok()["helpRequests"]["edges"]) == 10
    assert len(statements) == 3, statements


async def _subscribe(person, **variables: Any) -> Any:
    stream = await schema.subscribe(PUSHED, variable_values=variables,
                                    context_value=Context(viewer=Viewer(person)))
    return stream


async def _collect(stream: Any, into: list[str]) -> None:
    async for result in stream:
        assert not result.errors, result.errors
        into.append(result.data["helpRequestCreated"]["title"])


async def test_push_reaches_exactly_the_matching_subscribers(db):
    # given: subscribers with different filters
    resident = await make_volunteer()
    people = {name: await make_volunteer(name) for name in
              ("everything", "chaoyang", "first_aid", "chaoyang_law", "nearby")}
    filters = {
        "everything": {},
        "chaoyang": {"district": "朝阳区"},
        "first_aid": {"skills": ["急救"]},
        "chaoyang_law": {"district": "朝阳区", "skills": ["法律"]},
        "nearby": {"near": {"latitude": TIANANMEN[0], "longitude": TIANANMEN[1], "radiusKm": 1.5}},
    }
    received: dict[str, list[str]] = {name: [] for name in filters}
    streams = {name: await _subscribe(people[name], **f) for name, f in filters.items()}
    tasks = [asyncio.ensure_future(_collect(s, received[n])) for n, s in streams.items()]
    await wait_for_watchers(len(streams))
    try:
        # when
        await create(resident, title="A 朝阳急救近处", skills=["急救"], latitude=39.9100,
                     longitude=116.3975)
        await create(resident, title="B 海淀法律", district="海淀区", skills=["法律"])
        await create(resident, title="C 朝阳法律远处", skills=["法律", "助老"], latitude=40.5,
                     longitude=116.3975)
        await until(lambda: "C 朝阳法律远处" in received["everything"],
                    lambda: f"the last request reaches the catch-all subscriber: {received}")
        # it was handed to every matching stream with it: all of them have handled it
        await wait_for_watchers(len(streams))
        # then
        assert received == {
            "everything": ["A 朝阳急救近处", "B 海淀法律", "C 朝阳法律远处"],
            "chaoyang": ["A 朝阳急救近处", "C 朝阳法律远处"],
            "first_aid": ["A 朝阳急救近处"],
            "chaoyang_law": ["C 朝阳法律远处"],
            "nearby": ["A 朝阳急救近处"],
        }
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for stream in streams.values():
            await stream.aclose()


async def test_push_needs_sign_in_and_valid_filters(db):
    # when
    anonymous = await schema.subscribe(PUSHED, context_value=Context())
    person = await make_volunteer()
    bad = await _subscribe(person, near={"latitude": 39.9, "longitude": 116.4, "radiusKm": 500})
    # then
    first = await asyncio.wait_for(anonymous.__anext__(), 5)
    assert first.errors[0].extensions["code"] == "UNAUTHENTICATED"
    second = await asyncio.wait_for(bad.__anext__(), 5)
    assert second.errors[0].extensions["code"] == "BAD_USER_INPUT"
