"""Service desk tickets and their messages (issue 27: 在线客服)."""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.servicedesk import TicketStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0014_outreach')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ServiceTicket',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('opener', fields.ForeignKeyField('models.Volunteer', source_field='opener_id', db_constraint=True, to_field='id', related_name='service_tickets', on_delete=OnDelete.RESTRICT)),
                ('requester_team', fields.ForeignKeyField('models.Team', source_field='requester_team_id', null=True, db_constraint=True, to_field='id', related_name='service_tickets_opened', on_delete=OnDelete.CASCADE)),
                ('team', fields.ForeignKeyField('models.Team', source_field='team_id', null=True, db_constraint=True, to_field='id', related_name='service_tickets', on_delete=OnDelete.CASCADE)),
                ('subject', fields.CharField(max_length=200)),
                ('status', fields.CharEnumField(default=TicketStatus.OPEN, description='OPEN: OPEN\nWAITING_FOR_USER: WAITING_FOR_USER\nRESOLVED: RESOLVED', enum_type=TicketStatus, max_length=20)),
                ('district', fields.CharField(max_length=50)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_message_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('first_reply_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('resolved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'service_ticket', 'app': 'models', 'indexes': [Index(fields=['team_id', 'status', 'id']), Index(fields=['opener_id', 'id']), Index(fields=['requester_team_id', 'id']), Index(fields=['created_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ServiceTicketMessage',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ticket', fields.ForeignKeyField('models.ServiceTicket', source_field='ticket_id', db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('models.Volunteer', source_field='author_id', db_constraint=True, to_field='id', related_name='service_ticket_messages', on_delete=OnDelete.RESTRICT)),
                ('from_staff', fields.BooleanField()),
                ('client_id', fields.CharField(max_length=64)),
                ('body', fields.TextField(unique=False)),
                ('attachment_urls', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'service_ticket_message', 'app': 'models', 'unique_together': (('ticket', 'author', 'client_id'),), 'indexes': [Index(fields=['ticket_id', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
