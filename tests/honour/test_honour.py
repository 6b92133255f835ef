"""Announcements in the feed (drafts through the existing drafts) and honours: nominations
computed from approved hours and star level, audited award decisions, Volunteer.honours."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from models.activity import ActivityStatus, SignUp, SignUpStatus
from models.draft import Draft
from models.honour import NominationAudit
from models.hours import HoursStatus, ServiceRecord
from models.volunteer import Volunteer
from schema.relay import to_global_id
from tests.activity.factory import make_activity
from tests.helpers import add_member, count_statements, execute, make_team, make_volunteer

CREATE = """
mutation A($input: AnnouncementInput!) { createAnnouncement(input: $input) { id status pinned team { name } } }"""
PUBLISH = "mutation P($id: ID!, $key: String) { publishAnnouncement(id: $id, draftKey: $key) { status } }"
PIN = "mutation P($id: ID!) { pinAnnouncement(id: $id, pinned: true) { pinned } }"
FEED = "query F { feed(first: 20) { totalCount edges { node { __typename ... on Announcement { title } } } } }"
LIST = """
query L($team: ID) { announcements(teamId: $team) { totalCount edges { node { title pinned status } } } }"""
AWARD = """
mutation A($input: AwardInput!) { createAward(input: $input) { id name } }"""
NOMINATE = "mutation N($id: ID!) { nominateForAward(awardId: $id) }"
NOMINATIONS = """
query N($id: ID!) { node(id: $id) { ... on Award { nominations(first: 10) { totalCount
  edges { node { id periodHours starLevel status volunteer { displayName } } } } } } }"""
DECIDE = """
mutation D($id: ID!, $decision: NominationStatus!, $reason: String) {
  decideNomination(id: $id, decision: $decision, reason: $reason) { status audit { statusBefore statusAfter reason } }
}"""
HONOURS = "query H($id: ID!) { node(id: $id) { ... on Volunteer { honours { status award { name } } } } }"


async def test_announcements_reach_the_feed_of_the_platform_and_team_members(db):
    # given
    platform = await make_volunteer("平台", platform_admin=True)
    admin = await make_volunteer("队长")
    team = await make_team(admin, "朝阳区志愿服务总队")
    member, outsider = await make_volunteer("队员"), await make_volunteer("路人")
    await add_member(team, member)
    await Draft.create(volunteer=admin, key="announcement:new", body="草稿")
    tid = to_global_id("Team", team.id)
    # when
    (await execute(CREATE, {"input": {"title": "平台公告：系统升级", "body": "周六凌晨维护。"}},
                   as_=platform)).ok()
    draft = (await execute(CREATE, {"input": {"title": "队内简报", "body": "本月服务 120 小时。",
                                              "teamId": tid, "publish": False}}, as_=admin)).ok()
    member_before = (await execute(FEED, as_=member)).ok()["feed"]
    drafts_seen = (await execute(LIST, {"team": tid}, as_=member)).ok()["announcements"]
    published = (await execute(PUBLISH, {"id": draft["createAnnouncement"]["id"],
                                         "key": "announcement:new"}, as_=admin)).ok()
    member_after = (await execute(FEED, as_=member)).ok()["feed"]
    outsider_feed = (await execute(FEED, as_=outsider)).ok()["feed"]
    by_member = await execute(CREATE, {"input": {"title": "x", "body": "y", "teamId": tid}},
                              as_=member)
    by_admin_platform = await execute(CREATE, {"input": {"title": "x", "body": "y"}}, as_=admin)
    bad = await execute(CREATE, {"input": {"title": "x", "body": "y", "teamId": tid,
                                           "attachments": ["file:///etc/passwd"]}}, as_=admin)
    # then
    titles = lambda feed: [e["node"]["title"] for e in feed["edges"]  # noqa: E731
                           if e["node"]["__typename"] == "Announcement"]
    assert titles(member_before) == ["平台公告：系统升级"]
    assert drafts_seen["totalCount"] == 0
    assert published["publishAnnouncement"]["status"] == "PUBLISHED"
    assert titles(member_after) == ["队内简报", "平台公告：系统升级"]
    assert titles(outsider_feed) == ["平台公告：系统升级"]
    assert not await Draft.exists(volunteer_id=admin.id, key="announcement:new")
    assert by_member.codes == ["FORBIDDEN"] and by_admin_platform.codes == ["FORBIDDEN"]
    assert [e["extensions"].get("field") for e in bad.errors] == ["attachments"]


async def test_pinned_announcements_come_first(db):
    # given
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    tid = to_global_id("Team", team.id)
    ids = [(await execute(CREATE, {"input": {"title": f"简报{i}", "body": "…", "teamId": tid}},
                          as_=admin)).ok()["createAnnouncement"]["id"] for i in range(3)]
    # when
    (await execute(PIN, {"id": ids[0]}, as_=admin)).ok()
    listed = (await execute(LIST, {"team": tid})).ok()["announcements"]
    # then
    assert [e["node"]["title"] for e in listed["edges"]] == ["简报0", "简报2", "简报1"]


SCOPED = """
query L($status: AnnouncementStatus) { announcements(status: $status) { edges { node { title status } } } }"""


async def test_the_unscoped_list_shows_each_writer_the_drafts_they_may_publish(db):
    # given drafts of a street team, of its community team, of another team and of the
    # platform, and a published one
    platform = await make_volunteer("平台", platform_admin=True)
    street_admin, other_admin = await make_volunteer("街道队长"), await make_volunteer("别队队长")
    street = await make_team(street_admin, "街道总队")
    community = await make_team(other_admin, "社区分队", parent=street)
    other = await make_team(other_admin, "别的队")
    member = await make_volunteer("队员")
    await add_member(street, member)
    for who, team, title in ((street_admin, street, "街道草稿"), (other_admin, community, "社区草稿"),
                             (other_admin, other, "别队草稿"), (platform, None, "平台草稿")):
        (await execute(CREATE, {"input": {"title": title, "body": "…", "publish": False,
                                          "teamId": team and to_global_id("Team", team.id)}},
                       as_=who)).ok()
    (await execute(CREATE, {"input": {"title": "已发布", "body": "…",
                                      "teamId": to_global_id("Team", street.id)}}, as_=street_admin)).ok()

    # when each asks for the drafts, and for the published ones
    async def titles(who, status):
        listed = (await execute(SCOPED, {"status": status}, as_=who)).ok()["announcements"]
        return sorted(e["node"]["title"] for e in listed["edges"])

    # then a team admin sees their team's and its descendants' drafts, a platform admin every
    # draft, a member and a visitor none; the published filter leaves the drafts out
    assert await titles(street_admin, "DRAFT") == ["社区草稿", "街道草稿"]
    assert await titles(platform, "DRAFT") == ["别队草稿", "平台草稿", "社区草稿", "街道草稿"]
    assert await titles(member, "DRAFT") == [] and await titles(None, "DRAFT") == []
    assert await titles(street_admin, "PUBLISHED") == ["已发布"]
    assert await titles(street_admin, None) == ["已发布", "社区草稿", "街道草稿"]
    assert await titles(member, None) == ["已发布"]


async def _approved(volunteer: Volunteer, activity, hours: float) -> None:
    sign_up = await SignUp.create(activity=activity, volunteer=volunteer,
                                  status=SignUpStatus.CONFIRMED)
    await ServiceRecord.create(sign_up=sign_up, activity=activity, volunteer=volunteer,
                               hours_claimed=hours, hours=hours, status=HoursStatus.APPROVED,
                               approved_at=datetime.now(UTC))
    await Volunteer.filter(id=volunteer.id).update(
        approved_hours=volunteer.approved_hours + hours)


async def test_nominations_are_computed_from_the_data_and_decisions_are_audited(db):
    # given: a 2026 award needing 20 h in the period and ★1 (100 h cumulative)
    platform = await make_volunteer("平台", platform_admin=True)
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    this_year = await make_activity(team, admin, starts_in=timedelta(days=-10),
                                    length=timedelta(hours=30), status=ActivityStatus.FINISHED)
    long_ago = await make_activity(team, admin, starts_in=timedelta(days=-800),
                                   length=timedelta(hours=30), status=ActivityStatus.FINISHED)
    star = await make_volunteer("五星")
    await Volunteer.filter(id=star.id).update(approved_hours=100)
    await star.refresh_from_db()
    await _approved(star, this_year, 25)
    newcomer = await make_volunteer("新人")  # enough period hours, not enough stars
    await _approved(newcomer, this_year, 25)
    veteran = await make_volunteer("老将")  # stars, but the hours were long ago
    await Volunteer.filter(id=veteran.id).update(approved_hours=500)
    await veteran.refresh_from_db()
    await _approved(veteran, long_ago, 25)
    today = datetime.now(UTC).date()
    award = (await execute(AWARD, {"input": {
        "name": "五星志愿者", "tier": 1, "periodStart": date(today.year - 1, 1, 1).isoformat(),
        "periodEnd": today.isoformat(), "minPeriodHours": 20, "minStarLevel": 1}},
        as_=platform)).ok()["createAward"]
    # when
    added = (await execute(NOMINATE, {"id": award["id"]}, as_=platform)).ok()
    again = (await execute(NOMINATE, {"id": award["id"]}, as_=platform)).ok()
    listed = (await execute(NOMINATIONS, {"id": award["id"]}, as_=platform)).ok()
    nomination = listed["node"]["nominations"]["edges"][0]["node"]
    public_before = (await execute(NOMINATIONS, {"id": award["id"]})).ok()
    awarded = (await execute(DECIDE, {"id": nomination["id"], "decision": "AWARDED"},
                             as_=platform)).ok()
    no_reason = await execute(DECIDE, {"id": nomination["id"], "decision": "DECLINED"},
                              as_=platform)
    by_admin = await execute(DECIDE, {"id": nomination["id"], "decision": "DECLINED",
                                      "reason": "x"}, as_=admin)
    honours = (await execute(HONOURS, {"id": to_global_id("Volunteer", star.id)})).ok()
    # then
    assert added["nominateForAward"] == 1 and again["nominateForAward"] == 0
    assert nomination["volunteer"]["displayName"] == "五星"
    assert (nomination["periodHours"], nomination["starLevel"]) == (25.0, 1)
    assert public_before["node"]["nominations"]["totalCount"] == 0
    assert awarded["decideNomination"]["status"] == "AWARDED"
    assert awarded["decideNomination"]["audit"] == [
        {"statusBefore": "NOMINATED", "statusAfter": "AWARDED", "reason": None}]
    assert [e["extensions"].get("field") for e in no_reason.errors] == ["reason"]
    assert by_admin.codes == ["FORBIDDEN"]
    assert honours["node"]["honours"] == [{"status": "AWARDED", "award": {"name": "五星志愿者"}}]
    assert await NominationAudit.all().count() == 1


async def test_a_district_award_nominates_that_districts_volunteers_only(db):
    # given: two volunteers with the same qualifying hours, in different districts
    platform = await make_volunteer("平台", platform_admin=True)
    admin = await make_volunteer("队长")
    team = await make_team(admin)
    activity = await make_activity(team, admin, starts_in=timedelta(days=-10),
                                   length=timedelta(hours=30), status=ActivityStatus.FINISHED)
    chaoyang = await make_volunteer("朝阳志愿者", district="朝阳区")
    haidian = await make_volunteer("海淀志愿者", district="海淀区")
    for person in (chaoyang, haidian):
        await _approved(person, activity, 25)
    today = datetime.now(UTC).date()
    criteria = {"tier": 2, "periodStart": date(today.year - 1, 1, 1).isoformat(),
                "periodEnd": today.isoformat(), "minPeriodHours": 20}
    local = (await execute(AWARD, {"input": {**criteria, "name": "朝阳区优秀志愿者",
                                             "district": "朝阳区"}}, as_=platform)).ok()
    citywide = (await execute(AWARD, {"input": {**criteria, "name": "北京市优秀志愿者"}},
                              as_=platform)).ok()
    # when
    nominated = {}
    for award in (local, citywide):
        award_id = award["createAward"]["id"]
        (await execute(NOMINATE, {"id": award_id}, as_=platform)).ok()
        listed = (await execute(NOMINATIONS, {"id": award_id}, as_=platform)).ok()
        nominated[award["createAward"]["name"]] = sorted(
            e["node"]["volunteer"]["displayName"]
            for e in listed["node"]["nominations"]["edges"])
    # then
    assert nominated == {"朝阳区优秀志愿者": ["朝阳志愿者"],
                         "北京市优秀志愿者": ["朝阳志愿者", "海淀志愿者"]}


async def test_award_criteria_are_validated(db):
    # given
    platform = await make_volunteer("平台", platform_admin=True)
    base = {"name": "百优志愿者", "tier": 2, "periodStart": "2026-01-01", "periodEnd": "2026-12-31"}
    # when
    results = {field: await execute(AWARD, {"input": {**base, **change}}, as_=platform)
               for field, change in (("tier", {"tier": 4}), ("periodEnd", {"periodEnd": "2025-01-01"}),
                                     ("minStarLevel", {"minStarLevel": 9}),
                                     ("minPeriodHours", {"minPeriodHours": -1}))}
    # then
    for field, result in results.items():
        assert [e["extensions"].get("field") for e in result.errors] == [field]


AWARDS = """
query A($first: Int) { awards(first: $first) { edges { node { name
  nominations(first: 5) { totalCount edges { node { status volunteer { displayName } } } } } } } }"""


async def test_award_lists_statements_do_not_grow_with_the_page(db):
    # given
    from models.honour import Award, Nomination, NominationStatus

    platform = await make_volunteer("平台", platform_admin=True)
    people = [await make_volunteer(f"志愿者{i}") for i in range(3)]
    for index in range(6):
        award = await Award.create(name=f"奖项{index}", tier=2, period_start=date(2026, 1, 1),
                                   period_end=date(2026, 12, 31), created_by=platform)
        for person in people:
            await Nomination.create(award=award, volunteer=person, period_hours=10, star_level=0,
                                    status=NominationStatus.AWARDED)

    async def statements_for(first: int) -> int:
        with count_statements() as statements:
            edges = (await execute(AWARDS, {"first": first})).ok()["awards"]["edges"]
        assert len(edges) == first
        assert all(e["node"]["nominations"]["totalCount"] == 3 for e in edges)
        return len(statements)

    # when / then
    assert await statements_for(2) == await statements_for(6)
