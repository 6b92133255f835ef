"""Demo data for service stations that keep their hours: the 国贸 station opens every day,
the city closes on 元旦, and next Saturday's duty shift (an ordinary activity linked to the
station) already has a volunteer signed up through the ordinary path."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from core.time import BEIJING
from models.servicepoint import ServicePoint
from models.team import Team
from models.volunteer import Volunteer
from resolvers.auth import Viewer

ADMIN_PHONE = "13800000000"


async def seed_stations(people: dict[str, Volunteer], teams: dict[str, Team]) -> None:
    from resolvers.activity import ActivityData, do_create_activity, do_publish_activity
    from resolvers.servicepoint import do_set_activity_service_point
    from resolvers.signup import do_sign_up
    from resolvers.station import HoursData, do_add_closure, do_set_hours

    admin = Viewer(people[ADMIN_PHONE])
    station = await ServicePoint.get_or_none(name="国贸地铁站志愿服务驿站")
    if station is None:
        return
    await do_set_hours(admin, station.id, [HoursData(day, "07:00", "20:00") for day in range(7)])
    today = datetime.now(BEIJING).date()
    await do_add_closure(admin, None, date(today.year + 1, 1, 1), "元旦")
    saturday = today + timedelta(days=(5 - today.weekday()) % 7 or 7)
    starts = datetime.combine(saturday, time(9, 0), BEIJING).astimezone(UTC)
    organiser = Viewer(people["13800000001"])
    shift = await do_create_activity(organiser, teams["chaoyang"].id, ActivityData(
        title="国贸驿站周六值班（上午）", description="指路、咨询、便民服务，请提前十分钟到岗签到。",
        category="城市志愿服务站", district="朝阳区", address="国贸地铁站 A 口",
        starts_at=starts, ends_at=starts + timedelta(hours=3), capacity=3, hours_credit=3.0))
    await do_publish_activity(organiser, shift.id)
    await do_set_activity_service_point(organiser, shift.id, station.id)
    await do_sign_up(Viewer(people["13800000002"]), shift.id)
