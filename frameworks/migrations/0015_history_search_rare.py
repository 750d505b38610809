"""On PostgreSQL, the function the audit search asks which plan suits the words searched for
(frameworks.queries.audit.reads_the_index says why).

It returns true when the query names, outside OR and negation, a word that the statistics on
the search expression (migration 0008's history_search_stats) do not count among the common
ones, or when the query has no word at all: then few rows can match, and reading them from the
GIN index and sorting them beats walking the table backwards by id, which for a word in no row
reads every row. The planner cannot tell on its own: for any word missing from those statistics
it assumes 0.5% of the rows.

SECURITY DEFINER because PostgreSQL shows a table's statistics only to its owner; it reads them
and nothing else, with a fixed search_path."""

from django.db import migrations

SIGNATURE = "frameworks_history_search_is_rare(tsquery)"
RARE_FUNCTION = """
CREATE OR REPLACE FUNCTION frameworks_history_search_is_rare(query tsquery) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    words text := query::text;
    common text[];
BEGIN
    IF words = '' THEN
        RETURN true;
    END IF;
    IF position('|' IN words) > 0 OR position('!(' IN words) > 0 THEN
        RETURN false;
    END IF;
    SELECT s.most_common_elems::text::text[] INTO common
      FROM pg_stats_ext_exprs s
     WHERE s.schemaname = <schema> AND s.tablename = 'frameworks_historyevent'
       AND s.statistics_name = 'history_search_stats'
     LIMIT 1;
    RETURN EXISTS (
        SELECT 1 FROM regexp_matches(words, '(!?)''((?:[^'']|'''')+)''', 'g') AS m
         WHERE m[1] = '' AND replace(m[2], '''''', '''') <> ALL (coalesce(common, '{}'))
    );
END
$$;
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT quote_literal(current_schema())")
        (schema,) = cursor.fetchone()
    schema_editor.execute(RARE_FUNCTION.replace("<schema>", schema), params=None)
    # It reads what only the owner may: the app role alone runs it (dbroles.grant_statements).
    schema_editor.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC")


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")


class Migration(migrations.Migration):
    dependencies = [
        ("frameworks", "0014_history_event_kinds_access_signin_security"),
    ]

    operations = [migrations.RunPython(install, uninstall)]
