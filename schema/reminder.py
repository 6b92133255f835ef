"""Shift reminders: the caller's reminder settings (the deployment's offsets, which of them
the caller muted, SMS on or off). The reminders themselves arrive as notifications."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers import reminder as rules
from schema.context import Info


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


@strawberry.type
class ReminderQuery:
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
