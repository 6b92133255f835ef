"""Full-text search objects the ORM cannot express: PostgreSQL's generated tsvector column
and GIN index, or SQLite's FTS5 table and its triggers (see forum/search.py)."""

from tortoise import migrations
from tortoise.migrations import operations as ops


async def install(apps, schema_editor):
    from forum.search import install_search_index

    client = schema_editor.client
    await install_search_index(client.capabilities.dialect == "postgres", client)


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]

    operations = [ops.RunPython(install, ops.RunPython.noop)]
