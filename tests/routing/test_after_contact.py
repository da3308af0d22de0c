"""After-contact work: no new offers for a while after an interaction ends; Done; time out."""

from datetime import timedelta

import pytest
from django.utils import timezone

from routing import services
from routing.models import Interaction, InteractionEvent, WrapUpCode
from routing.models import InteractionState as S
from routing.services import NotYours, TransitionRefused
from tests.factories import customer_writes, make_agent, make_workgroup, refresh

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def workgroup():
    return make_workgroup(after_contact_seconds=60, capacity_per_agent=4)


def ended(workgroup, agent, psid="7500000000000001"):
    chat = refresh(customer_writes(workgroup, psid=psid).interaction)
    services.pickup(interaction_id=chat.pk, agent=agent)
    return services.disconnect(interaction_id=chat.pk, agent=agent)


def test_after_disconnect_the_agent_is_offered_nothing_until_done(workgroup):
    agent = make_agent("ann", workgroups=[workgroup])
    before = timezone.now()
    chat = ended(workgroup, agent)
    assert before + timedelta(seconds=59) < refresh(chat).after_contact_until

    waiting = refresh(customer_writes(workgroup, psid="7500000000000002").interaction)
    assert (waiting.state, waiting.agent_id) == (S.QUEUED, None)

    services.end_after_contact(interaction_id=chat.pk, agent=agent)

    assert refresh(waiting).agent_id == agent.pk  # offered at once
    assert InteractionEvent.objects.filter(interaction=chat, verb="after_contact_done").exists()
    with pytest.raises(TransitionRefused, match="already over"):
        services.end_after_contact(interaction_id=chat.pk, agent=agent)


def test_only_the_agent_ends_it(workgroup):
    agent = make_agent("ann", workgroups=[workgroup])
    chat = ended(workgroup, agent)
    with pytest.raises(NotYours):
        services.end_after_contact(interaction_id=chat.pk, agent=make_agent("bob"))


def test_when_time_runs_out_the_default_wrap_up_code_applies_and_offers_resume(workgroup):
    code = WrapUpCode.objects.create(workgroup=workgroup, label="Resolved")
    workgroup.default_wrap_up_code = code
    workgroup.save()
    agent = make_agent("ann", workgroups=[workgroup])
    chat = ended(workgroup, agent)
    waiting = refresh(customer_writes(workgroup, psid="7500000000000003").interaction)
    Interaction.objects.filter(pk=chat.pk).update(
        after_contact_until=timezone.now() - timedelta(seconds=1)
    )

    assert services.run_due_timers()["after_contact_ended"] == 1

    chat = refresh(chat)
    assert chat.wrap_up_code == code and chat.after_contact_ended_at is not None
    row = InteractionEvent.objects.get(interaction=chat, verb="after_contact_timeout")
    assert row.detail == {"wrap_up_code": "Resolved"}
    assert refresh(waiting).agent_id == agent.pk
    assert services.run_due_timers()["after_contact_ended"] == 0


def test_a_chosen_wrap_up_code_is_kept_and_no_offer_rings_an_agent_in_after_contact_work(
    workgroup,
):
    code = WrapUpCode.objects.create(workgroup=workgroup, label="Resolved")
    other = WrapUpCode.objects.create(workgroup=workgroup, label="Sold")
    workgroup.default_wrap_up_code = code
    workgroup.save()
    agent = make_agent("ann", workgroups=[workgroup])
    chat = ended(workgroup, agent)
    services.set_wrap_up(interaction_id=chat.pk, agent=agent, wrap_up_code_id=other.pk)
    Interaction.objects.filter(pk=chat.pk).update(
        after_contact_until=timezone.now() - timedelta(seconds=1)
    )
    services.run_due_timers()
    assert refresh(chat).wrap_up_code == other


def test_a_transfer_to_an_agent_in_after_contact_work_is_refused_with_words(workgroup):
    bob = make_agent("bob", workgroups=[workgroup])
    ended(workgroup, bob)
    ann = make_agent("ann", workgroups=[workgroup])
    chat = refresh(customer_writes(workgroup, psid="7500000000000009").interaction)
    services.pickup(interaction_id=chat.pk, agent=ann)
    with pytest.raises(services.RoutingError, match="after-contact work"):
        services.transfer_to_agent(interaction_id=chat.pk, agent=ann, to_agent_id=bob.pk)


def test_off_by_default():
    workgroup = make_workgroup()
    agent = make_agent("ann", workgroups=[workgroup])
    assert refresh(ended(workgroup, agent)).after_contact_until is None
