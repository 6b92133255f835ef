from datetime import datetime, timedelta, timezone

import pytest

from models.volunteer import Volunteer
from resolvers import leaderboard as boards_module
from resolvers.leaderboard import Period, leaderboard, rebuild_all
from resolvers.services import services
from subscriptions.channels import NAMESPACE
from tests.helpers import count_statements, execute, make_team, make_volunteer
from tests.leaderboard.factory import approve, make_activity, reject

# A Wednesday noon in Beijing; the week began Monday 2026-03-16 00:00 +08:00.
NOW = datetime.fromisoformat("2026-03-18T12:00:00+08:00")
THIS_WEEK = datetime.fromisoformat("2026-03-16T00:30:00+08:00")   # Sunday 16:30 UTC
LAST_WEEK = datetime.fromisoformat("2026-03-15T23:30:00+08:00")
THIS_YEAR = datetime.fromisoformat("2026-01-01T00:30:00+08:00")   # still 2025 in UTC
LAST_YEAR = datetime.fromisoformat("2025-12-31T23:30:00+08:00")

BOARD = """
query Board($period: Period!, $district: String, $teams: Boolean, $first: Int) {
  leaderboard(period: $period, district: $district, teams: $teams, first: $first) {
    rank hours volunteer { displayName } team { name }
  }
}"""


async def standings(period: Period, **kwargs):
    return [(s.rank, s.entity_id, s.hours)
            for s in await leaderboard(period, now=NOW, **kwargs)]


async def population():
    admin = await make_volunteer("管理员")
    chaoyang = await make_team(admin, "朝阳队")
    haidian = await make_team(admin, "海淀队", district="海淀区")
    a = await make_volunteer("甲")
    b = await make_volunteer("乙")
    c = await make_volunteer("丙")
    in_chaoyang = await make_activity(chaoyang)
    in_haidian = await make_activity(haidian)
    await approve(a, in_chaoyang, 2.5, THIS_WEEK)
    await approve(b, await make_activity(chaoyang), 1.0, THIS_WEEK)
    await approve(b, in_haidian, 3.0, LAST_WEEK)
    await approve(c, await make_activity(haidian), 10.0, THIS_YEAR)
    await approve(a, await make_activity(chaoyang), 7.25, LAST_YEAR)
    return {"a": a, "b": b, "c": c, "chaoyang": chaoyang, "haidian": haidian,
            "in_chaoyang": in_chaoyang}


async def test_periods_use_local_calendar_boundaries(boards):
    # given
    p = await population()
    a, b, c = p["a"].id, p["b"].id, p["c"].id
    # then
    assert await standings(Period.WEEK) == [(1, a, 2.5), (2, b, 1.0)]
    assert await standings(Period.MONTH) == [(1, b, 4.0), (2, a, 2.5)]
    assert await standings(Period.YEAR) == [(1, c, 10.0), (2, b, 4.0), (3, a, 2.5)]
    assert await standings(Period.ALL_TIME) == [(1, c, 10.0), (2, a, 9.75), (3, b, 4.0)]


async def test_district_and_team_boards(boards):
    p = await population()
    assert await standings(Period.MONTH, district="海淀区") == [(1, p["b"].id, 3.0)]
    assert await standings(Period.YEAR, teams=True) == [
        (1, p["haidian"].id, 13.0), (2, p["chaoyang"].id, 3.5)]
    assert await standings(Period.ALL_TIME, teams=True, district="朝阳区") == [
        (1, p["chaoyang"].id, 10.75)]


async def test_ties_are_broken_by_id_and_share_a_rank(boards):
    # given: 30 volunteers with equal hours except the last three
    admin = await make_volunteer()
    team = await make_team(admin)
    people = [await make_volunteer(f"v{i}") for i in range(30)]
    for index, person in enumerate(people):
        await approve(person, await make_activity(team), 5.0 if index < 27 else 6.0, THIS_WEEK)
    # when
    top = await standings(Period.WEEK, first=5)
    # then: the three with more hours first, then the lowest ids among the tied
    assert top == [(1, people[27].id, 6.0), (1, people[28].id, 6.0), (1, people[29].id, 6.0),
                   (4, people[0].id, 5.0), (4, people[1].id, 5.0)]


async def test_rejected_hours_leave_the_boards(boards):
    # given
    p = await population()
    assert (await standings(Period.WEEK))[0][1] == p["a"].id  # the board is now cached
    record = await approve(p["b"], p["in_chaoyang"], 4.0, THIS_WEEK)
    assert (await standings(Period.WEEK))[0] == (1, p["b"].id, 5.0)
    # when
    await reject(record, p["in_chaoyang"])
    # then
    assert await standings(Period.WEEK) == [(1, p["a"].id, 2.5), (2, p["b"].id, 1.0)]


