"""activity.confirmed_count becomes taken_count: it counts confirmed sign-ups and held
waitlist offers (the places taken), not confirmed sign-ups alone."""

from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0004_timebank')]

    initial = False

    operations = [
        ops.RenameField(model_name='Activity', old_name='confirmed_count', new_name='taken_count'),
    ]
