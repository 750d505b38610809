"""The audit page's full-text index (history_search_idx) without GIN's pending list.

With fastupdate on (GIN's default) new rows' entries wait in a pending list that every search
reads in full until VACUUM merges it, up to gin_pending_list_limit (4 MB, some 500 pages): a
search for a rare word, a few index pages otherwise, read hundreds after a busy hour. History
rows are appended one change at a time, so entering each row's words into the index as it is
written costs little, and a search then reads only the pages of its words.
"""

from django.db import migrations


def without_pending_list(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("ALTER INDEX history_search_idx SET (fastupdate = off)")
    # What is waiting already goes into the index now, not at the next VACUUM.
    schema_editor.execute("SELECT gin_clean_pending_list('history_search_idx')")


def with_pending_list(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("ALTER INDEX history_search_idx RESET (fastupdate)")


class Migration(migrations.Migration):
    dependencies = [
        ("frameworks", "0010_access_changes"),
    ]

    operations = [
        migrations.RunPython(without_pending_list, with_pending_list),
    ]
