"""Leaderboards over approved hours (implemented by the leaderboard work, issue 6)."""

from __future__ import annotations

from datetime import datetime


async def notify_hours_changed(
    volunteer_id: int, team_id: int, district: str, delta: float, approved_at: datetime
) -> None:
    """After commit of an approval/adjustment/rejection: apply `delta` hours to the boards."""
    return None
