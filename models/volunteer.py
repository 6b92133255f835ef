from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class VolunteerStatus(StrEnum):
    ACTIVE = "ACTIVE"
    PENDING_CONSENT = "PENDING_CONSENT"
    SUSPENDED = "SUSPENDED"
    # The person deleted their account (resolvers/privacy.py): personal data erased, service
    # records kept under this pseudonymous row; nobody can sign in as it.
    DELETED = "DELETED"


class Volunteer(Model):
    # A real-name person. One resident ID number, one account.

    id = fields.IntField(primary_key=True)
    # Phone and ID number are sealed at rest (core/pii.py: AES-GCM naming its key); the
    # *_index columns are keyed blind indexes (HMAC) for exact lookups and uniqueness. Null
    # only once an account's personal data has been erased.
    phone_cipher = fields.CharField(max_length=64, null=True)
    phone_index = fields.CharField(max_length=64, unique=True, null=True)
    password_hash = fields.CharField(max_length=255, null=True)
    real_name = fields.CharField(max_length=50)
    display_name = fields.CharField(max_length=50)
    id_number_cipher = fields.CharField(max_length=80, null=True)
    id_number_index = fields.CharField(max_length=64, unique=True, null=True)
    # The exact home address, sealed like the phone (PIPL art. 51; issue 28); optional, and
    # never looked up, so it has no blind index. Null when not given or once erased.
    home_address_cipher = fields.CharField(max_length=1200, null=True)  # 200 characters of 4 bytes, sealed
    gender = fields.CharField(max_length=6)
    birth_date = fields.DateField()
    district = fields.CharField(max_length=50, db_index=True)
    skills = fields.CharField(max_length=700, default="")
    status = fields.CharEnumField(VolunteerStatus, max_length=16, default=VolunteerStatus.ACTIVE)
    is_platform_admin = fields.BooleanField(default=False)
    volunteer_number = fields.CharField(max_length=20, unique=True)
    consented_at = fields.DatetimeField(null=True)
    approved_hours = fields.FloatField(default=0)
    # MAX(approved_at) of the person's approved records, kept by the hours rules: `stats`
    # counts active volunteers from it instead of scanning service_record.
    last_approved_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "volunteer"
        # Covers the whole `stats` people pass (index-only scan, groups in index order).
        indexes = (("district", "status", "gender", "birth_date", "last_approved_at"),)

    def __str__(self) -> str:
        return f"Volunteer#{self.id}"
