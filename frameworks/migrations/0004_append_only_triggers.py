"""On PostgreSQL, refuse UPDATE, DELETE and TRUNCATE of the history and the document versions
in the database itself, whoever sends the statement.

The ORM already refuses (frameworks.models.ImmutableQuerySet); this covers raw SQL, psql and
any other program with the application's credentials. A superuser can still disable triggers
(as any superuser can do anything); verify_history is what notices that kind of tampering.
Tests that flush the database set session_replication_role = replica first (tests/conftest.py),
which only a superuser may do.

SQLite has no TRUNCATE and its triggers are easily dropped by anyone who can write the file; the
demo relies on the ORM's refusal and the hash chain there.
"""

from django.db import migrations

TABLES = ["frameworks_historyevent", "frameworks_documentversion"]

FUNCTION = """
CREATE OR REPLACE FUNCTION frameworks_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % refused: rows of this table are written once and kept forever',
        TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # No parameters: the % in RAISE are PL/pgSQL placeholders, not the driver's.
    schema_editor.execute(FUNCTION, params=None)
    for table in TABLES:
        # Statement-level, so an UPDATE or DELETE that matches no row is refused too, and
        # TRUNCATE (which has no rows to fire for) is covered.
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION frameworks_refuse_change()"
        )


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS frameworks_refuse_change()")


VIEW_PERMISSIONS = [
    "view_historyevent",
    "view_documentversion",
    "view_changerequest",
    "view_approval",
    "view_comment",
]


def grant_views(apps, schema_editor):
    """Admins read the history, versions and change requests in the Django admin (read-only)."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admin, _ = Group.objects.get_or_create(name="admin")
    admin.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="frameworks", codename__in=VIEW_PERMISSIONS
        )
    )


def revoke_views(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name="admin"):
        group.permissions.remove(
            *Permission.objects.filter(
                content_type__app_label="frameworks", codename__in=VIEW_PERMISSIONS
            )
        )


class Migration(migrations.Migration):
    dependencies = [("frameworks", "0003_change_requests_and_history")]

    operations = [
        migrations.RunPython(install, uninstall),
        migrations.RunPython(grant_views, revoke_views),
    ]
