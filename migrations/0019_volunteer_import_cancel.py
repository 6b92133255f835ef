"""A platform admin can cancel a volunteer import (issue 26): the status CANCELLED and who
cancelled it.

`status` stays VARCHAR(10) ('CANCELLED' is 9 characters); only the enum's listing in the
column's description changes. PostgreSQL updates the column's comment. On SQLite, which keeps
no comments, Tortoise's AlterField would rebuild the table (CREATE new, copy, DROP, RENAME):
the DROP deletes every chunk and rejected row by cascade and the (status, heartbeat_at) index
is not re-created (tried on a copy at 0018). So there only the migration state changes."""

from typing import Any

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from models.importer import ImportStatus


class AlterDescription(ops.AlterField):
    """An AlterField that changes nothing but the column's description."""

    async def database_forward(self, app_label: str, old_state: Any, new_state: Any,
                               state_editor: Any = None) -> None:
        if state_editor is not None and state_editor.DIALECT != "sqlite":
            await super().database_forward(app_label, old_state, new_state, state_editor)

    async def database_backward(self, app_label: str, old_state: Any, new_state: Any,
                                state_editor: Any = None) -> None:
        if state_editor is not None and state_editor.DIALECT != "sqlite":
            await super().database_backward(app_label, old_state, new_state, state_editor)


class Migration(migrations.Migration):
    dependencies = [('models', '0018_volunteer_import')]

    initial = False

    operations = [
        AlterDescription(
            model_name='VolunteerImport',
            name='status',
            field=fields.CharEnumField(default=ImportStatus.QUEUED, description='QUEUED: QUEUED\nRUNNING: RUNNING\nDONE: DONE\nFAILED: FAILED\nCANCELLED: CANCELLED', enum_type=ImportStatus, max_length=10),
        ),
        ops.AddField(
            model_name='VolunteerImport',
            name='cancelled_by',
            field=fields.ForeignKeyField('models.Volunteer', source_field='cancelled_by_id', null=True, db_constraint=True, to_field='id', related_name='cancelled_volunteer_imports', on_delete=OnDelete.RESTRICT),
        ),
    ]
