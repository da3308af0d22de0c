"""The wrap-up form in the Current Interaction view of a disconnected interaction:
a select of the workgroup's active codes and "Save wrap-up"; Dismiss refuses,
in words on screen, until a code is saved where the workgroup requires one."""

import re

import pytest
from django.test import Client

from routing import services
from routing.models import InteractionEvent, WrapUpCode
from tests.factories import customer_writes, make_agent, make_page, make_workgroup, refresh

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def workgroup():
    group = make_workgroup("Facebook DM", wrap_up_required=True)
    make_page(group)
    return group


@pytest.fixture
def codes(workgroup):
    return {
        label: WrapUpCode.objects.create(workgroup=workgroup, label=label, active=active)
        for label, active in (("Resolved", True), ("Sale", True), ("Retired", False))
    }


@pytest.fixture
def agent(workgroup):
    return make_agent("ann", workgroups=[workgroup])


@pytest.fixture
def browser(agent):
    client = Client()
    client.force_login(agent.user)
    return client


def disconnected(workgroup, agent):
    interaction = customer_writes(workgroup, text="Thanks, that is all").interaction
    services.pickup(interaction_id=interaction.pk, agent=agent)
    return services.disconnect(interaction_id=interaction.pk, agent=agent)


def options(page: str) -> list[str]:
    form = re.search(r'<form class="wrap-up".*?</form>', page, re.S).group(0)
    return re.findall(r"<option value=\"\d+\"[^>]*>([^<]+)</option>", form)


def test_a_disconnected_interaction_shows_the_wrap_up_form(workgroup, codes, agent, browser):
    interaction = disconnected(workgroup, agent)

    page = browser.get(f"/interactions/{interaction.pk}/", **HTMX).content.decode()

    assert f'hx-post="/interactions/{interaction.pk}/wrap-up"' in page
    assert "Wrap-up" in page and "(required)" in page
    assert options(page) == ["Resolved", "Sale"]  # active codes only
    assert ">Save wrap-up</button>" in page
    assert ">Dismiss</button>" in page


def test_no_form_while_live_or_without_codes(workgroup, codes, agent, browser):
    live = customer_writes(workgroup, psid="7300000000000077").interaction
    services.pickup(interaction_id=live.pk, agent=agent)
    page = browser.get(f"/interactions/{live.pk}/", **HTMX).content.decode()
    assert 'class="wrap-up"' not in page

    WrapUpCode.objects.update(active=False)
    ended = disconnected(workgroup, agent)
    page = browser.get(f"/interactions/{ended.pk}/", **HTMX).content.decode()
    assert 'class="wrap-up"' not in page


def test_dismiss_says_why_until_a_code_is_saved(workgroup, codes, agent, browser):
    interaction = disconnected(workgroup, agent)
    url = f"/interactions/{interaction.pk}"

    refused = browser.post(f"{url}/dismiss", **HTMX)
    assert refused.status_code == 409
    assert "Choose a wrap-up code before dismissing this interaction." in refused.content.decode()
    assert refresh(interaction).dismissed_at is None

    saved = browser.post(f"{url}/wrap-up", {"wrap_up_code": codes["Sale"].pk}, **HTMX)
    assert saved.status_code == 200
    body = saved.content.decode()
    assert re.search(rf'<option value="{codes["Sale"].pk}" selected>Sale</option>', body)
    assert "✓ Saved" in body
    assert refresh(interaction).wrap_up_code == codes["Sale"]
    event = InteractionEvent.objects.get(interaction=interaction, verb="wrap_up")
    assert (event.actor_id, event.detail["code"]) == (agent.user_id, "Sale")

    dismissed = browser.post(f"{url}/dismiss", **HTMX)
    assert dismissed.status_code == 200
    assert refresh(interaction).dismissed_at is not None
    assert f'id="interaction-{interaction.pk}"' not in dismissed.content.decode()


@pytest.mark.parametrize(
    "chosen, words",
    [
        ("", "Choose a wrap-up code."),
        ("abc", "Choose a wrap-up code."),
        ("retired", "Choose one of the listed wrap-up codes."),
        ("99999", "Choose one of the listed wrap-up codes."),
    ],
)
def test_a_bad_choice_says_why_and_saves_nothing(chosen, words, workgroup, codes, agent, browser):
    interaction = disconnected(workgroup, agent)
    value = str(codes["Retired"].pk) if chosen == "retired" else chosen

    response = browser.post(
        f"/interactions/{interaction.pk}/wrap-up", {"wrap_up_code": value}, **HTMX
    )

    assert response.status_code == 409
    assert words in response.content.decode()
    assert 'role="alert"' in response.content.decode()
    assert refresh(interaction).wrap_up_code is None


def test_another_agent_cannot_wrap_up(workgroup, codes, agent):
    interaction = disconnected(workgroup, agent)
    intruder = Client()
    intruder.force_login(make_agent("bob", workgroups=[workgroup]).user)

    response = intruder.post(
        f"/interactions/{interaction.pk}/wrap-up", {"wrap_up_code": codes["Sale"].pk}, **HTMX
    )

    # Not theirs to see: one answer, no reason given.
    assert response.status_code == 404
    assert "You cannot see this interaction." in response.content.decode()
    assert "not yours" not in response.content.decode()
    assert refresh(interaction).wrap_up_code is None
