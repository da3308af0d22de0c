"""Supervisors may unlock a login that django-axes locked out.

Written by hand. Admin's *Axes › Access attempts* lists the failed logins
that count towards a lockout; deleting an attempt unlocks its username or
address. So supervisors get `view` and `delete` on access attempts, and
nothing else of axes (the access logs stay read by superusers only).

Added to the group of 0002 rather than set: 0002's `ensure_supervisors_group`
sets the routing and facebook permissions, this adds its own; `seed_demo`
runs both. Idempotent and reversible (the two permissions go).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP_NAME = "Supervisors"
UNLOCK_PERMISSIONS = {"axes": {"accessattempt": ["view", "delete"]}}


def _unlock_permissions(apps, using: str) -> list:
    for label in UNLOCK_PERMISSIONS:
        app_config = apps.get_app_config(label)
        # As in 0002: create_permissions skips an app without a models module.
        stub = getattr(app_config, "models_module", None) is None
        if stub:
            app_config.models_module = True
        try:
            create_permissions(app_config, apps=apps, verbosity=0, using=using)
        finally:
            if stub:
                app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    return [
        Permission.objects.using(using).get(
            content_type__app_label=app_label,
            content_type__model=model,
            codename=f"{action}_{model}",
        )
        for app_label, models in UNLOCK_PERMISSIONS.items()
        for model, actions in models.items()
        for action in actions
    ]


def ensure_supervisors_can_unlock(apps, using: str = "default"):
    """Add the unlock permissions to the Supervisors group (made if missing); returns it."""
    wanted = _unlock_permissions(apps, using)
    Group = apps.get_model("auth", "Group")
    group, _ = Group.objects.using(using).get_or_create(name=GROUP_NAME)
    group.permissions.add(*wanted)
    return group


def add_permissions(apps, schema_editor) -> None:
    ensure_supervisors_can_unlock(apps, schema_editor.connection.alias)


def remove_permissions(apps, schema_editor) -> None:
    using = schema_editor.connection.alias
    Group = apps.get_model("auth", "Group")
    group = Group.objects.using(using).filter(name=GROUP_NAME).first()
    if group is not None:
        group.permissions.remove(*_unlock_permissions(apps, using))


class Migration(migrations.Migration):
    dependencies = [
        ("routing", "0002_supervisor_group"),
        ("axes", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(add_permissions, remove_permissions)]
