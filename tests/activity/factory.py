"""Activity fixtures built straight on the models (fast), for tests that exercise sign-ups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from models.activity import Activity, ActivityStatus
from models.team import Team
from models.volunteer import Volunteer


async def make_activity(
    team: Team,
    creator: Volunteer,
    *,
    title: str = "社区助老活动",
    capacity: int = 10,
    waitlist_limit: int | None = None,
    starts_in: timedelta = timedelta(days=3),
    length: timedelta = timedelta(hours=3),
    status: ActivityStatus = ActivityStatus.PUBLISHED,
    starts_at: datetime | None = None,
    **extra: Any,
) -> Activity:
    """Starts `starts_in` from now, or at `starts_at` (two shifts at the same time must not
    depend on being created within the same wall-clock second)."""
    if starts_at is None:
        starts_at = datetime.now(UTC).replace(microsecond=0) + starts_in
    values: dict[str, Any] = {
        "description": "陪伴社区老人，打扫卫生。", "category": "助老", "district": "朝阳区",
        "sign_up_deadline": starts_at, "hours_credit": length.total_seconds() / 3600,
        **extra,
    }
    return await Activity.create(
        team=team, created_by=creator, title=title, starts_at=starts_at,
        ends_at=starts_at + length, capacity=capacity,
        waitlist_limit=capacity if waitlist_limit is None else waitlist_limit,
        status=status, **values,
    )
