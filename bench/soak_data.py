"""The soak's and chaos run's data: on a migrated database (with the demo data, for the soak),
volunteers who can act without signing in (tokens minted with the run's JWT secret), one team
run by an organiser, activities to browse, activities whose sign-up opens during the run
(flash crowds; half of them start within the offer window, so a cancellation there offers the
freed place to the next waitlisted volunteer), shifts on today where everyone is confirmed
(check in, check out: hours to approve), a forum board, a reward with points to spend."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from bench.common import JWT_SECRET, ROOT


def token(volunteer_id: int) -> str:
    return jwt.encode({"sub": str(volunteer_id), "exp": 2_000_000_000}, JWT_SECRET, algorithm="HS256")


def run_command(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "server.py", *args], cwd=ROOT, env=env, check=True,
                   capture_output=True)


async def prepare(database_url: str, *, volunteers: int, flash: int, browse: int = 12,
                  today: int = 3, points: int = 200, generate: bool = False) -> dict[str, Any]:
    """Everything the workload needs, as global IDs and tokens (JSON-able). `generate`: the
    tables straight from the models, as the test suite makes them (no migration history: a
    fraction of `server.py migrate`'s time, for the chaos test in `make test`)."""
    from tortoise import Tortoise

    from db.config import tortoise_config
    from forum.models import Board
    from models.activity import Activity, ActivityStatus, SignUp, SignUpStatus
    from models.hours import PointsEntry
    from models.team import Membership, MembershipRole, MembershipStatus, Team, TeamType
    from models.timebank import PointsAccount, RewardItem
    from schema.relay import to_global_id
    from tests.activity.clients import bulk_volunteers

    await Tortoise.init(config=tortoise_config(database_url))
    try:
        if generate:
            from forum.search import install_search_index
            from resolvers.pii import install_append_only
            from resolvers.signup_pg import install_sign_up_function

            # What tests/conftest.py does for each backend (tests/helpers.DB_HOOKS).
            await Tortoise.generate_schemas(safe=True)
            await install_sign_up_function()
            await install_search_index(True)
            await install_append_only(True)
        people = await bulk_volunteers(volunteers + 1, "bench-no-login", prefix="浸泡")
        organiser, crowd = people[0], people[1:]
        team = await Team.create(name="浸泡测试队", type=TeamType.COMMUNITY, district="朝阳区",
                                 created_by=organiser)
        team.path = f"/{team.id}/"  # as createTeam sets it: admin rights follow the path
        await team.save(update_fields=["path"])
        await Membership.bulk_create([
            Membership(team=team, volunteer=person, status=MembershipStatus.APPROVED,
                       role=MembershipRole.ADMIN if person is organiser else MembershipRole.MEMBER)
            for person in people])
        now = datetime.now(UTC)

        async def activity(title: str, starts: datetime, capacity: int, waitlist: int,
                           hours: float = 2) -> Activity:
            return await Activity.create(
                team=team, created_by=organiser, title=title, description="浸泡测试",
                category="助老", district="朝阳区", starts_at=starts, ends_at=starts + timedelta(hours=hours),
                sign_up_deadline=starts - timedelta(minutes=30) if starts > now else starts + timedelta(hours=hours),
                capacity=capacity, waitlist_limit=waitlist, hours_credit=2,
                status=ActivityStatus.PUBLISHED)

        browsing = [await activity(f"社区活动{i}", now + timedelta(days=3 + i), 40, 20)
                    for i in range(browse)]
        # A quarter of the crowd gets a place, another quarter a waitlist place.
        flashes = [await activity(f"抢报活动{i}",
                                  now + (timedelta(hours=12) if i % 2 else timedelta(days=2, hours=i)),
                                  max(2, volunteers // 4), max(2, volunteers // 4))
                   for i in range(flash)]
        shifts = []
        for i in range(today):
            shift = await activity(f"今日值守{i}", now - timedelta(minutes=20), volunteers + 10, 0,
                                   hours=12)
            await SignUp.bulk_create([SignUp(activity=shift, volunteer=person,
                                             status=SignUpStatus.CONFIRMED) for person in crowd])
            shift.taken_count = len(crowd)
            await shift.save(update_fields=["taken_count"])
            shifts.append(shift)
        board = await Board.create(slug="soak", name="浸泡讨论区", description="浸泡测试",
                                   category="交流", created_by=organiser)
        item = await RewardItem.create(title="爱心大米", description="", kind="REWARD", cost_points=5,
                                       stock=volunteers * 100, active=True, created_by=organiser)
        await PointsAccount.bulk_create([PointsAccount(volunteer=p, balance=points) for p in crowd])
        await PointsEntry.bulk_create([PointsEntry(volunteer=p, delta=points, reason="浸泡发放",
                                                   balance_after=points) for p in crowd])
        return {
            "organiser": token(organiser.id),
            "volunteer_ids": [p.id for p in crowd],
            "tokens": [token(p.id) for p in crowd],
            "team": to_global_id("Team", team.id),
            "browse": [to_global_id("Activity", a.id) for a in browsing],
            "flash": [to_global_id("Activity", a.id) for a in flashes],
            "flash_ids": [a.id for a in flashes],
            "today": [to_global_id("Activity", a.id) for a in shifts],
            "today_ids": [a.id for a in shifts],
            "board": to_global_id("Board", board.id),
            "board_slug": board.slug,
            "item": to_global_id("RewardItem", item.id),
        }
    finally:
        await Tortoise.close_connections()
