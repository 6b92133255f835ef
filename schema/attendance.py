"""Offline check-in: the `syncAttendance` batch upload and its per-entry results."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, TypeAlias

import strawberry

from models.attendance import AttendanceKind as AttendanceKindModel
from resolvers import attendance as rules
from resolvers import station
from resolvers.errors import BadInput
from schema.context import Info
from schema.relay import decode_id

if TYPE_CHECKING:
    AttendanceKind: TypeAlias = AttendanceKindModel
    SyncOutcome: TypeAlias = rules.SyncOutcome
else:
    AttendanceKind = strawberry.enum(
        AttendanceKindModel, name="AttendanceKind", description="CHECK_IN or CHECK_OUT.")
    SyncOutcome = strawberry.enum(
        rules.SyncOutcome, name="AttendanceSyncOutcome",
        description="What happened to one uploaded entry. APPLIED (also for a replay); "
                    "DUPLICATE: this device already recorded the same fact; "
                    "CHECKED_IN_ELSEWHERE / ALREADY_CHECKED_OUT: another device or the "
                    "volunteer's own app did; NOT_CHECKED_IN: no check-in yet (upload the "
                    "check-out again after it); CHECK_OUT_BEFORE_CHECK_IN; OUTSIDE_WINDOW: "
                    "the time is outside the activity's window plus tolerance, or ahead of "
                    "the server clock; NOT_SIGNED_UP; NOT_FOUND; FORBIDDEN; INVALID.")


@strawberry.input(description="One check-in or check-out recorded on the device.")
class AttendanceEntryInput:
    client_id: str = strawberry.field(
        description="Unique per device (e.g. a UUID); a replay with it applies once.")
    activity_id: strawberry.ID = strawberry.field(description="The activity.")
    volunteer_id: strawberry.ID = strawberry.field(description="The volunteer checked in/out.")
    kind: AttendanceKind = strawberry.field(description="CHECK_IN or CHECK_OUT.")
    at: datetime = strawberry.field(description="Device time of the scan, with time zone.")


@strawberry.type(description="The outcome of one uploaded entry.")
class AttendanceEntryResult:
    client_id: str = strawberry.field(description="The entry's clientId.")
    outcome: SyncOutcome = strawberry.field(description="APPLIED or the conflict met.")
    replayed: bool = strawberry.field(
        description="True if this entry had been applied by an earlier upload.")
    message: str | None = strawberry.field(description="Explanation for people.")


@strawberry.type(description="The outcome of a syncAttendance batch, entry by entry.")
class AttendanceSyncResult:
    results: list[AttendanceEntryResult] = strawberry.field(
        description="One result per entry, in the order uploaded.")

    @strawberry.field(description="Entries applied now or before (safe to drop from the queue).")
    def applied(self) -> int:
        return sum(1 for r in self.results if r.outcome == rules.SyncOutcome.APPLIED)


def _entry(raw: AttendanceEntryInput) -> rules.SyncEntry:
    problem = None
    activity_id = volunteer_id = None
    try:
        activity_id = decode_id(raw.activity_id, "Activity", "activityId")
        volunteer_id = decode_id(raw.volunteer_id, "Volunteer", "volunteerId")
    except BadInput as exc:
        problem = exc.message
    return rules.SyncEntry(client_id=raw.client_id, activity_id=activity_id,
                           volunteer_id=volunteer_id, kind=AttendanceKindModel(raw.kind),
                           at=raw.at, problem=problem)


@strawberry.type
class AttendanceMutation:
    @strawberry.mutation(description="Upload check-ins/outs an organiser's device recorded "
                                     "offline (team admins of each activity). "
                                     "Replays never double count; conflicts come back per entry "
                                     "and the rest is applied.")
    async def sync_attendance(
        self, info: Info, device_id: str, entries: list[AttendanceEntryInput]
    ) -> AttendanceSyncResult:
        results = await rules.do_sync_attendance(info.context.viewer, device_id,
                                                 [_entry(raw) for raw in entries])
        # a check-in recorded offline staffs its station's slot as an online one does
        for sign_up_id in dict.fromkeys(r.sign_up_id for r in results if r.sign_up_id):
            await station.mark_operating(sign_up_id)
        return AttendanceSyncResult(results=[
            AttendanceEntryResult(client_id=r.client_id, outcome=r.outcome,
                                  replayed=r.replayed, message=r.message) for r in results])
