"""Inactivity: an agent who does not reply loses the interaction; a silent customer is disconnected.

The clock is moved by moving the due times (`reply_due_at`, `silence_due_at`)
towards now or into the past, which is what the passing of time does to them.
"""

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from routing import services
from routing.events import EventType
from routing.models import AgentStatus, Interaction, InteractionEvent, WrapUpCode
from routing.models import InteractionState as S
from tests.factories import customer_writes, make_agent, make_workgroup, refresh
from tests.routing.conftest import changed

pytestmark = pytest.mark.django_db(transaction=True)

_psids = itertools.count(1)


def picked_up(workgroup, agent) -> Interaction:
    chat = refresh(customer_writes(workgroup, psid=f"77{next(_psids):014d}").interaction)
    services.pickup(interaction_id=chat.pk, agent=agent)
    return refresh(chat)


def due_in(interaction: Interaction, field: str, seconds: float) -> None:
    """Let time pass until `field` is `seconds` away (negative: past)."""
    Interaction.objects.filter(pk=interaction.pk).update(
        **{field: timezone.now() + timedelta(seconds=seconds)}
    )


def verbs(interaction: Interaction) -> list[str]:
    return list(interaction.events.order_by("pk").values_list("verb", flat=True))


@pytest.fixture
def workgroup():
    return make_workgroup(
        agent_reply_timeout_seconds=300,
        agent_reply_warning_seconds=60,
        customer_silence_timeout_seconds=600,
        customer_silence_warning_seconds=120,
    )


@pytest.fixture
def ann(workgroup):
    return make_agent("ann", workgroups=[workgroup])


# --- the agent's reply clock ----------------------------------------------------------


def test_a_pickup_starts_the_agents_reply_clock(workgroup, ann):
    before = timezone.now()
    chat = picked_up(workgroup, ann)
    assert (
        before + timedelta(seconds=299)
        < chat.reply_due_at
        <= timezone.now() + timedelta(seconds=300)
    )
    assert chat.silence_due_at is None
    assert services.run_inactivity_timers() == {
        "no_reply_warnings": 0,
        "returned_for_no_reply": 0,
        "silence_warnings": 0,
        "disconnected_for_silence": 0,
    }


def test_the_agent_is_warned_then_loses_it_to_the_queue_and_is_marked(
    workgroup, ann, routing_events
):
    chat = picked_up(workgroup, ann)
    due_in(chat, "reply_due_at", 90)
    assert services.run_inactivity_timers()["no_reply_warnings"] == 0  # not within the lead yet

    due_in(chat, "reply_due_at", 45)
    routing_events.clear()
    assert services.run_inactivity_timers()["no_reply_warnings"] == 1
    assert services.run_inactivity_timers()["no_reply_warnings"] == 0  # warned once
    warning = InteractionEvent.objects.get(interaction=chat, verb="no_reply_warning")
    assert warning.actor_id is None and warning.detail["agent_id"] == ann.pk
    assert 40 <= warning.detail["seconds_left"] <= 45
    assert refresh(chat).reply_warned_at is not None
    assert routing_events == [changed(chat, ann)]  # the owner's desktop redraws it

    due_in(chat, "reply_due_at", -1)
    assert services.run_inactivity_timers()["returned_for_no_reply"] == 1

    chat = refresh(chat)
    assert (chat.state, chat.agent_id, chat.lapsed_agent_id) == (S.QUEUED, None, ann.pk)
    assert (chat.reply_due_at, chat.reply_warned_at) == (None, None)
    row = InteractionEvent.objects.get(interaction=chat, verb="inactivity_return")
    assert (row.from_state, row.to_state, row.actor_id) == (S.CONNECTED, S.QUEUED, None)
    assert row.detail == {"agent_id": ann.pk, "timeout_seconds": 300}
    ann.refresh_from_db()
    assert ann.status == AgentStatus.NOT_ANSWERING  # not offered it straight back
    assert services.run_inactivity_timers()["returned_for_no_reply"] == 0


