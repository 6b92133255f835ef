"""Service stations that keep their hours: weekly opening rules, closures, operating-slot marks and their weekly tallies."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0009_privacy')]

    initial = False

    operations = [
        ops.CreateModel(
            name='StationClosure',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('service_point', fields.ForeignKeyField('models.ServicePoint', source_field='service_point_id', null=True, db_constraint=True, to_field='id', related_name='closures', on_delete=OnDelete.CASCADE)),
                ('day_number', fields.IntField()),
                ('reason', fields.CharField(max_length=500)),
                ('created_by', fields.ForeignKeyField('models.Volunteer', source_field='created_by_id', db_constraint=True, to_field='id', related_name='station_closures', on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'station_closure', 'app': 'models', 'unique_together': (('service_point', 'day_number'),), 'indexes': [Index(fields=['day_number'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StationHours',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('service_point', fields.ForeignKeyField('models.ServicePoint', source_field='service_point_id', db_constraint=True, to_field='id', related_name='opening_hours_rules', on_delete=OnDelete.CASCADE)),
                ('weekday', fields.SmallIntField()),
                ('opens_minute', fields.SmallIntField()),
                ('closes_minute', fields.SmallIntField()),
                ('valid_from_day', fields.IntField()),
                ('valid_until_day', fields.IntField(null=True)),
            ],
            options={'table': 'station_hours', 'app': 'models', 'indexes': [Index(fields=['service_point_id', 'weekday'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StationSlotMark',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('service_point', fields.ForeignKeyField('models.ServicePoint', source_field='service_point_id', db_constraint=True, to_field='id', related_name='slot_marks', on_delete=OnDelete.CASCADE)),
                ('hours', fields.ForeignKeyField('models.StationHours', source_field='hours_id', db_constraint=True, to_field='id', related_name='marks', on_delete=OnDelete.CASCADE)),
                ('day_number', fields.IntField()),
                ('sign_up', fields.ForeignKeyField('models.SignUp', source_field='sign_up_id', null=True, db_constraint=True, to_field='id', related_name='station_marks', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'station_slot_mark', 'app': 'models', 'unique_together': (('hours', 'day_number'),), 'indexes': [Index(fields=['day_number', 'service_point_id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StationWeek',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('service_point', fields.ForeignKeyField('models.ServicePoint', source_field='service_point_id', db_constraint=True, to_field='id', related_name='week_tallies', on_delete=OnDelete.CASCADE)),
                ('week', fields.IntField()),
                ('staffed', fields.IntField(default=0)),
            ],
            options={'table': 'station_week', 'app': 'models', 'unique_together': (('service_point', 'week'),), 'indexes': [Index(fields=['week'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
