"""Reminders before and after a shift (exactly-once rows), reminder preferences, calendar
feeds and the activity change log."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0007_chat')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ActivityChange',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('activity', fields.ForeignKeyField('models.Activity', source_field='activity_id', db_constraint=True, to_field='id', related_name='changes', on_delete=OnDelete.CASCADE)),
                ('actor', fields.ForeignKeyField('models.Volunteer', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name='activity_changes', on_delete=OnDelete.SET_NULL)),
                ('field', fields.CharField(max_length=30)),
                ('before', fields.TextField(null=True, unique=False)),
                ('after', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'activity_change', 'app': 'models', 'indexes': [Index(fields=['activity_id', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CalendarFeed',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('volunteer', fields.ForeignKeyField('models.Volunteer', source_field='volunteer_id', db_constraint=True, to_field='id', related_name='calendar_feeds', on_delete=OnDelete.CASCADE)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'calendar_feed', 'app': 'models', 'indexes': [Index(fields=['volunteer_id', 'revoked_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OrganiserReminder',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('activity', fields.ForeignKeyField('models.Activity', source_field='activity_id', db_constraint=True, to_field='id', related_name='organiser_reminders', on_delete=OnDelete.CASCADE)),
                ('organiser', fields.ForeignKeyField('models.Volunteer', source_field='organiser_id', db_constraint=True, to_field='id', related_name='organiser_reminders', on_delete=OnDelete.CASCADE)),
                ('sent', fields.BooleanField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'organiser_reminder', 'app': 'models', 'unique_together': (('activity', 'organiser'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReminderPreference',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('volunteer', fields.OneToOneField('models.Volunteer', source_field='volunteer_id', db_constraint=True, to_field='id', related_name='reminder_preference', on_delete=OnDelete.CASCADE)),
                ('muted_offsets', fields.CharField(default='', max_length=200)),
                ('sms', fields.BooleanField(default=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'reminder_preference', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ShiftReminder',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('sign_up', fields.ForeignKeyField('models.SignUp', source_field='sign_up_id', db_constraint=True, to_field='id', related_name='reminders', on_delete=OnDelete.CASCADE)),
                ('offset_minutes', fields.IntField()),
                ('sent', fields.BooleanField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'shift_reminder', 'app': 'models', 'unique_together': (('sign_up', 'offset_minutes'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