def test_the_returned_interaction_is_offered_to_the_next_agent(workgroup, ann):
    chat = picked_up(workgroup, ann)
    bob = make_agent("bob", workgroups=[workgroup])
    due_in(chat, "reply_due_at", -1)

    services.run_due_timers()

    chat = refresh(chat)
    assert (chat.state, chat.agent_id, chat.lapsed_agent_id) == (S.ALERTING, bob.pk, ann.pk)
    assert verbs(chat)[-2:] == ["inactivity_return", "offer"]
    # Bob's pickup gives him the whole reply time again.
    services.pickup(interaction_id=chat.pk, agent=bob)
    assert refresh(chat).reply_due_at > timezone.now() + timedelta(seconds=290)


def test_a_reply_stops_the_agents_clock_and_starts_the_customers(workgroup, ann, routing_events):
    chat = picked_up(workgroup, ann)
    due_in(chat, "reply_due_at", 30)
    services.run_inactivity_timers()
    routing_events.clear()

    services.store_reply(interaction_id=chat.pk, agent=ann, text="Hi, how can I help?")

    chat = refresh(chat)
    assert (chat.reply_due_at, chat.reply_warned_at) == (None, None)
    assert chat.silence_due_at > timezone.now() + timedelta(seconds=590)
    # The warning on the agent's screen goes with the reply.
    assert changed(chat, ann) in routing_events
    assert services.run_inactivity_timers()["returned_for_no_reply"] == 0
    assert refresh(chat).state == S.CONNECTED


def test_a_reply_after_the_due_time_but_before_the_timer_keeps_it(workgroup, ann):
    chat = picked_up(workgroup, ann)
    due_in(chat, "reply_due_at", -5)
    services.store_reply(interaction_id=chat.pk, agent=ann, text="Sorry, here I am")

    assert services.return_for_no_reply(interaction_id=chat.pk) is False
    assert refresh(chat).state == S.CONNECTED


def test_hold_stops_the_clocks_and_picking_up_again_restarts_the_agents(workgroup, ann):
    chat = picked_up(workgroup, ann)
    services.hold(interaction_id=chat.pk, agent=ann)
    assert refresh(chat).reply_due_at is None
    assert services.run_inactivity_timers()["returned_for_no_reply"] == 0

    services.pickup(interaction_id=chat.pk, agent=ann)
    assert refresh(chat).reply_due_at > timezone.now() + timedelta(seconds=290)


def test_a_transfer_or_a_take_over_stops_the_clocks(workgroup, ann):
    bob = make_agent("bob", workgroups=[workgroup])
    chat = picked_up(workgroup, ann)
    services.transfer_to_agent(interaction_id=chat.pk, agent=ann, to_agent_id=bob.pk)
    assert refresh(chat).reply_due_at is None

    other = picked_up(workgroup, bob)
    boss = make_agent("boss")
    services.take_over(interaction_id=other.pk, supervisor_user_id=boss.user_id)
    assert (refresh(other).state, other.reply_due_at) == (S.CONNECTED, None)


def test_a_warning_is_not_given_once_the_time_is_up_or_where_none_is_set(ann):
    quiet = make_workgroup(agent_reply_timeout_seconds=300)
    quiet.members.add(ann)
    chat = picked_up(quiet, ann)
    due_in(chat, "reply_due_at", 10)
    assert services.warn_no_reply(interaction_id=chat.pk) is False
    due_in(chat, "reply_due_at", -1)
    assert services.warn_no_reply(interaction_id=chat.pk) is False
    assert services.run_inactivity_timers()["returned_for_no_reply"] == 1
    assert "no_reply_warning" not in verbs(chat)


def test_off_by_default():
    workgroup = make_workgroup()
    agent = make_agent("ann", workgroups=[workgroup])
    chat = picked_up(workgroup, agent)
    services.store_reply(interaction_id=chat.pk, agent=agent, text="Hello")
    chat = refresh(chat)
    assert (chat.reply_due_at, chat.silence_due_at) == (None, None)


# --- the customer's silence clock -----------------------------------------------------


@pytest.fixture
def replied(workgroup, ann):
    chat = picked_up(workgroup, ann)
    services.store_reply(interaction_id=chat.pk, agent=ann, text="Anything else?")
    return refresh(chat)


