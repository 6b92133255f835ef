"""The weekly schedule and closures: set by the station's managers, checked, shown on the
service point; a duty shift signed up for and checked in through the ordinary path marks the
slot operating."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.time import BEIJING
from models.servicepoint import ServicePoint, ServicePointKind
from models.station import StationClosure, StationHours, StationSlotMark
from schema.relay import to_global_id
from tests.activity.factory import make_activity
from tests.helpers import execute, make_team, make_volunteer

SET_HOURS = """mutation($point: ID!, $hours: [StationHoursInput!]!) {
  setStationHours(servicePointId: $point, hours: $hours) {
    openingSchedule { weekday opens closes } } }"""
CLOSE = """mutation($point: ID, $date: Date!) { addStationClosure(servicePointId: $point,
  date: $date, reason: "春节") { date reason servicePoint { name } } }"""
SIGN_UP = "mutation($a: ID!) { signUp(activityId: $a) { status } }"
CHECK_IN = "mutation($a: ID!) { checkIn(activityId: $a) { checkedInAt } }"


async def _station():
    admin = await make_volunteer("站长")
    team = await make_team(admin, "建国门街道志愿服务队")
    point = await ServicePoint.create(name="建国门城市志愿服务站", kind=ServicePointKind.STATION,
                                      district="东城区", latitude=39.908, longitude=116.435,
                                      team=team)
    return admin, team, point


async def test_managers_set_the_weekly_schedule_and_bad_ones_write_nothing(db):
    # given
    admin, _, point = await _station()
    stranger = await make_volunteer("路人")
    gid = to_global_id("ServicePoint", point.id)
    week = [{"weekday": 0, "opens": "09:00", "closes": "12:00"},
            {"weekday": 0, "opens": "14:00", "closes": "17:30"},
            {"weekday": 5, "opens": "08:30", "closes": "24:00"}]
    # when
    done = await execute(SET_HOURS, {"point": gid, "hours": week}, as_=admin)
    again = await execute(SET_HOURS, {"point": gid, "hours": week[:1]}, as_=admin)
    overlap = await execute(SET_HOURS, {"point": gid, "hours": [
        {"weekday": 1, "opens": "09:00", "closes": "12:00"},
        {"weekday": 1, "opens": "11:00", "closes": "13:00"}]}, as_=admin)
    bad = [await execute(SET_HOURS, {"point": gid, "hours": [rule]}, as_=admin) for rule in (
        {"weekday": 7, "opens": "09:00", "closes": "10:00"},
        {"weekday": 1, "opens": "9点", "closes": "10:00"},
        {"weekday": 1, "opens": "12:00", "closes": "10:00"})]
    refused = await execute(SET_HOURS, {"point": gid, "hours": week}, as_=stranger)
    # then
    assert done.ok()["setStationHours"]["openingSchedule"] == week
    assert again.ok()["setStationHours"]["openingSchedule"] == week[:1]
    assert [r.codes for r in [overlap, *bad]] == [["BAD_USER_INPUT"]] * 4
    assert refused.codes == ["FORBIDDEN"]
    assert await StationHours.filter(service_point_id=point.id,
                                     valid_until_day__isnull=True).count() == 1


async def test_closures_for_one_station_or_every_station(db):
    # given
    admin, _, point = await _station()
    platform = await make_volunteer("平台管理员", platform_admin=True)
    gid = to_global_id("ServicePoint", point.id)
    # when
    own = await execute(CLOSE, {"point": gid, "date": "2027-02-06"}, as_=admin)
    twice = await execute(CLOSE, {"point": gid, "date": "2027-02-06"}, as_=admin)
    everywhere_by_manager = await execute(CLOSE, {"date": "2027-02-07"}, as_=admin)
    everywhere = await execute(CLOSE, {"date": "2027-02-07"}, as_=platform)
    # then
    assert own.ok()["addStationClosure"] == {"date": "2027-02-06", "reason": "春节",
                                             "servicePoint": {"name": "建国门城市志愿服务站"}}
    assert twice.ok() == own.ok()
    assert everywhere_by_manager.codes == ["FORBIDDEN"]
    assert everywhere.ok()["addStationClosure"]["servicePoint"] is None
    assert await StationClosure.all().count() == 2


async def _duty_shift():
    """A station open all day today, a volunteer, and a duty shift starting in half an hour."""
    admin, team, point = await _station()
    volunteer = await make_volunteer("值班员")
    today = datetime.now(BEIJING).weekday()
    await execute(SET_HOURS, {"point": to_global_id("ServicePoint", point.id), "hours": [
        {"weekday": today, "opens": "00:00", "closes": "24:00"}]}, as_=admin)
    shift = await make_activity(team, admin, title="服务站值班",
                                starts_at=datetime.now(UTC).replace(microsecond=0)
                                + timedelta(minutes=30), service_point_id=point.id)
    return admin, point, volunteer, to_global_id("Activity", shift.id)


async def test_a_duty_shift_check_in_through_the_ordinary_path_marks_the_slot(db):
    # given: open all day today, a duty shift starting in half an hour
    _, point, volunteer, activity = await _duty_shift()
    # when
    signed = await execute(SIGN_UP, {"a": activity}, as_=volunteer)
    checked = await execute(CHECK_IN, {"a": activity}, as_=volunteer)
    # then
    assert signed.ok()["signUp"]["status"] == "CONFIRMED"
    assert checked.ok()["checkIn"]["checkedInAt"]
    assert await StationSlotMark.filter(service_point_id=point.id).count() == 1


SYNC = """mutation($entries: [AttendanceEntryInput!]!) {
  syncAttendance(deviceId: "gate-1", entries: $entries) { results { clientId outcome } } }"""


async def test_a_check_in_recorded_offline_marks_the_slot_once_even_when_replayed(db):
    # given: open all day today, a volunteer on a duty shift starting in half an hour
    admin, point, volunteer, activity = await _duty_shift()
    assert (await execute(SIGN_UP, {"a": activity}, as_=volunteer)).ok()
    entry = {"clientId": "scan-1", "activityId": activity, "kind": "CHECK_IN",
             "volunteerId": to_global_id("Volunteer", volunteer.id),
             "at": datetime.now(UTC).replace(microsecond=0).isoformat()}
    # when: the organiser's device uploads the scan, then uploads it again
    first = await execute(SYNC, {"entries": [entry]}, as_=admin)
    again = await execute(SYNC, {"entries": [entry]}, as_=admin)
    # then: the slot is staffed, once
    assert first.ok()["syncAttendance"]["results"] == [{"clientId": "scan-1", "outcome": "APPLIED"}]
    assert again.ok()["syncAttendance"]["results"][0]["clientId"] == "scan-1"
    assert await StationSlotMark.filter(service_point_id=point.id).count() == 1
