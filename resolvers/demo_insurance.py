"""Demo data for accident insurance: the city's policy for every registered volunteer this
year and the rescue team's own policy (专业救援附加险)."""

from __future__ import annotations

from datetime import date, datetime

from core.time import BEIJING
from models.insurance import InsuranceScope
from models.team import Team
from models.volunteer import Volunteer
from resolvers.auth import Viewer

ADMIN_PHONE = "13800000000"


async def seed_insurance(people: dict[str, Volunteer], teams: dict[str, Team]) -> None:
    from resolvers.insurance import PolicyData, do_create_policy

    admin = Viewer(people[ADMIN_PHONE])
    year = datetime.now(BEIJING).year
    await do_create_policy(admin, PolicyData(
        "中国人民财产保险股份有限公司", f"PICC-ZYZ-{year}-0001", date(year, 1, 1),
        date(year, 12, 31), InsuranceScope.ALL_VOLUNTEERS))
    await do_create_policy(admin, PolicyData(
        "中国平安财产保险股份有限公司", f"PA-JY-{year}-0107", date(year, 1, 1), date(year, 12, 31),
        InsuranceScope.TEAM, team_id=teams["rescue"].id))
