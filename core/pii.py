"""Personal data at rest: AES-GCM ciphertexts that name the key they were sealed with, and
keyed blind indexes (HMAC-SHA256) that keep equality lookups exact and indexed.

Every key of the deployment (`PII_KEYS` / `PII_KEY`, core/settings.py) is a 32-byte master
secret with a small integer id. Two keys are derived from each master with HKDF-SHA256: one
seals values (AES-256-GCM, 96-bit random nonce, the column's name as associated data, so a
ciphertext moved to another column does not open), the other keys the blind index. The
highest id is current: new values are sealed with it and indexed with it; older keys still
open their ciphertexts, and lookups try the index of every configured key, so a rotation
(`rotate-pii-key`, resolvers/pii.py) can run while the service answers.

A stored value reads `<key id>:<base64url(nonce || ciphertext || tag)>`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.settings import get_settings

KEY_BYTES = 32
NONCE_BYTES = 12
INDEX_HEX = 64
# Columns' associated data; a value sealed for one column does not open in another.
PHONE = "volunteer.phone"
ID_NUMBER = "volunteer.id_number"
HELP_ADDRESS = "help_request.address"
HOME_ADDRESS = "volunteer.home_address"
# Sealed lengths (key id, colon, base64 of nonce + text + 16-byte tag) for the columns' bounds.
PHONE_CIPHER_MAX = 64
ID_NUMBER_CIPHER_MAX = 80


class PiiKeyError(ValueError):
    """A ciphertext names a key this deployment does not hold, or does not open."""


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"tongxin/pii/" + purpose).derive(master)


@dataclass(frozen=True)
class _Key:
    id: int
    sealer: AESGCM
    index_key: bytes


class Keyring:
    """The deployment's keys; `current` seals and indexes new values."""

    def __init__(self, masters: Iterable[tuple[int, bytes]]) -> None:
        self._keys = {key_id: _Key(key_id, AESGCM(_derive(master, b"seal")), _derive(master, b"index"))
                      for key_id, master in masters}
        if not self._keys:
            raise ValueError("a keyring needs at least one key")
        self.current = max(self._keys)
        # Current first: the index a fresh value is stored under is the first one looked up.
        self.ids = sorted(self._keys, reverse=True)

    def seal(self, value: str, column: str) -> str:
        key = self._keys[self.current]
        nonce = os.urandom(NONCE_BYTES)
        sealed = key.sealer.encrypt(nonce, value.encode(), column.encode())
        return f"{key.id}:{base64.urlsafe_b64encode(nonce + sealed).decode().rstrip('=')}"

    def open(self, stored: str, column: str) -> str:
        key_id, _, body = stored.partition(":")
        key = self._keys.get(int(key_id)) if key_id.isdigit() else None
        if key is None:
            raise PiiKeyError(f"{column}: sealed with key {key_id!r}, which is not configured")
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        try:
            return key.sealer.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], column.encode()).decode()
        except Exception as error:  # InvalidTag: tampered, or another column's value
            raise PiiKeyError(f"{column}: a value does not open with key {key.id}") from error

    def index(self, value: str, column: str, key_id: int | None = None) -> str:
        key = self._keys[self.current if key_id is None else key_id]
        return hmac.new(key.index_key, column.encode() + b"\0" + value.encode(), hashlib.sha256).hexdigest()

    def indexes(self, value: str, column: str) -> list[str]:
        """The value's index under every configured key (current first), for lookups that
        must find rows not yet rotated."""
        return [self.index(value, column, key_id) for key_id in self.ids]

    def is_current(self, stored: str) -> bool:
        return stored.startswith(f"{self.current}:")


@lru_cache(maxsize=1)
def keyring() -> Keyring:
    return Keyring(get_settings().pii_keys)


def seal(value: str, column: str) -> str:
    return keyring().seal(value, column)


def open_sealed(stored: str, column: str) -> str:
    return keyring().open(stored, column)


def open_optional(stored: str | None, column: str) -> str | None:
    return None if stored is None else keyring().open(stored, column)


def blind_index(value: str, column: str) -> str:
    return keyring().index(value, column)


def lookup_indexes(value: str, column: str) -> list[str]:
    return keyring().indexes(value, column)


class SealedIdentity(Protocol):
    phone_cipher: str | None  # null once the account's personal data is erased
    id_number_cipher: str | None


def _opened(stored: str | None, column: str) -> str:
    if stored is None:
        raise PiiKeyError(f"{column}: erased")
    return keyring().open(stored, column)


def identity_columns(phone: str, id_number: str) -> dict[str, Any]:
    """A volunteer's sealed phone and ID number with their blind indexes, as model fields."""
    ring = keyring()
    return {
        "phone_cipher": ring.seal(phone, PHONE), "phone_index": ring.index(phone, PHONE),
        "id_number_cipher": ring.seal(id_number, ID_NUMBER),
        "id_number_index": ring.index(id_number, ID_NUMBER),
    }


def phone_of(person: SealedIdentity) -> str:
    return _opened(person.phone_cipher, PHONE)


def id_number_of(person: SealedIdentity) -> str:
    return _opened(person.id_number_cipher, ID_NUMBER)


def home_address_of(person: Any) -> str | None:
    """The person's exact home address, opened; None when they gave none (or it was erased)."""
    return open_optional(person.home_address_cipher, HOME_ADDRESS)


def with_phone(phone: str) -> dict[str, Any]:
    """Filter arguments finding the volunteer with this (normalised) phone."""
    return {"phone_index__in": keyring().indexes(phone, PHONE)}


def with_id_number(id_number: str) -> dict[str, Any]:
    return {"id_number_index__in": keyring().indexes(id_number, ID_NUMBER)}
