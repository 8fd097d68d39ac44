"""``events.dedupe_key``: unique by a constraint, without the LIKE index ``unique=True`` adds.

On PostgreSQL a unique ``CharField`` has two indexes: the unique constraint
``events_dedupe_key_key`` and ``events_dedupe_key_5507d58f_like`` (``varchar_pattern_ops``, for
LIKE and ``startswith``), which nothing runs on this column. Every event written paid for both.
The model now declares the same unique constraint under the same name, so on PostgreSQL only the
LIKE index is dropped: the constraint and its index stay as they are (no rebuild of the outbox's
largest index), and ``ON CONFLICT DO NOTHING`` still meets it. On SQLite, which has no LIKE index,
the column keeps its table-level UNIQUE, the same rule.
"""

from django.apps.registry import Apps
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

LIKE_INDEX = "events_dedupe_key_5507d58f_like"


def drop_like_index(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'DROP INDEX IF EXISTS "{LIKE_INDEX}"')


def restore_like_index(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{LIKE_INDEX}" ON "events" ("dedupe_key" varchar_pattern_ops)'
        )


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0011_unclassified_clicks_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="event",
                    name="dedupe_key",
                    field=models.CharField(max_length=200),
                ),
                migrations.AddConstraint(
                    model_name="event",
                    constraint=models.UniqueConstraint(
                        fields=("dedupe_key",), name="events_dedupe_key_key"
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(drop_like_index, restore_like_index)],
        ),
    ]
