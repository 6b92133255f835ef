from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class StatsHoursMonth(Model):
    # Approved hours by activity district and local month, maintained in the same transaction
    # as every change of approved hours (resolvers/hours.py) and rebuildable from
    # service_record with `python server.py rebuild-stats`.

    id = fields.IntField(primary_key=True)
    district = fields.CharField(max_length=50)
    month = fields.CharField(max_length=7)
    hours = fields.FloatField(default=0)
    records = fields.IntField(default=0)

    class Meta:
        table = "stats_hours_month"
        unique_together = (("district", "month"),)
