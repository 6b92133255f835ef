"""Requests about one's own data: a copy (background archive, one-time link), a correction
decided with a reason, and deletion of the account (also under concurrency)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import zipfile
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from tortoise.transactions import in_transaction

from core import pii
from models.activity import Activity, SignUp, SignUpStatus
from models.draft import Draft
from models.hours import Certificate, ServiceRecord
from models.notification import Notification
from models.privacy import DataRequest, DataRequestKind, DataRequestStatus
from models.team import Membership, MembershipRole, MembershipStatus
from models.volunteer import Volunteer, VolunteerStatus
from resolvers.auth import Viewer
from resolvers.errors import Conflict, DomainError
from resolvers.hours import do_approve_hours
from resolvers.privacy import DELETED_NAME, build_pending_archives, do_delete_account, take_archive
from resolvers.signup import do_sign_up
from resolvers.stats import compute_stats
from schema.pages import ROUTES
from tests.forum.common import make_board, open_thread
from tests.helpers import (
    PASSWORD,
    add_member,
    execute,
    make_team,
    make_volunteer,
    token_for,
    until,
)
from tests.hours.factory import make_activity, now, served

EXPORT = "mutation { requestDataExport { id kind status } }"
LINK = "mutation Link($id: ID!) { dataArchiveLink(requestId: $id) { url expiresAt } }"
MINE = "query { myDataRequests { edges { node { kind status reason decisionReason } } } }"
CORRECT = """mutation Correct($field: String!, $value: String!, $reason: String!) {
  requestCorrection(field: $field, value: $value, reason: $reason) { id status field requestedValue } }"""
DECIDE = """mutation Decide($id: ID!, $approve: Boolean!, $reason: String!) {
  decideDataRequest(id: $id, approve: $approve, reason: $reason) { status decisionReason } }"""
PENDING = "query { pendingDataRequests { edges { node { id kind } } } }"
DELETE = """mutation Delete($password: String!) {
  deleteAccount(password: $password, reason: "不再参加") { kind status decisionReason } }"""
CONFIRMED = {"password": PASSWORD}
LOGIN = "mutation Login($phone: String!, $password: String!) { login(phone: $phone, password: $password) { token } }"
BOARD = """query Board($slug: String!) { board(slug: $slug) { threads { edges { node {
  author { displayName } } } } } }"""
LEADERBOARD = "query { leaderboard(period: ALL_TIME) { hours volunteer { displayName } } }"


@pytest.fixture
async def client(db) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=Starlette(routes=ROUTES))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        yield http


async def _volunteer_with_history():
    admin = await make_volunteer("王队长")
    team = await make_team(admin, "朝阳区志愿服务总队")
    me = await make_volunteer("李明")
    await add_member(team, me)
    record = await served(await make_activity(team, admin, title="社区清洁",
                                              starts_at=now() - timedelta(days=3)), me)
    await do_approve_hours(Viewer(admin), record.id)
    await Draft.create(volunteer=me, key="post", body="没写完的心得")
    return admin, team, me, record


async def test_a_copy_is_built_in_the_background_and_downloads_once(db, client):
    # given
    _, _, me, record = await _volunteer_with_history()
    asked = (await execute(EXPORT, as_=me)).ok()["requestDataExport"]
    again = (await execute(EXPORT, as_=me)).ok()["requestDataExport"]
    early = await execute(LINK, {"id": asked["id"]}, as_=me)
    # when
    built = await build_pending_archives()
    link = (await execute(LINK, {"id": asked["id"]}, as_=me)).ok()["dataArchiveLink"]
    first = await client.get(urlsplit(link["url"]).path)
    second = await client.get(urlsplit(link["url"]).path)
    # then
    assert asked["status"] == "PENDING" and again["id"] == asked["id"]
    assert early.codes == ["CONFLICT"]
    assert built == 1
    assert first.status_code == 200 and second.status_code == 404
    files = zipfile.ZipFile(io.BytesIO(first.content))
    profile = json.loads(files.read("profile.json"))
    assert profile["realName"] == "李明"
    assert profile["phone"] == pii.phone_of(me) and profile["idNumber"] == pii.id_number_of(me)
    assert {"sign_up.json", "service_record.json", "points_entry.json", "notification.json",
            "draft.json", "hours_audit.json", "data_request.json"} <= set(files.namelist())
    assert [r["id"] for r in json.loads(files.read("service_record.json"))] == [record.id]
    points = json.loads(files.read("points_entry.json"))
    assert sum(row["delta"] for row in points) == 30
    everything = b"".join(files.read(name) for name in files.namelist()).decode()
    assert "password_hash" not in everything and "_cipher" not in everything
    stored = await DataRequest.get(id=(await DataRequest.first()).id)
    assert stored.status == DataRequestStatus.DONE and stored.archive is None
    assert (await Notification.filter(volunteer_id=me.id, kind="DATA_EXPORT_READY").count()) == 1


async def test_an_expired_or_unknown_link_downloads_nothing(db):
    # given
    _, _, me, _ = await _volunteer_with_history()
    asked = (await execute(EXPORT, as_=me)).ok()["requestDataExport"]
    await build_pending_archives()
    url = (await execute(LINK, {"id": asked["id"]}, as_=me)).ok()["dataArchiveLink"]["url"]
    token = url.rsplit("/", 1)[1]
    other = await make_volunteer("王芳")
    # when
    later = await take_archive(token, now=now() + timedelta(hours=1))
    unknown = await take_archive("x" * 43)
    by_other = await execute(LINK, {"id": asked["id"]}, as_=other)
    # then
    assert later is None and unknown is None
    assert by_other.codes == ["NOT_FOUND"]
    assert await take_archive(token) is not None


async def test_a_correction_is_decided_by_a_platform_admin_with_a_reason(db):
    # given
    platform = await make_volunteer("平台管理员", platform_admin=True)
    team_admin, _, me, _ = await _volunteer_with_history()
    bad_field = await execute(CORRECT, {"field": "idNumber", "value": "x", "reason": "错"}, as_=me)
    asked = (await execute(CORRECT, {"field": "realName", "value": "李明明",
                                     "reason": "身份证上是李明明"}, as_=me)).ok()["requestCorrection"]
    twice = await execute(CORRECT, {"field": "realName", "value": "李明明", "reason": "再问"}, as_=me)
    # when
    seen_by_team_admin = (await execute(PENDING, as_=team_admin)).ok()["pendingDataRequests"]
    seen_by_platform = (await execute(PENDING, as_=platform)).ok()["pendingDataRequests"]
    by_team_admin = await execute(DECIDE, {"id": asked["id"], "approve": True, "reason": "好"},
                                  as_=team_admin)
    granted = await execute(DECIDE, {"id": asked["id"], "approve": True, "reason": "已核对证件"},
                            as_=platform)
    # then
    assert bad_field.codes == ["BAD_USER_INPUT"] and bad_field.errors[0]["extensions"]["field"] == "field"
    assert twice.codes == ["CONFLICT"]
    assert seen_by_team_admin["edges"] == []
    assert [e["node"]["kind"] for e in seen_by_platform["edges"]] == ["CORRECTION"]
    assert by_team_admin.codes == ["FORBIDDEN"]
    assert granted.ok()["decideDataRequest"] == {"status": "DONE", "decisionReason": "已核对证件"}
    assert (await Volunteer.get(id=me.id)).real_name == "李明明"
    mine = (await execute(MINE, as_=me)).ok()["myDataRequests"]["edges"]
    assert mine[0]["node"]["decisionReason"] == "已核对证件"


async def test_deleting_an_account_erases_the_person_and_keeps_the_records(db, caplog):
    # given
    caplog.set_level(logging.DEBUG, logger="tongxin")
    _, _, me, record = await _volunteer_with_history()
    board = await make_board(await make_volunteer("平台", platform_admin=True), "zhulao", "助老服务")
    await open_thread(me, board)
    (await execute("mutation { issueCertificate { code } }", as_=me)).ok()
    phone = pii.phone_of(me)
    before = await compute_stats(None)  # uncached: `stats` answers from a cache
    token = token_for(me)
    (await execute(EXPORT, as_=me)).ok()
    # when
    deleted = (await execute(DELETE, CONFIRMED, as_=me)).ok()["deleteAccount"]
    built = await build_pending_archives()
    # then
    assert deleted == {"kind": "DELETION", "status": "DONE", "decisionReason": None}
    gone = await Volunteer.get(id=me.id)
    assert gone.status == VolunteerStatus.DELETED
    assert gone.real_name == gone.display_name == DELETED_NAME
    assert gone.phone_cipher is gone.id_number_cipher is gone.password_hash is None
    assert gone.volunteer_number != me.volunteer_number
    login = await execute(LOGIN, {"phone": phone, "password": PASSWORD})
    assert login.codes == ["UNAUTHENTICATED"]
    with pytest.raises(DomainError):
        await Viewer.deferred(me.id).load()
    assert token  # the token was valid before; the account behind it is gone
    authors = (await execute(BOARD, {"slug": "zhulao"})).ok()["board"]["threads"]["edges"]
    assert [a["node"]["author"]["displayName"] for a in authors] == [DELETED_NAME]
    assert (await ServiceRecord.get(id=record.id)).hours == 3
    after = await compute_stats(None)
    assert after.approved_hours == before.approved_hours == 3
    assert after.registered == before.registered - 1
    assert [b.hours for b in after.by_district] == [b.hours for b in before.by_district]
    board_rows = (await execute(LEADERBOARD)).ok()["leaderboard"]
    assert [(r["hours"], r["volunteer"]["displayName"]) for r in board_rows] == [(3.0, DELETED_NAME)]
    assert built == 0  # the copy asked for before is not built for an erased account
    export = await DataRequest.get(volunteer_id=me.id, kind=DataRequestKind.EXPORT)
    assert export.status == DataRequestStatus.REFUSED and export.decision_reason
    assert await Draft.filter(volunteer_id=me.id).count() == 0
    assert await Notification.filter(volunteer_id=me.id).count() == 0
    certificate = await Certificate.get(volunteer_id=me.id)
    assert certificate.superseded_at is not None
    assert certificate.content["volunteerName"] == DELETED_NAME
    assert certificate.content["idNumberMasked"] == ""
    assert "deleted" in caplog.text
    assert phone not in caplog.text and pii.id_number_of(me) not in caplog.text


async def test_deletion_needs_the_password_and_wrong_guesses_are_throttled(db):
    # given
    me = await make_volunteer("李明")
    # when
    wrong = [await execute(DELETE, {"password": "not-my-password"}, as_=me) for _ in range(5)]
    throttled = await execute(DELETE, CONFIRMED, as_=me)
    # then
    assert all(r.codes == ["BAD_USER_INPUT"] and r.errors[0]["extensions"]["field"] == "password"
               for r in wrong)
    assert throttled.codes == ["RATE_LIMITED"]
    assert (await Volunteer.get(id=me.id)).status == VolunteerStatus.ACTIVE
    assert await DataRequest.filter(kind=DataRequestKind.DELETION).count() == 0


async def test_a_platform_admin_is_refused_with_the_reason_recorded(db):
    # given
    platform = await make_volunteer("平台管理员", platform_admin=True)
    # when
    refused = (await execute(DELETE, CONFIRMED, as_=platform)).ok()["deleteAccount"]
    # then
    assert refused["status"] == "REFUSED" and "移交" in refused["decisionReason"]
    assert (await Volunteer.get(id=platform.id)).status == VolunteerStatus.ACTIVE
    assert await DataRequest.filter(kind=DataRequestKind.DELETION,
                                    status=DataRequestStatus.REFUSED).count() == 1


async def test_a_teams_only_admin_is_refused_until_another_admin_is_named(db):
    # given
    admin = await make_volunteer("王队长")
    team = await make_team(admin, "朝阳区志愿服务总队")
    # when
    refused = await do_delete_account(Viewer(admin), PASSWORD)
    deputy = await make_volunteer("李副队长")
    await Membership.create(team=team, volunteer=deputy, role=MembershipRole.ADMIN,
                            status=MembershipStatus.APPROVED)
    granted = await do_delete_account(Viewer(admin), PASSWORD)
    # then
    assert refused.status == DataRequestStatus.REFUSED
    assert "朝阳区志愿服务总队" in (refused.decision_reason or "")
    assert granted.status == DataRequestStatus.DONE


async def test_deletion_gives_back_upcoming_places_and_the_waitlist_moves_up(db):
    # given
    admin = await make_volunteer("王队长")
    team = await make_team(admin)
    me, next_in_line = await make_volunteer("李明"), await make_volunteer("王芳")
    activity = await make_activity(team, admin, starts_at=now() + timedelta(days=2), capacity=1)
    await do_sign_up(Viewer(me), activity.id)
    waiting = await do_sign_up(Viewer(next_in_line), activity.id)
    assert waiting.status == SignUpStatus.WAITLISTED
    # when
    await do_delete_account(Viewer(me), PASSWORD)
    # then
    assert (await SignUp.get(volunteer_id=me.id)).status == SignUpStatus.CANCELLED
    assert (await SignUp.get(volunteer_id=next_in_line.id)).status == SignUpStatus.CONFIRMED
    current = await Activity.get(id=activity.id)
    assert (current.taken_count, current.waitlist_count) == (1, 0)


async def test_two_deletions_at_once_erase_once(db):
    # given
    me = await make_volunteer("李明")
    # when
    results = await asyncio.gather(do_delete_account(Viewer(me), PASSWORD), do_delete_account(Viewer(me), PASSWORD),
                                   return_exceptions=True)
    # then
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "DataRequest"]
    assert all(isinstance(r, DataRequest | Conflict) for r in results)
    assert await DataRequest.filter(kind=DataRequestKind.DELETION).count() == 1


@pytest.mark.parametrize("round_", range(3))
async def test_a_deletion_racing_a_sign_up_leaves_no_place_taken(db, round_):
    # given
    admin = await make_volunteer("王队长")
    team = await make_team(admin)
    me = await make_volunteer("李明")
    activity = await make_activity(team, admin, starts_at=now() + timedelta(days=2), capacity=5)
    viewer = Viewer(me)  # loaded before the deletion: the sign-up must re-check under its lock
    # when
    results = await asyncio.gather(do_sign_up(viewer, activity.id), do_delete_account(Viewer(me), PASSWORD),
                                   return_exceptions=True)
    # then
    assert isinstance(results[1], DataRequest)
    assert not isinstance(results[0], BaseException) or isinstance(results[0], DomainError)
    held = await SignUp.filter(volunteer_id=me.id).exclude(status=SignUpStatus.CANCELLED).count()
    current = await Activity.get(id=activity.id)
    assert held == 0
    assert (current.taken_count, current.waitlist_count) == (0, 0)


async def test_a_sign_up_waiting_on_a_deletions_lock_is_refused_once_it_commits(db):
    # given: the deletion holds the person's row (status already DELETED, not committed) when
    # the one-statement sign-up reads the account as ACTIVE and then waits for that row
    if not db.postgres:
        pytest.skip("SQLite runs one writer at a time: the sign-up cannot start inside")
    admin = await make_volunteer("王队长")
    team = await make_team(admin)
    me = await make_volunteer("李明")
    activity = await make_activity(team, admin, starts_at=now() + timedelta(days=2), capacity=5)
    go = asyncio.Event()

    async def sign_up_when_told() -> SignUp:
        await go.wait()
        return await do_sign_up(Viewer(me), activity.id)

    waiting = asyncio.create_task(sign_up_when_told())  # its own connection, outside the transaction
    # when
    async with in_transaction() as conn:
        await Volunteer.filter(id=me.id).using_db(conn).update(status=VolunteerStatus.DELETED)
        go.set()

        async def sign_up_waits_for_our_lock() -> bool:
            # a transaction sees one snapshot of the statistics views unless it drops it
            await conn.execute_query("SELECT pg_stat_clear_snapshot()")
            rows = await conn.execute_query_dict(
                "SELECT count(*) AS waiting FROM pg_stat_activity "
                "WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid))")
            return bool(rows[0]["waiting"])

        await until(sign_up_waits_for_our_lock, "the sign-up waits for the deletion's row lock")
    result = await asyncio.gather(waiting, return_exceptions=True)
    # then
    assert isinstance(result[0], DomainError) and result[0].code == "FORBIDDEN"
    assert await SignUp.filter(volunteer_id=me.id).count() == 0
    assert (await Activity.get(id=activity.id)).taken_count == 0


NODE = "query Node($id: ID!) { node(id: $id) { ... on DataRequest { kind status } } }"


async def test_requests_need_a_signed_in_person_and_are_seen_by_their_owner_and_deciders(db):
    # given
    platform = await make_volunteer("平台管理员", platform_admin=True)
    me, other = await make_volunteer("李明"), await make_volunteer("王芳")
    asked = (await execute(CORRECT, {"field": "realName", "value": "李明明", "reason": "证件上的名字"},
                           as_=me)).ok()["requestCorrection"]
    too_long = await execute(CORRECT, {"field": "realName", "value": "名" * 51, "reason": "x"},
                             as_=me)
    self_edited = await execute(CORRECT, {"field": "district", "value": "海淀区", "reason": "x"},
                                as_=other)
    # when
    anonymous = [await execute(operation, variables) for operation, variables
                 in ((EXPORT, None), (DELETE, CONFIRMED), (MINE, None))]
    seen = {who: (await execute(NODE, {"id": asked["id"]}, as_=person)).ok()["node"]
            for who, person in (("me", me), ("platform", platform), ("other", other))}
    # then
    assert all(result.codes == ["UNAUTHENTICATED"] for result in anonymous)
    assert too_long.codes == ["BAD_USER_INPUT"] and too_long.errors[0]["extensions"]["field"] == "value"
    assert self_edited.codes == ["BAD_USER_INPUT"]
    assert seen == {"me": {"kind": "CORRECTION", "status": "PENDING"},
                    "platform": {"kind": "CORRECTION", "status": "PENDING"}, "other": None}


async def test_an_archive_being_built_when_the_account_is_deleted_is_never_offered(db, monkeypatch):
    # given: the account is deleted while the job builds its archive
    from resolvers import privacy

    me = await make_volunteer("李明")
    (await execute(EXPORT, as_=me)).ok()
    build = privacy.build_archive

    async def deleted_meanwhile(volunteer_id: int, **kwargs):
        body = await build(volunteer_id, **kwargs)
        await do_delete_account(Viewer(me), PASSWORD)
        return body

    monkeypatch.setattr(privacy, "build_archive", deleted_meanwhile)
    # when
    built = await build_pending_archives()
    # then
    request = await DataRequest.get(kind=DataRequestKind.EXPORT)
    assert built == 0
    assert request.status == DataRequestStatus.REFUSED and request.archive is None
    assert await Notification.filter(volunteer_id=me.id).count() == 0
