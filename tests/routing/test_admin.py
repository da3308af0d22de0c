"""Routing's admin for supervisors: who may reach it, and what each permission allows."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.test import Client
from django.utils import timezone

from routing import services
from routing.events import routing_event
from routing.models import (
    Agent,
    AgentStatus,
    Interaction,
    PriorityRule,
    Recording,
    ResponseCategory,
    ResponseLibrary,
    Skill,
    StoredResponse,
    Workgroup,
    WrapUpCode,
)
from tests.factories import customer_writes, make_agent, make_page, make_workgroup, refresh
from tests.supervisors import GROUP_MIGRATION, logged_in, make_supervisor, supervisors_group

pytestmark = pytest.mark.django_db

EXPECTED_PERMISSIONS = {
    "routing.view_workgroup",
    "routing.add_workgroup",
    "routing.change_workgroup",
    "routing.view_wrapupcode",
    "routing.add_wrapupcode",
    "routing.change_wrapupcode",
    "routing.delete_wrapupcode",
    "routing.view_agent",
    "routing.add_agent",
    "routing.change_agent",
    "routing.view_desktopconnection",
    "routing.view_customer",
    "routing.view_interaction",
    "routing.change_interaction",
    "routing.view_interactionevent",
    "routing.view_message",
    "routing.view_recording",
    "routing.view_responselibrary",
    "routing.add_responselibrary",
    "routing.change_responselibrary",
    "routing.delete_responselibrary",
    "routing.view_responsecategory",
    "routing.add_responsecategory",
    "routing.change_responsecategory",
    "routing.delete_responsecategory",
    "routing.view_storedresponse",
    "routing.add_storedresponse",
    "routing.change_storedresponse",
    "routing.delete_storedresponse",
    "routing.view_favouriteresponse",
    "routing.delete_favouriteresponse",
    "facebook.view_facebookpage",
    "facebook.add_facebookpage",
    "facebook.change_facebookpage",
    "facebook.view_webhookdelivery",
    # Unlocking a locked-out login (routing 0003).
    "axes.view_accessattempt",
    "axes.delete_accessattempt",
    # Seeing the agents' Messenger personas, and deleting one to have it made again (facebook 0005).
    "facebook.view_messengerpersona",
    "facebook.delete_messengerpersona",
    # Keeping a workgroup's business hours and holidays (routing 0013).
    "routing.view_businesshours",
    "routing.add_businesshours",
    "routing.change_businesshours",
    "routing.delete_businesshours",
    "routing.view_holiday",
    "routing.add_holiday",
    "routing.change_holiday",
    "routing.delete_holiday",
    # Who gets the interaction: skills and priority rules (routing 0012).
    "routing.view_skill",
    "routing.add_skill",
    "routing.change_skill",
    "routing.delete_skill",
    "routing.view_priorityrule",
    "routing.add_priorityrule",
    "routing.change_priorityrule",
    "routing.delete_priorityrule",
    # Linking Instagram accounts to Pages, as they configure Pages (facebook 0009).
    "facebook.view_instagramaccount",
    "facebook.add_instagramaccount",
    "facebook.change_instagramaccount",
}


def group_permissions(group: Group) -> set[str]:
    return {
        f"{app}.{codename}"
        for app, codename in group.permissions.values_list("content_type__app_label", "codename")
    }


@pytest.fixture
def workgroup():
    group = make_workgroup("Facebook DM")
    make_page(group, access_token="EAAG-very-secret-page-token-1234")
    return group


@pytest.fixture
def supervisor():
    return make_supervisor()


@pytest.fixture
def agent(workgroup):
    return make_agent("agent1", workgroups=[workgroup])


# --- the group and its migration ---------------------------------------------------


def test_the_migration_creates_the_supervisors_group_with_exactly_its_permissions():
    # Other tests flush the tables (transaction=True), so run the migration's
    # own function on a database without the group rather than trust the
    # rows `migrate` left behind.
    Group.objects.filter(name="Supervisors").delete()
    group = supervisors_group()
    assert Group.objects.get(name="Supervisors") == group
    assert group_permissions(group) == EXPECTED_PERMISSIONS


def test_the_group_migration_is_idempotent_and_reversible():
    first = supervisors_group()
    again = supervisors_group()
    assert first.pk == again.pk
    assert group_permissions(again) == EXPECTED_PERMISSIONS
    migration = MigrationLoader(connection).get_migration("routing", "0002_supervisor_group")
    assert all(operation.reversible for operation in migration.operations)

    class Editor:
        connection = connection

    from django.apps import apps

    GROUP_MIGRATION.remove_group(apps, Editor())
    assert not Group.objects.filter(name="Supervisors").exists()


def test_no_supervisor_permission_touches_users_groups_or_deletes_history():
    permissions = group_permissions(supervisors_group())
    assert not any(
        p.startswith(("auth.", "contenttypes.", "sessions.", "admin.")) for p in permissions
    )
    for model in ("interaction", "interactionevent", "message", "recording", "customer"):
        assert f"routing.delete_{model}" not in permissions


def test_seed_demo_puts_the_supervisor_in_the_group():
    call_command("seed_demo", "--force", stdout=open("/dev/null", "w"))  # noqa: SIM115
    user = get_user_model().objects.get(username="supervisor")
    assert user.is_staff and user.is_superuser
    assert user.groups.filter(name="Supervisors").exists()
    assert group_permissions(user.groups.get()) == EXPECTED_PERMISSIONS


# --- who reaches admin ----------------------------------------------------------


def test_agents_cannot_reach_admin(agent):
    client = logged_in(agent.user)
    for url in ("/admin/", "/admin/routing/interaction/", "/admin/routing/agent/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    # Nor log in there: the admin form wants a staff account.
    response = Client().post(
        "/admin/login/", {"username": "agent1", "password": "demo-pass", "next": "/admin/"}
    )
    assert response.status_code == 200
    assert "staff account" in response.content.decode()


def test_a_staff_user_outside_the_group_sees_nothing():
    user = get_user_model().objects.create_user("staffer", password="demo-pass", is_staff=True)
    client = logged_in(user)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/routing/interaction/").status_code == 403


# --- what supervisors may do ------------------------------------------------------


def test_supervisors_see_everything_they_run_the_floor_with(supervisor, agent, workgroup):
    client = logged_in(supervisor)
    interaction = customer_writes(workgroup, text="Hello").interaction
    for model in (
        "workgroup",
        "agent",
        "customer",
        "interaction",
        "interactionevent",
        "message",
        "recording",
        "responselibrary",
        "storedresponse",
        "desktopconnection",
        "wrapupcode",
    ):
        assert client.get(f"/admin/routing/{model}/").status_code == 200, model
    assert client.get("/admin/facebook/facebookpage/").status_code == 200
    assert client.get("/admin/facebook/webhookdelivery/").status_code == 200
    assert client.get(f"/admin/routing/interaction/{interaction.pk}/change/").status_code == 200


def test_supervisors_cannot_administer_users_groups_or_permissions(supervisor, agent):
    client = logged_in(supervisor)
    for url in (
        "/admin/auth/user/",
        f"/admin/auth/user/{agent.user_id}/change/",
        "/admin/auth/group/",
        "/admin/auth/user/add/",
    ):
        assert client.get(url).status_code == 403, url


def test_interactions_and_their_history_are_read_only_for_everyone(supervisor, workgroup):
    superuser = get_user_model().objects.create_superuser("root", password="demo-pass")
    interaction = customer_writes(workgroup, text="Hello").interaction
    for user in (supervisor, superuser):
        client = logged_in(user)
        page = client.get(f"/admin/routing/interaction/{interaction.pk}/change/")
        assert page.status_code == 200
        assert 'name="_save"' not in page.content.decode()
        assert (
            client.post(f"/admin/routing/interaction/{interaction.pk}/change/").status_code == 403
        )
        assert client.get(f"/admin/routing/interaction/{interaction.pk}/delete/").status_code == 403
        assert client.get("/admin/routing/interaction/add/").status_code == 403
        message = interaction.messages.get()
        assert client.get(f"/admin/routing/message/{message.pk}/delete/").status_code == 403
        event = interaction.events.first()
        assert client.get(f"/admin/routing/interactionevent/{event.pk}/delete/").status_code == 403
    assert Interaction.objects.filter(pk=interaction.pk).exists()


# The workgroup form's business hours fields, left empty.
NO_HOURS = {
    "time_zone": "UTC",
    "business_hours-TOTAL_FORMS": "0",
    "business_hours-INITIAL_FORMS": "0",
    "holidays-TOTAL_FORMS": "0",
    "holidays-INITIAL_FORMS": "0",
}


def test_supervisors_configure_workgroups_but_do_not_delete_them(supervisor, workgroup, agent):
    client = logged_in(supervisor)
    response = client.post(
        f"/admin/routing/workgroup/{workgroup.pk}/change/",
        {
            "name": "Facebook DM",
            "capacity_per_agent": "2",
            "alert_timeout_seconds": "45",
            "after_contact_seconds": "0",
            "auto_record": "on",
            "wrap_up_required": "on",
            "members": [agent.pk],
            "wrap_up_codes-TOTAL_FORMS": "1",
            "wrap_up_codes-INITIAL_FORMS": "0",
            **NO_HOURS,
            "wrap_up_codes-0-label": "Resolved",
            "wrap_up_codes-0-active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    workgroup.refresh_from_db()
    assert (workgroup.capacity_per_agent, workgroup.alert_timeout_seconds) == (2, 45)
    assert workgroup.auto_record and workgroup.wrap_up_required
    assert [c.label for c in workgroup.wrap_up_codes.all()] == ["Resolved"]
    assert client.get(f"/admin/routing/workgroup/{workgroup.pk}/delete/").status_code == 403


def inactivity_form(workgroup, **changes) -> dict:
    return {
        "name": workgroup.name,
        "capacity_per_agent": "4",
        "alert_timeout_seconds": "20",
        "after_contact_seconds": "0",
        "wrap_up_codes-TOTAL_FORMS": "0",
        "wrap_up_codes-INITIAL_FORMS": "0",
        **NO_HOURS,
        **changes,
    }


def test_supervisors_set_the_inactivity_timeouts_with_a_wrap_up_code(supervisor, workgroup):
    code = WrapUpCode.objects.create(workgroup=workgroup, label="No response")
    response = logged_in(supervisor).post(
        f"/admin/routing/workgroup/{workgroup.pk}/change/",
        inactivity_form(
            workgroup,
            agent_reply_timeout_seconds="300",
            agent_reply_warning_seconds="60",
            customer_silence_timeout_seconds="900",
            customer_silence_warning_seconds="120",
            customer_silence_wrap_up_code=str(code.pk),
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    workgroup.refresh_from_db()
    assert (
        workgroup.agent_reply_timeout_seconds,
        workgroup.agent_reply_warning_seconds,
        workgroup.customer_silence_timeout_seconds,
        workgroup.customer_silence_warning_seconds,
        workgroup.customer_silence_wrap_up_code,
    ) == (300, 60, 900, 120, code)


def test_a_warning_must_come_before_its_timeout_and_the_code_be_the_workgroups(
    supervisor, workgroup
):
    elsewhere = WrapUpCode.objects.create(workgroup=make_workgroup("Other"), label="Gone")
    response = logged_in(supervisor).post(
        f"/admin/routing/workgroup/{workgroup.pk}/change/",
        inactivity_form(
            workgroup,
            agent_reply_timeout_seconds="60",
            agent_reply_warning_seconds="60",
            customer_silence_warning_seconds="30",
            customer_silence_wrap_up_code=str(elsewhere.pk),
        ),
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "The warning comes before the timeout: give fewer seconds." in page
    assert "Set the timeout first: this warns before it." in page
    assert "Choose one of this workgroup&#x27;s own wrap-up codes." in page
    workgroup.refresh_from_db()
    assert workgroup.agent_reply_timeout_seconds is None


def test_supervisors_set_the_service_level_targets(supervisor, workgroup):
    client = logged_in(supervisor)
    form = {
        "name": "Facebook DM",
        "capacity_per_agent": "4",
        "alert_timeout_seconds": "20",
        "after_contact_seconds": "0",
        "first_response_seconds": "120",
        "next_response_seconds": "",
        "wrap_up_codes-TOTAL_FORMS": "0",
        "wrap_up_codes-INITIAL_FORMS": "0",
        **NO_HOURS,
    }
    url = f"/admin/routing/workgroup/{workgroup.pk}/change/"
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    workgroup.refresh_from_db()
    assert (workgroup.first_response_seconds, workgroup.next_response_seconds) == (120, None)

    refused = client.post(url, {**form, "next_response_seconds": "0"})
    assert refused.status_code == 200
    assert "Ensure this value is greater than or equal to 1." in refused.content.decode()


# Committed for real: the offers run after the admin's commit, as in production.
@pytest.mark.django_db(transaction=True)
def test_supervisors_set_skills_and_the_preferred_agent_window_and_offers_follow(
    supervisor, workgroup, agent
):
    client = logged_in(supervisor)
    assert client.post("/admin/routing/skill/add/", {"name": "Spanish"}).status_code == 302
    spanish = Skill.objects.get(name="Spanish")
    response = client.post(
        f"/admin/routing/workgroup/{workgroup.pk}/change/",
        {
            "name": "Facebook DM",
            "capacity_per_agent": "4",
            "alert_timeout_seconds": "20",
            "after_contact_seconds": "0",
            "members": [agent.pk],
            "required_skills": [spanish.pk],
            "preferred_agent_seconds": "45",
            "wrap_up_codes-TOTAL_FORMS": "0",
            "wrap_up_codes-INITIAL_FORMS": "0",
            **NO_HOURS,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    workgroup.refresh_from_db()
    assert list(workgroup.required_skills.all()) == [spanish]
    assert workgroup.preferred_agent_seconds == 45
    waiting = refresh(customer_writes(workgroup).interaction)
    assert (waiting.state, waiting.agent_id) == ("queued", None)  # nobody speaks Spanish

    response = client.post(
        f"/admin/routing/agent/{agent.pk}/change/",
        {"capacity": "", "workgroups": [workgroup.pk], "skills": [spanish.pk]},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(agent.skills.all()) == [spanish]
    assert refresh(waiting).agent_id == agent.pk  # offered at once
    page = client.get("/admin/routing/agent/").content.decode()
    assert "Spanish" in page


def test_supervisors_add_priority_rules_and_a_rule_missing_its_value_says_so(
    supervisor, workgroup, django_capture_on_commit_callbacks
):
    client = logged_in(supervisor)
    rule = {"match": "keyword", "value": " ", "page_id": "", "priority": "5", "active": "on"}
    response = client.post("/admin/routing/priorityrule/add/", rule)
    assert response.status_code == 200
    assert "Give the payload or the keyword to match." in response.content.decode()
    assert not PriorityRule.objects.exists()

    response = client.post("/admin/routing/priorityrule/add/", {**rule, "value": "urgent"})
    assert response.status_code == 302, response.content.decode()[:2000]
    with django_capture_on_commit_callbacks(execute=True):
        urgent = customer_writes(workgroup, text="This is URGENT").interaction
    assert refresh(urgent).priority == 5
    assert "urgent" in client.get("/admin/routing/priorityrule/").content.decode()


def test_supervisors_set_business_hours_holidays_and_automatic_messages(supervisor, workgroup):
    client = logged_in(supervisor)
    form = {
        "name": "Facebook DM",
        "capacity_per_agent": "4",
        "alert_timeout_seconds": "20",
        "after_contact_seconds": "0",
        "out_of_hours_message": "Closed; back {opens}.",
        "acknowledgement_message": "You are number {position}.",
        "feedback_survey": "on",
        "wrap_up_codes-TOTAL_FORMS": "0",
        "wrap_up_codes-INITIAL_FORMS": "0",
        **NO_HOURS,
        "time_zone": "Europe/Paris",
        "business_hours-TOTAL_FORMS": "1",
        "business_hours-0-weekday": "0",
        "business_hours-0-opens": "09:00",
        "business_hours-0-closes": "17:30",
        "holidays-TOTAL_FORMS": "1",
        "holidays-0-date": "2026-12-25",
        "holidays-0-name": "Christmas",
    }
    url = f"/admin/routing/workgroup/{workgroup.pk}/change/"
    refused = client.post(url, {**form, "time_zone": "Mars/Olympus"})
    assert refused.status_code == 200
    assert "is not a time zone name" in refused.content.decode()

    response = client.post(url, form)

    assert response.status_code == 302, response.content.decode()[:2000]
    workgroup.refresh_from_db()
    assert workgroup.time_zone == "Europe/Paris"
    assert workgroup.feedback_survey
    assert [str(span) for span in workgroup.business_hours.all()] == ["Monday 09:00-17:30"]
    assert [str(day) for day in workgroup.holidays.all()] == ["2026-12-25 Christmas"]


# --- agents and their status -----------------------------------------------------


def test_a_supervisor_adds_an_agent_with_a_plain_login(supervisor, workgroup):
    response = logged_in(supervisor).post(
        "/admin/routing/agent/add/",
        {
            "username": "agent7",
            "first_name": "Gina",
            "last_name": "Agent",
            "password1": "a-long-demo-pass",
            "password2": "a-long-demo-pass",
            "capacity": "",
            "workgroups": [workgroup.pk],
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    agent = Agent.objects.get(user__username="agent7")
    assert list(agent.workgroups.all()) == [workgroup]
    assert agent.status == AgentStatus.AVAILABLE
    user = agent.user
    assert not user.is_staff and not user.is_superuser
    assert not user.user_permissions.exists() and not user.groups.exists()
    assert user.check_password("a-long-demo-pass")


def test_adding_an_agent_refuses_a_taken_name_and_differing_passwords(supervisor, agent):
    response = logged_in(supervisor).post(
        "/admin/routing/agent/add/",
        {"username": "AGENT1", "password1": "a-long-pass-1", "password2": "a-long-pass-2"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "That username is taken." in body and "The two passwords differ." in body
    assert Agent.objects.count() == 1


@pytest.fixture
def announced():
    seen = []

    def capture(sender, event, **kwargs):
        seen.append(event)

    routing_event.connect(capture, dispatch_uid="tests.admin.capture", weak=False)
    yield seen
    routing_event.disconnect(dispatch_uid="tests.admin.capture")


def test_status_actions_go_through_the_routing_service(
    supervisor, agent, workgroup, announced, django_capture_on_commit_callbacks
):
    other = make_agent("agent2", workgroups=[workgroup])
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in(supervisor).post(
            "/admin/routing/agent/",
            {"action": "set_status_away", "_selected_action": [agent.pk, other.pk]},
        )
    assert response.status_code == 302
    assert {a.status for a in Agent.objects.all()} == {AgentStatus.AWAY}
    # The service announces each change (the agent's desktop and the board hear it).
    assert {e.agent_id for e in announced if e.type == "agent.changed"} == {agent.pk, other.pk}


def test_the_agent_page_sets_the_status_through_the_service_and_keeps_it_otherwise(
    supervisor, agent, workgroup, announced, django_capture_on_commit_callbacks
):
    client = logged_in(supervisor)
    url = f"/admin/routing/agent/{agent.pk}/change/"
    page = client.get(url).content.decode()
    assert 'name="status"' not in page  # shown, not editable
    assert 'name="new_status"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url, {"capacity": "2", "workgroups": [workgroup.pk], "new_status": "lunch"}
        )
    assert response.status_code == 302
    agent.refresh_from_db()
    assert (agent.status, agent.capacity) == (AgentStatus.AT_LUNCH, 2)
    assert [e.agent_id for e in announced if e.type == "agent.changed"] == [agent.pk]

    # Saving without a new status leaves the status as the agent (or the ACD) set it.
    Agent.objects.filter(pk=agent.pk).update(status=AgentStatus.NOT_ANSWERING)
    client.post(url, {"capacity": "3", "workgroups": [workgroup.pk], "new_status": ""})
    agent.refresh_from_db()
    assert (agent.status, agent.capacity) == (AgentStatus.NOT_ANSWERING, 3)


def test_not_answering_cannot_be_chosen_in_admin(supervisor, agent, workgroup):
    response = logged_in(supervisor).post(
        f"/admin/routing/agent/{agent.pk}/change/",
        {"capacity": "", "workgroups": [workgroup.pk], "new_status": "not_answering"},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert refresh_agent(agent).status == AgentStatus.AVAILABLE


def refresh_agent(agent: Agent) -> Agent:
    agent.refresh_from_db()
    return agent


# --- transcripts and recordings ----------------------------------------------------


def test_an_interactions_transcript_downloads_as_text(supervisor, agent, workgroup):
    interaction = customer_writes(workgroup, text="Where is my parcel?").interaction
    services.pickup(interaction_id=interaction.pk, agent=agent)
    client = logged_in(supervisor)
    page = client.get(f"/admin/routing/interaction/{interaction.pk}/change/").content.decode()
    assert f"/admin/routing/interaction/{interaction.pk}/transcript.txt" in page
    assert "Where is my parcel?" in page  # the transcript inline

    response = client.get(f"/admin/routing/interaction/{interaction.pk}/transcript.txt")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="interaction-{interaction.pk}.txt"'
    )
    text = response.content.decode()
    assert "Customer: Where is my parcel?" in text
    assert "* pickup by agent1: queued → connected" in text


def test_a_recordings_transcript_downloads_as_text(supervisor, agent, workgroup):
    interaction = refresh(customer_writes(workgroup, text="Hi").interaction)
    kept = Recording.objects.create(
        interaction=interaction,
        started_by=agent.user,
        started_at=interaction.created_at,
        stopped_at=interaction.created_at,
        transcript="10:00 Customer: Hi\n10:01 Alice: Hello!",
    )
    client = logged_in(supervisor)
    response = client.get(f"/admin/routing/recording/{kept.pk}/transcript.txt")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="recording-{kept.pk}.txt"'
    assert response.content.decode() == "10:00 Customer: Hi\n10:01 Alice: Hello!\n"
    listing = client.get("/admin/routing/recording/").content.decode()
    assert f"/admin/routing/recording/{kept.pk}/transcript.txt" in listing
    assert client.get(f"/admin/routing/recording/{kept.pk}/delete/").status_code == 403

    # Still running: the span so far.
    running = Recording.objects.create(
        interaction=interaction,
        started_by=agent.user,
        started_at=interaction.created_at - timedelta(minutes=1),
    )
    text = client.get(f"/admin/routing/recording/{running.pk}/transcript.txt").content.decode()
    assert "(still recording)" in text and "Customer: Hi" in text

    assert (
        logged_in(agent.user).get(f"/admin/routing/recording/{kept.pk}/transcript.txt").status_code
        == 302
    )


# --- list filters and search ---------------------------------------------------------


def test_interactions_filter_by_state_workgroup_agent_page_and_date_and_search_by_psid(
    supervisor, agent, workgroup
):
    billing = make_workgroup("Billing")
    mine = customer_writes(workgroup, psid="7300000000004242", text="Hi").interaction
    services.pickup(interaction_id=mine.pk, agent=agent)
    other = customer_writes(billing, psid="7300000000009999", page_id="200").interaction
    client = logged_in(supervisor)

    def listed(query: str) -> set[int]:
        response = client.get(f"/admin/routing/interaction/?{query}")
        assert response.status_code == 200, query
        return {row.pk for row in response.context["cl"].result_list}

    assert listed("state__exact=connected") == {mine.pk}
    assert listed(f"workgroup__id__exact={billing.pk}") == {other.pk}
    assert listed(f"agent__id__exact={agent.pk}") == {mine.pk}
    assert listed("customer__page_id=200") == {other.pk}
    day = timezone.localtime(refresh(mine).created_at)
    by_day = f"created_at__year={day.year}&created_at__month={day.month}&created_at__day={day.day}"
    assert listed(by_day) == {mine.pk, other.pk}
    assert listed("q=4242") == {mine.pk}


# --- stored responses to and from files ----------------------------------------------


@pytest.fixture
def library():
    library = ResponseLibrary.objects.create(name="Acme Support")
    greetings = ResponseCategory.objects.create(library=library, name="Greetings")
    StoredResponse.objects.create(
        category=greetings, name="Welcome", shortcut="hi", labels="hello", text="Hi, {x}, é"
    )
    StoredResponse.objects.create(category=greetings, name="Bye", text='Bye, "friend"')
    return library


@pytest.mark.parametrize("kind", ["csv", "json"])
def test_export_and_import_round_trip(kind, supervisor, library):
    client = logged_in(supervisor)
    exported = client.post(
        "/admin/routing/responselibrary/",
        {"action": f"export_{kind}", "_selected_action": [library.pk]},
    )
    assert exported.status_code == 200
    assert exported["Content-Disposition"] == f'attachment; filename="stored-responses.{kind}"'
    data = exported.content
    if kind == "json":
        assert json.loads(data)["responses"][0] == {
            "library": "Acme Support",
            "category": "Greetings",
            "name": "Bye",
            "shortcut": "",
            "labels": "",
            "text": 'Bye, "friend"',
        }
    else:
        assert data.decode().splitlines()[0] == "library,category,name,shortcut,labels,text"

    ResponseLibrary.objects.all().delete()
    upload = SimpleUploadedFile(f"responses.{kind}", data)
    response = client.post("/admin/routing/responselibrary/import/", {"file": upload})
    assert response.status_code == 302
    assert sorted(StoredResponse.objects.values_list("name", "shortcut", "labels", "text")) == [
        ("Bye", "", "", 'Bye, "friend"'),
        ("Welcome", "hi", "hello", "Hi, {x}, é"),
    ]
    # The same file again changes nothing.
    client.post(
        "/admin/routing/responselibrary/import/",
        {"file": SimpleUploadedFile(f"responses.{kind}", data)},
    )
    assert StoredResponse.objects.count() == 2


def test_a_bad_import_says_which_rows_and_imports_nothing(supervisor):
    bad = b"library,category,name,shortcut,labels,text\nA,B,Ok,,,Fine\nA,B,,bad shortcut,,\n"
    response = logged_in(supervisor).post(
        "/admin/routing/responselibrary/import/",
        {"file": SimpleUploadedFile("bad.csv", bad)},
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "Response 2: name is empty." in body
    assert "Response 2: text is empty." in body
    assert "Response 2: the shortcut may hold only letters, digits, - and _." in body
    assert not StoredResponse.objects.exists()


def test_agents_cannot_import_or_export(agent, library):
    client = logged_in(agent.user)
    assert client.get("/admin/routing/responselibrary/import/").status_code == 302
    staffer = get_user_model().objects.create_user("viewer", password="x", is_staff=True)
    staffer.user_permissions.add(
        *supervisors_group().permissions.filter(codename="view_responselibrary")
    )
    assert logged_in(staffer).get("/admin/routing/responselibrary/import/").status_code == 403


def test_every_routing_model_has_an_admin():
    from django.apps import apps
    from django.contrib import admin

    missing = [
        model.__name__
        for model in apps.get_app_config("routing").get_models()
        if model not in admin.site._registry
    ]
    assert missing == []
    assert Workgroup in admin.site._registry
