"""Service points: the walking-time circle (80 m/min), nearest first; coverage of communities;
activities and help requests naming a point."""

from __future__ import annotations

from models.activity import Activity
from models.helprequest import HelpRequest
from models.servicepoint import Community, ServicePoint, ServicePointKind
from resolvers.servicepoint import coverage
from schema.relay import to_global_id
from tests.activity.factory import make_activity
from tests.helpers import count_statements, execute, make_team, make_volunteer

NEAR = """
query N($near: WalkingCircleInput!, $first: Int, $after: String, $kind: ServicePointKind) {
  servicePoints(near: $near, first: $first, after: $after, kind: $kind) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { name kind distanceMetres walkingMinutes team { name } } }
  }
}"""
CREATE = """
mutation C($input: ServicePointInput!) { createServicePoint(input: $input) { id name team { name } } }"""
COVERAGE = """
query C($minutes: Int!) {
  serviceCoverage(minutes: $minutes) { minutes radiusMetres communities covered share
    districts { district communities covered share } }
}"""
LINK_ACTIVITY = """
mutation L($a: ID!, $p: ID) { setActivityServicePoint(activityId: $a, servicePointId: $p) { servicePoint { name } } }"""
LINK_REQUEST = """
mutation L($h: ID!, $p: ID) { setHelpRequestServicePoint(helpRequestId: $h, servicePointId: $p) { servicePoint { name } } }"""

ORIGIN = (39.9087, 116.3975)  # 天安门
METRES_PER_DEGREE_LAT = 111_195.0


def _north(metres: float) -> tuple[float, float]:
    return ORIGIN[0] + metres / METRES_PER_DEGREE_LAT, ORIGIN[1]


async def _point(name: str, metres: float, kind=ServicePointKind.HUB, team=None, district="东城区"):
    lat, lon = _north(metres)
    return await ServicePoint.create(name=name, kind=kind, district=district, latitude=lat,
                                     longitude=lon, opening_hours="9:00–17:00", team=team)


async def test_walking_circle_is_80_metres_a_minute_nearest_first(db):
    # given
    admin = await make_volunteer("队长")
    team = await make_team(admin, "东城志愿服务队")
    await _point("远处图书馆", 1300, ServicePointKind.LIBRARY)
    await _point("中间公园", 900, ServicePointKind.PARK, team)
    await _point("近处驿站", 500, ServicePointKind.STATION)
    near = {"lat": ORIGIN[0], "lng": ORIGIN[1]}
    # when
    ten = (await execute(NEAR, {"near": {**near, "minutes": 10}})).ok()["servicePoints"]
    fifteen = (await execute(NEAR, {"near": {**near, "minutes": 15}})).ok()["servicePoints"]
    parks = (await execute(NEAR, {"near": {**near, "minutes": 15}, "kind": "PARK"})).ok()
    # then
    assert [e["node"]["name"] for e in ten["edges"]] == ["近处驿站"]
    assert [e["node"]["name"] for e in fifteen["edges"]] == ["近处驿站", "中间公园"]
    assert fifteen["totalCount"] == 2
    nearest = fifteen["edges"][0]["node"]
    assert abs(nearest["distanceMetres"] - 500) < 2 and nearest["walkingMinutes"] == 6.2
    assert fifteen["edges"][1]["node"]["team"] == {"name": "东城志愿服务队"}
    assert [e["node"]["kind"] for e in parks["servicePoints"]["edges"]] == ["PARK"]


