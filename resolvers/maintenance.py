"""Operator tasks behind the command line: migrations and platform admins."""

from __future__ import annotations

import random
from datetime import date, datetime, timezone

from tortoise import Tortoise
from tortoise.migrations.api import migrate

from core import pii
from db import migration_state
from db.config import tortoise_config
from models.volunteer import Volunteer, VolunteerStatus
from resolvers.auth import hash_password
from resolvers.validation import (
    NAME_MAX,
    check_id_number,
    check_password,
    check_phone,
    check_text,
    id_check_char,
)
from resolvers.volunteer import new_volunteer_number


async def apply_migrations(database_url: str | None) -> None:
    """Idempotent: applies only what the database has not seen yet."""
    migration_state.install()
    try:
        await migrate(config=tortoise_config(database_url))
    finally:
        await Tortoise.close_connections()


def make_id_number(region: str = "110105", birth: date | None = None, male: bool = True,
                   rng: random.Random | None = None) -> str:
    """A checksum-valid ID number, for demo data and operator accounts only."""
    rng = rng or random.Random()
    birth = birth or date(1980 + rng.randrange(20), 1 + rng.randrange(12), 1 + rng.randrange(28))
    sequence = f"{rng.randrange(100):02d}{rng.randrange(5) * 2 + (1 if male else 0)}"
    first17 = f"{region}{birth:%Y%m%d}{sequence}"
    return first17 + id_check_char(first17)


async def create_admin(phone: str, password: str, name: str, id_number: str | None = None,
                       district: str = "市级") -> Volunteer:
    phone = check_phone(phone)
    check_password(password)
    name = check_text(name, "name", max_len=NAME_MAX)
    existing = await Volunteer.get_or_none(**pii.with_phone(phone))
    if existing is not None:
        await Volunteer.filter(id=existing.id).update(
            is_platform_admin=True,
            password_hash=await hash_password(password),
            status=VolunteerStatus.ACTIVE,
            consented_at=existing.consented_at or datetime.now(timezone.utc),
        )
        await existing.refresh_from_db()
        return existing
    identity = check_id_number(id_number or make_id_number())
    return await Volunteer.create(
        **pii.identity_columns(phone, identity.id_number),
        password_hash=await hash_password(password),
        real_name=name,
        display_name=name,
        gender=identity.gender,
        birth_date=identity.birth_date,
        district=district,
        is_platform_admin=True,
        status=VolunteerStatus.ACTIVE,
        consented_at=datetime.now(timezone.utc),
        volunteer_number=new_volunteer_number(),
    )


async def pending_model_changes() -> list[str]:
    """Names of migrations `tortoise makemigrations` would write now (empty: models match)."""
    from tortoise.context import TortoiseContext
    from tortoise.migrations.autodetector import MigrationAutodetector

    migration_state.install()
    config = tortoise_config()
    async with TortoiseContext() as ctx:
        await ctx.init(config=config)
        assert ctx.apps is not None
        writers = await MigrationAutodetector(ctx.apps, config["apps"]).changes()
    return [f"{writer.app_label}.{writer.name}" for writer in writers]
