from datetime import date, datetime, timedelta, timezone

from models.activity import ActivityStatus
from models.team import TeamType
from models.volunteer import VolunteerStatus
from resolvers import stats as stats_module
from resolvers.stats import rebuild_stats
from tests.helpers import execute, make_team, make_volunteer
from tests.leaderboard.factory import approve, make_activity

STATS = """
query Stats($district: String) {
  stats(district: $district) {
    registered active pendingConsent teams activities approvedHours
    byDistrict { key count hours } byGender { key count } byAgeBand { key count }
    byTeamType { key count hours } hoursByMonth { key count hours }
  }
}"""


def years_ago(years: int) -> date:
    today = date.today()
    return today.replace(year=today.year - years, day=min(today.day, 28))


async def city():
    admin = await make_volunteer("平台", platform_admin=True, birth=years_ago(45))
    chief = await make_volunteer("朝阳队长", birth=years_ago(40), male=False)
    team = await make_team(chief, "朝阳队")
    rescue = await make_team(chief, "救援队", type=TeamType.EMERGENCY, district="海淀区")
    young = await make_volunteer("青年", birth=years_ago(20), male=False)
    senior = await make_volunteer("老人", birth=years_ago(66))
    await make_volunteer("海淀", district="海淀区", birth=years_ago(30))
    await make_volunteer("停用", status=VolunteerStatus.SUSPENDED, birth=years_ago(52))
    await make_volunteer("导入", status=VolunteerStatus.PENDING_CONSENT, birth=years_ago(25))
    now = datetime.now(timezone.utc)
    await approve(young, await make_activity(team), 3.0, now - timedelta(minutes=5))
    await approve(senior, await make_activity(team), 2.0, now - timedelta(days=400))
    await approve(senior, await make_activity(rescue), 4.0, now - timedelta(minutes=5))
    draft = await make_activity(team)
    draft.status = ActivityStatus.DRAFT
    await draft.save()
    await rebuild_stats()  # the approvals above were written straight to the tables
    return {"admin": admin, "chief": chief, "young": young}


async def test_platform_admin_sees_the_whole_city(boards):
    # given
    people = await city()
    # when
    stats = (await execute(STATS, as_=people["admin"])).ok()["stats"]
    # then
    assert stats["registered"] == 6 and stats["pendingConsent"] == 1
    assert stats["active"] == 2  # the young one and the senior (recent hours in 海淀)
    assert stats["teams"] == 2 and stats["activities"] == 3
    assert stats["approvedHours"] == 9.0
    assert stats["byDistrict"] == [{"key": "朝阳区", "count": 5, "hours": 5.0},
                                   {"key": "海淀区", "count": 1, "hours": 4.0}]
    assert stats["byGender"] == [{"key": "FEMALE", "count": 2}, {"key": "MALE", "count": 4}]
    assert stats["byAgeBand"] == [{"key": "<18", "count": 0}, {"key": "18-34", "count": 2},
                                  {"key": "35-49", "count": 2}, {"key": "50-59", "count": 1},
                                  {"key": "60+", "count": 1}]
    assert [b["key"] for b in stats["byTeamType"]] == ["COMMUNITY", "EMERGENCY"]
    months = stats["hoursByMonth"]
    assert len(months) == 12 and months[-1]["count"] == 2 and months[-1]["hours"] == 7.0


async def test_team_admin_sees_their_district_only(boards):
    # given
    people = await city()
    # when
    own = (await execute(STATS, {"district": "朝阳区"}, as_=people["chief"])).ok()["stats"]
    # then
    assert own["registered"] == 5 and own["approvedHours"] == 5.0 and own["teams"] == 1
    assert (await execute(STATS, {"district": "西城区"}, as_=people["chief"])).codes == ["FORBIDDEN"]
    # the chief has teams in two districts: a district must be chosen
    assert (await execute(STATS, as_=people["chief"])).codes == ["BAD_USER_INPUT"]
    assert (await execute(STATS, as_=people["young"])).codes == ["FORBIDDEN"]
    assert (await execute(STATS)).codes == ["UNAUTHENTICATED"]


async def test_figures_are_cached_then_refreshed(boards, monkeypatch):
    # given
    people = await city()
    first = (await execute(STATS, as_=people["admin"])).ok()["stats"]
    await make_volunteer("新人")
    # when: read again within the cache window
    cached = (await execute(STATS, as_=people["admin"])).ok()["stats"]
    # then
    assert cached["registered"] == first["registered"]
    # when: the cache is stale, the stale figures are served once and refreshed behind
    monkeypatch.setattr(stats_module, "CACHE_SECONDS", 0.001)
    await execute(STATS, as_=people["admin"])
    for task in list(stats_module._refresh_tasks.values()):
        await task
    fresh = (await execute(STATS, as_=people["admin"])).ok()["stats"]
    assert fresh["registered"] == first["registered"] + 1
