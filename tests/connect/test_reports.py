"""The reports page and CSV downloads (the figures: tests/routing/test_reports.py)."""

import csv
import io

import pytest
from django.utils import timezone

from routing import services
from routing.models import Interaction, Message
from tests.factories import customer_writes, make_agent, make_workgroup
from tests.supervisors import logged_in, make_supervisor

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor():
    return make_supervisor()


@pytest.fixture
def traffic():
    workgroup = make_workgroup("=Sales")  # a name that would run as a spreadsheet formula
    other = make_workgroup("Billing")
    moment = timezone.make_aware(timezone.datetime(2025, 3, 10, 12, 0))
    agent = make_agent(workgroups=[workgroup, other])
    for group, psid in ((workgroup, "7300000000000001"), (other, "7300000000000002")):
        interaction = customer_writes(group, psid=psid, text="Hi").interaction
        Interaction.objects.filter(pk=interaction.pk).update(created_at=moment)
        Message.objects.filter(interaction=interaction).update(sent_at=moment)
    # The customer of "=Sales" answered the survey with 4 stars; Billing's did not.
    sales = Interaction.objects.get(workgroup=workgroup)
    Interaction.objects.filter(pk=sales.pk).update(agent=agent, csat_score=4, csat_at=moment)
    return workgroup, other


def rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_page_shows_the_chosen_days(supervisor, traffic):
    response = logged_in(supervisor).get("/reports/?start=2025-03-10&end=2025-03-11")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Mon 2025-03-10" in body and "Billing" in body
    assert "/reports/workgroups.csv?start=2025-03-10&amp;end=2025-03-11&amp;workgroup=" in body
    assert "Abandoned</strong>: ended without ever being picked up" in body
    assert "<td>4.00/5 (1)</td>" in body


def test_the_workgroup_csv(supervisor, traffic):
    workgroup, other = traffic
    response = logged_in(supervisor).get("/reports/workgroups.csv?start=2025-03-10&end=2025-03-10")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="workgroups-2025-03-10-2025-03-10.csv"'
    )
    assert rows(response) == [
        [
            "day",
            "workgroup",
            "interactions",
            "answered",
            "abandoned",
            "average_wait_seconds",
            "average_handle_seconds",
            "average_after_contact_seconds",
            "messages_in",
            "messages_out",
            "answers_with_target",
            "answers_in_target",
            "service_level_percent",
            "satisfaction_average",
            "satisfaction_answers",
        ],
        ["2025-03-10", "'=Sales", "1", "0", "0", "", "", "", "1", "0", "0", "0", "", "4.00", "1"],
        ["2025-03-10", "Billing", "1", "0", "0", "", "", "", "1", "0", "0", "0", "", "", "0"],
    ]
    one = logged_in(supervisor).get(
        f"/reports/workgroups.csv?start=2025-03-10&end=2025-03-10&workgroup={other.pk}"
    )
    assert [row[1] for row in rows(one)[1:]] == ["Billing"]


def test_the_agent_csv_has_its_header(supervisor, traffic):
    response = logged_in(supervisor).get("/reports/agents.csv?start=2025-03-10&end=2025-03-10")
    [header, row] = rows(response)
    assert header == [
        "day",
        "workgroup",
        "agent",
        "picked_up",
        "disconnected",
        "messages_out",
        "lapsed",
        "answers_with_target",
        "answers_in_target",
        "service_level_percent",
        "satisfaction_average",
        "satisfaction_answers",
    ]
    assert row[1:] == ["'=Sales", row[2], "0", "0", "0", "0", "0", "0", "", "4.00", "1"]


def test_formula_names_are_written_as_text(supervisor):
    formula = '=HYPERLINK("http://x","y")'
    workgroup = make_workgroup("\t@Sales")  # spreadsheets skip the tab and run the rest
    agent = make_agent(workgroups=[workgroup])
    agent.user.first_name = formula
    agent.user.save()
    interaction = customer_writes(workgroup, psid="7300000000000003").interaction
    services.pickup(interaction_id=interaction.pk, agent=agent)
    today = timezone.localdate().isoformat()

    client = logged_in(supervisor)
    agents = client.get(f"/reports/agents.csv?start={today}&end={today}")
    assert rows(agents)[1][:3] == [today, "'\t@Sales", "'" + formula]
    workgroups = client.get(f"/reports/workgroups.csv?start={today}&end={today}")
    assert rows(workgroups)[1][1] == "'\t@Sales"


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("start=10/03/2025", "Dates are written YYYY-MM-DD"),
        ("start=2025-03-11&end=2025-03-10", "The last day comes before the first day."),
        ("start=2020-01-01&end=2025-01-01", "Choose at most 366 days."),
        ("workgroup=abc", "That workgroup does not exist."),
    ],
)
def test_bad_ranges_say_why(query, words, supervisor):
    page = logged_in(supervisor).get(f"/reports/?{query}")
    assert page.status_code == 400 and words in page.content.decode()
    download = logged_in(supervisor).get(f"/reports/workgroups.csv?{query}")
    assert download.status_code == 400 and words in download.content.decode()


def test_the_default_range_is_the_last_seven_days(supervisor):
    response = logged_in(supervisor).get("/reports/")
    chosen = response.context["chosen"]
    assert (chosen.end - chosen.start).days == 6
    assert chosen.end == timezone.localdate()


def test_the_service_level_on_the_page_and_in_the_csv(supervisor):
    workgroup = make_workgroup("Sales", first_response_seconds=60, next_response_seconds=60)
    agent = make_agent("ann", workgroups=[workgroup])
    for psid, waited in (
        ("7300000000000004", 5),
        ("7300000000000005", 5),
        ("7300000000000006", 90),
    ):
        sent = timezone.now() - timezone.timedelta(seconds=waited)
        chat = customer_writes(workgroup, psid=psid, sent_at=sent).interaction
        services.pickup(interaction_id=chat.pk, agent=agent)
        services.store_reply(interaction_id=chat.pk, agent=agent, text="Hello")
    today = timezone.localdate().isoformat()
    client = logged_in(supervisor)

    page = client.get(f"/reports/?start={today}&end={today}").content.decode()
    assert (
        page.count('<td data-column="service-level">67% <span class="muted">(2 of 3)</span>') == 2
    )

    workgroups = rows(client.get(f"/reports/workgroups.csv?start={today}&end={today}"))
    assert workgroups[1][-5:-2] == ["3", "2", "66.7"]
    agents = rows(client.get(f"/reports/agents.csv?start={today}&end={today}"))
    assert agents[1][2] == "ann" and agents[1][-5:-2] == ["3", "2", "66.7"]
