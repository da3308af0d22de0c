"""Supervisors for tests: staff users in the "Supervisors" group the migration makes."""

from importlib import import_module

from django.apps import apps
from django.contrib.auth import get_user_model
from django.test import Client

GROUP_MIGRATION = import_module("routing.migrations.0002_supervisor_group")
UNLOCK_MIGRATION = import_module("routing.migrations.0003_supervisors_unlock_logins")
PERSONAS_MIGRATION = import_module("facebook.migrations.0006_messenger_personas")
SKILLS_MIGRATION = import_module("routing.migrations.0012_priority_skills_preferred_agent")
HOURS_MIGRATION = import_module("routing.migrations.0013_business_hours_csat")
INSTAGRAM_MIGRATION = import_module("facebook.migrations.0009_instagram_accounts_and_comments")


def supervisors_group():
    """The group as the migrations make it (0002, then 0003's unlock permissions, then
    facebook 0005's personas, then routing 0012's skills and priority rules,
    routing 0013's business hours and facebook 0009's Instagram accounts).

    Made again here because a `transaction=True` test flushes the database,
    migration data included, for every test after it.
    """
    GROUP_MIGRATION.ensure_supervisors_group(apps)
    UNLOCK_MIGRATION.ensure_supervisors_can_unlock(apps)
    PERSONAS_MIGRATION.ensure_supervisors_see_personas(apps)
    HOURS_MIGRATION.ensure_supervisors_keep_hours(apps)
    INSTAGRAM_MIGRATION.ensure_supervisors_link_instagram(apps)
    return SKILLS_MIGRATION.ensure_supervisors_set_skills_and_priorities(apps)


def make_supervisor(username: str = "sam", **fields):
    user = get_user_model().objects.create_user(
        username=username, password="demo-pass", is_staff=True, **fields
    )
    user.groups.add(supervisors_group())
    return user


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client
