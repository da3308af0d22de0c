"""The toolbar offers exactly what the verbs accept: `allowed_actions` against the services.

For every state and every relation of the agent to the interaction, each
button the toolbar enables must be accepted by its verb, and each it disables
refused; the verb's work is rolled back after each try.
"""

import pytest
from django.db import transaction

from routing import services
from routing.models import InteractionState as S
from tests.factories import make_agent

pytestmark = pytest.mark.django_db


class Undo(Exception):
    pass


def accepted(verb) -> bool:
    try:
        with transaction.atomic():
            verb()
            raise Undo
    except Undo:
        return True
    except services.RoutingError:
        return False


@pytest.mark.parametrize("state", [S.QUEUED, S.ALERTING, S.CONNECTED, S.HELD, S.DISCONNECTED])
@pytest.mark.parametrize("relation", ["owner", "other member"])
def test_every_enabled_button_is_accepted_and_every_disabled_one_refused(desk, state, relation):
    owner = make_agent(workgroups=[desk.workgroup])
    other = make_agent(workgroups=[desk.workgroup])
    target = make_agent(workgroups=[desk.workgroup])
    if state == S.QUEUED:
        interaction = desk.queued()
        if interaction.state != S.QUEUED:  # offered on arrival: put it back
            services.set_agent_status(agent=interaction.agent, status="away")
            interaction.refresh_from_db()
    else:
        interaction = getattr(desk, str(state))(owner)
    assert interaction.state == state
    agent = owner if relation == "owner" else other
    pk = interaction.pk
    verbs = {
        "pickup": lambda: services.pickup(interaction_id=pk, agent=agent),
        "hold": lambda: services.hold(interaction_id=pk, agent=agent),
        "transfer": lambda: services.transfer_to_agent(
            interaction_id=pk, agent=agent, to_agent_id=target.pk
        ),
        "record": lambda: services.set_recording(interaction_id=pk, agent=agent, on=True),
        "disconnect": lambda: services.disconnect(interaction_id=pk, agent=agent),
    }
    allowed = services.allowed_actions(interaction, agent.pk)
    assert {button: accepted(verb) for button, verb in verbs.items()} == allowed
