"""Why an organiser refused a shift hand-over (issue 27): a new nullable column, empty for
the swaps decided before it."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields


class Migration(migrations.Migration):
    dependencies = [('models', '0016_home_address')]

    initial = False

    operations = [
        ops.AddField(
            model_name='ShiftSwap',
            name='decision_reason',
            field=fields.CharField(null=True, max_length=500),
        ),
    ]
