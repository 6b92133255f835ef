"""Retention rules (PIPL art. 19, 47): personal data kept no longer than its purpose needs.

The rules are configuration (core/settings.py, README "Configuration"); 0 keeps forever.
`enforce_retention` applies every rule once and reports how many rows each removed; the job
`retention` (resolvers/jobs.py) runs it every six hours on one worker, and
`python server.py enforce-retention` runs it by hand and prints the report.

- drafts not saved for RETENTION_DRAFT_MONTHS: deleted;
- notifications older than RETENTION_NOTIFICATION_MONTHS: deleted;
- resolved or closed help requests: the exact address and coordinates are cleared
  RETENTION_HELP_LOCATION_MONTHS after they were resolved (the district stays for statistics);
- data archives built but not downloaded within RETENTION_ARCHIVE_DAYS: dropped.
Check-in coordinates are compared with the activity's site and never stored, so no rule is
needed for them (docs/privacy.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from core.settings import get_settings
from models.draft import Draft
from models.helprequest import HelpRequest, HelpRequestStatus
from models.notification import Notification
from models.privacy import DataRequest, DataRequestKind, DataRequestStatus
from resolvers.timebank import months_before

log = logging.getLogger("tongxin.retention")


@dataclass
class RetentionReport:
    """Rows each rule removed (or cleared), by rule name."""

    removed: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.removed.values())


async def enforce_retention(now: datetime | None = None) -> RetentionReport:
    settings = get_settings()
    moment = now or datetime.now(UTC)
    report = RetentionReport()
    if settings.retention_draft_months > 0:
        report.removed["drafts"] = await Draft.filter(
            updated_at__lt=months_before(moment, settings.retention_draft_months)).delete()
    if settings.retention_notification_months > 0:
        report.removed["notifications"] = await Notification.filter(
            created_at__lt=months_before(moment, settings.retention_notification_months)
        ).delete()
    if settings.retention_help_location_months > 0:
        before = months_before(moment, settings.retention_help_location_months)
        report.removed["helpRequestLocations"] = await HelpRequest.filter(
            status__in=[HelpRequestStatus.RESOLVED, HelpRequestStatus.CLOSED],
            resolved_at__lt=before,
        ).exclude(address_cipher=None, latitude=None, longitude=None).update(
            address_cipher=None, latitude=None, longitude=None)
    if settings.retention_archive_days > 0:
        report.removed["dataArchives"] = await DataRequest.filter(
            kind=DataRequestKind.EXPORT, status=DataRequestStatus.READY,
            decided_at__lt=moment - timedelta(days=settings.retention_archive_days),
        ).update(status=DataRequestStatus.DONE, archive=None, link_hash=None)
    log.info("retention: %s", report.removed)
    return report


async def run_retention_job() -> int:
    return (await enforce_retention()).total
