"""The platform's local time: China Standard Time, UTC+8 all year (no daylight saving), in
which volunteers read activity dates, offer deadlines and award periods."""

from datetime import timedelta, timezone

BEIJING = timezone(timedelta(hours=8))
