"""The four roles as Django groups, and the admin role's rights in the Django admin."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = ["editor", "approver", "auditor", "admin"]

# Admins manage accounts, Regions and roles: targets, per-target roles and users.
ADMIN_PERMISSIONS = [
    ("frameworks", "add_target"),
    ("frameworks", "change_target"),
    ("frameworks", "delete_target"),
    ("frameworks", "view_target"),
    ("frameworks", "add_targetrole"),
    ("frameworks", "change_targetrole"),
    ("frameworks", "delete_targetrole"),
    ("frameworks", "view_targetrole"),
    ("frameworks", "view_framework"),
    ("auth", "add_user"),
    ("auth", "change_user"),
    ("auth", "view_user"),
    ("auth", "view_group"),
]


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; this one needs them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name in ROLES:
        Group.objects.get_or_create(name=name)
    admin = Group.objects.get(name="admin")
    for app_label, codename in ADMIN_PERMISSIONS:
        admin.permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("frameworks", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
