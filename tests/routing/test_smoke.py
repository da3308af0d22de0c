import pytest

from routing.models import InteractionState
from tests.factories import customer_writes, make_agent, make_workgroup, refresh


@pytest.mark.django_db(transaction=True)
def test_a_new_message_is_offered_to_an_available_agent():
    workgroup = make_workgroup()
    agent = make_agent(workgroups=[workgroup])
    received = customer_writes(workgroup)
    interaction = refresh(received.interaction)
    assert interaction.state == InteractionState.ALERTING
    assert interaction.agent == agent
