"""Recording: a span of an interaction kept as its own Recording row.

Record starts a span, pressing it again stops it; the interaction ending stops
it too (whoever ends it); a transfer does not (the recording is of the
customer's conversation). The transcript of the span, its messages and event
rows, is written into the row when it stops. A workgroup with auto_record
records every interaction from its creation.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from routing import services
from routing.models import Interaction, Recording
from routing.models import InteractionState as S
from tests.factories import customer_writes, make_agent, make_workgroup, refresh
from tests.supervisors import logged_in, make_supervisor

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(workgroup):
    return make_agent("ann", workgroups=[workgroup])


@pytest.fixture
def colleague(workgroup):
    return make_agent("bob", workgroups=[workgroup])


def says(interaction: Interaction, text: str):
    """The customer writes on the (live) interaction."""
    customer = interaction.customer
    received = services.receive_customer_message(
        workgroup_id=interaction.workgroup_id,
        page_id=customer.page_id,
        psid=customer.psid,
        mid=f"m_rec_{text}",
        text=text,
        sent_at=timezone.now(),
    )
    assert received.interaction.pk == interaction.pk
    return received.message


def replies(interaction: Interaction, agent, text: str):
    return services.store_reply(interaction_id=interaction.pk, agent=agent, text=text)


def verbs(interaction: Interaction) -> list[tuple]:
    return list(
        interaction.events.order_by("pk").values_list("verb", "from_state", "to_state", "actor_id")
    )


def record(interaction: Interaction, agent, on: bool = True) -> Interaction:
    return services.set_recording(interaction_id=interaction.pk, agent=agent, on=on)


def test_record_opens_a_recording_and_stop_keeps_the_transcript_of_the_span(desk, agent):
    interaction = desk.connected(agent, text="Before the recording")
    before = timezone.now()

    record(interaction, agent)

    running = Recording.objects.get(interaction=interaction)
    assert (running.started_by_id, running.stopped_at, running.transcript) == (
        agent.user_id,
        None,
        "",
    )
    assert before <= running.started_at <= interaction.events.get(verb="record").at
    says(interaction, "Inside, from the customer")
    replies(interaction, agent, "Inside, from Ann")

    record(interaction, agent, on=False)
    says(interaction, "After the recording")

    kept = Recording.objects.get(interaction=interaction)
    assert kept.stopped_at >= interaction.events.get(verb="stop_recording").at
    assert refresh(interaction).recording is False
    text = kept.transcript
    assert text.startswith(f"Recording from {timezone.localtime(kept.started_at):%Y-%m-%d}")
    assert "started by ann" in text.splitlines()[0]
    assert "Customer: Inside, from the customer" in text
    assert "ann (agent): Inside, from Ann" in text
    assert "* record by ann" in text and "* stop recording by ann" in text
    assert "Before the recording" not in text
    assert "After the recording" not in text
    assert "pickup" not in text  # an event before the span


def test_recording_while_held_and_twice_makes_two_recordings(desk, agent):
    interaction = desk.held(agent)

    record(interaction, agent)
    says(interaction, "First span")
    record(interaction, agent, on=False)
    record(interaction, agent)
    says(interaction, "Second span")
    record(interaction, agent, on=False)

    first, second = Recording.objects.filter(interaction=interaction).order_by("started_at")
    assert "First span" in first.transcript and "Second span" not in first.transcript
    assert "Second span" in second.transcript and "First span" not in second.transcript
    assert interaction.state == S.HELD
    assert [v for v, *_ in verbs(interaction)][-4:] == [
        "record",
        "stop_recording",
        "record",
        "stop_recording",
    ]


def test_pressing_record_twice_opens_one_recording(desk, agent):
    interaction = desk.connected(agent)
    record(interaction, agent)
    record(interaction, agent)
    assert Recording.objects.filter(interaction=interaction).count() == 1
    # Stopping what is not recording changes nothing either.
    other = desk.connected(agent)
    record(other, agent, on=False)
    assert not Recording.objects.filter(interaction=other).exists()


def test_disconnect_stops_the_recording_and_keeps_its_transcript(desk, agent):
    interaction = desk.connected(agent)
    record(interaction, agent)
    says(interaction, "Bye now")

    services.disconnect(interaction_id=interaction.pk, agent=agent)

    refresh(interaction)
    assert (interaction.state, interaction.recording) == (S.DISCONNECTED, False)
    assert verbs(interaction)[-2:] == [
        ("disconnect", S.CONNECTED, S.DISCONNECTED, agent.user_id),
        ("stop_recording", S.DISCONNECTED, S.DISCONNECTED, agent.user_id),
    ]
    assert interaction.events.last().detail == {"reason": "disconnect"}
    kept = Recording.objects.get(interaction=interaction)
    assert kept.stopped_at is not None
    assert "Customer: Bye now" in kept.transcript
    assert "* disconnect by ann: connected → disconnected" in kept.transcript


@pytest.mark.parametrize("ended_by", ["the customer's side", "a supervisor"])
def test_any_end_of_the_interaction_stops_the_recording(ended_by, desk, agent):
    interaction = desk.held(agent)
    record(interaction, agent)

    if ended_by == "a supervisor":
        boss = make_supervisor()
        services.supervisor_disconnect(interaction_id=interaction.pk, supervisor_user_id=boss.pk)
    else:
        services.disconnect(interaction_id=interaction.pk, agent=None, reason="customer left")

    assert refresh(interaction).recording is False
    kept = Recording.objects.get(interaction=interaction)
    assert kept.stopped_at is not None and "disconnected" in kept.transcript


def test_a_recording_goes_on_across_a_transfer(desk, agent, colleague):
    interaction = desk.connected(agent)
    record(interaction, agent)
    says(interaction, "Said to Ann")

    services.transfer_to_agent(interaction_id=interaction.pk, agent=agent, to_agent_id=colleague.pk)
    assert refresh(interaction).recording is True
    services.pickup(interaction_id=interaction.pk, agent=colleague)
    says(interaction, "Said to Bob")
    # The new owner sees it recording and may stop it.
    record(interaction, colleague, on=False)

    kept = Recording.objects.get(interaction=interaction)
    assert kept.started_by_id == agent.user_id
    assert "Said to Ann" in kept.transcript and "Said to Bob" in kept.transcript
    assert "* transfer to agent by ann: connected → alerting" in kept.transcript
    assert "* stop recording by bob" in kept.transcript


def test_an_auto_record_workgroup_records_every_interaction_from_its_start(agent):
    recorded = make_workgroup(auto_record=True)
    recorded.members.add(agent)
    # Meta's timestamp of the first message is before we stored anything.
    received = customer_writes(recorded, text="My very first words", sent_at=timezone.now())
    interaction = refresh(received.interaction)

    assert interaction.recording is True
    running = Recording.objects.get(interaction=interaction)
    assert (running.started_by_id, running.started_at) == (None, interaction.created_at)
    assert verbs(interaction) == [
        ("create", "", S.QUEUED, None),
        ("record", S.QUEUED, S.QUEUED, None),
    ]
    assert interaction.events.get(verb="record").detail == {"auto": True}

    services.pickup(interaction_id=interaction.pk, agent=agent)
    services.disconnect(interaction_id=interaction.pk, agent=agent)

    text = Recording.objects.get(interaction=interaction).transcript
    assert ", automatic" in text.splitlines()[0]
    assert "Customer: My very first words" in text
    assert "* create by system: — → queued" in text
    assert "* disconnect by ann" in text


def test_an_agent_cannot_stop_the_recording_of_an_auto_record_workgroup(agent):
    recorded = make_workgroup(auto_record=True)
    recorded.members.add(agent)
    interaction = customer_writes(recorded, text="Hello").interaction
    services.pickup(interaction_id=interaction.pk, agent=agent)
    interaction = refresh(interaction)
    # The toolbar offers no way to stop it…
    assert services.allowed_actions(interaction, agent.pk)["record"] is False

    # …and the verb refuses it, with words for the screen.
    with pytest.raises(services.RoutingError, match="records every interaction"):
        services.set_recording(interaction_id=interaction.pk, agent=agent, on=False)
    assert refresh(interaction).recording is True
    assert Recording.objects.get(interaction=interaction).stopped_at is None


def test_record_can_be_released_in_a_workgroup_without_auto_record(desk, agent):
    interaction = desk.connected(agent)
    services.set_recording(interaction_id=interaction.pk, agent=agent, on=True)
    assert services.allowed_actions(refresh(interaction), agent.pk)["record"] is True


def test_an_early_meta_timestamp_stays_in_an_automatic_recording(agent):
    recorded = make_workgroup(auto_record=True)
    early = timezone.now() - timedelta(seconds=30)
    received = customer_writes(recorded, text="Sent a while ago", sent_at=early)
    interaction = refresh(received.interaction)
    services.disconnect(interaction_id=interaction.pk, agent=None)
    assert "Sent a while ago" in Recording.objects.get(interaction=interaction).transcript


def test_a_workgroup_without_auto_record_records_nothing_by_itself(desk, agent):
    interaction = desk.queued()
    assert interaction.recording is False
    assert not Recording.objects.exists()


def test_a_transfer_into_an_auto_record_workgroup_starts_recording(desk, agent):
    recorded = make_workgroup(auto_record=True)
    interaction = desk.connected(agent)

    services.transfer_to_workgroup(
        interaction_id=interaction.pk, agent=agent, workgroup_id=recorded.pk
    )

    assert refresh(interaction).recording is True
    running = Recording.objects.get(interaction=interaction)
    assert running.started_by_id is None and running.stopped_at is None
    assert verbs(interaction)[-1] == ("record", S.QUEUED, S.QUEUED, None)


def test_supervisors_open_and_download_a_recording_from_admin(desk, agent):
    interaction = desk.connected(agent)
    record(interaction, agent)
    says(interaction, "Please keep this")
    record(interaction, agent, on=False)
    kept = Recording.objects.get(interaction=interaction)
    client = logged_in(make_supervisor())

    page = client.get(f"/admin/routing/recording/{kept.pk}/change/").content.decode()
    assert "Please keep this" in page
    history = client.get(f"/admin/routing/interaction/{interaction.pk}/change/").content.decode()
    assert f"/admin/routing/recording/{kept.pk}/change/" in history

    response = client.get(f"/admin/routing/recording/{kept.pk}/transcript.txt")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="recording-{kept.pk}.txt"'
    assert response.content.decode() == kept.transcript
