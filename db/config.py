"""Tortoise configuration derived from DATABASE_URL (SQLite file under ./data by default)."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from core.settings import DATA_DIR
from db.routing import default_transactions
from models import MODEL_MODULES


def database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite://{DATA_DIR / 'tongxin.sqlite3'}"


def connection_config(url: str) -> dict[str, Any] | str:
    parts = urlsplit(url)
    if parts.scheme in ("postgres", "postgresql"):
        extra = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        return {
            "engine": "db.asyncpg_pooled",
            "credentials": {
                "host": parts.hostname or "127.0.0.1",
                "port": parts.port or 5432,
                "user": unquote(parts.username or ""),
                "password": unquote(parts.password or ""),
                "database": parts.path.lstrip("/"),
                "minsize": 1,
                "maxsize": int(os.environ.get("DB_POOL_MAX", "20")),
                "command_timeout": 30,
                "timeout": 10,
                **extra,
            },
        }
    if parts.scheme == "sqlite":
        path = url[len("sqlite://") :]
        return {
            "engine": "db.sqlite_immediate",
            "credentials": {
                "file_path": path,
                "journal_mode": "WAL",
                "journal_size_limit": 16384,
                "foreign_keys": "ON",
                "busy_timeout": 10000,
                "synchronous": "NORMAL",
            },
        }
    return url


def read_database_url() -> str | None:
    """DATABASE_READ_URL: a streaming replica of DATABASE_URL (optional, PostgreSQL)."""
    return os.environ.get("DATABASE_READ_URL") or None


def tortoise_config(url: str | None = None, read_url: str | None = None) -> dict[str, Any]:
    """`read_url` (default: DATABASE_READ_URL, only next to a PostgreSQL primary) adds a
    "replica" connection and the router of db/routing.py."""
    primary = url or database_url()
    postgres = urlsplit(primary).scheme in ("postgres", "postgresql")
    replica = read_url or (read_database_url() if postgres else None)
    connections: dict[str, Any] = {"default": connection_config(primary)}
    extra: dict[str, Any] = {}
    if replica:
        default_transactions()
        replica_config = connection_config(replica)
        if isinstance(replica_config, dict) and replica_config["engine"] == "db.asyncpg_pooled":
            replica_config["engine"] = "db.asyncpg_replica"  # falls back to the primary
        connections["replica"] = replica_config
        extra["routers"] = ["db.routing.ReadReplicaRouter"]
    return {
        **extra,
        "connections": connections,
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


TORTOISE_ORM = tortoise_config()


def is_postgres(url: str | None = None) -> bool:
    return urlsplit(url or database_url()).scheme in ("postgres", "postgresql")