@pytest.mark.redis
async def test_redis_boards_equal_sql_and_rebuild_after_a_flush(boards):
    # given
    p = await population()
    expected = {period: await standings(period) for period in Period}
    redis = services().redis
    assert await redis.exists(boards_module.board_key(
        boards_module.Scope.VOLUNTEERS, Period.WEEK, NOW, None) + ":ready")
    # then: Redis and SQL agree
    for period in Period:
        sql = boards_module._ranked(await boards_module.board_rows(
            boards_module.Scope.VOLUNTEERS, period, NOW, None, limit=20))
        assert [(s.rank, s.entity_id, s.hours) for s in sql] == expected[period]
    # when: Redis loses everything, and hours change while the boards are missing
    keys = [k async for k in redis.scan_iter(match=f"{NAMESPACE}:lb:*")]
    await redis.delete(*keys)
    await approve(p["c"], await make_activity(p["chaoyang"]), 1.0, THIS_WEEK)
    # then: the boards come back from the database, including the new hours
    assert await standings(Period.WEEK) == [(1, p["a"].id, 2.5), (2, p["b"].id, 1.0),
                                            (2, p["c"].id, 1.0)]
    assert await standings(Period.ALL_TIME) == [(1, p["c"].id, 11.0), (2, p["a"].id, 9.75),
                                                (3, p["b"].id, 4.0)]


@pytest.mark.redis
async def test_increments_skipped_while_missing_and_rebuild_command(boards):
    # given: hours recorded without announcing (a crash between commit and notify)
    p = await population()
    assert (await standings(Period.YEAR))[0][1] == p["c"].id
    await approve(p["b"], await make_activity(p["chaoyang"]), 20.0, THIS_WEEK, announce=False)
    assert (await standings(Period.YEAR))[0][1] == p["c"].id  # stale until rebuilt
    # when
    rebuilt = await rebuild_all(now=NOW)
    # then
    assert rebuilt == 2 * 4 * 3  # scopes × periods × (all + two districts)
    assert (await standings(Period.YEAR))[0] == (1, p["b"].id, 24.0)


async def test_graphql_board_with_names_and_bad_input(boards):
    # given
    admin = await make_volunteer("管理员")
    team = await make_team(admin, "朝阳队")
    person = await make_volunteer("李明")
    await approve(person, await make_activity(team), 3.0,
                  datetime.now(timezone.utc) - timedelta(minutes=1))
    # when
    volunteers = (await execute(BOARD, {"period": "ALL_TIME"})).ok()["leaderboard"]
    teams = (await execute(BOARD, {"period": "ALL_TIME", "teams": True})).ok()["leaderboard"]
    # then
    assert volunteers == [{"rank": 1, "hours": 3.0, "volunteer": {"displayName": "李明"},
                           "team": None}]
    assert teams == [{"rank": 1, "hours": 3.0, "volunteer": None, "team": {"name": "朝阳队"}}]
    for variables, field in (({"first": 0}, "first"), ({"first": 101}, "first"),
                             ({"district": "x" * 51}, "district")):
        result = await execute(BOARD, {"period": "WEEK", **variables})
        assert result.codes == ["BAD_USER_INPUT"]
        assert result.errors[0]["extensions"]["field"] == field


async def test_board_rows_are_read_once_per_ttl_and_a_rename_shows_after_it(boards, monkeypatch):
    # given: a board with one person, read once, and a clock we move
    clock = [1000.0]
    monkeypatch.setattr(boards_module.time, "monotonic", lambda: clock[0])
    admin = await make_volunteer("管理员")
    person = await make_volunteer("李明")
    await approve(person, await make_activity(await make_team(admin, "朝阳队")), 3.0,
                  datetime.now(timezone.utc) - timedelta(minutes=1))
    await execute(BOARD, {"period": "ALL_TIME"})
    # when: read again within the TTL, after a rename
    await Volunteer.filter(id=person.id).update(display_name="李小明")
    with count_statements() as statements:
        again = (await execute(BOARD, {"period": "ALL_TIME"})).ok()["leaderboard"]
    # then: no volunteer row read; the hours are current, the name the one shown moments ago
    assert not [s for s in statements if '"volunteer"' in s], statements
    assert again[0]["volunteer"] == {"displayName": "李明"}
    # when: the TTL has passed
    clock[0] += boards_module.BOARD_ROWS_TTL_SECONDS + 0.1
    later = (await execute(BOARD, {"period": "ALL_TIME"})).ok()["leaderboard"]
    # then
    assert later == [{"rank": 1, "hours": 3.0, "volunteer": {"displayName": "李小明"},
                      "team": None}]
