"""Retention rules: what is past its time goes, what is not stays, and the job says how much."""

from __future__ import annotations

from datetime import timedelta

from core import pii
from models.draft import Draft
from models.helprequest import HelpRequest, HelpRequestStatus
from models.notification import Notification
from models.privacy import DataRequest, DataRequestKind, DataRequestStatus
from resolvers.retention import enforce_retention
from tests.helpers import make_volunteer
from tests.hours.factory import now


async def test_retention_removes_what_is_past_its_time_and_reports_it(db):
    # given (defaults: drafts 12 months, notifications 6, help-request locations 3, archives 7 days)
    me = await make_volunteer("李明")
    moment = now()
    old_draft = await Draft.create(volunteer=me, key="old", body="旧草稿")
    await Draft.filter(id=old_draft.id).update(updated_at=moment - timedelta(days=400))
    await Draft.create(volunteer=me, key="new", body="新草稿")
    old_note = await Notification.create(volunteer=me, kind="X", title="旧", body="旧通知")
    await Notification.filter(id=old_note.id).update(created_at=moment - timedelta(days=200))
    await Notification.create(volunteer=me, kind="X", title="新", body="新通知")
    place = {"created_by": me, "title": "买菜", "description": "帮忙买菜", "district": "朝阳区",
             "address_cipher": pii.seal("朝阳区某小区3号楼", pii.HELP_ADDRESS),
             "latitude": 39.9, "longitude": 116.4}
    done_long_ago = await HelpRequest.create(**place, status=HelpRequestStatus.RESOLVED,
                                             resolved_at=moment - timedelta(days=120))
    done_lately = await HelpRequest.create(**place, status=HelpRequestStatus.RESOLVED,
                                           resolved_at=moment - timedelta(days=10))
    still_open = await HelpRequest.create(**place)
    await DataRequest.create(volunteer=me, kind=DataRequestKind.EXPORT,
                             status=DataRequestStatus.READY, archive=b"zip",
                             decided_at=moment - timedelta(days=8))
    # when
    report = await enforce_retention(moment)
    again = await enforce_retention(moment)
    # then
    assert report.removed == {"drafts": 1, "notifications": 1, "helpRequestLocations": 1,
                              "dataArchives": 1}
    assert report.total == 4 and again.total == 0
    assert await Draft.filter(volunteer_id=me.id).values_list("key", flat=True) == ["new"]
    assert await Notification.filter(volunteer_id=me.id).values_list("title", flat=True) == ["新"]
    cleared = await HelpRequest.get(id=done_long_ago.id)
    assert (cleared.address_cipher, cleared.latitude, cleared.longitude) == (None, None, None)
    assert cleared.district == "朝阳区"
    for kept in (done_lately, still_open):
        sealed = (await HelpRequest.get(id=kept.id)).address_cipher
        assert pii.open_optional(sealed, pii.HELP_ADDRESS) == "朝阳区某小区3号楼"
    assert (await DataRequest.first()).archive is None


async def test_a_rule_set_to_zero_keeps_everything(db, monkeypatch):
    # given
    from core.settings import get_settings

    monkeypatch.setenv("RETENTION_DRAFT_MONTHS", "0")
    get_settings.cache_clear()
    me = await make_volunteer("李明")
    draft = await Draft.create(volunteer=me, key="old", body="旧草稿")
    await Draft.filter(id=draft.id).update(updated_at=now() - timedelta(days=4000))
    try:
        # when
        report = await enforce_retention()
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    # then
    assert "drafts" not in report.removed
    assert await Draft.filter(id=draft.id).exists()
