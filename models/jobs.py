"""Background-job bookkeeping."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class JobLease(Model):
    # Who runs a single-runner job until when. Taken with a conditional UPDATE (expired or
    # already ours), so across workers and machines at most one holder runs it at a time.

    name = fields.CharField(max_length=50, primary_key=True)
    holder = fields.CharField(max_length=100)
    expires_at = fields.DatetimeField()

    class Meta:
        table = "job_lease"
