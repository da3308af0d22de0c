"""Full-text indexes for finding past conversations, on PostgreSQL only.

GIN indexes on `to_tsvector('simple', text)` of messages and notes: the very
expression `routing.search_selectors.TextMatches` queries, so the planner can
use them. Built CONCURRENTLY (hence not atomic): a large messages table keeps
taking writes while its index is built. SQLite searches with LIKE and gets none.
"""

from django.db import migrations

INDEXES = {
    "routing_message_text_search": "routing_message",
    "routing_note_text_search": "routing_note",
}


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table in INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {table} "
            "USING gin (to_tsvector('simple'::regconfig, text))"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("routing", "0006_after_contact_work"),
    ]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes, elidable=False),
    ]
