"""Records export for the national volunteer-service information system (MCA Order 67).

We do not have the national system's official interface or its current data standard, so the
format lives behind one interface (`RecordSink`) with one mapping table (`FIELD_MAP`): when the
official interface is published, a new sink and an updated table replace these two, and nothing
else changes. What we know holds for any version of it: the person is identified by the unified
volunteer number (志愿者编号), never by the ID number, and each change (new or corrected hours,
a training completed, an award) is sent once.

- The outbox (`record_change`) is written by `enqueue_*` in the transaction of the change
  itself (the hours rules, training, honours), so a change is exported if and only if it
  committed.
- `drain_outbox(sink)` takes the oldest unexported changes in id order, writes them to the sink
  as one batch, and stamps them with the batch name only where `exported_at IS NULL`: running it
  twice, or on two workers at once, never writes a change into two batches.
- `JsonLinesSink` and `CsvSink` write one file per batch (`<batch>.jsonl` / `<batch>.csv`);
  a batch file that exists already is left alone (idempotent re-runs after a crash).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from tortoise.backends.base.client import BaseDBAsyncClient

from core.time import BEIJING
from models.exchange import RecordChange, RecordChangeKind
from models.team import Team
from models.volunteer import Volunteer

# Our field -> the exchange field (pinyin-style names as the published standards use; to be
# replaced with the official ones). Order is the CSV column order.
FIELD_MAP: dict[str, str] = {
    "changeId": "bgxh",  # 变更序号
    "kind": "jllx",  # 记录类型: SERVICE_HOURS / TRAINING / AWARD
    "volunteerNumber": "zyzbh",  # 志愿者编号 (unified number, not the ID number)
    "subjectId": "jlbh",  # 记录编号 (our row id of the record)
    "activityTitle": "xmmc",  # 项目名称
    "organiser": "zzdw",  # 组织单位
    "serviceDate": "fwrq",  # 服务日期 (Beijing, YYYY-MM-DD)
    "hours": "fwsc",  # 服务时长 (hours, two decimals; 0 when taken back)
    "status": "jlzt",  # 记录状态
    "title": "mc",  # 名称 (course or award)
    "occurredAt": "fssj",  # 发生时间 (ISO 8601 with offset)
}


def exchange_row(change: RecordChange) -> dict[str, Any]:
    """One change as the exchange's fields, in FIELD_MAP order (missing values empty)."""
    ours = {"changeId": change.id, "kind": change.kind.value,
            "volunteerNumber": change.volunteer_number, "subjectId": change.subject_id,
            **change.payload}
    return {theirs: ours.get(field, "") for field, theirs in FIELD_MAP.items()}


class RecordSink(Protocol):
    """Where a batch goes. `write` must be idempotent per batch name."""

    def write(self, batch: str, rows: Sequence[dict[str, Any]]) -> str: ...


@dataclass
class JsonLinesSink:
    directory: Path

    def write(self, batch: str, rows: Sequence[dict[str, Any]]) -> str:
        path = self.directory / f"{batch}.jsonl"
        if not path.exists():
            body = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
            _write_atomically(path, body)
        return str(path)


@dataclass
class CsvSink:
    directory: Path

    def write(self, batch: str, rows: Sequence[dict[str, Any]]) -> str:
        path = self.directory / f"{batch}.csv"
        if not path.exists():
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=list(FIELD_MAP.values()))
            writer.writeheader()
            writer.writerows(rows)
            _write_atomically(path, buffer.getvalue())
        return str(path)


def _write_atomically(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".part")
    partial.write_text(body, encoding="utf-8")
    partial.replace(path)


async def enqueue(conn: BaseDBAsyncClient | None, kind: RecordChangeKind, volunteer_number: str,
                  subject_id: int, payload: dict[str, Any]) -> None:
    """Call inside the transaction of the change."""
    await RecordChange.create(kind=kind, volunteer_number=volunteer_number,
                              subject_id=subject_id, payload=payload, using_db=conn)


async def enqueue_for(conn: BaseDBAsyncClient, kind: RecordChangeKind, volunteer_id: int,
                      subject_id: int, payload: dict[str, Any]) -> None:
    """As `enqueue`, looking up the person's unified number."""
    number = await Volunteer.filter(id=volunteer_id).using_db(conn) \
        .values_list("volunteer_number", flat=True)
    await enqueue(conn, kind, str(number[0]), subject_id, payload)


async def enqueue_hours(conn: BaseDBAsyncClient, *, volunteer_id: int, record_id: int,
                        activity_title: str, team_id: int, starts_at: datetime, hours: float,
                        status: str, moment: datetime) -> None:
    """A service record's hours changed (approved, adjusted, taken back)."""
    organiser = await Team.filter(id=team_id).using_db(conn).values_list("name", flat=True)
    await enqueue_for(conn, RecordChangeKind.SERVICE_HOURS, volunteer_id, record_id, {
        "activityTitle": activity_title, "organiser": str(organiser[0]) if organiser else "",
        "serviceDate": starts_at.astimezone(BEIJING).date().isoformat(),
        "hours": round(hours if status == "APPROVED" else 0.0, 2), "status": status,
        "occurredAt": moment.isoformat()})


@dataclass(frozen=True)
class DrainResult:
    batches: list[str]
    exported: int
    files: list[str]


async def _finish(batch: str, sinks: Sequence[RecordSink], moment: datetime) -> tuple[int, list[str]]:
    changes = await RecordChange.filter(batch=batch).order_by("id")
    rows = [exchange_row(change) for change in changes]
    files = [await asyncio.to_thread(sink.write, batch, rows) for sink in sinks]
    done = await RecordChange.filter(batch=batch, exported_at=None).update(exported_at=moment)
    return done, files


async def drain_outbox(sinks: Sequence[RecordSink], *, limit: int = 10_000,
                       now: datetime | None = None) -> DrainResult:
    """Export the oldest unexported changes (up to `limit`) as one batch to every sink.

    Two steps, so a crash loses nothing and duplicates nothing: changes are first claimed for
    a named batch (`batch` set where it was null), then written, then stamped `exported_at`.
    A batch claimed but not stamped (a crash between) is written again under its own name
    first; sinks skip a batch file that exists."""
    moment = now or datetime.now(UTC)
    result = DrainResult([], 0, [])
    unfinished = await RecordChange.filter(exported_at=None).exclude(batch=None) \
        .distinct().order_by("batch").values_list("batch", flat=True)
    batch = f"tx-{moment:%Y%m%d%H%M%S}-{secrets.token_hex(3)}"
    ids = await RecordChange.filter(exported_at=None, batch=None).order_by("id") \
        .limit(limit).values_list("id", flat=True)
    claimed = await RecordChange.filter(id__in=list(ids), batch=None).update(batch=batch) \
        if ids else 0
    for name in [*unfinished, *([batch] if claimed else [])]:
        done, files = await _finish(str(name), sinks, moment)
        result.batches.append(str(name))
        result.files.extend(files)
        result = DrainResult(result.batches, result.exported + done, result.files)
    return result


async def drain_to_directory(directory: str | None = None) -> int:
    """The `records-export` job and `server.py export-records`: JSON Lines and CSV side by side
    in EXCHANGE_EXPORT_DIR (or `directory`)."""
    target = Path(directory or os.environ["EXCHANGE_EXPORT_DIR"])
    result = await drain_outbox([JsonLinesSink(target), CsvSink(target)])
    return result.exported
