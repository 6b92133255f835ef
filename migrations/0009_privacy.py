"""Requests about one's own data, the records-export outbox, superseded certificates and
deleted accounts (issue 28)."""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.exchange import RecordChangeKind
from models.privacy import DataRequestKind, DataRequestStatus
from models.volunteer import VolunteerStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0008_care')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DataRequest',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('volunteer', fields.ForeignKeyField('models.Volunteer', source_field='volunteer_id', db_constraint=True, to_field='id', related_name='data_requests', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharEnumField(description='EXPORT: EXPORT\nCORRECTION: CORRECTION\nRECORD_CORRECTION: RECORD_CORRECTION\nDELETION: DELETION', enum_type=DataRequestKind, max_length=20)),
                ('status', fields.CharEnumField(default=DataRequestStatus.PENDING, description='PENDING: PENDING\nPROCESSING: PROCESSING\nREADY: READY\nDONE: DONE\nREFUSED: REFUSED', enum_type=DataRequestStatus, max_length=12)),
                ('field', fields.CharField(null=True, max_length=30)),
                ('requested_value', fields.CharField(null=True, max_length=100)),
                ('record', fields.ForeignKeyField('models.ServiceRecord', source_field='record_id', null=True, db_constraint=True, to_field='id', related_name='correction_requests', on_delete=OnDelete.RESTRICT)),
                ('requested_hours', fields.FloatField(null=True)),
                ('reason', fields.CharField(default='', max_length=500)),
                ('decided_by', fields.ForeignKeyField('models.Volunteer', source_field='decided_by_id', null=True, db_constraint=True, to_field='id', related_name='data_decisions', on_delete=OnDelete.RESTRICT)),
                ('decision_reason', fields.CharField(null=True, max_length=500)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('archive', fields.BinaryField(null=True)),
                ('archive_bytes', fields.IntField(null=True)),
                ('link_hash', fields.CharField(null=True, unique=True, max_length=64)),
                ('link_expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('downloaded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'data_request', 'app': 'models', 'indexes': [Index(fields=['volunteer_id', 'kind', 'status']), Index(fields=['kind', 'status'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RecordChange',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='SERVICE_HOURS: SERVICE_HOURS\nTRAINING: TRAINING\nAWARD: AWARD', enum_type=RecordChangeKind, max_length=20)),
                ('volunteer_number', fields.CharField(max_length=20)),
                ('subject_id', fields.IntField()),
                ('payload', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('exported_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('batch', fields.CharField(null=True, db_index=True, max_length=40)),
            ],
            options={'table': 'record_change', 'app': 'models', 'indexes': [Index(fields=['exported_at', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Certificate',
            name='superseded_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Certificate',
            name='superseded_by',
            field=fields.ForeignKeyField('models.Certificate', source_field='superseded_by_id', null=True, db_constraint=True, to_field='id', related_name='supersedes', on_delete=OnDelete.RESTRICT),
        ),
        ops.AlterField(
            model_name='Volunteer',
            name='status',
            field=fields.CharEnumField(default=VolunteerStatus.ACTIVE, description='ACTIVE: ACTIVE\nPENDING_CONSENT: PENDING_CONSENT\nSUSPENDED: SUSPENDED\nDELETED: DELETED', enum_type=VolunteerStatus, max_length=16),
        ),
    ]
