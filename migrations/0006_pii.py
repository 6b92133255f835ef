"""Personal information (issue 28): phones, ID numbers (with blind indexes) and help-request
addresses sealed at rest;
the append-only access log of unmasked reads; consent by purpose (current answer + history).

Resumable: the migration is not one transaction. Every step may be interrupted and the whole
migration run again: columns are added and removed only if still needed, and existing rows
are sealed in batches of SEAL_BATCH, each batch committed, picking only rows not yet sealed.
The plain columns are dropped only after every row is sealed.
"""

from typing import Any

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from models.consent import ConsentPurpose
from models.pii import PiiField

SEAL_BATCH = 1000
TABLES = {"Volunteer": "volunteer", "HelpRequest": "help_request"}


async def _columns(client: Any, table: str) -> set[str]:
    if client.capabilities.dialect == "postgres":
        rows = await client.execute_query_dict(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = $1", [table])
        return {row["column_name"] for row in rows}
    return {row["name"] for row in await client.execute_query_dict(f"PRAGMA table_info({table})")}


class AddFieldOnce(ops.AddField):
    """Skips a column an interrupted earlier run already added."""

    async def database_forward(self, app_label, old_state, new_state, state_editor=None):  # type: ignore[no-untyped-def]
        if state_editor is not None and self.name in await _columns(state_editor.client,
                                                                    TABLES[self.model_name]):
            return
        await super().database_forward(app_label, old_state, new_state, state_editor)


class RemoveFieldOnce(ops.RemoveField):
    """Skips a column an interrupted earlier run already dropped."""

    async def database_forward(self, app_label, old_state, new_state, state_editor=None):  # type: ignore[no-untyped-def]
        if state_editor is not None and self.name not in await _columns(state_editor.client,
                                                                        TABLES[self.model_name]):
            return
        await super().database_forward(app_label, old_state, new_state, state_editor)


async def seal_existing(apps: Any, schema_editor: Any) -> None:
    """Seals the plain phone and ID number of every row not sealed yet, a batch at a time."""
    from core.pii import identity_columns

    client = schema_editor.client
    if not {"phone", "id_number"} <= await _columns(client, "volunteer"):
        return
    postgres = client.capabilities.dialect == "postgres"
    marks = ["$1", "$2", "$3", "$4", "$5"] if postgres else ["?"] * 5
    update = (f"UPDATE volunteer SET phone_cipher = {marks[0]}, phone_index = {marks[1]}, "
              f"id_number_cipher = {marks[2]}, id_number_index = {marks[3]} WHERE id = {marks[4]}")
    last = 0
    while True:
        rows = await client.execute_query_dict(
            "SELECT id, phone, id_number FROM volunteer WHERE phone_cipher IS NULL "
            f"AND id > {marks[0]} ORDER BY id LIMIT {SEAL_BATCH}", [last])
        if not rows:
            return
        values = []
        for row in rows:
            sealed = identity_columns(row["phone"], row["id_number"])
            values.append([sealed["phone_cipher"], sealed["phone_index"], sealed["id_number_cipher"],
                           sealed["id_number_index"], row["id"]])
        await client.execute_many(update, values)
        last = rows[-1]["id"]


async def append_only(apps: Any, schema_editor: Any) -> None:
    """PostgreSQL refuses UPDATE and DELETE on the access log and the consent history."""
    from resolvers.pii import APPEND_ONLY_SQL

    if schema_editor.client.capabilities.dialect == "postgres":
        await schema_editor.client.execute_script(APPEND_ONLY_SQL)


async def seal_help_addresses(apps: Any, schema_editor: Any) -> None:
    """Seals the plain address of every help request not sealed yet, a batch at a time."""
    from core.pii import HELP_ADDRESS, seal

    client = schema_editor.client
    if "address" not in await _columns(client, "help_request"):
        return
    postgres = client.capabilities.dialect == "postgres"
    marks = ["$1", "$2"] if postgres else ["?", "?"]
    last = 0
    while True:
        rows = await client.execute_query_dict(
            "SELECT id, address FROM help_request WHERE address IS NOT NULL AND address_cipher IS NULL "
            f"AND id > {marks[0]} ORDER BY id LIMIT {SEAL_BATCH}", [last])
        if not rows:
            return
        await client.execute_many(
            f"UPDATE help_request SET address_cipher = {marks[0]} WHERE id = {marks[1]}",
            [[seal(row["address"], HELP_ADDRESS), row["id"]] for row in rows])
        last = rows[-1]["id"]


class Migration(migrations.Migration):
    dependencies = [('models', '0005_taken_count')]

    initial = False
    atomic = False

    operations = [
        AddFieldOnce(model_name='Volunteer', name='phone_cipher',
                     field=fields.CharField(null=True, max_length=64)),
        AddFieldOnce(model_name='Volunteer', name='phone_index',
                     field=fields.CharField(null=True, unique=True, max_length=64)),
        AddFieldOnce(model_name='Volunteer', name='id_number_cipher',
                     field=fields.CharField(null=True, max_length=80)),
        AddFieldOnce(model_name='Volunteer', name='id_number_index',
                     field=fields.CharField(null=True, unique=True, max_length=64)),
        ops.RunPython(seal_existing, ops.RunPython.noop, atomic=False),
        RemoveFieldOnce(model_name='Volunteer', name='phone'),
        RemoveFieldOnce(model_name='Volunteer', name='id_number'),
        ops.CreateModel(
            name='Consent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('volunteer', fields.ForeignKeyField('models.Volunteer', source_field='volunteer_id', db_constraint=True, to_field='id', related_name='consents', on_delete=OnDelete.CASCADE)),
                ('purpose', fields.CharEnumField(description='REGISTRATION: REGISTRATION\nLOCATION: LOCATION\nSMS: SMS\nLEADERBOARD_DISPLAY: LEADERBOARD_DISPLAY', enum_type=ConsentPurpose, max_length=20)),
                ('version', fields.IntField()),
                ('granted', fields.BooleanField()),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'consent', 'app': 'models', 'unique_together': (('volunteer_id', 'purpose'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ConsentEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('volunteer', fields.ForeignKeyField('models.Volunteer', source_field='volunteer_id', db_constraint=True, to_field='id', related_name='consent_events', on_delete=OnDelete.RESTRICT)),
                ('purpose', fields.CharEnumField(description='REGISTRATION: REGISTRATION\nLOCATION: LOCATION\nSMS: SMS\nLEADERBOARD_DISPLAY: LEADERBOARD_DISPLAY', enum_type=ConsentPurpose, max_length=20)),
                ('version', fields.IntField()),
                ('granted', fields.BooleanField()),
                ('client_address', fields.CharField(max_length=64)),
                ('guardian_name', fields.CharField(null=True, max_length=50)),
                ('guardian_relation', fields.CharField(null=True, max_length=20)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'consent_event', 'app': 'models', 'indexes': [Index(fields=['volunteer_id', 'purpose', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PiiAccess',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('viewer', fields.ForeignKeyField('models.Volunteer', source_field='viewer_id', db_constraint=True, to_field='id', related_name='pii_reads', on_delete=OnDelete.RESTRICT)),
                ('subject', fields.ForeignKeyField('models.Volunteer', source_field='subject_id', db_constraint=True, to_field='id', related_name='pii_read_by', on_delete=OnDelete.RESTRICT)),
                ('field', fields.CharEnumField(description='PHONE: PHONE\nID_NUMBER: ID_NUMBER\nADDRESS: ADDRESS\nEXPORT: EXPORT', enum_type=PiiField, max_length=10)),
                ('reason', fields.CharField(max_length=200)),
                ('client_address', fields.CharField(max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'pii_access', 'app': 'models', 'indexes': [Index(fields=['subject_id', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.RunPython(append_only, ops.RunPython.noop),
        AddFieldOnce(model_name='HelpRequest', name='address_cipher',
                     field=fields.CharField(null=True, max_length=1000)),
        ops.RunPython(seal_help_addresses, ops.RunPython.noop, atomic=False),
        RemoveFieldOnce(model_name='HelpRequest', name='address'),
    ]
