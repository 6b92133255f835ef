"""Restore drill: a backup taken while sign-ups arrive through a live server restores into a
fresh database whole: the integrity check passes and nothing acknowledged before the backup
began is missing (issue 29; docs/operations.md, "Backup and restore")."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from db.backup import BackupError, backup, restore
from schema.relay import to_global_id
from tests.activity.clients import SIGN_UP, Outcome, bulk_volunteers, call
from tests.activity.factory import make_activity
from tests.backup.drill import column_values, fresh_database, server_py
from tests.helpers import PASSWORD_HASH, make_team, make_volunteer, token_for

pytestmark = pytest.mark.e2e

ACKNOWLEDGED = ("CONFIRMED", "WAITLISTED")


async def test_backup_during_sign_ups_restores_everything_acknowledged_before_it(
        db, live_server, tmp_root):
    # given: an activity, and sign-ups acknowledged before the backup starts
    admin = await make_volunteer("队长")
    activity = await make_activity(await make_team(admin), admin, capacity=40, waitlist_limit=200)
    gid = to_global_id("Activity", activity.id)
    people = await bulk_volunteers(150, PASSWORD_HASH)
    early, later = people[:30], people[30:]
    backup_file = tmp_root / f"drill-{db.name}.backup"
    async with httpx.AsyncClient(timeout=30) as client:

        async def sign_up(group):
            return await asyncio.gather(*(call(client, live_server.url, token_for(p), SIGN_UP,
                                               {"id": gid}, "signUp") for p in group))

        before = await sign_up(early)
        assert all(o.status in ACKNOWLEDGED for o in before), before
        # when: the backup runs while more sign-ups keep arriving, until it is done
        backup_done = asyncio.Event()

        async def keep_signing_up() -> list[Outcome]:
            outcomes: list[Outcome] = []
            for start in range(0, len(later), 5):
                outcomes += await sign_up(later[start:start + 5])
                if backup_done.is_set():
                    break
            return outcomes

        writer = asyncio.create_task(keep_signing_up())
        # in a thread of this process (`server.py backup` runs the same function): one
        # process start less, while this event loop keeps the sign-ups going
        backed_up = await asyncio.to_thread(backup, db.database_url, backup_file)
        backup_done.set()
        during = await writer
    assert backed_up.bytes > 0
    assert during and all(o.status in ACKNOWLEDGED for o in during), during
    # then: restored into a fresh database, it is whole and consistent
    async with fresh_database(db, tmp_root) as restored_url:
        restored = await server_py("restore", str(backup_file), "--json",
                                   database_url=restored_url)
        assert restored.code == 0, restored.out + restored.err
        report = restored.report()
        assert report["problems"] == []
        signed_up = set(await column_values(
            restored_url, f"SELECT volunteer_id FROM sign_up WHERE activity_id = {activity.id}"))
        # everything acknowledged before the backup began, and nothing nobody asked for
        assert {p.id for p in early} <= signed_up <= {p.id for p in people}
        assert len(before) <= report["rows"]["sign_up"] <= len(before) + len(during)
        assert report["rows"]["volunteer"] == len(people) + 1
        # and a second restore onto it is refused, before it changes anything
        with pytest.raises(BackupError, match="already holds"):
            await asyncio.to_thread(restore, backup_file, restored_url)
