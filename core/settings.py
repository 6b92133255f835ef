"""Deployment settings, read once from the environment."""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(os.environ.get("TONGXIN_DATA_DIR", Path(__file__).resolve().parent.parent / "data"))


def _floats(raw: str) -> tuple[float, ...]:
    return tuple(float(part) for part in raw.split(",") if part.strip())


class ConfigurationError(RuntimeError):
    """The environment asks for something the server cannot start with; the message says how to fix it."""


def _reminder_offsets(raw: str) -> tuple[int, ...]:
    """REMINDER_OFFSETS_HOURS ("24,2"; empty: no shift reminders) as whole minutes, largest first."""
    minutes = {round(hours * 60) for hours in _floats(raw)}
    if any(m <= 0 or m > 14 * 24 * 60 for m in minutes):
        raise ConfigurationError("REMINDER_OFFSETS_HOURS: each offset must be over 0 and at most "
                                 f"336 hours (got {raw!r})")
    return tuple(sorted(minutes, reverse=True))


def _embedded_jwt_secret() -> str:
    """The embedded default generates one secret per data directory and keeps it there."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / "jwt_secret"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _embedded_pii_keys() -> str:
    """Like the JWT secret: one PII key per data directory, generated on first run."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / "pii_keys"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("1:" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
    return path.read_text().strip()


PII_KEY_HELP = ("generate one with: python3 -c 'import base64, secrets; "
                "print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())'")


def parse_pii_keys(raw: str) -> tuple[tuple[int, bytes], ...]:
    """`PII_KEYS=2:<base64>,1:<base64>` (or one `PII_KEY`, id 1 unless written `<id>:<key>`):
    32-byte keys by id; the highest id seals new values."""
    keys: dict[int, bytes] = {}
    for part in raw.replace("\n", ",").split(","):
        part = part.strip()
        if not part:
            continue
        key_id, _, text = part.rpartition(":") if ":" in part else ("1", ":", part)
        try:
            number = int(key_id)
            key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except ValueError:
            raise ConfigurationError(f"PII key {key_id!r} is not `<id>:<base64>`; {PII_KEY_HELP}") from None
        if number < 1 or len(key) != 32 or number in keys:
            raise ConfigurationError(
                f"PII key {number} must be 32 bytes of base64 with a unique positive id; {PII_KEY_HELP}")
        keys[number] = key
    if not keys:
        raise ConfigurationError(f"PII_KEY is empty; {PII_KEY_HELP}")
    return tuple(sorted(keys.items()))


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    redis_url: str | None
    jwt_secret: str
    # Keys sealing phones, ID numbers and addresses at rest (core/pii.py), by id.
    pii_keys: tuple[tuple[int, bytes], ...] = ()
    jwt_ttl_seconds: int = 7 * 24 * 3600
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = 1_000_000
    # Largest roster a platform admin may upload for import (POST /imports/volunteers).
    import_max_bytes: int = 20_000_000
    disable_introspection: bool = False
    star_thresholds: tuple[float, ...] = (100, 300, 600, 1000, 1500)
    points_per_hour: int = 10
    # Points expire this many months after they were earned (FIFO); 0 = never (default).
    points_expire_months: int = 0
    # A place freed this close to the start is offered to the next waitlisted volunteer for
    # offer_hold_minutes instead of promoting them at once; 0 = always promote at once.
    offer_window_hours: float = 24.0
    offer_hold_minutes: float = 30.0
    # How often each process looks for offers that are due (expired or to be made).
    offer_check_seconds: float = 5.0
    # Open check-ins are closed (as PENDING hours flagged for review) this long after the end.
    auto_close_grace_minutes: float = 120.0
    # Shift reminders (resolvers/reminder.py): minutes before the start, largest first, and
    # how often the one reminder runner looks; organisers are reminded this long after the end.
    reminder_offsets_minutes: tuple[int, ...] = (1440, 120)
    reminder_check_seconds: float = 30.0
    organiser_reminder_after_hours: float = 3.0
    login_attempts_per_phone: int = 5
    login_attempts_per_address: int = 30
    login_window_seconds: int = 300
    posts_per_minute: int = 10
    # Chat messages one person may send per minute (all rooms together).
    chat_messages_per_minute: int = 30
    # Service desk (resolvers/servicedesk.py): the SLA promise, a first staff reply within
    # this many hours of opening; the stats report the share of tickets that got it.
    service_desk_first_reply_hours: float = 4.0
    # Service stations: the share of scheduled slots that should be staffed (城市志愿服务站).
    station_operating_target: float = 0.95
    post_body_max_chars: int = 10_000
    db_pool_max: int = 20
    # Retention rules (resolvers/retention.py, job `retention`); 0 keeps forever.
    # Drafts and notifications untouched this many months are deleted; resolved or closed
    # help requests lose their exact address and coordinates this many months after; built
    # data archives nobody downloaded are dropped after retention_archive_days.
    retention_draft_months: int = 12
    retention_notification_months: int = 6
    retention_help_location_months: int = 3
    retention_archive_days: int = 7
    shared_subscriptions: bool = True
    # schema/prepared.py + schema/prepared_edge.py: hot token-only mutations skip the general
    # HTTP/extension layers (same answers; tests compare). 0 turns it off.
    prepared_operations: bool = True
    # schema/persisted.py: automatic persisted queries kept per process (LRU, documents) and
    # in Redis (seconds); a manifest path in trusted_documents lets only its documents run.
    persisted_queries_kept: int = 1000
    persisted_queries_ttl_seconds: int = 24 * 3600
    trusted_documents: str | None = None
    # uvicorn's WebSocket implementation. "lean-sansio" (schema/live/direct.py) is uvicorn's
    # websockets-sansio with lighter per-connection state; both have no tasks per connection
    # and a synchronous send underneath, which the shared path writes to directly.
    # "websockets" or "wsproto" work too, on the awaiting path.
    ws_protocol: str = "lean-sansio"
    # argon2 parameters by argon2-cffi's profile name; CHEAPEST is for test suites only (a
    # hash costs ~0.2 s of CPU with the default, on purpose, and tests log in thousands of times)
    password_hash_profile: str = "RFC_9106_LOW_MEMORY"
    gc_freeze_seconds: float = 10.0
    gc_full_seconds: float = 900.0
    # Load the forum's word segmenter (jieba's dictionary, ~0.8 s of CPU under the GIL) as the
    # worker starts, not in the first post or search it serves, which would stall every request
    # of that worker meanwhile. The test suite turns it off (its ~30 servers rarely post).
    search_preload: bool = True
    # GET /metrics (core/metrics.py) answers only `Authorization: Bearer <metrics_token>`;
    # unset, there is no /metrics.
    metrics_token: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def embedded(self) -> bool:
        return not self.database_url or self.database_url.startswith("sqlite")