async def test_near_pages_by_distance(db):
    # given
    for index in range(5):
        await _point(f"驿站{index}", 100 * (5 - index))
    near = {"near": {"lat": ORIGIN[0], "lng": ORIGIN[1], "minutes": 10}}
    # when
    first = (await execute(NEAR, {**near, "first": 2})).ok()["servicePoints"]
    rest = (await execute(NEAR, {**near, "first": 10,
                                 "after": first["pageInfo"]["endCursor"]})).ok()["servicePoints"]
    # then
    assert [e["node"]["name"] for e in first["edges"]] == ["驿站4", "驿站3"]
    assert first["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["name"] for e in rest["edges"]] == ["驿站2", "驿站1", "驿站0"]
    assert rest["totalCount"] == 5 and rest["pageInfo"]["hasNextPage"] is False


async def test_near_statements_do_not_grow_with_the_page(db):
    # given
    admin = await make_volunteer("队长")
    teams = [await make_team(admin, f"队{i}") for i in range(3)]
    for index in range(9):
        await _point(f"驿站{index}", 50 * index, team=teams[index % 3])
    near = {"near": {"lat": ORIGIN[0], "lng": ORIGIN[1], "minutes": 10}}

    async def statements_for(first: int) -> int:
        with count_statements() as statements:
            page = (await execute(NEAR, {**near, "first": first})).ok()["servicePoints"]
        assert len(page["edges"]) == first
        return len(statements)

    # when / then
    assert await statements_for(2) == await statements_for(9)


async def test_bad_circles_name_the_field(db):
    # when
    minutes = await execute(NEAR, {"near": {"lat": 39.9, "lng": 116.4, "minutes": 0}})
    latitude = await execute(NEAR, {"near": {"lat": 91, "lng": 116.4, "minutes": 10}})
    too_far = await execute(NEAR, {"near": {"lat": 39.9, "lng": 116.4, "minutes": 61}})
    # then
    assert [e["extensions"].get("field") for e in minutes.errors] == ["near.minutes"]
    assert [e["extensions"].get("field") for e in latitude.errors] == ["near.lat"]
    assert [e["extensions"].get("field") for e in too_far.errors] == ["near.minutes"]


async def test_only_admins_add_service_points(db):
    # given
    admin = await make_volunteer("队长")
    team = await make_team(admin, "东城志愿服务队")
    outsider = await make_volunteer("路人")
    platform = await make_volunteer("平台", platform_admin=True)
    base = {"name": "东华门驿站", "kind": "STATION", "district": "东城区", "latitude": 39.91,
            "longitude": 116.40}
    # when
    foreign = await execute(CREATE, {"input": {**base, "teamId": to_global_id("Team", team.id)}},
                            as_=outsider)
    unowned = await execute(CREATE, {"input": base}, as_=admin)
    owned = await execute(CREATE, {"input": {**base, "teamId": to_global_id("Team", team.id)}},
                          as_=admin)
    by_platform = await execute(CREATE, {"input": base}, as_=platform)
    bad = await execute(CREATE, {"input": {**base, "longitude": 200}}, as_=platform)
    # then
    assert foreign.codes == ["FORBIDDEN"] and unowned.codes == ["FORBIDDEN"]
    assert owned.ok()["createServicePoint"]["team"] == {"name": "东城志愿服务队"}
    assert by_platform.ok()["createServicePoint"]["team"] is None
    assert [e["extensions"].get("field") for e in bad.errors] == ["longitude"]
    assert await ServicePoint.all().count() == 2


async def test_coverage_is_the_share_of_communities_with_a_point_in_the_circle(db):
    # given: one point at the origin; communities at 300 m, 1,000 m (東城) and 5 km (西城)
    await _point("社区服务中心", 0, ServicePointKind.COMMUNITY_CENTRE)
    for name, metres, district in (("东华门社区", 300, "东城区"), ("景山社区", 1000, "东城区"),
                                   ("远郊社区", 5000, "西城区")):
        lat, lon = _north(metres)
        await Community.create(name=name, district=district, latitude=lat, longitude=lon)
    # when
    ten = (await execute(COVERAGE, {"minutes": 10})).ok()["serviceCoverage"]
    fifteen = await coverage(15)
    bad = await execute(COVERAGE, {"minutes": 0})
    # then
    assert ten == {"minutes": 10, "radiusMetres": 800, "communities": 3, "covered": 1,
                   "share": 0.3333, "districts": [
                       {"district": "东城区", "communities": 2, "covered": 1, "share": 0.5},
                       {"district": "西城区", "communities": 1, "covered": 0, "share": 0.0}]}
    assert (fifteen.covered, fifteen.communities) == (2, 3)
    assert [e["extensions"].get("field") for e in bad.errors] == ["minutes"]


async def test_activities_and_help_requests_name_a_service_point(db):
    # given
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    activity = await make_activity(team, admin)
    resident = await make_volunteer("居民")
    request = await HelpRequest.create(created_by=resident, title="代买药品", description="",
                                       district="东城区")
    point = await _point("东华门驿站", 100)
    pid = to_global_id("ServicePoint", point.id)
    aid, hid = to_global_id("Activity", activity.id), to_global_id("HelpRequest", request.id)
    # when
    by_outsider = await execute(LINK_ACTIVITY, {"a": aid, "p": pid}, as_=resident)
    linked = (await execute(LINK_ACTIVITY, {"a": aid, "p": pid}, as_=admin)).ok()
    missing = await execute(LINK_ACTIVITY, {"a": aid, "p": to_global_id("ServicePoint", 999)},
                            as_=admin)
    request_linked = (await execute(LINK_REQUEST, {"h": hid, "p": pid}, as_=resident)).ok()
    request_by_other = await execute(LINK_REQUEST, {"h": hid, "p": None}, as_=admin)
    cleared = (await execute(LINK_ACTIVITY, {"a": aid, "p": None}, as_=admin)).ok()
    # then
    assert by_outsider.codes == ["FORBIDDEN"]
    assert linked["setActivityServicePoint"]["servicePoint"] == {"name": "东华门驿站"}
    assert missing.codes == ["NOT_FOUND"]
    assert request_linked["setHelpRequestServicePoint"]["servicePoint"] == {"name": "东华门驿站"}
    assert request_by_other.codes == ["FORBIDDEN"]
    assert cleared["setActivityServicePoint"]["servicePoint"] is None


UNLINK_ACTIVITY = "mutation U($a: ID!) { setActivityServicePoint(activityId: $a) { servicePoint { name } } }"
UNLINK_REQUEST = "mutation U($h: ID!) { setHelpRequestServicePoint(helpRequestId: $h) { servicePoint { name } } }"


async def test_leaving_the_service_point_out_clears_it(db):
    # given: an activity and a help request that name a point
    admin = await make_volunteer("队长")
    activity = await make_activity(await make_team(admin), admin)
    resident = await make_volunteer("居民")
    point = await _point("东华门驿站", 100)
    request = await HelpRequest.create(created_by=resident, title="代买药品", description="",
                                       district="东城区", service_point=point)
    await Activity.filter(id=activity.id).update(service_point_id=point.id)
    aid, hid = to_global_id("Activity", activity.id), to_global_id("HelpRequest", request.id)
    # when: servicePointId omitted, as the schema allows
    by_outsider = await execute(UNLINK_ACTIVITY, {"a": aid}, as_=resident)
    activity_cleared = (await execute(UNLINK_ACTIVITY, {"a": aid}, as_=admin)).ok()
    request_cleared = (await execute(UNLINK_REQUEST, {"h": hid}, as_=resident)).ok()
    # then: the permission check answers, and the owner's call clears the point
    assert by_outsider.codes == ["FORBIDDEN"]
    assert activity_cleared["setActivityServicePoint"]["servicePoint"] is None
    assert request_cleared["setHelpRequestServicePoint"]["servicePoint"] is None
