"""Activity requirements gate sign-up with a typed answer; sign-up conflicts carry a reason;
the check does not break the no-overbooking guarantee under concurrency."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

from models.activity import Activity, ActivityStatus, SignUp, SignUpStatus
from resolvers.auth import Viewer
from resolvers.errors import Conflict, DomainError, NotQualified
from resolvers.requirements import activity_day, age_on, check_requirements
from resolvers.signup import do_sign_up
from schema.relay import to_global_id
from tests.activity.factory import make_activity
from tests.helpers import count_statements, execute, make_team, make_volunteer
from tests.training.factory import make_course, qualify, require

SIGN_UP = "mutation S($id: ID!) { signUp(activityId: $id) { status } }"
SET_REQUIREMENTS = """
mutation R($id: ID!, $input: RequirementsInput!) {
  setActivityRequirements(activityId: $id, input: $input) {
    requirements { qualifications minimumAge }
  }
}"""
REQUIREMENTS = """
query A($first: Int) { activities(first: $first) { edges { node { requirements { qualifications minimumAge } } } } }"""


async def _setup(**activity):
    admin = await make_volunteer("队长")
    team = await make_team(admin, "急救队")
    return admin, team, await make_activity(team, admin, **activity)


def _refusal(result):
    assert result.codes == ["FORBIDDEN"], result.errors
    return result.errors[0]["extensions"]


async def test_missing_qualification_is_refused_with_the_course_that_grants_it(db):
    # given
    admin, team, activity = await _setup(title="马拉松医疗保障")
    course = await make_course(admin, team, qualification="急救员")
    await require(activity.id, "急救员")
    person = await make_volunteer("新人")
    gid = to_global_id("Activity", activity.id)
    # when
    refused = await execute(SIGN_UP, {"id": gid}, as_=person)
    await qualify(person, "急救员")
    accepted = await execute(SIGN_UP, {"id": gid}, as_=person)
    # then
    assert _refusal(refused) == {
        "code": "FORBIDDEN", "reason": "NOT_QUALIFIED",
        "requirement": {"kind": "QUALIFICATION", "qualification": "急救员"},
        "courseId": to_global_id("Course", course.id)}
    assert accepted.ok()["signUp"]["status"] == "CONFIRMED"
    await activity.refresh_from_db()
    assert activity.taken_count == 1
    assert await SignUp.filter(activity_id=activity.id).count() == 1  # nothing half-written


async def test_every_required_qualification_is_needed_and_no_course_means_no_course_id(db):
    # given
    _, _, activity = await _setup()
    await require(activity.id, "急救员", "导诊")
    person = await make_volunteer()
    await qualify(person, "急救员")
    # when
    refused = await execute(SIGN_UP, {"id": to_global_id("Activity", activity.id)}, as_=person)
    # then
    extensions = _refusal(refused)
    assert extensions["requirement"] == {"kind": "QUALIFICATION", "qualification": "导诊"}
    assert "courseId" not in extensions


async def test_expired_or_expiring_before_the_start_does_not_count(db):
    # given: the activity starts in 3 days
    _, _, activity = await _setup()
    await require(activity.id, "急救员")
    expired, expiring, valid, forever = [await make_volunteer(n) for n in "ABCD"]
    await qualify(expired, expires_in=timedelta(days=-1))
    await qualify(expiring, expires_in=timedelta(days=1))
    await qualify(valid, expires_in=timedelta(days=4))
    await qualify(forever, expires_in=None)
    gid = to_global_id("Activity", activity.id)
    # when
    results = [await execute(SIGN_UP, {"id": gid}, as_=p) for p in (expired, expiring, valid,
                                                                      forever)]
    # then
    assert [r.codes[0] if r.errors else r.data["signUp"]["status"] for r in results] == \
        ["FORBIDDEN", "FORBIDDEN", "CONFIRMED", "CONFIRMED"]


async def test_minimum_age_counts_on_the_start_date(db):
    # given: the activity starts in 3 days (Beijing date)
    _, _, activity = await _setup()
    await require(activity.id, minimum_age=18)
    start_day = activity_day(activity)
    eighteen_on_start = start_day.replace(year=start_day.year - 18)
    day_after = eighteen_on_start + timedelta(days=1)
    turns_18 = await make_volunteer("刚满十八", birth=eighteen_on_start)
    too_young = await make_volunteer("差一天", birth=day_after)
    gid = to_global_id("Activity", activity.id)
    # when
    ok = await execute(SIGN_UP, {"id": gid}, as_=turns_18)
    refused = await execute(SIGN_UP, {"id": gid}, as_=too_young)
    # then
    assert ok.ok()["signUp"]["status"] == "CONFIRMED"
    assert _refusal(refused)["requirement"] == {"kind": "MINIMUM_AGE", "minimumAge": 18}


async def test_the_one_statement_sign_up_and_the_python_rule_agree_on_age(db):
    # given: activities starting just after midnight Beijing time (the day before in UTC),
    # one of them on a leap day, and people born on either side of turning 18 that day
    admin, team, _ = await _setup()
    cases = []
    for start_utc, births in (
            (datetime(2027, 2, 28, 16, 30, tzinfo=UTC),  # 2027-03-01 00:30 in Beijing
             [date(2009, 3, 1), date(2009, 3, 2), date(2009, 2, 28), date(2008, 2, 29)]),
            (datetime(2028, 2, 28, 16, 30, tzinfo=UTC),  # 2028-02-29 00:30 in Beijing
             [date(2010, 2, 28), date(2010, 3, 1), date(2010, 2, 27)])):
        for birth in births:
            activity = await make_activity(team, admin, starts_in=timedelta(days=400))
            await Activity.filter(id=activity.id).update(
                starts_at=start_utc, ends_at=start_utc + timedelta(hours=3),
                sign_up_deadline=start_utc)
            await require(activity.id, minimum_age=18)
            activity = await Activity.get(id=activity.id)
            cases.append((activity, await make_volunteer(birth=birth), birth))
    # when
    outcomes = []
    for activity, person, _ in cases:
        with count_statements() as statements:
            result = await execute(SIGN_UP, {"id": to_global_id("Activity", activity.id)},
                                   as_=person)
        outcomes.append((result, len(statements)))
    # then: the same answer as age_on on the Beijing start date, in one statement on
    # PostgreSQL whenever the person is old enough
    for (activity, _, birth), (result, statements) in zip(cases, outcomes, strict=True):
        old_enough = age_on(birth, activity_day(activity)) >= 18
        if old_enough:
            assert result.ok()["signUp"]["status"] == "CONFIRMED", birth
            assert statements == 1 or not db.postgres, (birth, statements)
        else:
            assert _refusal(result)["requirement"]["kind"] == "MINIMUM_AGE", birth
    assert [age_on(b, activity_day(a)) >= 18 for a, _, b in cases] == [
        True, False, True, True, True, False, True]


def test_age_is_whole_years():
    assert age_on(date(2008, 3, 1), date(2026, 3, 1)) == 18
    assert age_on(date(2008, 3, 2), date(2026, 3, 1)) == 17
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17


async def test_sign_up_conflicts_say_why(db):
    # given
    admin, team, full = await _setup(capacity=1, waitlist_limit=0)
    first, second = await make_volunteer("甲"), await make_volunteer("乙")
    (await execute(SIGN_UP, {"id": to_global_id("Activity", full.id)}, as_=first)).ok()
    overlapping = await make_activity(team, admin, starts_in=timedelta(days=3, hours=1))
    closed = await make_activity(team, admin, starts_in=timedelta(days=9),
                                 status=ActivityStatus.FINISHED)
    late = await make_activity(team, admin, starts_in=timedelta(days=12))
    await Activity.filter(id=late.id).update(sign_up_deadline=datetime.now(UTC) - timedelta(1))
    # when
    outcomes = {
        name: await execute(SIGN_UP, {"id": to_global_id("Activity", act.id)}, as_=who)
        for name, act, who in (("FULL", full, second), ("OVERLAP", overlapping, first),
                               ("NOT_OPEN", closed, second), ("DEADLINE_PASSED", late, second))
    }
    # then
    for reason, result in outcomes.items():
        assert result.codes == ["CONFLICT"], (reason, result.errors)
        assert result.errors[0]["extensions"]["reason"] == reason
        assert result.errors[0]["message"]


async def test_requirements_are_set_by_team_admins_and_validated(db):
    # given
    admin, _, activity = await _setup()
    outsider = await make_volunteer("路人")
    gid = to_global_id("Activity", activity.id)
    # when
    forbidden = await execute(SET_REQUIREMENTS, {"id": gid, "input": {
        "qualifications": ["急救员"]}}, as_=outsider)
    bad_age = await execute(SET_REQUIREMENTS, {"id": gid, "input": {"minimumAge": 0}},
                            as_=admin)
    blank = await execute(SET_REQUIREMENTS, {"id": gid, "input": {"qualifications": [" "]}},
                          as_=admin)
    done = (await execute(SET_REQUIREMENTS, {"id": gid, "input": {
        "qualifications": ["导诊", "急救员", "导诊"], "minimumAge": 18}}, as_=admin)).ok()
    # then
    assert forbidden.codes == ["FORBIDDEN"]
    assert [e["extensions"].get("field") for e in bad_age.errors] == ["minimumAge"]
    assert [e["extensions"].get("field") for e in blank.errors] == ["qualifications"]
    assert done["setActivityRequirements"]["requirements"] == {
        "qualifications": ["导诊", "急救员"], "minimumAge": 18}
    # when: cleared again
    cleared = (await execute(SET_REQUIREMENTS, {"id": gid, "input": {}}, as_=admin)).ok()
    # then
    assert cleared["setActivityRequirements"]["requirements"] == {
        "qualifications": [], "minimumAge": None}
    assert (await Activity.get(id=activity.id)).has_requirements is False


async def test_activities_without_requirements_pay_no_statement(db):
    # given
    admin, team, plain = await _setup(capacity=5)
    gated = await make_activity(team, admin, capacity=5, starts_in=timedelta(days=5))
    await require(gated.id, "急救员", minimum_age=18)
    person = await make_volunteer()
    await qualify(person)
    counts = []
    # when
    for activity in (plain, gated):
        with count_statements() as statements:
            (await execute(SIGN_UP, {"id": to_global_id("Activity", activity.id)},
                           as_=person)).ok()
        counts.append(len(statements))
    # then: one more statement (the qualification check) only where there are requirements
    if db.postgres:
        # the first sign-up to an open activity is one statement, requirements included
        # (SIGN_UP_FUNCTION checks them when the person meets them)
        assert counts == [1, 1], counts
    else:
        assert counts[1] == counts[0] + 1, counts


async def test_requirements_in_a_list_cost_one_statement(db):
    # given
    admin, team, _ = await _setup()
    for index in range(6):
        gated = await make_activity(team, admin, starts_in=timedelta(days=4 + index))
        await require(gated.id, "急救员")

    async def statements_for(first: int) -> int:
        with count_statements() as statements:
            page = (await execute(REQUIREMENTS, {"first": first})).ok()["activities"]["edges"]
        assert len(page) == first
        return len(statements)

    # when / then
    assert await statements_for(2) == await statements_for(7)


async def test_concurrent_sign_ups_with_requirements_never_overbook(db):
    # given: 30 qualified and 30 unqualified volunteers race for 10 places + 10 waitlist
    _, _, activity = await _setup(capacity=10, waitlist_limit=10)
    await require(activity.id, "急救员", minimum_age=16)
    qualified = [await make_volunteer(f"持证{i}") for i in range(30)]
    unqualified = [await make_volunteer(f"无证{i}") for i in range(30)]
    for person in qualified:
        await qualify(person)
    everyone = [p for pair in zip(qualified, unqualified, strict=True) for p in pair]

    async def attempt(person) -> str:
        try:
            return (await do_sign_up(Viewer(person), activity.id)).status.value
        except NotQualified:
            return "NOT_QUALIFIED"
        except Conflict as exc:
            return str(exc.extensions.get("reason"))
        except DomainError as exc:  # pragma: no cover - shown in the assertion
            return exc.code

    # when
    outcomes = await asyncio.gather(*(attempt(p) for p in everyone))
    # then
    tally = {o: outcomes.count(o) for o in set(outcomes)}
    assert tally == {"CONFIRMED": 10, "WAITLISTED": 10, "FULL": 10, "NOT_QUALIFIED": 30}, tally
    await activity.refresh_from_db()
    rows = await SignUp.filter(activity_id=activity.id)
    assert activity.taken_count == sum(r.status == SignUpStatus.CONFIRMED for r in rows) == 10
    assert activity.waitlist_count == sum(r.status == SignUpStatus.WAITLISTED for r in rows) == 10
    assert {r.volunteer_id for r in rows} <= {p.id for p in qualified}


async def test_check_requirements_reads_nothing_for_plain_activities(db):
    # given
    _, _, activity = await _setup()
    person = await make_volunteer()
    # when
    with count_statements() as statements:
        await check_requirements(person, activity)
    # then
    assert statements == []