def test_a_silent_customer_is_warned_then_disconnected_with_the_wrap_up_code(
    workgroup, ann, replied
):
    code = WrapUpCode.objects.create(workgroup=workgroup, label="No response")
    workgroup.customer_silence_wrap_up_code = code
    workgroup.save()
    due_in(replied, "silence_due_at", 100)

    assert services.run_inactivity_timers()["silence_warnings"] == 1
    warning = InteractionEvent.objects.get(interaction=replied, verb="customer_silence_warning")
    assert 95 <= warning.detail["seconds_left"] <= 100 and warning.detail["agent_id"] == ann.pk

    due_in(replied, "silence_due_at", -1)
    assert services.run_inactivity_timers()["disconnected_for_silence"] == 1

    chat = refresh(replied)
    assert (chat.state, chat.agent_id, chat.wrap_up_code) == (S.DISCONNECTED, ann.pk, code)
    assert chat.lapsed_agent_id is None  # the customer went quiet, not the agent
    row = InteractionEvent.objects.get(interaction=chat, verb="disconnect")
    assert row.actor_id is None
    assert row.detail == {
        "reason": "The customer was silent for 10 minutes.",
        "wrap_up_code": "No response",
    }
    assert services.run_inactivity_timers()["disconnected_for_silence"] == 0


def test_the_customer_writing_stops_their_clock_and_the_warning(ann, replied, routing_events):
    due_in(replied, "silence_due_at", 30)
    services.run_inactivity_timers()
    routing_events.clear()

    customer_writes(replied.workgroup, psid=replied.customer.psid, text="Yes, one more thing")

    chat = refresh(replied)
    assert (chat.silence_due_at, chat.silence_warned_at) == (None, None)
    assert changed(chat, ann) in routing_events
    # The message, and the interaction (its warning gone; its reply clock started).
    assert {e.type for e in routing_events} == {
        EventType.MESSAGE_CHANGED,
        EventType.INTERACTION_CHANGED,
    }
    assert services.disconnect_for_silence(interaction_id=chat.pk) is False
    assert chat.state == S.CONNECTED


def test_each_reply_restarts_the_customers_clock(ann, replied):
    due_in(replied, "silence_due_at", 5)
    services.store_reply(interaction_id=replied.pk, agent=ann, text="Still there?")
    assert refresh(replied).silence_due_at > timezone.now() + timedelta(seconds=590)


def test_a_wrap_up_code_of_another_workgroup_or_retired_is_not_applied(workgroup, replied):
    retired = WrapUpCode.objects.create(workgroup=workgroup, label="Old", active=False)
    workgroup.customer_silence_wrap_up_code = retired
    workgroup.save()
    due_in(replied, "silence_due_at", -1)

    assert services.disconnect_for_silence(interaction_id=replied.pk) is True

    chat = refresh(replied)
    assert (chat.state, chat.wrap_up_code_id) == (S.DISCONNECTED, None)
    assert (
        "wrap_up_code"
        not in InteractionEvent.objects.get(interaction=chat, verb="disconnect").detail
    )


def test_a_silent_customer_on_an_interaction_no_longer_connected_is_left_alone(ann, replied):
    due_in(replied, "silence_due_at", -1)
    Interaction.objects.filter(pk=replied.pk).update(state=S.HELD)
    assert services.disconnect_for_silence(interaction_id=replied.pk) is False
    assert services.warn_silence(interaction_id=replied.pk) is False
    assert refresh(replied).state == S.HELD


def test_a_timeout_turned_off_stops_the_clocks_running_under_it(workgroup, ann, replied):
    unanswered = picked_up(workgroup, ann)
    warned_soon = picked_up(workgroup, ann)
    due_in(unanswered, "reply_due_at", -1)
    due_in(warned_soon, "reply_due_at", 10)
    due_in(replied, "silence_due_at", -1)
    workgroup.agent_reply_timeout_seconds = None
    workgroup.customer_silence_timeout_seconds = None
    workgroup.save()

    done = services.run_inactivity_timers()

    assert done == {
        "no_reply_warnings": 0,
        "returned_for_no_reply": 0,
        "silence_warnings": 0,
        "disconnected_for_silence": 0,
    }
    assert (refresh(unanswered).state, unanswered.reply_due_at) == (S.CONNECTED, None)
    assert (refresh(replied).state, replied.silence_due_at) == (S.CONNECTED, None)
