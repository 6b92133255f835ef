"""Personal information: who read whose unmasked field (the append-only access log), and
re-sealing under the current key (`rotate-pii-key`).

Reads are recorded before the value is returned, in one INSERT per batch of reads (the schema
collects a request's reads through a loader), so a list of people costs one statement.

Rotation runs beside the service: each batch is one short UPDATE per row, conditional on the
row still holding the ciphertext that was read (a concurrent change or erasure wins; the row
is picked up by the next pass). Lookups meanwhile try every configured key's blind index
(core/pii.py), so logins and uniqueness checks hold throughout.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from tortoise import connections
from tortoise.queryset import QuerySet

from core import pii
from models.pii import PiiAccess, PiiField
from resolvers.auth import Viewer
from resolvers.errors import Forbidden
from resolvers.sql import Sql, execute, execute_each, fetch
from resolvers.validation import check_text

REASON_MAX = 200
# PostgreSQL refuses any UPDATE or DELETE of the append-only logs (installed by migration
# 0006; tests install it with the schema). TRUNCATE, for test databases, is a statement, not
# a row change, and is not refused.
APPEND_ONLY_TABLES = ("pii_access", "consent_event")
APPEND_ONLY_SQL = """
CREATE OR REPLACE FUNCTION tongxin_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;
""" + "".join(f"""
DROP TRIGGER IF EXISTS {table}_append_only ON {table};
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION tongxin_append_only();
""" for table in APPEND_ONLY_TABLES)


async def install_append_only(postgres: bool) -> None:
    if postgres:
        await connections.get("default").execute_script(APPEND_ONLY_SQL)


@dataclass(frozen=True)
class PiiRead:
    viewer_id: int
    subject_id: int
    field: PiiField
    reason: str
    client_address: str


def check_pii_read(viewer: Viewer, subject_id: int, reason: str | None) -> str | None:
    """The reason to record if the viewer may read the subject's unmasked field (platform
    admins, never about themselves: their own data is theirs without a log), else None."""
    if not viewer.is_platform_admin or viewer.id is None or viewer.id == subject_id:
        return None
    return check_text(reason, "reason", max_len=REASON_MAX)


async def do_record_pii_reads(reads: list[PiiRead]) -> None:
    """One INSERT for a batch of reads; must complete before any of the values is returned."""
    if reads:
        await PiiAccess.bulk_create([
            PiiAccess(viewer_id=r.viewer_id, subject_id=r.subject_id, field=r.field,
                      reason=r.reason, client_address=r.client_address[:64]) for r in reads])


async def do_record_export(viewer: Viewer, subject_ids: list[int], reason: str,
                           client_address: str) -> None:
    """For exports of personal rows (an archive, a roster): one EXPORT entry per person whose
    rows leave, unless the viewer exports only their own."""
    volunteer = viewer.require()
    await do_record_pii_reads([
        PiiRead(volunteer.id, subject_id, PiiField.EXPORT, reason[:REASON_MAX], client_address)
        for subject_id in subject_ids if subject_id != volunteer.id])


def pii_reads_about(viewer: Viewer, subject_id: int) -> QuerySet[PiiAccess]:
    """Who read this person's data: the person themself and platform admins may ask."""
    volunteer = viewer.require()
    if volunteer.id != subject_id and not volunteer.is_platform_admin:
        raise Forbidden("Only the person themself and platform admins can see who read their data.")
    return PiiAccess.filter(subject_id=subject_id)


def all_pii_reads(viewer: Viewer, subject_id: int | None = None,
                  viewer_id: int | None = None) -> QuerySet[PiiAccess]:
    if not viewer.require().is_platform_admin:
        raise Forbidden("Only platform admins can query the access log.")
    query = PiiAccess.all()
    if subject_id is not None:
        query = query.filter(subject_id=subject_id)
    if viewer_id is not None:
        query = query.filter(viewer_id=viewer_id)
    return query

ROTATION_BATCH = 1000
ROTATION_PASSES = 3


@dataclass
class RotationReport:
    key_id: int
    rows: int = 0
    seconds: float = 0.0
    left: int = 0  # rows still under an older key (changed concurrently every pass)
    addresses: int = 0  # help-request addresses re-sealed

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


# PostgreSQL: one statement per batch, the batch as arrays; each row only if unchanged since read.
BATCH_UPDATE_PG = """
UPDATE volunteer v SET phone_cipher = u.phone_cipher, phone_index = u.phone_index,
       id_number_cipher = u.id_number_cipher, id_number_index = u.id_number_index,
       home_address_cipher = u.home_address_cipher
FROM unnest(CAST(:phones AS text[]), CAST(:phone_indexes AS text[]), CAST(:id_numbers AS text[]),
            CAST(:id_indexes AS text[]), CAST(:addresses AS text[]), CAST(:ids AS int[]),
            CAST(:old_phones AS text[]), CAST(:old_id_numbers AS text[]),
            CAST(:old_addresses AS text[]))
     AS u(phone_cipher, phone_index, id_number_cipher, id_number_index, home_address_cipher, id,
          old_phone, old_id_number, old_address)
WHERE v.id = u.id AND v.phone_cipher IS NOT DISTINCT FROM u.old_phone
  AND v.id_number_cipher IS NOT DISTINCT FROM u.old_id_number
  AND v.home_address_cipher IS NOT DISTINCT FROM u.old_address
"""
BATCH_COLUMNS = ("phones", "phone_indexes", "id_numbers", "id_indexes", "addresses", "ids",
                 "old_phones", "old_id_numbers", "old_addresses")
