"""Operating rate: check-ins at a station during its opening hours mark slots operating;
staffed ÷ scheduled slots by station, district, team, week and city, closed dates left out;
the 10-minute circle counts only stations operating at that time."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from core.time import BEIJING
from models.activity import SignUp, SignUpStatus
from models.servicepoint import Community, ServicePoint, ServicePointKind
from models.station import StationClosure, StationHours, StationSlotMark
from resolvers import station
from resolvers.auth import Viewer
from resolvers.errors import Forbidden
from resolvers.servicepoint import coverage
from tests.activity.factory import make_activity
from tests.helpers import count_statements, execute, make_team, make_volunteer

RATES = """query($from: Date!, $to: Date!, $by: StationGrouping!) {
  stationOperatingRates(from: $from, to: $to, groupBy: $by) {
    target rows { key scheduledSlots staffedSlots rate belowTarget }
    belowTarget { servicePoint { name } } } }"""
START, END = date(2026, 11, 2), date(2026, 11, 16)  # two weeks, Monday to Monday


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BEIJING)


async def _rule(point: ServicePoint, weekday: int, opens: str, closes: str) -> None:
    def minute(text: str) -> int:
        return int(text[:2]) * 60 + int(text[3:])
    await StationHours.create(service_point=point, weekday=weekday, opens_minute=minute(opens),
                              closes_minute=minute(closes),
                              valid_from_day=station.day_number(date(2026, 1, 1)))


async def _stay(activity, checked_in: datetime, checked_out: datetime | None = None) -> int:
    person = await make_volunteer("值班志愿者")
    sign_up = await SignUp.create(activity=activity, volunteer=person,
                                  status=SignUpStatus.CONFIRMED, checked_in_at=checked_in)
    marked = await station.mark_operating(sign_up.id)
    if checked_out is not None:
        await SignUp.filter(id=sign_up.id).update(checked_out_at=checked_out)
        marked += await station.mark_operating(sign_up.id)
    return marked


@pytest.fixture
async def city(db):
    admin = await make_volunteer("市级管理员", platform_admin=True)
    team = await make_team(admin, "朝阳门街道志愿服务队")
    a = await ServicePoint.create(name="朝阳门城市志愿服务站", kind=ServicePointKind.STATION,
                                  district="朝阳区", latitude=39.9240, longitude=116.4340,
                                  team=team)
    b = await ServicePoint.create(name="中关村城市志愿服务站", kind=ServicePointKind.STATION,
                                  district="海淀区", latitude=39.9830, longitude=116.3160)
    for weekday, opens, closes in ((0, "09:00", "12:00"), (0, "14:00", "17:00"),
                                   (2, "09:00", "12:00")):
        await _rule(a, weekday, opens, closes)
    for weekday in range(7):
        await _rule(b, weekday, "08:00", "20:00")
    await StationClosure.create(day_number=station.day_number(date(2026, 11, 4)), reason="调休",
                                created_by=admin)
    await StationClosure.create(service_point=b, day_number=station.day_number(date(2026, 11, 10)),
                                reason="设备检修", created_by=admin)
    duty_a = await make_activity(team, admin, title="朝阳门服务站值班", service_point_id=a.id)
    duty_b = await make_activity(team, admin, title="中关村服务站值班", service_point_id=b.id)
    # A: Monday 2 Nov 10:00–15:00 covers both Monday slots; Monday 9 Nov one check-in;
    # a check-in on the closed Wednesday and one after hours count for nothing.
    assert await _stay(duty_a, at(2, 10), at(2, 15)) == 2
    assert await _stay(duty_a, at(9, 9, 30)) == 1
    assert await _stay(duty_a, at(4, 10)) == 0
    assert await _stay(duty_a, at(9, 18)) == 0
    # B: someone at noon every day (the closed days count for nothing).
    for day in range(2, 16):
        await _stay(duty_b, at(day, 12))
    return admin, a, b


async def test_a_repeated_check_in_marks_a_slot_once(city):
    admin, a, _ = city
    duty = await make_activity(await make_team(admin, "补充队"), admin, service_point_id=a.id)
    assert await _stay(duty, at(2, 9, 5)) == 0  # that slot is already operating
    assert await StationSlotMark.filter(service_point_id=a.id).count() == 3


async def test_rates_by_station_district_team_week_and_city(city):
    # given
    admin, a, b = city
    viewer = Viewer(admin)

    async def rates(grouping):
        return [(r.key, r.scheduled, r.staffed)
                for r in await station.operating_rates(viewer, START, END, grouping)]

    # then: the city-wide holiday takes a Wednesday from A and a day from B, which also
    # closed on its own for a day: A 6 - 1 = 5 slots, B 14 - 2 = 12
    assert await rates(station.Grouping.STATION) == [(str(a.id), 5, 3), (str(b.id), 12, 12)]
    assert await rates(station.Grouping.DISTRICT) == [("朝阳区", 5, 3), ("海淀区", 12, 12)]
    assert await rates(station.Grouping.TEAM) == [("0", 12, 12), (str(a.team_id), 5, 3)]
    assert await rates(station.Grouping.WEEK) == [("2026-11-02", 8, 8), ("2026-11-09", 9, 7)]
    assert await rates(station.Grouping.CITY) == [("0", 17, 15)]
    # a period starting mid-week counts only its own days
    partial = await station.operating_rates(viewer, date(2026, 11, 9), date(2026, 11, 11),
                                            station.Grouping.CITY)
    assert [(r.scheduled, r.staffed) for r in partial] == [(3, 2)]


async def test_stations_below_the_target_through_graphql(city):
    # given
    admin, _, _ = city
    outsider = await make_volunteer("普通志愿者")
    variables = {"from": START.isoformat(), "to": END.isoformat(), "by": "STATION"}
    # when
    report = (await execute(RATES, variables, as_=admin)).ok()["stationOperatingRates"]
    refused = await execute(RATES, variables, as_=outsider)
    backwards = await execute(RATES, {**variables, "to": START.isoformat()}, as_=admin)
    # then
    assert report["target"] == 0.95
    assert [(r["rate"], r["belowTarget"]) for r in report["rows"]] == [(0.6, True), (1.0, False)]
    assert report["belowTarget"] == [{"servicePoint": {"name": "朝阳门城市志愿服务站"}}]
    assert refused.codes == ["FORBIDDEN"]
    assert backwards.codes == ["BAD_USER_INPUT"]
    with pytest.raises(Forbidden):
        await station.operating_rates(Viewer(outsider), START, END, station.Grouping.CITY)


async def test_the_circle_counts_only_stations_operating_then(city):
    # given: one community beside each station
    _, a, b = city
    await Community.create(name="朝阳门社区", district="朝阳区", latitude=a.latitude + 0.001,
                           longitude=a.longitude)
    await Community.create(name="中关村社区", district="海淀区", latitude=b.latitude + 0.001,
                           longitude=b.longitude)

    async def covered(moment):
        return (await coverage(10, None, await station.operating_point_ids(moment))).covered

    # then
    assert (await coverage(10)).covered == 2
    assert await covered(at(2, 10)) == 2       # both open and staffed
    assert await covered(at(2, 13)) == 1       # A closed for lunch
    assert await covered(at(10, 12)) == 0      # B closed that day, A not open on Tuesdays
    assert await covered(at(2, 22)) == 0       # night
    assert await covered(at(2, 10) + timedelta(days=28)) == 0  # nobody checked in yet


async def test_the_station_list_says_which_stations_operate_now_in_one_statement(city):
    # given: both stations open all day today (in place of the fixture's periods for this
    # weekday: the API refuses overlapping periods); someone is checked in on duty at A only
    admin, a, b = city
    now = datetime.now(BEIJING)
    for point in (a, b):
        await StationHours.filter(service_point=point, weekday=now.weekday()).delete()
        await _rule(point, now.weekday(), "00:00", "24:00")
    duty = await make_activity(await make_team(admin, "今日值班队"), admin, service_point_id=a.id)
    assert await _stay(duty, now) == 1
    query = "{ servicePoints(first: 10) { edges { node { name operatingNow } } } }"
    # when anyone lists the stations
    with count_statements() as statements:
        rows = (await execute(query)).ok()["servicePoints"]["edges"]
    # then only A operates now, and whether each does is read once for the whole list
    assert [(e["node"]["name"], e["node"]["operatingNow"]) for e in rows] == [
        ("朝阳门城市志愿服务站", True), ("中关村城市志愿服务站", False)]
    assert sum("station_slot_mark" in s for s in statements) == 1
