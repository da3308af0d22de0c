"""Business hours, holidays, automatic messages and the feedback survey.

Supervisors keep a workgroup's business hours and holidays (inline on the
workgroup), added to the group of routing 0002 as facebook 0006 adds its own;
`seed_demo` runs it too. Reversible.
"""

import django.db.models.deletion
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

import routing.hours

GROUP_NAME = "Supervisors"
HOURS_PERMISSIONS = [
    f"{action}_{model}"
    for model in ("businesshours", "holiday")
    for action in ("view", "add", "change", "delete")
]


def _hours_permissions(apps, using: str) -> list:
    app_config = apps.get_app_config("routing")
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
    return list(
        Permission.objects.using(using).filter(
            content_type__app_label="routing", codename__in=HOURS_PERMISSIONS
        )
    )


def ensure_supervisors_keep_hours(apps, using: str = "default"):
    """Add the hours and holidays permissions to the Supervisors group (made if missing)."""
    Group = apps.get_model("auth", "Group")
    group, _ = Group.objects.using(using).get_or_create(name=GROUP_NAME)
    group.permissions.add(*_hours_permissions(apps, using))
    return group


def add_permissions(apps, schema_editor) -> None:
    ensure_supervisors_keep_hours(apps, schema_editor.connection.alias)


def remove_permissions(apps, schema_editor) -> None:
    using = schema_editor.connection.alias
    Group = apps.get_model("auth", "Group")
    group = Group.objects.using(using).filter(name=GROUP_NAME).first()
    if group is not None:
        group.permissions.remove(*_hours_permissions(apps, using))


class Migration(migrations.Migration):

    dependencies = [
        ('routing', '0012_priority_skills_preferred_agent'),
        ('routing', '0002_supervisor_group'),
        ('auth', '0012_alter_user_first_name_max_length'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.CreateModel(
            name='BusinessHours',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('weekday', models.PositiveSmallIntegerField(choices=[(0, 'Monday'), (1, 'Tuesday'), (2, 'Wednesday'), (3, 'Thursday'), (4, 'Friday'), (5, 'Saturday'), (6, 'Sunday')])),
                ('opens', models.TimeField()),
                ('closes', models.TimeField(help_text='Must be after the opening; 23:59 for the end of the day.')),
            ],
            options={
                'verbose_name_plural': 'business hours',
                'ordering': ['workgroup', 'weekday', 'opens'],
            },
        ),
        migrations.CreateModel(
            name='Holiday',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('date', models.DateField()),
                ('name', models.CharField(blank=True, max_length=100)),
            ],
            options={
                'ordering': ['workgroup', 'date'],
            },
        ),
        migrations.AddField(
            model_name='interaction',
            name='acknowledged_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='interaction',
            name='csat_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='interaction',
            name='csat_comment',
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name='interaction',
            name='csat_score',
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='interaction',
            name='feedback_requested_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='interaction',
            name='out_of_hours_reply_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='message',
            name='automatic',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='workgroup',
            name='acknowledgement_message',
            field=models.TextField(blank=True, help_text='Sent once, automatically, when a new interaction arrives within business hours; {position} is replaced by its place in the queue. Empty: nothing is sent.', max_length=1500),
        ),
        migrations.AddField(
            model_name='workgroup',
            name='feedback_survey',
            field=models.BooleanField(default=False, help_text="Send Messenger's customer feedback survey (satisfaction 1-5 and a comment) after an agent disconnects."),
        ),
        migrations.AddField(
            model_name='workgroup',
            name='out_of_hours_message',
            field=models.TextField(blank=True, help_text='Sent once, automatically, when a customer writes while the workgroup is closed; {opens} is replaced by the next opening. Empty: nothing is sent. Out of hours nothing is offered either way: it waits for the opening.', max_length=1500),
        ),
        migrations.AddField(
            model_name='workgroup',
            name='time_zone',
            field=models.CharField(default='UTC', help_text='The business hours and holidays are in this time zone (e.g. Europe/Paris).', max_length=64, validators=[routing.hours.validate_time_zone]),
        ),
        migrations.AddConstraint(
            model_name='interaction',
            constraint=models.CheckConstraint(condition=models.Q(('csat_score__isnull', True), models.Q(('csat_score__gte', 1), ('csat_score__lte', 5)), _connector='OR'), name='csat_score_one_to_five'),
        ),
        migrations.AddField(
            model_name='businesshours',
            name='workgroup',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='business_hours', to='routing.workgroup'),
        ),
        migrations.AddField(
            model_name='holiday',
            name='workgroup',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='holidays', to='routing.workgroup'),
        ),
        migrations.AddConstraint(
            model_name='businesshours',
            constraint=models.CheckConstraint(condition=models.Q(('closes__gt', models.F('opens'))), name='business_hours_close_after_open'),
        ),
        migrations.AddConstraint(
            model_name='holiday',
            constraint=models.UniqueConstraint(fields=('workgroup', 'date'), name='holiday_once_per_day'),
        ),
        migrations.RunPython(add_permissions, remove_permissions),
    ]
