"""Give the run table this app's name, and the model's content type this app's label.

The rename is one ALTER TABLE … RENAME: no row is copied, the id sequence
keeps counting. Relabelling the existing content type (rather than letting
Django create a new one) keeps the permissions operators were granted on the
runs and the admin history of them.
"""

from django.db import migrations


def relabel_content_type(apps, schema_editor, *, old: str, new: str) -> None:
    ContentType = apps.get_model('contenttypes', 'ContentType')
    content_types = ContentType.objects.using(schema_editor.connection.alias)
    if not content_types.filter(app_label=new, model='reconciliationrun').exists():
        content_types.filter(app_label=old, model='reconciliationrun').update(app_label=new)


def forwards(apps, schema_editor):
    relabel_content_type(apps, schema_editor, old='wallets', new='reconciliation')


def backwards(apps, schema_editor):
    relabel_content_type(apps, schema_editor, old='reconciliation', new='wallets')


class Migration(migrations.Migration):

    dependencies = [
        ('reconciliation', '0001_initial'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.AlterModelTable(name='reconciliationrun', table=None),
        migrations.RunPython(forwards, backwards),
    ]
