from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

# The list's search is `search_text LIKE '%word%'`; on PostgreSQL a trigram GIN index serves it.
# SQLite (the zero-setup default) scans instead, so the index exists only on PostgreSQL.


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS relation_search_trgm "
            "ON relations_relation USING gin (search_text gin_trgm_ops)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS relation_search_trgm")


class Migration(migrations.Migration):
    dependencies = [("relations", "0001_initial")]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_index, drop_index, elidable=False),
    ]
