"""Instagram accounts linked to Pages, and the comments the fake Graph API remembers.

Supervisors configure Instagram accounts as they do Pages (view, add, change),
added to the group of routing 0002 as facebook 0006 adds its own; `seed_demo`
runs it too. Reversible.
"""

import django.db.models.deletion
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

GROUP_NAME = "Supervisors"
ACCOUNT_PERMISSIONS = ["view_instagramaccount", "add_instagramaccount", "change_instagramaccount"]


def _account_permissions(apps, using: str) -> list:
    app_config = apps.get_app_config("facebook")
    # As in routing 0002: create_permissions skips an app without a models module.
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
            content_type__app_label="facebook",
            content_type__model="instagramaccount",
            codename=name,
        )
        for name in ACCOUNT_PERMISSIONS
    ]


def ensure_supervisors_link_instagram(apps, using: str = "default"):
    """Add the Instagram account permissions to the Supervisors group; returns it."""
    wanted = _account_permissions(apps, using)
    Group = apps.get_model("auth", "Group")
    group, _ = Group.objects.using(using).get_or_create(name=GROUP_NAME)
    group.permissions.add(*wanted)
    return group


def add_permissions(apps, schema_editor) -> None:
    ensure_supervisors_link_instagram(apps, schema_editor.connection.alias)


def remove_permissions(apps, schema_editor) -> None:
    using = schema_editor.connection.alias
    Group = apps.get_model("auth", "Group")
    group = Group.objects.using(using).filter(name=GROUP_NAME).first()
    if group is not None:
        group.permissions.remove(*_account_permissions(apps, using))


class Migration(migrations.Migration):
    dependencies = [
        ("facebook", "0008_thread_control_referrals"),
        ("routing", "0014_comment_and_instagram_interactions"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.CreateModel(
            name="FakeComment",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("comment_id", models.CharField(max_length=200, unique=True)),
                ("page_id", models.CharField(max_length=64)),
                ("psid", models.CharField(max_length=64, verbose_name="PSID")),
                ("posted_at", models.DateTimeField(auto_now_add=True)),
            ],
        ),
        migrations.CreateModel(
            name="InstagramAccount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "account_id",
                    models.CharField(
                        max_length=64, unique=True, verbose_name="Instagram account id"
                    ),
                ),
                ("username", models.CharField(blank=True, max_length=100)),
                (
                    "page",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="instagram_accounts",
                        to="facebook.facebookpage",
                    ),
                ),
                (
                    "workgroup",
                    models.ForeignKey(
                        blank=True,
                        help_text="Leave empty to route to the Page's workgroup.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="instagram_accounts",
                        to="routing.workgroup",
                    ),
                ),
            ],
            options={
                "verbose_name": "Instagram account",
                "ordering": ["account_id"],
            },
        ),
        migrations.AddField(
            model_name="fakeprofile",
            name="instagram",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(add_permissions, remove_permissions),
    ]
