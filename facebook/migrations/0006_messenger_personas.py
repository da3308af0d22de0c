"""Messenger personas: the Page switch (on), the per-agent cache, and what the fake recorded.

Supervisors may view the personas (and delete one, so that the next reply
creates it again), added to the group of routing 0002 as routing 0003 adds its
own; `seed_demo` runs it too. Reversible.
"""

import django.db.models.deletion
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

GROUP_NAME = "Supervisors"
PERSONA_PERMISSIONS = ["view_messengerpersona", "delete_messengerpersona"]


def _persona_permissions(apps, using: str) -> list:
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
            content_type__app_label="facebook", content_type__model="messengerpersona", codename=name
        )
        for name in PERSONA_PERMISSIONS
    ]


def ensure_supervisors_see_personas(apps, using: str = "default"):
    """Add the persona permissions to the Supervisors group (made if missing); returns it."""
    wanted = _persona_permissions(apps, using)
    Group = apps.get_model("auth", "Group")
    group, _ = Group.objects.using(using).get_or_create(name=GROUP_NAME)
    group.permissions.add(*wanted)
    return group


def add_permissions(apps, schema_editor) -> None:
    ensure_supervisors_see_personas(apps, schema_editor.connection.alias)


def remove_permissions(apps, schema_editor) -> None:
    using = schema_editor.connection.alias
    Group = apps.get_model("auth", "Group")
    group = Group.objects.using(using).filter(name=GROUP_NAME).first()
    if group is not None:
        group.permissions.remove(*_persona_permissions(apps, using))


class Migration(migrations.Migration):

    dependencies = [
        ('facebook', '0005_attachment_uploads'),
        ('routing', '0004_note'),
        ('routing', '0003_supervisors_unlock_logins'),
        ('auth', '0012_alter_user_first_name_max_length'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.AddField(
            model_name='facebookpage',
            name='personas_enabled',
            field=models.BooleanField(default=True, help_text="Replies and typing go out under the agent's Messenger persona (their first name and picture), so the customer sees e.g. “Alice from Acme Support”.", verbose_name='Show who is answering'),
        ),
        migrations.AddField(
            model_name='fakegraphcall',
            name='persona_id',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.CreateModel(
            name='MessengerPersona',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('persona_id', models.CharField(blank=True, max_length=64, verbose_name='Persona id')),
                ('name', models.CharField(blank=True, max_length=200)),
                ('picture_url', models.URLField(blank=True, max_length=500)),
                ('created_at', models.DateTimeField(blank=True, null=True)),
                ('attempted_at', models.DateTimeField(blank=True, null=True)),
                ('creating_until', models.DateTimeField(blank=True, null=True)),
                ('failures', models.PositiveIntegerField(default=0)),
                ('last_error', models.CharField(blank=True, max_length=300)),
                ('agent', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='personas', to='routing.agent')),
                ('page', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='personas', to='facebook.facebookpage')),
            ],
            options={
                'verbose_name': 'Messenger persona',
                'ordering': ['page', 'agent'],
                'constraints': [models.UniqueConstraint(fields=('page', 'agent'), name='one_persona_per_page_agent')],
            },
        ),
        migrations.RunPython(add_permissions, remove_permissions),
    ]
