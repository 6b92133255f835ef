"""Group chat: rooms of teams and activities, messages, read markers, mutes, moderation log."""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.chat import ChatModerationAction, ChatRoomKind
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0006_pii')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ChatRoom',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='TEAM: TEAM\nACTIVITY: ACTIVITY', enum_type=ChatRoomKind, max_length=10)),
                ('team', fields.ForeignKeyField('models.Team', source_field='team_id', null=True, unique=True, db_constraint=True, to_field='id', related_name='chat_rooms', on_delete=OnDelete.CASCADE)),
                ('activity', fields.ForeignKeyField('models.Activity', source_field='activity_id', null=True, unique=True, db_constraint=True, to_field='id', related_name='chat_rooms', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'chat_room', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ChatMessage',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('room', fields.ForeignKeyField('models.ChatRoom', source_field='room_id', db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('models.Volunteer', source_field='author_id', db_constraint=True, to_field='id', related_name='chat_messages', on_delete=OnDelete.RESTRICT)),
                ('client_id', fields.CharField(max_length=64)),
                ('body', fields.TextField(unique=False)),
                ('photo_urls', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('mentions', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('deleted', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'chat_message', 'app': 'models', 'unique_together': (('room', 'author', 'client_id'),), 'indexes': [Index(fields=['room_id', 'deleted', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ChatModerationLog',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('room', fields.ForeignKeyField('models.ChatRoom', source_field='room_id', db_constraint=True, to_field='id', related_name='moderation_logs', on_delete=OnDelete.CASCADE)),
                ('actor', fields.ForeignKeyField('models.Volunteer', source_field='actor_id', db_constraint=True, to_field='id', related_name='chat_moderation_actions', on_delete=OnDelete.RESTRICT)),
                ('action', fields.CharEnumField(description='MUTE: MUTE\nUNMUTE: UNMUTE\nDELETE: DELETE', enum_type=ChatModerationAction, max_length=10)),
                ('target_volunteer', fields.ForeignKeyField('models.Volunteer', source_field='target_volunteer_id', null=True, db_constraint=True, to_field='id', related_name='chat_moderation_targeted', on_delete=OnDelete.SET_NULL)),
                ('message', fields.ForeignKeyField('models.ChatMessage', source_field='message_id', null=True, db_constraint=True, to_field='id', related_name='moderation_logs', on_delete=OnDelete.SET_NULL)),
                ('reason', fields.CharField(max_length=500)),
                ('until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'chat_moderation_log', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ChatMute',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('room', fields.ForeignKeyField('models.ChatRoom', source_field='room_id', db_constraint=True, to_field='id', related_name='mutes', on_delete=OnDelete.CASCADE)),
                ('volunteer', fields.ForeignKeyField('models.Volunteer', source_field='volunteer_id', db_constraint=True, to_field='id', related_name='chat_mutes', on_delete=OnDelete.CASCADE)),
                ('until', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'chat_mute', 'app': 'models', 'unique_together': (('room', 'volunteer'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ChatReadMarker',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('room', fields.ForeignKeyField('models.ChatRoom', source_field='room_id', db_constraint=True, to_field='id', related_name='read_markers', on_delete=OnDelete.CASCADE)),
                ('volunteer', fields.ForeignKeyField('models.Volunteer', source_field='volunteer_id', db_constraint=True, to_field='id', related_name='chat_read_markers', on_delete=OnDelete.CASCADE)),
                ('last_read_id', fields.IntField(default=0)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'chat_read_marker', 'app': 'models', 'unique_together': (('room', 'volunteer'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
