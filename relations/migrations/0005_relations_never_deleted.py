from django.db import migrations

# Relations are archived, never deleted (DESIGN §3). The ORM refuses (Relation.delete and
# RelationQuerySet.delete raise); on PostgreSQL the database refuses too, so neither raw SQL nor a
# future cascade can remove one. TRUNCATE (how a test run empties its tables) does not fire the
# trigger. SQLite, the zero-setup default, empties tables with DELETE and keeps the ORM guard only.


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            """
            CREATE OR REPLACE FUNCTION relations_refuse_delete() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'Relations are archived, never deleted (relation %%).', OLD.id
                    USING ERRCODE = 'restrict_violation';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        schema_editor.execute(
            "CREATE TRIGGER relation_never_deleted BEFORE DELETE ON relations_relation "
            "FOR EACH ROW EXECUTE FUNCTION relations_refuse_delete()"
        )


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS relation_never_deleted ON relations_relation")
        schema_editor.execute("DROP FUNCTION IF EXISTS relations_refuse_delete()")


class Migration(migrations.Migration):
    dependencies = [("relations", "0004_list_covering_indexes")]

    operations = [migrations.RunPython(create_trigger, drop_trigger, elidable=False)]
