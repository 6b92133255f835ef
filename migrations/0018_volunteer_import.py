"""Volunteer imports run from the web (issue 26): the job with its progress, the uploaded file in
chunks until the job ends, and the rejected rows."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from models.importer import ImportStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0017_swap_decision_reason')]

    initial = False

    operations = [
        ops.CreateModel(
            name='VolunteerImport',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('started_by', fields.ForeignKeyField('models.Volunteer', source_field='started_by_id', db_constraint=True, to_field='id', related_name='volunteer_imports', on_delete=OnDelete.RESTRICT)),
                ('file_name', fields.CharField(max_length=200)),
                ('file_bytes', fields.IntField()),
                ('status', fields.CharEnumField(default=ImportStatus.QUEUED, description='QUEUED: QUEUED\nRUNNING: RUNNING\nDONE: DONE\nFAILED: FAILED', enum_type=ImportStatus, max_length=10)),
                ('rows_total', fields.IntField(null=True)),
                ('rows_read', fields.IntField(default=0)),
                ('imported', fields.IntField(default=0)),
                ('rejected', fields.IntField(default=0)),
                ('failure_code', fields.CharField(null=True, max_length=30)),
                ('failure_message', fields.CharField(null=True, max_length=300)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('runner', fields.CharField(null=True, max_length=40)),
                ('heartbeat_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'volunteer_import', 'app': 'models', 'indexes': [Index(fields=['status', 'heartbeat_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='VolunteerImportChunk',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('volunteer_import', fields.ForeignKeyField('models.VolunteerImport', source_field='volunteer_import_id', db_constraint=True, to_field='id', related_name='chunks', on_delete=OnDelete.CASCADE)),
                ('seq', fields.IntField()),
                ('data', fields.BinaryField()),
            ],
            options={'table': 'volunteer_import_chunk', 'app': 'models', 'unique_together': (('volunteer_import', 'seq'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='VolunteerImportError',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('volunteer_import', fields.ForeignKeyField('models.VolunteerImport', source_field='volunteer_import_id', db_constraint=True, to_field='id', related_name='row_errors', on_delete=OnDelete.CASCADE)),
                ('row_number', fields.IntField()),
                ('column_name', fields.CharField(max_length=20)),
                ('code', fields.CharField(max_length=30)),
                ('other_row', fields.IntField(null=True)),
                ('message', fields.CharField(max_length=300)),
            ],
            options={'table': 'volunteer_import_error', 'app': 'models', 'indexes': [Index(fields=['volunteer_import_id', 'row_number', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