ROW_COLUMNS = ("phone", "phone_index", "id_number", "id_index", "address", "id", "old_phone",
               "old_id_number", "old_address")
# SQLite: the same per row (executemany); `IS` is its null-safe equality.
ROW_UPDATE = ("UPDATE volunteer SET phone_cipher = :phone, phone_index = :phone_index, "
              "id_number_cipher = :id_number, id_number_index = :id_index, "
              "home_address_cipher = :address WHERE id = :id AND phone_cipher IS :old_phone "
              "AND id_number_cipher IS :old_id_number AND home_address_cipher IS :old_address")


async def _stale_batch(after: int, prefix: str, limit: int) -> list[dict]:
    return await fetch(connections.get("default"), Sql(
        "SELECT id, phone_cipher, id_number_cipher, home_address_cipher FROM volunteer"
        " WHERE id > :after AND ((phone_cipher IS NOT NULL AND phone_cipher NOT LIKE :current)"
        " OR (id_number_cipher IS NOT NULL AND id_number_cipher NOT LIKE :current)"
        " OR (home_address_cipher IS NOT NULL AND home_address_cipher NOT LIKE :current))"
        " ORDER BY id LIMIT :limit", after=after, current=prefix + "%", limit=limit))


async def _rotate_help_addresses(ring: pii.Keyring, batch_size: int) -> int:
    """Help-request addresses under an older key, re-sealed; each UPDATE conditional on the
    value read (the retention job may clear it meanwhile)."""
    client = connections.get("default")
    prefix, after, rewritten = f"{ring.current}:", 0, 0
    while rows := await fetch(client, Sql(
            "SELECT id, address_cipher FROM help_request WHERE id > :after AND address_cipher"
            " IS NOT NULL AND address_cipher NOT LIKE :current ORDER BY id LIMIT :limit",
            after=after, current=prefix + "%", limit=batch_size)):
        await execute_each(
            client,
            "UPDATE help_request SET address_cipher = :sealed WHERE id = :id AND address_cipher = :read",
            [{"sealed": ring.seal(ring.open(row["address_cipher"], pii.HELP_ADDRESS), pii.HELP_ADDRESS),
              "id": row["id"], "read": row["address_cipher"]} for row in rows])
        rewritten += len(rows)
        after = rows[-1]["id"]
    return rewritten


def _resealed(ring: pii.Keyring, stored: str | None, column: str) -> tuple[str | None, str | None]:
    if stored is None:
        return None, None
    value = ring.open(stored, column)
    return ring.seal(value, column), ring.index(value, column)


async def rotate_pii_keys(batch_size: int = ROTATION_BATCH, pause_seconds: float = 0.0,
                          progress: bool = False) -> RotationReport:
    """Re-seals and re-indexes every phone and ID number, re-seals every home address (and
    every help-request address) not under the current key; safe to interrupt and to run again (it only touches
    rows under an older key)."""
    ring = pii.keyring()
    client = connections.get("default")
    postgres = client.capabilities.dialect == "postgres"
    report = RotationReport(key_id=ring.current)
    started = time.perf_counter()
    prefix = f"{ring.current}:"
    for _ in range(ROTATION_PASSES):
        after, rewritten = 0, 0
        while rows := await _stale_batch(after, prefix, batch_size):
            values = []
            for row in rows:
                phone, phone_index = _resealed(ring, row["phone_cipher"], pii.PHONE)
                id_number, id_index = _resealed(ring, row["id_number_cipher"], pii.ID_NUMBER)
                address, _ = _resealed(ring, row["home_address_cipher"], pii.HOME_ADDRESS)
                values.append([phone, phone_index, id_number, id_index, address, row["id"],
                               row["phone_cipher"], row["id_number_cipher"],
                               row["home_address_cipher"]])
            if postgres:
                columns = [list(column) for column in zip(*values, strict=True)]
                await execute(client, Sql(BATCH_UPDATE_PG, **dict(zip(BATCH_COLUMNS, columns, strict=True))))
            else:
                await execute_each(client, ROW_UPDATE,
                                   [dict(zip(ROW_COLUMNS, row, strict=True)) for row in values])
            rewritten += len(rows)
            after = rows[-1]["id"]
            if progress:
                print(f"\r{report.rows + rewritten:,} rows re-sealed", end="", flush=True)
            if pause_seconds:
                await asyncio.sleep(pause_seconds)
        report.rows += rewritten
        if not rewritten:
            break
    report.addresses = await _rotate_help_addresses(ring, batch_size)
    report.left = len(await _stale_batch(0, prefix, batch_size))
    report.seconds = time.perf_counter() - started
    if progress:
        print()
    return report
