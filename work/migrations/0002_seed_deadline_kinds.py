from django.db import migrations

from work import deadlines


def seed_every_practice(apps, schema_editor):
    Practice = apps.get_model("practice", "Practice")
    DeadlineKind = apps.get_model("work", "DeadlineKind")
    for practice_id in Practice.objects.values_list("pk", flat=True):
        deadlines.seed(DeadlineKind, practice_id)


class Migration(migrations.Migration):
    dependencies = [("work", "0001_initial")]

    operations = [migrations.RunPython(seed_every_practice, migrations.RunPython.noop)]
