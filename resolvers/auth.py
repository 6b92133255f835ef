"""Passwords (argon2), tokens (JWT HS256) and the Viewer every use case receives."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.settings import get_settings
from models.volunteer import Volunteer, VolunteerStatus
from resolvers.errors import Forbidden, Unauthenticated

_hasher = PasswordHasher()
# Verifying against this keeps login timing equal whether or not the phone exists.
_DUMMY_HASH = _hasher.hash("tongxin-dummy-password")


@dataclass
class Viewer:
    """Who is calling. `volunteer` is None for anonymous callers."""

    volunteer: Volunteer | None = None

    @property
    def id(self) -> int | None:
        return self.volunteer.id if self.volunteer else None

    @property
    def is_platform_admin(self) -> bool:
        return bool(self.volunteer and self.volunteer.is_platform_admin)

    def require(self) -> Volunteer:
        if self.volunteer is None:
            raise Unauthenticated()
        return self.volunteer

    def require_active(self, doing: str = "do that") -> Volunteer:
        """Signed in and ACTIVE: suspended (or not yet consenting) people act on nothing."""
        volunteer = self.require()
        if volunteer.status != VolunteerStatus.ACTIVE:
            raise Forbidden(f"Your account cannot {doing} right now.")
        return volunteer


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


def issue_token(volunteer_id: int) -> str:
    settings = get_settings()
    now = int(time.time())
    claims = {"sub": str(volunteer_id), "iat": now, "exp": now + settings.jwt_ttl_seconds}
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


def token_subject(token: str) -> int | None:
    try:
        claims = jwt.decode(token, get_settings().jwt_secret, algorithms=["HS256"])
        return int(claims["sub"])
    except (jwt.PyJWTError, KeyError, ValueError):
        return None


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return token.strip()


async def viewer_from_token(token: str | None) -> Viewer:
    """Invalid or expired tokens raise; a missing token is an anonymous viewer."""
    if token is None:
        return Viewer()
    subject = token_subject(token)
    if subject is None:
        raise Unauthenticated("Your session token is invalid or expired; sign in again.")
    volunteer = await Volunteer.get_or_none(id=subject)
    if volunteer is None or volunteer.status == VolunteerStatus.PENDING_CONSENT:
        raise Unauthenticated("Your session token is invalid or expired; sign in again.")
    return Viewer(volunteer)
