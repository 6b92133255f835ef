"""The volunteer's exact home address, sealed at rest (issue 28: PIPL art. 51). A new
nullable column: no existing row holds an address, so nothing needs sealing."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0015_servicedesk')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Volunteer',
            name='home_address_cipher',
            field=fields.CharField(null=True, max_length=1200),
        ),
    ]
