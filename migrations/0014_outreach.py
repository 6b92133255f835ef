"""Organiser messages and their replies (issue 27); the message row is the audit record."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from models.outreach import Audience
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0013_qualification_alerts')]

    initial = False

    operations = [
        ops.CreateModel(
            name='OrganiserMessage',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('sender', fields.ForeignKeyField('models.Volunteer', source_field='sender_id', db_constraint=True, to_field='id', related_name='organiser_messages', on_delete=OnDelete.RESTRICT)),
                ('activity', fields.ForeignKeyField('models.Activity', source_field='activity_id', null=True, db_constraint=True, to_field='id', related_name='organiser_messages', on_delete=OnDelete.CASCADE)),
                ('team', fields.ForeignKeyField('models.Team', source_field='team_id', db_constraint=True, to_field='id', related_name='organiser_messages', on_delete=OnDelete.CASCADE)),
                ('audience', fields.CharEnumField(description='CONFIRMED: CONFIRMED\nWAITLISTED: WAITLISTED\nCHECKED_IN: CHECKED_IN\nSIGNED_UP: SIGNED_UP\nTEAM: TEAM', enum_type=Audience, max_length=12)),
                ('title', fields.CharField(max_length=200)),
                ('body', fields.TextField(unique=False)),
                ('sms', fields.BooleanField(default=False)),
                ('recipient_count', fields.IntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'organiser_message', 'app': 'models', 'indexes': [Index(fields=['team_id', 'id']), Index(fields=['activity_id', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OrganiserMessageReply',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('message', fields.ForeignKeyField('models.OrganiserMessage', source_field='message_id', db_constraint=True, to_field='id', related_name='replies', on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('models.Volunteer', source_field='author_id', db_constraint=True, to_field='id', related_name='organiser_message_replies', on_delete=OnDelete.CASCADE)),
                ('body', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'organiser_message_reply', 'app': 'models', 'indexes': [Index(fields=['message_id', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
