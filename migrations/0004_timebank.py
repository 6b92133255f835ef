"""Time bank (ledger accounts, catalogue, redemptions, donations) and attendance."""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.activity import SignUpStatus
from models.attendance import AttendanceKind
from models.hours import PointsKind
from models.timebank import RewardKind
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index


async def backfill_ledger(apps, schema_editor):
    """Entries written before the time bank get their running balance, and every volunteer
    with entries gets the account that later appends move."""
    from datetime import UTC, datetime

    client = schema_editor.client
    mark = "$1" if client.capabilities.dialect == "postgres" else "?"
    await client.execute_query(
        "UPDATE points_entry SET balance_after = (SELECT SUM(e.delta) FROM points_entry e "
        "WHERE e.volunteer_id = points_entry.volunteer_id AND e.id <= points_entry.id)")
    await client.execute_query(
        "INSERT INTO points_account (volunteer_id, balance, updated_at) "
        f"SELECT volunteer_id, SUM(delta), {mark} FROM points_entry GROUP BY volunteer_id",
        [datetime.now(UTC)])


class Migration(migrations.Migration):
    dependencies = [('models', '0003_training')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AttendanceEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('device_id', fields.CharField(max_length=64)),
                ('client_id', fields.CharField(max_length=64)),
                ('sign_up', fields.ForeignKeyField('models.SignUp', source_field='sign_up_id', db_constraint=True, to_field='id', related_name='attendance_events', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='CHECK_IN: CHECK_IN\nCHECK_OUT: CHECK_OUT', enum_type=AttendanceKind, max_length=10)),
                ('device_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('uploaded_by', fields.ForeignKeyField('models.Volunteer', source_field='uploaded_by_id', db_constraint=True, to_field='id', related_name='attendance_uploads', on_delete=OnDelete.RESTRICT)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'attendance_event', 'app': 'models', 'unique_together': (('device_id', 'client_id'),), 'indexes': [Index(fields=['sign_up_id', 'kind'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='JobLease',
            fields=[
                ('name', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=50)),
                ('holder', fields.CharField(max_length=100)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'job_lease', 'app': 'models', 'pk_attr': 'name'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PointsAccount',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('volunteer', fields.OneToOneField('models.Volunteer', source_field='volunteer_id', db_constraint=True, to_field='id', related_name='points_account', on_delete=OnDelete.RESTRICT)),
                ('balance', fields.IntField(default=0)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'points_account', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PointsTransfer',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('from_volunteer', fields.ForeignKeyField('models.Volunteer', source_field='from_volunteer_id', db_constraint=True, to_field='id', related_name='transfers_out', on_delete=OnDelete.RESTRICT)),
                ('to_volunteer', fields.ForeignKeyField('models.Volunteer', source_field='to_volunteer_id', db_constraint=True, to_field='id', related_name='transfers_in', on_delete=OnDelete.RESTRICT)),
                ('help_request', fields.ForeignKeyField('models.HelpRequest', source_field='help_request_id', null=True, db_constraint=True, to_field='id', related_name='donations', on_delete=OnDelete.RESTRICT)),
                ('points', fields.IntField()),
                ('note', fields.CharField(null=True, max_length=200)),
                ('idempotency_key', fields.CharField(null=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'points_transfer', 'app': 'models', 'unique_together': (('from_volunteer', 'idempotency_key'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RewardItem',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('title', fields.CharField(max_length=100)),
                ('description', fields.CharField(default='', max_length=2000)),
                ('kind', fields.CharEnumField(default=RewardKind.REWARD, description='REWARD: REWARD\nSERVICE: SERVICE', enum_type=RewardKind, max_length=10)),
                ('cost_points', fields.IntField()),
                ('stock', fields.IntField()),
                ('district', fields.CharField(null=True, max_length=50)),
                ('active', fields.BooleanField(default=True)),
                ('created_by', fields.ForeignKeyField('models.Volunteer', source_field='created_by_id', db_constraint=True, to_field='id', related_name='reward_items', on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'reward_item', 'app': 'models', 'indexes': [Index(fields=['active', 'cost_points'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Redemption',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('item', fields.ForeignKeyField('models.RewardItem', source_field='item_id', db_constraint=True, to_field='id', related_name='redemptions', on_delete=OnDelete.RESTRICT)),
                ('volunteer', fields.ForeignKeyField('models.Volunteer', source_field='volunteer_id', db_constraint=True, to_field='id', related_name='redemptions', on_delete=OnDelete.RESTRICT)),
                ('quantity', fields.IntField()),
                ('points', fields.IntField()),
                ('idempotency_key', fields.CharField(null=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'redemption', 'app': 'models', 'unique_together': (('volunteer', 'idempotency_key'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RewardItemChange',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('item', fields.ForeignKeyField('models.RewardItem', source_field='item_id', db_constraint=True, to_field='id', related_name='changes', on_delete=OnDelete.RESTRICT)),
                ('actor', fields.ForeignKeyField('models.Volunteer', source_field='actor_id', db_constraint=True, to_field='id', related_name='reward_item_changes', on_delete=OnDelete.RESTRICT)),
                ('action', fields.CharField(max_length=10)),
                ('before', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('after', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('reason', fields.CharField(null=True, max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'reward_item_change', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Activity',
            name='offered_count',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='CallOut',
            name='activity',
            field=fields.ForeignKeyField('models.Activity', source_field='activity_id', null=True, db_constraint=True, to_field='id', related_name='call_outs', on_delete=OnDelete.SET_NULL),
        ),
        ops.AlterField(
            model_name='HoursAudit',
            name='created_at',
            field=fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True),
        ),
        ops.AddField(
            model_name='PointsEntry',
            name='actor',
            field=fields.ForeignKeyField('models.Volunteer', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name='points_entries_made', on_delete=OnDelete.RESTRICT),
        ),
        ops.AddField(
            model_name='PointsEntry',
            name='balance_after',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='PointsEntry',
            name='kind',
            field=fields.CharEnumField(default=PointsKind.EARN, description='EARN: EARN\nREDEEM: REDEEM\nDONATE_OUT: DONATE_OUT\nDONATE_IN: DONATE_IN\nEXPIRE: EXPIRE', db_default='EARN', enum_type=PointsKind, max_length=10),
        ),
        ops.AddField(
            model_name='PointsEntry',
            name='redemption',
            field=fields.ForeignKeyField('models.Redemption', source_field='redemption_id', null=True, db_constraint=True, to_field='id', related_name='entries', on_delete=OnDelete.RESTRICT),
        ),
        ops.AddField(
            model_name='PointsEntry',
            name='transfer',
            field=fields.ForeignKeyField('models.PointsTransfer', source_field='transfer_id', null=True, db_constraint=True, to_field='id', related_name='entries', on_delete=OnDelete.RESTRICT),
        ),
        ops.AddField(
            model_name='ServiceRecord',
            name='needs_review',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AlterField(
            model_name='SignUp',
            name='status',
            field=fields.CharEnumField(description='CONFIRMED: CONFIRMED\nWAITLISTED: WAITLISTED\nOFFERED: OFFERED\nCANCELLED: CANCELLED', enum_type=SignUpStatus, max_length=10),
        ),
        ops.AddField(
            model_name='SignUp',
            name='offer_expires_at',
            field=fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False),
        ),
        ops.RunPython(backfill_ledger, ops.RunPython.noop),
    ]
