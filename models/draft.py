from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from models.volunteer import Volunteer


class Draft(Model):
    # Unsent long text of a user, kept server-side so a timeout never loses typing.

    id = fields.IntField(primary_key=True)
    volunteer: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name="drafts", on_delete=fields.CASCADE
    )
    key = fields.CharField(max_length=100)
    body = fields.TextField()
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "draft"
        unique_together = (("volunteer", "key"),)
