"""Passwords (argon2), tokens (JWT HS256) and the Viewer every use case receives."""

from __future__ import annotations

import asyncio
import functools
import math
import time
from collections import OrderedDict

import jwt
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

from core.settings import get_settings
from models.volunteer import Volunteer, VolunteerStatus
from resolvers.errors import Forbidden, Unauthenticated


@functools.cache
def _hashing() -> tuple[PasswordHasher, str]:
    """The deployment's hasher (PASSWORD_HASH_PROFILE) and a hash to verify against when the
    phone is unknown, so that login takes as long either way; made on first use, not by every
    process that imports this (a hash is ~0.2 s of CPU)."""
    hasher = PasswordHasher.from_parameters(getattr(profiles, get_settings().password_hash_profile))
    return hasher, hasher.hash("tongxin-dummy-password")


class ViewerNotLoaded(RuntimeError):
    """A programming error: something read a deferred viewer's account before `load()`."""


class Viewer:
    """Who is calling. `volunteer` is None for anonymous callers.

    A *deferred* viewer (`Viewer.deferred(id)`, HTTP requests) holds only the subject of a
    verified token: the account row is read by `load()`, which the schema does before any
    operation runs except those declared token-only (schema/viewer.py), whose use cases check
    the account in the statement that writes. Reading a deferred viewer's account before it is
    loaded raises ViewerNotLoaded, never answers as if anonymous."""

    __slots__ = ("_pending", "_volunteer", "load_failure")

    def __init__(self, volunteer: Volunteer | None = None) -> None:
        self._volunteer = volunteer
        self._pending: int | None = None
        # Why load() refused (the token was valid, the account is not); the endpoint
        # (schema/view.py) answers 401.
        self.load_failure: Unauthenticated | None = None

    @classmethod
    def deferred(cls, volunteer_id: int) -> Viewer:
        viewer = cls()
        viewer._pending = volunteer_id
        return viewer

    def __repr__(self) -> str:
        if self._pending is not None:
            return f"Viewer(deferred={self._pending})"
        return f"Viewer({self._volunteer!r})"

    @property
    def loaded(self) -> bool:
        return self._pending is None

    @property
    def claimed_id(self) -> int | None:
        """The token's subject, loaded or not: only for statements that check the account
        themselves (active, consenting) in the same round trip."""
        return self._pending if self._pending is not None else self.id

    async def load(self) -> Viewer:
        """Reads the account of a deferred viewer (once); the checks of viewer_from_token."""
        if self._pending is not None:
            volunteer = await Volunteer.get_or_none(id=self._pending)
            if volunteer is None or volunteer.status in (VolunteerStatus.PENDING_CONSENT,
                                                         VolunteerStatus.DELETED):
                self.load_failure = Unauthenticated(
                    "Your session token is invalid or expired; sign in again.")
                raise self.load_failure
            self._volunteer, self._pending = volunteer, None
        return self

    @property
    def volunteer(self) -> Volunteer | None:
        if self._pending is not None:
            raise ViewerNotLoaded("the viewer's account was read before Viewer.load()")
        return self._volunteer

    @volunteer.setter
    def volunteer(self, volunteer: Volunteer | None) -> None:
        self._volunteer, self._pending = volunteer, None

    @property
    def id(self) -> int | None:
        volunteer = self.volunteer
        return volunteer.id if volunteer else None

    @property
    def is_platform_admin(self) -> bool:
        volunteer = self.volunteer
        return bool(volunteer and volunteer.is_platform_admin)

    def require(self) -> Volunteer:
        volunteer = self.volunteer
        if volunteer is None:
            raise Unauthenticated()
        return volunteer

    def require_active(self, doing: str = "do that") -> Volunteer:
        """Signed in and ACTIVE: suspended (or not yet consenting) people act on nothing."""
        volunteer = self.require()
        if volunteer.status != VolunteerStatus.ACTIVE:
            raise Forbidden(f"Your account cannot {doing} right now.")
        return volunteer


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hashing()[0].hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    hasher, dummy = _hashing()

    def check() -> bool:
        try:
            return hasher.verify(password_hash or dummy, password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


def issue_token(volunteer_id: int) -> str:
    settings = get_settings()
    now = int(time.time())
    claims = {"sub": str(volunteer_id), "iat": now, "exp": now + settings.jwt_ttl_seconds}
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


# Tokens whose signature verified: token → (subject, expiry). A client sends the same token
# with every request; verifying it is an HMAC plus PyJWT's parsing (~90 µs, 6 % of a sign-up's
# CPU). The expiry is still checked on every use; the cache is per process, bounded, and only
# ever holds tokens this server's secret signed.
_VERIFIED: OrderedDict[str, tuple[int, float]] = OrderedDict()
VERIFIED_TOKENS_KEPT = 10_000


def token_subject(token: str) -> int | None:
    known = _VERIFIED.get(token)
    if known is not None:
        if known[1] > time.time():
            return known[0]
        del _VERIFIED[token]
        return None
    try:
        claims = jwt.decode(token, get_settings().jwt_secret, algorithms=["HS256"])
        subject = int(claims["sub"])
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        return None
    if int(claims.get("nbf", 0)) <= time.time():  # not-yet-valid tokens are never kept
        _VERIFIED[token] = (subject, float(claims.get("exp", math.inf)))
        if len(_VERIFIED) > VERIFIED_TOKENS_KEPT:
            _VERIFIED.popitem(last=False)
    return subject


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return token.strip()


def deferred_viewer(token: str | None) -> Viewer:
    """The token verified (signature, expiry), the account not read yet: see Viewer."""
    if token is None:
        return Viewer()
    subject = token_subject(token)
    if subject is None:
        raise Unauthenticated("Your session token is invalid or expired; sign in again.")
    return Viewer.deferred(subject)


async def viewer_from_token(token: str | None) -> Viewer:
    """Invalid or expired tokens raise; a missing token is an anonymous viewer."""
    return await deferred_viewer(token).load()
