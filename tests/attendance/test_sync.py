"""syncAttendance: offline check-ins/outs uploaded in batches. Randomised batches (replays,
duplicates, out-of-order uploads, several devices, times out of the window) are checked
entry by entry against a reference model; racing devices never double count."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from models.activity import SignUp
from models.attendance import AttendanceEvent, AttendanceKind
from models.hours import HoursAudit, ServiceRecord
from resolvers.attendance import CLOCK_TOLERANCE, SyncEntry, do_sync_attendance, entry_window
from resolvers.auth import Viewer
from resolvers.hours import claimed_hours, do_check_in
from schema.limits import BOUNDS_BY_COORDINATE
from schema.relay import to_global_id
from tests.helpers import add_member, execute, make_team, make_volunteer
from tests.hours.factory import confirm, make_activity

SYNC = """
mutation Sync($device: String!, $entries: [AttendanceEntryInput!]!) {
  syncAttendance(deviceId: $device, entries: $entries) {
    applied results { clientId outcome replayed message }
  }
}
"""

CHECK_IN, CHECK_OUT = AttendanceKind.CHECK_IN, AttendanceKind.CHECK_OUT


@dataclass
class Person:
    checked_in: tuple[datetime, str] | None = None
    checked_out: tuple[datetime, str] | None = None
    hours: list[float] = field(default_factory=list)


class Reference:
    """The rules of docs/timebank.md §Offline check-in, written as plainly as possible."""

    def __init__(self, activity, signed_up: set[int], now: datetime) -> None:
        self.activity = activity
        self.signed_up = signed_up
        self.now = now
        self.people: dict[int, Person] = {v: Person() for v in signed_up}
        self.applied: dict[tuple[str, str], SyncEntry] = {}

    def upload(self, device: str, entries: list[SyncEntry]) -> list[tuple[str, bool]]:
        order = sorted(range(len(entries)), key=lambda i: (
            entries[i].at, entries[i].kind != CHECK_IN, i))
        results: dict[int, tuple[str, bool]] = {}
        for index in order:
            results[index] = self.one(device, entries[index])
        return [results[i] for i in range(len(entries))]

    def one(self, device: str, entry: SyncEntry) -> tuple[str, bool]:
        earlier = self.applied.get((device, entry.client_id))
        if earlier is not None:
            same = (earlier.volunteer_id, earlier.kind, earlier.at) == (
                entry.volunteer_id, entry.kind, entry.at)
            return ("APPLIED", True) if same else ("INVALID", False)
        opens, closes = entry_window(self.activity, entry.kind)
        if not opens <= entry.at <= closes or entry.at > self.now + CLOCK_TOLERANCE:
            return "OUTSIDE_WINDOW", False
        if entry.volunteer_id not in self.signed_up:
            return "NOT_SIGNED_UP", False
        person = self.people[entry.volunteer_id]
        if entry.kind == CHECK_IN:
            if person.checked_in is not None:
                return ("DUPLICATE" if person.checked_in[1] == device
                        else "CHECKED_IN_ELSEWHERE"), False
            person.checked_in = (entry.at, device)
        else:
            if person.checked_in is None:
                return "NOT_CHECKED_IN", False
            if person.checked_out is not None:
                return ("DUPLICATE" if person.checked_out[1] == device
                        else "ALREADY_CHECKED_OUT"), False
            if entry.at < person.checked_in[0]:
                return "CHECK_OUT_BEFORE_CHECK_IN", False
            person.checked_out = (entry.at, device)
            person.hours.append(claimed_hours(self.activity, person.checked_in[0], entry.at))
        self.applied[(device, entry.client_id)] = entry
        return "APPLIED", False


async def _setup(volunteers: int = 6):
    organiser = await make_volunteer("组织者")
    team = await make_team(organiser, "社区队")
    now = datetime.now(UTC)
    activity = await make_activity(team, organiser, starts_at=now - timedelta(hours=4), hours=3)
    people = [await make_volunteer(f"队员{i}") for i in range(volunteers)]
    for person in people[:-1]:  # the last one never signed up
        await add_member(team, person)
        await confirm(activity, person)
    return organiser, activity, people, now


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_random_batches_match_the_reference_model(db, seed):
    # given
    rng = random.Random(seed)
    organiser, activity, people, now = await _setup()
    model = Reference(activity, {p.id for p in people[:-1]}, now)
    devices = ["device-A", "device-B", "device-C"]
    recorded: dict[str, list[SyncEntry]] = {d: [] for d in devices}
    counter = 0
    for _ in range(40):
        device = rng.choice(devices)
        counter += 1
        at = activity.starts_at + timedelta(minutes=rng.randint(-90, 265),
                                            seconds=rng.randint(0, 59))
        recorded[device].append(SyncEntry(
            client_id=f"{device}-{counter}", activity_id=activity.id,
            volunteer_id=rng.choice(people).id, kind=rng.choice([CHECK_IN, CHECK_OUT]), at=at))
    # when: 25 uploads of random (overlapping, shuffled) slices, now and then a reused clientId
    for _ in range(25):
        device = rng.choice(devices)
        if not recorded[device]:
            continue
        batch = rng.sample(recorded[device], rng.randint(1, len(recorded[device])))
        if rng.random() < 0.2:
            clash = batch[0]
            batch.append(SyncEntry(clash.client_id, activity.id, clash.volunteer_id, clash.kind,
                                   clash.at + timedelta(minutes=1)))
        expected = model.upload(device, batch)
        got = await do_sync_attendance(Viewer(organiser), device, batch, now=now)
        # then: every entry's outcome is the model's
        assert [(r.outcome.value, r.replayed) for r in got] == expected
    # then: the database holds exactly the model's state, each hour counted once
    for person in people[:-1]:
        sign_up = await SignUp.get(activity_id=activity.id, volunteer_id=person.id)
        state = model.people[person.id]
        assert sign_up.checked_in_at == (state.checked_in[0] if state.checked_in else None)
        assert sign_up.checked_out_at == (state.checked_out[0] if state.checked_out else None)
        records = await ServiceRecord.filter(sign_up_id=sign_up.id)
        assert [r.hours_claimed for r in records] == state.hours
    assert await AttendanceEvent.filter(sign_up__activity_id=activity.id).count() == len(
        model.applied)


async def test_racing_devices_and_replays_never_double_count(db):
    # given: three devices recorded the same people, each with its own times
    organiser, activity, people, now = await _setup(volunteers=11)
    start = activity.starts_at

    def batch(device: str, shift: int) -> list[SyncEntry]:
        return [entry for index, person in enumerate(people[:-1]) for entry in (
            SyncEntry(f"{device}-in-{index}", activity.id, person.id, CHECK_IN,
                      start + timedelta(minutes=shift + index)),
            SyncEntry(f"{device}-out-{index}", activity.id, person.id, CHECK_OUT,
                      start + timedelta(minutes=120 + shift + index)))]

    uploads = [(device, batch(device, shift)) for device, shift in
               (("A", 0), ("B", 3), ("C", 7))]
    # when: all devices upload at once, twice each
    results = await asyncio.gather(*(do_sync_attendance(Viewer(organiser), device, entries,
                                                        now=now)
                                     for device, entries in uploads * 2))
    # then: each person checked in and out once, by one device, with one pending record
    for person in people[:-1]:
        sign_up = await SignUp.get(activity_id=activity.id, volunteer_id=person.id)
        events = await AttendanceEvent.filter(sign_up_id=sign_up.id)
        assert sorted(e.kind for e in events) == [CHECK_IN, CHECK_OUT]
        assert {e.device_at for e in events} == {sign_up.checked_in_at, sign_up.checked_out_at}
        assert await ServiceRecord.filter(sign_up_id=sign_up.id).count() == 1
    applied = sum(1 for batch_results in results for r in batch_results
                  if r.outcome.value == "APPLIED" and not r.replayed)
    assert applied == 2 * (len(people) - 1)


async def test_sync_through_graphql_with_per_entry_conflicts(db):
    # given
    organiser, activity, people, _now = await _setup(volunteers=3)
    outsider = await make_volunteer("路人")
    first, second, stranger = people
    await do_check_in(Viewer(second), activity.id, now=activity.ends_at - timedelta(minutes=5))
    act, start = to_global_id("Activity", activity.id), activity.starts_at
    entries = [
        {"clientId": "c1", "activityId": act, "volunteerId": to_global_id("Volunteer", first.id),
         "kind": "CHECK_OUT", "at": (start + timedelta(hours=2)).isoformat()},
        {"clientId": "c2", "activityId": act, "volunteerId": to_global_id("Volunteer", first.id),
         "kind": "CHECK_IN", "at": start.isoformat()},
        {"clientId": "c3", "activityId": act, "volunteerId": to_global_id("Volunteer", second.id),
         "kind": "CHECK_IN", "at": start.isoformat()},
        {"clientId": "c4", "activityId": act, "volunteerId": to_global_id(
            "Volunteer", stranger.id), "kind": "CHECK_IN", "at": start.isoformat()},
        {"clientId": "c5", "activityId": act, "volunteerId": to_global_id("Volunteer", first.id),
         "kind": "CHECK_OUT", "at": (start - timedelta(hours=3)).isoformat()},
        {"clientId": "c6", "activityId": to_global_id("Team", 1),
         "volunteerId": to_global_id("Volunteer", first.id), "kind": "CHECK_IN",
         "at": start.isoformat()},
    ]
    # when
    result = await execute(SYNC, {"device": "pad-1", "entries": entries}, as_=organiser)
    replay = await execute(SYNC, {"device": "pad-1", "entries": entries[:2]}, as_=organiser)
    forbidden = await execute(SYNC, {"device": "pad-9", "entries": entries[:1]}, as_=outsider)
    bad_device = await execute(SYNC, {"device": " ", "entries": entries}, as_=organiser)
    anonymous = await execute(SYNC, {"device": "pad-1", "entries": entries})
    # then: check-in applied before the check-out recorded earlier in the list
    outcomes = [r["outcome"] for r in result.ok()["syncAttendance"]["results"]]
    assert outcomes == ["APPLIED", "APPLIED", "CHECKED_IN_ELSEWHERE", "NOT_SIGNED_UP",
                        "OUTSIDE_WINDOW", "INVALID"]
    assert result.data["syncAttendance"]["applied"] == 2
    assert [(r["outcome"], r["replayed"]) for r in replay.ok()["syncAttendance"]["results"]] == [
        ("APPLIED", True), ("APPLIED", True)]
    assert forbidden.ok()["syncAttendance"]["results"][0]["outcome"] == "FORBIDDEN"
    assert bad_device.codes == ["BAD_USER_INPUT"]
    assert bad_device.errors[0]["extensions"]["field"] == "deviceId"
    assert anonymous.codes == ["UNAUTHENTICATED"]
    record = await ServiceRecord.get(volunteer_id=first.id)
    assert record.hours_claimed == 2.0
    audit = await HoursAudit.get(record_id=record.id)
    assert (audit.action, audit.actor_id) == ("OFFLINE_CLAIM", organiser.id)


async def test_a_long_offline_day_uploads_in_one_batch(db):
    # given: an organiser's device that queued the schema's full batch of scans, and one more
    organiser, activity, people, _now = await _setup(volunteers=2)
    act, person = to_global_id("Activity", activity.id), to_global_id("Volunteer", people[0].id)
    batch = BOUNDS_BY_COORDINATE["Mutation.syncAttendance(entries:)"].max_items
    entries = [{"clientId": f"scan-{i}", "activityId": act, "volunteerId": person,
                "kind": "CHECK_IN", "at": activity.starts_at.isoformat()} for i in range(batch + 1)]
    # when
    full = await execute(SYNC, {"device": "pad-1", "entries": entries[:batch]}, as_=organiser)
    too_many = await execute(SYNC, {"device": "pad-2", "entries": entries}, as_=organiser)
    # then: every entry answered (the first applied, the rest the same fact again)
    results = full.ok()["syncAttendance"]["results"]
    assert batch >= 500
    assert [r["outcome"] for r in results] == ["APPLIED"] + ["DUPLICATE"] * (batch - 1)
    assert [e["extensions"] for e in too_many.errors] == [{"code": "BAD_USER_INPUT", "field": "entries"}]
