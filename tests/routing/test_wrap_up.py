"""Wrap-up: a workgroup may require a code before a disconnected interaction
leaves its agent's list. `set_wrap_up` writes the code and an event row;
`dismiss` refuses, in words, while one is missing."""

import pytest

from routing import services
from routing.models import InteractionEvent, WrapUpCode
from routing.models import InteractionState as S
from routing.services import NotYours, RoutingError, TransitionRefused
from tests.factories import make_agent, make_workgroup, refresh
from tests.routing.conftest import changed

pytestmark = pytest.mark.django_db


@pytest.fixture
def workgroup():
    return make_workgroup(wrap_up_required=True)


@pytest.fixture
def codes(workgroup) -> dict[str, WrapUpCode]:
    return {
        label: WrapUpCode.objects.create(workgroup=workgroup, label=label, active=active)
        for label, active in (("Resolved", True), ("Call back", True), ("Retired", False))
    }


@pytest.fixture
def agent(workgroup):
    return make_agent("ann", workgroups=[workgroup])


@pytest.fixture
def other(workgroup):
    return make_agent("bob", workgroups=[workgroup])


def wrap_up(interaction, agent, code: WrapUpCode):
    return services.set_wrap_up(interaction_id=interaction.pk, agent=agent, wrap_up_code_id=code.pk)


def dismiss(interaction, agent):
    return services.dismiss(interaction_id=interaction.pk, agent=agent)


def test_dismiss_refuses_until_a_code_is_chosen(desk, agent, codes):
    interaction = desk.disconnected(agent)
    assert services.wrap_up_missing(interaction)

    with pytest.raises(TransitionRefused) as refused:
        dismiss(interaction, agent)
    assert str(refused.value) == "Choose a wrap-up code before dismissing this interaction."
    assert refresh(interaction).dismissed_at is None

    wrap_up(interaction, agent, codes["Resolved"])
    dismiss(interaction, agent)

    refresh(interaction)
    assert interaction.wrap_up_code == codes["Resolved"]
    assert interaction.dismissed_at is not None


def test_choosing_a_code_writes_an_event_row_and_announces_it(
    desk, agent, codes, routing_events, django_capture_on_commit_callbacks
):
    interaction = desk.disconnected(agent)

    with django_capture_on_commit_callbacks(execute=True):
        wrap_up(interaction, agent, codes["Call back"])
        wrap_up(interaction, agent, codes["Resolved"])  # changed their mind
        wrap_up(interaction, agent, codes["Resolved"])  # the same again: nothing new

    rows = list(InteractionEvent.objects.filter(interaction=interaction, verb="wrap_up"))
    assert [(r.from_state, r.to_state, r.actor_id) for r in rows] == [
        (S.DISCONNECTED, S.DISCONNECTED, agent.user_id)
    ] * 2
    assert [r.detail for r in rows] == [
        {"wrap_up_code_id": codes["Call back"].pk, "code": "Call back", "previous_code": ""},
        {"wrap_up_code_id": codes["Resolved"].pk, "code": "Resolved", "previous_code": "Call back"},
    ]
    assert routing_events == [changed(interaction, agent)] * 2


def test_a_code_is_optional_where_the_workgroup_does_not_require_one(agent, desk, codes):
    workgroup = desk.workgroup
    workgroup.wrap_up_required = False
    workgroup.save()
    interaction = desk.disconnected(agent)
    assert not services.wrap_up_missing(interaction)
    dismiss(interaction, agent)
    assert refresh(interaction).dismissed_at is not None


def test_a_workgroup_with_no_active_code_never_traps_an_interaction(desk, agent):
    WrapUpCode.objects.create(workgroup=desk.workgroup, label="Old", active=False)
    interaction = desk.disconnected(agent)
    assert not services.wrap_up_missing(interaction)
    dismiss(interaction, agent)


def test_an_offer_that_ended_before_anyone_picked_it_up_needs_no_code(desk, agent, codes):
    interaction = desk.alerting(agent)
    services.disconnect(interaction_id=interaction.pk, agent=None, reason="customer left")
    assert not services.wrap_up_missing(refresh(interaction))
    dismiss(interaction, agent)


NOT_YET = "Choose a wrap-up code once the interaction is disconnected."
NOT_LISTED = "Choose one of the listed wrap-up codes."
REFUSALS = [
    ("connected", "Resolved", "ann", TransitionRefused, NOT_YET),
    ("held", "Resolved", "ann", TransitionRefused, NOT_YET),
    ("disconnected", "Resolved", "bob", NotYours, "This interaction is not yours."),
    ("disconnected", "Retired", "ann", RoutingError, NOT_LISTED),
    ("disconnected", "other workgroup's", "ann", RoutingError, NOT_LISTED),
    ("dismissed", "Resolved", "ann", TransitionRefused, "This interaction has left your list."),
]


@pytest.mark.parametrize("state, code, who, error, words", REFUSALS)
def test_refusals_say_why_and_change_nothing(
    state, code, who, error, words, desk, agent, other, codes
):
    if state == "dismissed":
        interaction = desk.disconnected(agent)
        wrap_up(interaction, agent, codes["Call back"])
        dismiss(interaction, agent)
    else:
        interaction = getattr(desk, state)(agent)
    chosen = (
        WrapUpCode.objects.create(workgroup=make_workgroup(), label="Elsewhere")
        if code == "other workgroup's"
        else codes[code]
    )
    rows = interaction.events.count()
    before = refresh(interaction).wrap_up_code_id

    with pytest.raises(error) as refused:
        wrap_up(interaction, agent if who == "ann" else other, chosen)

    assert str(refused.value) == words
    assert refresh(interaction).wrap_up_code_id == before
    assert interaction.events.count() == rows


def test_an_unknown_code(desk, agent, codes):
    interaction = desk.disconnected(agent)
    with pytest.raises(RoutingError, match=r"^Choose one of the listed wrap-up codes\.$"):
        services.set_wrap_up(interaction_id=interaction.pk, agent=agent, wrap_up_code_id=98765)
