"""Shift hand-over (issue 27): swaps with one live swap per place (unique live_key) and the
per-activity approval policy."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from models.swap import SwapStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0010_station')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ShiftSwap',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('activity', fields.ForeignKeyField('models.Activity', source_field='activity_id', db_constraint=True, to_field='id', related_name='swaps', on_delete=OnDelete.CASCADE)),
                ('giver_sign_up', fields.ForeignKeyField('models.SignUp', source_field='giver_sign_up_id', db_constraint=True, to_field='id', related_name='swaps_given', on_delete=OnDelete.CASCADE)),
                ('giver', fields.ForeignKeyField('models.Volunteer', source_field='giver_id', db_constraint=True, to_field='id', related_name='swaps_given', on_delete=OnDelete.CASCADE)),
                ('receiver', fields.ForeignKeyField('models.Volunteer', source_field='receiver_id', null=True, db_constraint=True, to_field='id', related_name='swaps_offered', on_delete=OnDelete.CASCADE)),
                ('taker', fields.ForeignKeyField('models.Volunteer', source_field='taker_id', null=True, db_constraint=True, to_field='id', related_name='swaps_taken', on_delete=OnDelete.SET_NULL)),
                ('status', fields.CharEnumField(default=SwapStatus.OPEN, description='OPEN: OPEN\nAWAITING_APPROVAL: AWAITING_APPROVAL\nDONE: DONE\nDECLINED: DECLINED\nWITHDRAWN: WITHDRAWN\nREJECTED: REJECTED\nLAPSED: LAPSED', enum_type=SwapStatus, max_length=20)),
                ('live_key', fields.IntField(null=True, unique=True)),
                ('decided_by', fields.ForeignKeyField('models.Volunteer', source_field='decided_by_id', null=True, db_constraint=True, to_field='id', related_name='swaps_decided', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'shift_swap', 'app': 'models', 'indexes': [Index(fields=['activity_id', 'status']), Index(fields=['receiver_id', 'status']), Index(fields=['giver_id', 'status'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SwapPolicy',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('activity', fields.OneToOneField('models.Activity', source_field='activity_id', db_constraint=True, to_field='id', related_name='swap_policy', on_delete=OnDelete.CASCADE)),
                ('needs_approval', fields.BooleanField(default=False)),
            ],
            options={'table': 'swap_policy', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
