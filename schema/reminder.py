"""Shift reminders: the caller's reminder settings (the deployment's offsets, which of them
the caller muted, SMS on or off). The reminders themselves arrive as notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from resolvers import reminder as rules
from schema.context import Info
from schema.relay import decode_id
from schema.training import Course
from schema.volunteer import Volunteer, load_volunteer


@strawberry.type(description="When the caller is reminded before a confirmed shift.")
class ReminderSettings:
    offsets_hours: list[float] = strawberry.field(
        description="Hours before the start at which reminders are sent (this deployment's "
                    "REMINDER_OFFSETS_HOURS), largest first.")
    muted_hours: list[float] = strawberry.field(
        description="Those of offsetsHours the caller does not want.")
    sms: bool = strawberry.field(
        description="Whether reminders also go out by SMS (in-app always).")

    @classmethod
    def from_rules(cls, value: rules.ReminderSettings) -> ReminderSettings:
        return cls(offsets_hours=[m / 60 for m in value.offsets_minutes],
                   muted_hours=[m / 60 for m in value.muted_minutes], sms=value.sms)


@strawberry.type(description="A confirmed volunteer whose required qualification expires "
                             "before the shift starts.")
class LapsingQualification:
    volunteer_id: strawberry.Private[int]
    qualification: str = strawberry.field(description="The qualification's name.")
    expires_at: datetime = strawberry.field(description="When it expires.")
    renewing_course: Course | None = strawberry.field(
        description="The course whose assessment renews it, if there is one.")

    @strawberry.field(description="Who holds it.")
    async def volunteer(self, info: Info) -> Volunteer | None:
        return await load_volunteer(info, self.volunteer_id)


@strawberry.type
class ReminderQuery:
    @strawberry.field(description="Team admins: the people on this activity's roster whose "
                                  "required qualification lapses before it starts.")
    async def lapsing_qualifications(self, info: Info,
                                     activity_id: strawberry.ID) -> list[LapsingQualification]:
        found = await rules.lapsing_before_shift(
            info.context.viewer, decode_id(activity_id, "Activity", "activityId"))
        return [LapsingQualification(
            volunteer_id=item.volunteer_id, qualification=item.qualification,
            expires_at=item.expires_at,
            renewing_course=Course.from_model(item.course) if item.course else None)
            for item in found]

    @strawberry.field(description="The caller's shift-reminder settings.")
    async def reminder_settings(self, info: Info) -> ReminderSettings:
        return ReminderSettings.from_rules(
            await rules.get_reminder_settings(info.context.viewer))


@strawberry.type
class ReminderMutation:
    @strawberry.mutation(description="Mute some reminder offsets and/or turn SMS reminders off "
                                     "or on; an argument left out keeps its value.")
    async def update_reminder_settings(
        self, info: Info,
        muted_hours: Annotated[list[float] | None, strawberry.argument(
            description="The offsets (in hours, from offsetsHours) to mute; an empty list "
                        "mutes none.")] = None,
        sms: Annotated[bool | None, strawberry.argument(
            description="Whether reminders also go out by SMS.")] = None,
    ) -> ReminderSettings:
        return ReminderSettings.from_rules(await rules.do_update_reminder_settings(
            info.context.viewer, muted_hours, sms))
