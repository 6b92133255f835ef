"""Opaque page cursors the server can trust: JSON plus a MAC, so a client cannot hand the
database values it never produced (out-of-range integers, wrong types, nested objects)."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
from typing import Any

from core.settings import get_settings


@functools.cache
def _key() -> bytes:
    return hashlib.sha256(b"tongxin-cursor:" + get_settings().jwt_secret.encode()).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode())


def _mac(raw: bytes) -> bytes:
    # hmac.digest: OpenSSL's one-shot HMAC, without building an hmac.HMAC object (a page of
    # 20 cursors is sealed per request on the list reads).
    return hmac.digest(_key(), raw, "sha256")[:12]


# json.dumps(payload, separators=(",", ":")) builds this encoder on every call.
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode


def seal_cursor(payload: Any) -> str:
    raw = _ENCODE(payload).encode()
    return f"{_b64(raw)}.{_b64(_mac(raw))}"


def open_cursor(cursor: str) -> Any:
    """The payload of a cursor made by `seal_cursor`; ValueError for anything else."""
    body, _, mac = cursor.rpartition(".")
    try:
        raw = _unb64(body)
        valid = hmac.compare_digest(_unb64(mac), _mac(raw))
    except (ValueError, TypeError):  # binascii.Error is a ValueError
        raise ValueError("not a cursor") from None
    if not valid:
        raise ValueError("not a cursor")
    return json.loads(raw)
