"""pgvector's column, trigger and HNSW index where PostgreSQL has the extension
(facesets/pgvector.py); nothing on SQLite or without it. Where pgvector is installed later,
`migrate facesets 0001` then `migrate` adds them to the faces already there."""

from django.db import migrations


def forwards(apps, schema_editor):
    from facesets import pgvector

    pgvector.install(schema_editor.connection)
    pgvector.forget_installed()


def backwards(apps, schema_editor):
    from facesets import pgvector

    pgvector.uninstall(schema_editor.connection)
    pgvector.forget_installed()


class Migration(migrations.Migration):
    dependencies = [("facesets", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
