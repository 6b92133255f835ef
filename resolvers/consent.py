"""Consent by purpose (PIPL Art. 14, 28–31): versioned texts, grants and withdrawals recorded
with who, which version, when and from where; a guardian's consent for volunteers under 14.

The current answer per purpose is one `consent` row beside the append-only history, so the
rules that depend on it (nearby matching, SMS, leaderboard names) read one indexed row. No
row means the purpose was never withdrawn: LOCATION, SMS and LEADERBOARD_DISPLAY were part
of the service terms people accepted before consent became per purpose, and stay on until
withdrawn; withdrawing takes effect at once (`notify_consent_changed` tells live
subscriptions on every process).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from tortoise.transactions import in_transaction

from core.time import BEIJING
from models.consent import Consent, ConsentEvent, ConsentPurpose
from models.volunteer import Volunteer
from resolvers.auth import Viewer
from resolvers.errors import BadInput, Forbidden
from resolvers.services import services
from resolvers.validation import NAME_MAX, check_text
from subscriptions import channels

GUARDIAN_AGE = 14  # PIPL Art. 31: under 14, a parent's or guardian's consent
ADULT_AGE = 18
RELATION_MAX = 20

# Versioned texts: a new wording is a new version; what people agreed to stays readable.
TEXTS: dict[ConsentPurpose, dict[int, str]] = {
    ConsentPurpose.REGISTRATION: {
        1: "我同意《同心志愿服务平台服务条款》，同意平台为实名注册、志愿服务记录与证明处理我的姓名、"
           "身份证号、手机号和所在区域。",
    },
    ConsentPurpose.LOCATION: {
        1: "我同意平台在我查找附近求助、接收附近求助推送和活动签到时使用我的位置。位置属于敏感个人信息，"
           "仅用于上述匹配与签到核验，可随时撤回；撤回后不再按位置为我匹配。",
    },
    ConsentPurpose.SMS: {
        1: "我同意平台向我的手机号发送活动提醒、候补递补和紧急召集短信，可随时撤回。",
    },
    ConsentPurpose.LEADERBOARD_DISPLAY: {
        1: "我同意在公开的志愿服务排行榜上显示我的名字和服务时长；撤回后以匿名方式显示。",
    },
}
MINORS_NOTICE = ("你未满18周岁。平台按未成年人保护规定处理你的个人信息：只收集注册和服务记录必需的信息，"
                 "可参加的活动受年龄要求限制，你和监护人可随时查询、更正或删除你的信息。")


def current_version(purpose: ConsentPurpose) -> int:
    return max(TEXTS[purpose])


def age_of(birth: date, today: date | None = None) -> int:
    day = today or datetime.now(BEIJING).date()
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def minors_notice(volunteer: Volunteer, today: date | None = None) -> str | None:
    """Shown to volunteers aged 14–17 (under 14, the guardian consented for them)."""
    return minors_notice_for(volunteer.birth_date, today)


def minors_notice_for(birth: date, today: date | None = None) -> str | None:
    """`minors_notice` from the birth date alone (the compiled `me` reads only the column)."""
    return MINORS_NOTICE if GUARDIAN_AGE <= age_of(birth, today) < ADULT_AGE else None


@dataclass(frozen=True)
class Guardian:
    name: str
    relation: str


def check_guardian(birth: date, name: str | None, relation: str | None) -> Guardian | None:
    """The guardian whose consent is recorded for a person under 14 (required), else None."""
    if age_of(birth) >= GUARDIAN_AGE:
        return None
    if not name:
        raise BadInput("guardian", "Volunteers under 14 need a parent's or guardian's consent.")
    return Guardian(check_text(name, "guardian.name", max_len=NAME_MAX),
                    check_text(relation, "guardian.relation", max_len=RELATION_MAX))


def check_version(purpose: ConsentPurpose, version: int | None) -> int:
    current = current_version(purpose)
    if version is not None and version != current:
        raise BadInput("version", f"The current text of {purpose.value} is version {current}; "
                                  "read it and agree to that one.")
    return current


async def record_consent(volunteer_id: int, purpose: ConsentPurpose, granted: bool,
                         client_address: str, *, version: int | None = None,
                         guardian: Guardian | None = None, using_db: Any = None) -> None:
    """The event and the current answer, in the caller's transaction (`using_db`) or one of
    their own."""
    moment = datetime.now(UTC)
    chosen = version or current_version(purpose)

    async def write(connection: Any) -> None:
        await ConsentEvent.create(
            volunteer_id=volunteer_id, purpose=purpose, version=chosen, granted=granted,
            client_address=client_address[:64], guardian_name=guardian.name if guardian else None,
            guardian_relation=guardian.relation if guardian else None, using_db=connection)
        changed = await Consent.filter(volunteer_id=volunteer_id, purpose=purpose).using_db(
            connection).update(version=chosen, granted=granted, updated_at=moment)
        if not changed:
            await Consent.create(volunteer_id=volunteer_id, purpose=purpose, version=chosen,
                                 granted=granted, updated_at=moment, using_db=connection)

    if using_db is not None:
        await write(using_db)
    else:
        async with in_transaction() as connection:
            await write(connection)


async def do_set_consent(viewer: Viewer, purpose: ConsentPurpose, granted: bool,
                         client_address: str, version: int | None = None,
                         guardian_name: str | None = None,
                         guardian_relation: str | None = None) -> Consent:
    """Grant (to the current text) or withdraw one purpose. Registration is the account
    itself: it is withdrawn by deleting the account, not here."""
    volunteer = viewer.require()
    if purpose == ConsentPurpose.REGISTRATION and not granted:
        raise BadInput("purpose", "Registration consent is withdrawn by deleting the account.")
    chosen = check_version(purpose, version) if granted else None
    guardian = check_guardian(volunteer.birth_date, guardian_name, guardian_relation) if granted else None
    await record_consent(volunteer.id, purpose, granted, client_address, version=chosen,
                         guardian=guardian)
    await notify_consent_changed(volunteer.id, purpose, granted)
    return await Consent.get(volunteer_id=volunteer.id, purpose=purpose)


async def notify_consent_changed(volunteer_id: int, purpose: ConsentPurpose, granted: bool) -> None:
    await services().broker.publish(channels.consent(volunteer_id),
                                    {"purpose": purpose.value, "granted": granted})


async def withdrawn(volunteer_ids: Iterable[int], purpose: ConsentPurpose) -> set[int]:
    """Which of these people withdrew `purpose` (one indexed query)."""
    ids = list(set(volunteer_ids))
    if not ids:
        return set()
    rows = await Consent.filter(volunteer_id__in=ids, purpose=purpose, granted=False).values(
        "volunteer_id")
    return {int(row["volunteer_id"]) for row in rows}


async def check_location_allowed(viewer: Viewer) -> None:
    """Nearby search and matching use the caller's position only while LOCATION stands."""
    if viewer.id is not None and await withdrawn([viewer.id], ConsentPurpose.LOCATION):
        raise Forbidden("You withdrew consent to location use; grant LOCATION to search nearby.")


@asynccontextmanager
async def on_withdrawal(viewer: Viewer, purpose: ConsentPurpose,
                        react: Callable[[], None]) -> AsyncIterator[None]:
    """Calls `react()` the moment the viewer withdraws `purpose` (from any process)."""
    if viewer.id is None:
        yield
        return

    def heard(message: dict[str, Any]) -> None:
        if message.get("purpose") == purpose.value and not message.get("granted"):
            react()

    async with await services().broker.subscribe(channels.consent(viewer.id), on_message=heard):
        yield


async def consents_of(viewer: Viewer, volunteer_id: int) -> list[Consent]:
    volunteer = viewer.require()
    if volunteer.id != volunteer_id and not volunteer.is_platform_admin:
        raise Forbidden("Only the person themself and platform admins can see their consents.")
    return list(await Consent.filter(volunteer_id=volunteer_id).order_by("purpose"))


async def consent_history(viewer: Viewer, volunteer_id: int) -> list[ConsentEvent]:
    volunteer = viewer.require()
    if volunteer.id != volunteer_id and not volunteer.is_platform_admin:
        raise Forbidden("Only the person themself and platform admins can see their consents.")
    return list(await ConsentEvent.filter(volunteer_id=volunteer_id).order_by("-id").limit(200))
