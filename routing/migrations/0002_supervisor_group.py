"""The "Supervisors" group, with exactly the permissions a supervisor needs.

Written by hand. What supervisors may do, and why:
- view everything they run the floor with (every routing model, Pages, the
  raw webhook log);
- add and change what they configure: workgroups (members, capacity, alert
  timeout, auto-record, wrap-up), agents (adding one creates its login: the
  Agent admin makes a plain, non-staff user with no permissions), Facebook
  Pages and their tokens, stored-response libraries, categories, responses;
- delete only configuration that nothing else depends on: wrap-up codes
  (those in use are protected), response libraries, categories, responses and
  favourites. Workgroups, agents and Pages are kept (set an agent Gone Home,
  remove them from workgroups); deleting them is for superusers;
- `change_interaction` lets them transfer and disconnect interactions from the
  live board, through the routing verbs; admin itself shows interactions,
  messages, events, recordings and customers read-only, and nobody deletes
  them;
- nothing of `auth`: no user, group or permission admin, so a supervisor
  cannot make anyone (themselves included) staff or superuser.

Idempotent (runs again to the same result) and reversible (the group goes).
Permissions are normally created after `migrate` (post_migrate), so they are
created here first.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP_NAME = "Supervisors"

PERMISSIONS = {
    "routing": {
        "workgroup": ["view", "add", "change"],
        "wrapupcode": ["view", "add", "change", "delete"],
        "agent": ["view", "add", "change"],
        "desktopconnection": ["view"],
        "customer": ["view"],
        "interaction": ["view", "change"],
        "interactionevent": ["view"],
        "message": ["view"],
        "recording": ["view"],
        "responselibrary": ["view", "add", "change", "delete"],
        "responsecategory": ["view", "add", "change", "delete"],
        "storedresponse": ["view", "add", "change", "delete"],
        "favouriteresponse": ["view", "delete"],
    },
    "facebook": {
        "facebookpage": ["view", "add", "change"],
        "webhookdelivery": ["view"],
    },
}


def _create_permissions(apps, using: str) -> None:
    for label in PERMISSIONS:
        app_config = apps.get_app_config(label)
        # create_permissions skips an app without a models module, which is
        # what the migration state's app configs look like.
        stub = getattr(app_config, "models_module", None) is None
        if stub:
            app_config.models_module = True
        try:
            create_permissions(app_config, apps=apps, verbosity=0, using=using)
        finally:
            if stub:
                app_config.models_module = None


def ensure_supervisors_group(apps, using: str = "default"):
    """Create or refresh the group with exactly PERMISSIONS; returns it."""
    _create_permissions(apps, using)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    wanted = [
        Permission.objects.using(using).get(
            content_type__app_label=app_label,
            content_type__model=model,
            codename=f"{action}_{model}",
        )
        for app_label, models in PERMISSIONS.items()
        for model, actions in models.items()
        for action in actions
    ]
    group, _ = Group.objects.using(using).get_or_create(name=GROUP_NAME)
    group.permissions.set(wanted)
    return group


def add_group(apps, schema_editor) -> None:
    ensure_supervisors_group(apps, schema_editor.connection.alias)


def remove_group(apps, schema_editor) -> None:
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name=GROUP_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("routing", "0001_initial"),
        ("facebook", "0002_fakeprofile"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(add_group, remove_group)]
