"""Domain errors: raised by the rules, mapped once to `extensions.code` in schema/errors.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class GlobalRef:
    """An object reference in `extensions`; the schema renders it as the object's global ID."""

    type_name: str
    db_id: int


class DomainError(Exception):
    code = "INTERNAL"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = extensions


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"

    def __init__(self, message: str = "Sign in first.", **extensions: Any) -> None:
        super().__init__(message, **extensions)


class Forbidden(DomainError):
    code = "FORBIDDEN"

    def __init__(self, message: str = "You are not allowed to do that.") -> None:
        super().__init__(message)


class NotQualified(DomainError):
    """Sign-up refused: a requirement of the activity is not met (FORBIDDEN, reason
    NOT_QUALIFIED, which requirement, and a course that grants it when there is one)."""

    code = "FORBIDDEN"

    def __init__(self, message: str, requirement: dict[str, Any],
                 course: GlobalRef | None = None) -> None:
        extra: dict[str, Any] = {"reason": "NOT_QUALIFIED", "requirement": requirement}
        if course is not None:
            extra["courseId"] = course
        super().__init__(message, **extra)


class NotFound(DomainError):
    """Also used for objects the caller may not see, so IDs cannot be probed."""

    code = "NOT_FOUND"

    def __init__(self, what: str = "Object") -> None:
        super().__init__(f"{what} not found.")
        self.what = what  # named in the reader's language by resolvers/messages.py


class BadInput(DomainError):
    code = "BAD_USER_INPUT"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field=field)
        self.field = field


class Conflict(DomainError):
    code = "CONFLICT"


class RateLimited(DomainError):
    code = "RATE_LIMITED"

    def __init__(self, retry_after: int, message: str = "Too many attempts; try again later.") -> None:
        super().__init__(message, retryAfter=retry_after)
        self.retry_after = retry_after
