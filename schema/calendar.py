"""Calendar feeds (the .ics routes are in schema/calendar_http.py) and the activity change
log that numbers their revisions."""

from __future__ import annotations

from datetime import datetime

import strawberry

from models.calendar import ActivityChange as ActivityChangeModel
from resolvers import activity_change as changes
from resolvers import calendar as rules
from schema.calendar_http import person_feed_path, team_feed_path
from schema.context import Info
from schema.relay import BY_ID, Connection, decode_id, paginate
from schema.volunteer import Volunteer, load_volunteer


@strawberry.type(description="The caller's secret calendar feed. The URL itself is shown only "
                             "once, when it is made (only a hash of it is stored).")
class CalendarFeed:
    created_at: datetime = strawberry.field(description="When the current URL was made.")


@strawberry.type(description="A new secret calendar feed URL: keep it private; anyone with it "
                             "sees the caller's shifts. Making another revokes this one.")
class CalendarFeedLink:
    path: str = strawberry.field(
        description="The feed's path on this server (GET, text/calendar), e.g. for webcal://.")
    created_at: datetime = strawberry.field(description="When it was made.")


@strawberry.type(description="One change to an activity: who, when, which field, before → after.")
class ActivityChange:
    model: strawberry.Private[ActivityChangeModel]
    field: str = strawberry.field(
        description="What changed: title, starts_at, ends_at, sign_up_deadline, district, "
                    "address, latitude, longitude, capacity, waitlist_limit, skills, "
                    "qualifications, minimum_age or status.")
    before: str | None = strawberry.field(description="The value before (ISO-8601 for times).")
    after: str | None = strawberry.field(description="The value after.")
    created_at: datetime = strawberry.field(description="When it changed.")

    @classmethod
    def from_model(cls, model: ActivityChangeModel) -> ActivityChange:
        return cls(model=model, field=model.field, before=model.before, after=model.after,
                   created_at=model.created_at)

    @strawberry.field(description="Who changed it (null: the system).")
    async def actor(self, info: Info) -> Volunteer | None:
        return await load_volunteer(info, self.model.actor_id)


@strawberry.type
class CalendarQuery:
    @strawberry.field(description="The caller's active secret calendar feed, if any.")
    async def calendar_feed(self, info: Info) -> CalendarFeed | None:
        feed = await rules.active_feed(info.context.viewer)
        return CalendarFeed(created_at=feed.created_at) if feed else None

    @strawberry.field(description="Path of a team's public calendar feed (published activities).")
    def team_calendar_path(self, team_id: strawberry.ID) -> str:
        decode_id(team_id, "Team", "teamId")
        return team_feed_path(str(team_id))

    @strawberry.field(description="The change log of an activity, oldest first: for people "
                                  "signed up to it and the team's admins.")
    async def activity_changes(self, info: Info, activity_id: strawberry.ID,
                               first: int | None = None,
                               after: str | None = None) -> Connection[ActivityChange]:
        activity = await changes.check_change_log_reader(
            info.context.viewer, decode_id(activity_id, "Activity", "activityId"))
        return await paginate(changes.list_changes(activity), first, after,
                              convert=ActivityChange.from_model, order=BY_ID)


@strawberry.type
class CalendarMutation:
    @strawberry.mutation(description="Make a new secret calendar feed URL for the caller's "
                                     "shifts (revokes the previous one).")
    async def create_calendar_feed(self, info: Info) -> CalendarFeedLink:
        token = await rules.do_create_feed(info.context.viewer)
        feed = await rules.active_feed(info.context.viewer)
        assert feed is not None
        return CalendarFeedLink(path=person_feed_path(token), created_at=feed.created_at)

    @strawberry.mutation(description="Revoke the caller's secret calendar feed URL; returns "
                                     "whether one was active.")
    async def revoke_calendar_feed(self, info: Info) -> bool:
        return await rules.do_revoke_feeds(info.context.viewer) > 0