def _positive_hours(value: str, name: str) -> float:
    try:
        hours = float(value)
    except ValueError:
        hours = 0.0
    if not 0 < hours <= 24 * 30:
        raise ConfigurationError(f"{name} must be a number of hours over 0, at most 720 "
                                 f"(got {value!r})")
    return hours


def _choice(value: str, name: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigurationError(f"{name} must be one of {', '.join(allowed)} (got {value!r})")
    return value


MIN_JWT_SECRET_BYTES = 32


def post_body_max_chars(env: Mapping[str, str] = os.environ) -> int:
    """POST_BODY_MAX_CHARS, read here for the forum's rules and by the input boundary
    (schema/limits.py), which states it in the schema: one reading for both."""
    return int(env.get("POST_BODY_MAX_CHARS", 10_000))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    env = os.environ
    database_url = env.get("DATABASE_URL") or None
    secret = env.get("JWT_SECRET")
    if not secret:
        if database_url and not database_url.startswith("sqlite"):
            raise ConfigurationError("JWT_SECRET must be set when DATABASE_URL points at a shared database")
        secret = _embedded_jwt_secret()
    if len(secret.encode()) < MIN_JWT_SECRET_BYTES:
        # HS256 tokens signed with a short key can be brute-forced offline from any one token.
        raise ConfigurationError(
            f"JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes (RFC 7518 §3.2); generate one "
            "with: python3 -c 'import secrets; print(secrets.token_urlsafe(48))'")
    pii_raw = env.get("PII_KEYS") or env.get("PII_KEY")
    if not pii_raw:
        if database_url and not database_url.startswith("sqlite"):
            raise ConfigurationError(
                f"PII_KEY must be set when DATABASE_URL points at a shared database; {PII_KEY_HELP}")
        pii_raw = _embedded_pii_keys()
    return Settings(
        database_url=database_url,
        redis_url=env.get("REDIS_URL") or None,
        jwt_secret=secret,
        pii_keys=parse_pii_keys(pii_raw),
        jwt_ttl_seconds=int(env.get("JWT_TTL_SECONDS", 7 * 24 * 3600)),
        cors_origins=tuple(o.strip() for o in env.get("CORS_ORIGINS", "").split(",") if o.strip()),
        max_body_bytes=int(env.get("MAX_BODY_BYTES", 1_000_000)),
        import_max_bytes=int(env.get("IMPORT_MAX_BYTES", 20_000_000)),
        shared_subscriptions=env.get("SHARED_SUBSCRIPTIONS", "1") != "0",
        prepared_operations=env.get("PREPARED_OPERATIONS", "1") != "0",
        persisted_queries_kept=int(env.get("PERSISTED_QUERIES_KEPT", 1000)),
        persisted_queries_ttl_seconds=int(env.get("PERSISTED_QUERIES_TTL_SECONDS", 24 * 3600)),
        trusted_documents=env.get("TRUSTED_DOCUMENTS") or None,
        ws_protocol=_choice(env.get("WS_PROTOCOL", "lean-sansio"), "WS_PROTOCOL",
                            ("lean-sansio", "websockets-sansio", "websockets", "wsproto")),
        password_hash_profile=_choice(
            env.get("PASSWORD_HASH_PROFILE", "RFC_9106_LOW_MEMORY"), "PASSWORD_HASH_PROFILE",
            ("RFC_9106_LOW_MEMORY", "RFC_9106_HIGH_MEMORY", "CHEAPEST")),
        gc_freeze_seconds=float(env.get("GC_FREEZE_SECONDS", 10)),
        gc_full_seconds=float(env.get("GC_FULL_SECONDS", 900)),
        search_preload=env.get("SEARCH_PRELOAD", "1") != "0",
        metrics_token=env.get("METRICS_TOKEN") or None,
        disable_introspection=env.get("DISABLE_INTROSPECTION") == "1",
        star_thresholds=_floats(env.get("STAR_THRESHOLDS", "100,300,600,1000,1500")),
        points_per_hour=int(env.get("POINTS_PER_HOUR", 10)),
        points_expire_months=int(env.get("POINTS_EXPIRE_MONTHS", 0)),
        offer_window_hours=float(env.get("OFFER_WINDOW_HOURS", 24)),
        offer_hold_minutes=float(env.get("OFFER_HOLD_MINUTES", 30)),
        offer_check_seconds=float(env.get("OFFER_CHECK_SECONDS", 5)),
        auto_close_grace_minutes=float(env.get("AUTO_CLOSE_GRACE_MINUTES", 120)),
        reminder_offsets_minutes=_reminder_offsets(env.get("REMINDER_OFFSETS_HOURS", "24,2")),
        reminder_check_seconds=float(env.get("REMINDER_CHECK_SECONDS", 30)),
        organiser_reminder_after_hours=float(env.get("ORGANISER_REMINDER_AFTER_HOURS", 3)),
        login_attempts_per_phone=int(env.get("LOGIN_ATTEMPTS_PER_PHONE", 5)),
        login_attempts_per_address=int(env.get("LOGIN_ATTEMPTS_PER_ADDRESS", 30)),
        login_window_seconds=int(env.get("LOGIN_WINDOW_SECONDS", 300)),
        posts_per_minute=int(env.get("POSTS_PER_MINUTE", 10)),
        chat_messages_per_minute=int(env.get("CHAT_MESSAGES_PER_MINUTE", 30)),
        service_desk_first_reply_hours=_positive_hours(
            env.get("SERVICE_DESK_FIRST_REPLY_HOURS", "4"), "SERVICE_DESK_FIRST_REPLY_HOURS"),
        station_operating_target=float(env.get("STATION_OPERATING_TARGET", 0.95)),
        post_body_max_chars=post_body_max_chars(env),
        db_pool_max=int(env.get("DB_POOL_MAX", 20)),
        retention_draft_months=int(env.get("RETENTION_DRAFT_MONTHS", 12)),
        retention_notification_months=int(env.get("RETENTION_NOTIFICATION_MONTHS", 6)),
        retention_help_location_months=int(env.get("RETENTION_HELP_LOCATION_MONTHS", 3)),
        retention_archive_days=int(env.get("RETENTION_ARCHIVE_DAYS", 7)),
    )
