"""Qualification-expiry alerts (issue 27): one row per (qualification, days before, expiry
date), written with the notification."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0012_insurance')]

    initial = False

    operations = [
        ops.CreateModel(
            name='QualificationAlert',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('qualification', fields.ForeignKeyField('models.Qualification', source_field='qualification_id', db_constraint=True, to_field='id', related_name='alerts', on_delete=OnDelete.CASCADE)),
                ('days_before', fields.IntField()),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('sent', fields.BooleanField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'qualification_alert', 'app': 'models', 'unique_together': (('qualification', 'days_before', 'expires_at'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
