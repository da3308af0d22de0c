"""Queue control on the desktop: every status and Not answering in the status
picker; hold (the held time, the composer closed, the customer's messages still
arriving, live); transfer (the dialog, refusals in words, the transcript
following to the new agent)."""

import re
import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.db import connection
from django.test import Client
from django.utils import timezone

from routing import services
from routing.models import Agent, AgentStatus, DesktopConnection, Interaction
from routing.models import InteractionState as S
from tests.connect.test_consumers import desktop_socket, receive_until, session_cookie
from tests.factories import customer_writes, make_agent, make_page, make_workgroup, refresh

pytestmark = pytest.mark.django_db(transaction=True)

HTMX = {"HTTP_HX_REQUEST": "true"}
PSID = "7300000000000042"


@pytest.fixture
def workgroup():
    group = make_workgroup("Facebook DM")
    make_page(group)
    return group


def logged_in(agent) -> Client:
    client = Client()
    client.force_login(agent.user)
    return client


def connected(workgroup, agent, text: str = "Hello") -> Interaction:
    interaction = customer_writes(workgroup, psid=PSID, text=text).interaction
    return services.pickup(interaction_id=interaction.pk, agent=agent)


# --- status ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, label",
    [
        ("available", "Available"),
        ("away", "Away"),
        ("dnd", "Do Not Disturb"),
        ("lunch", "At Lunch"),
        ("gone_home", "Gone Home"),
    ],
)
def test_every_status_can_be_set_from_the_desktop(status, label, workgroup):
    agent = make_agent(workgroups=[workgroup], status=AgentStatus.NOT_ANSWERING)

    response = logged_in(agent).post("/desktop/status", {"status": status}, **HTMX)

    assert response.status_code == 200
    assert re.search(rf'<option value="{status}" selected>{label}</option>', response.text)
    assert refresh_agent(agent).status == status


def test_not_answering_shows_with_what_to_do_and_cannot_be_chosen(workgroup):
    agent = make_agent(workgroups=[workgroup], status=AgentStatus.NOT_ANSWERING)
    page = logged_in(agent).get("/").content.decode()
    assert '<option value="not_answering" selected disabled>Not answering</option>' in page
    assert "set Available to get offers again" in page

    response = logged_in(agent).post("/desktop/status", {"status": "not_answering"}, **HTMX)
    assert response.status_code == 422
    assert "Choose one of the listed statuses." in response.content.decode()


# --- hold -------------------------------------------------------------------------------


def test_only_a_pickup_from_the_queue_redraws_the_queue_in_its_answer(workgroup):
    agent = make_agent(workgroups=[workgroup])
    offered = refresh(customer_writes(workgroup, psid=PSID, text="Hello").interaction)
    assert (offered.state, offered.agent_id) == (S.ALERTING, agent.pk)
    client = logged_in(agent)
    answers = {}
    for action in ("pickup", "hold", "record", "disconnect"):
        answers[action] = client.post(f"/interactions/{offered.pk}/{action}", **HTMX)
        assert answers[action].status_code == 200, action
        assert 'id="my-interactions"' in answers[action].content.decode(), action
        # A pickup of an offer, and the rest, cannot change the queue.
        assert 'id="workgroup-queue"' not in answers[action].content.decode(), action
    assert refresh(offered).state == S.DISCONNECTED
    # Away, the agent is offered nothing: the next customer waits in the queue,
    # and picking them up from there takes them out of it.
    services.set_agent_status(agent=agent, status=AgentStatus.AWAY)
    waiting = refresh(customer_writes(workgroup, psid="7300000000000043", text="Hi").interaction)
    assert waiting.state == S.QUEUED
    answer = client.post(f"/interactions/{waiting.pk}/pickup", **HTMX).content.decode()
    assert refresh(waiting).state == S.CONNECTED
    queue = answer[answer.index('id="workgroup-queue"') :]
    assert f'id="queue-{waiting.pk}"' not in queue and "Hi" not in queue


def test_an_answers_parts_say_when_the_interaction_was_read_a_stamp_taken_before_the_read(
    workgroup,
):
    # A tab keeps a pushed part only when it was read later than the one shown
    # (static/connect/desktop.js): stamped after its read, an answer could be
    # called newer than a push read in between, which would then be refused.
    agent = make_agent(workgroups=[workgroup])
    offered = refresh(customer_writes(workgroup, psid=PSID, text="Hello").interaction)
    reads_of_it: list[tuple[int, str]] = []

    def note_when_read(execute, sql, params, many, context):
        if sql.startswith('SELECT "routing_interaction"'):
            reads_of_it.append((int(time.time() * 1000), sql))
            result = execute(sql, params, many, context)
            time.sleep(0.005)  # so that a stamp taken after the read would be later
            return result
        return execute(sql, params, many, context)

    client = logged_in(agent)
    with connection.execute_wrapper(note_when_read):
        answer = client.post(f"/interactions/{offered.pk}/pickup", **HTMX).content.decode()
    assert refresh(offered).state == S.CONNECTED
    # The toolbar, the heading and the composer's state share one stamp.
    parts = re.findall(r'id="(toolbar|head|composer-status)-\d+"[^>]*data-read-at="(\d+)"', answer)
    assert sorted(name for name, _ in parts) == ["composer-status", "head", "toolbar"]
    (stamp,) = {int(at) for _, at in parts}
    # The pickup locks the row; then the answer reads it again (its list and its
    # queue are read after).
    (locked_at, _), (read_at, read) = reads_of_it[0], reads_of_it[1]
    assert '"routing_interaction"."id" = %s' in read
    assert locked_at <= stamp <= read_at


def test_the_held_time_shows_in_the_head_and_the_composer_is_closed(workgroup):
    agent = make_agent(workgroups=[workgroup])
    interaction = connected(workgroup, agent)
    services.hold(interaction_id=interaction.pk, agent=agent)
    Interaction.objects.filter(pk=interaction.pk).update(
        held_at=timezone.now() - timedelta(minutes=2, seconds=15)
    )

    page = logged_in(agent).get(f"/interactions/{interaction.pk}/", **HTMX).content.decode()

    held = re.search(
        r'<span class="held-for" role="timer" data-held-seconds="(\d+)">(.*?)</span></span>', page
    )
    assert held is not None
    assert int(held.group(1)) in (135, 136)
    assert re.fullmatch(r'On hold for <span class="held-clock">2:1[56]', held.group(2))
    # No reply while held; the text box stays open for an internal note.
    assert re.search(r'<button type="submit" class="primary" disabled>Send</button>', page)
    assert not re.search(r'<textarea name="text"[^>]* disabled>', page)
    assert ">Add note</button>" in page
    assert "On hold: pick up to reply." in page

    # Picked up again: no held time, the composer opens.
    services.pickup(interaction_id=interaction.pk, agent=agent)
    page = logged_in(agent).get(f"/interactions/{interaction.pk}/", **HTMX).content.decode()
    assert "held-for" not in page
    assert not re.search(r'<textarea name="text"[^>]* disabled>', page)


def test_customer_messages_on_hold_are_shown_and_pushed_live(workgroup):
    agent = make_agent(workgroups=[workgroup], online=False)
    interaction = connected(workgroup, agent, text="First")
    services.hold(interaction_id=interaction.pk, agent=agent)

    async def arrives_live() -> str:
        cookie = await database_sync_to_async(session_cookie)(agent.user)
        socket = desktop_socket(cookie)
        assert (await socket.connect())[0]
        await database_sync_to_async(customer_writes)(workgroup, psid=PSID, text="Still there?")
        frame = await receive_until(socket, "Still there?")
        await socket.disconnect()
        return frame

    frame = async_to_sync(arrives_live)()
    assert f'hx-swap-oob="beforeend:#transcript-{interaction.pk}"' in frame
    assert refresh(interaction).state == S.HELD
    page = logged_in(agent).get(f"/interactions/{interaction.pk}/", **HTMX).content.decode()
    assert "First" in page and "Still there?" in page


# --- transfer ---------------------------------------------------------------------------


def test_the_transfer_dialog_lists_agents_with_status_and_workgroups_with_waiting(workgroup):
    agent = make_agent("ann", workgroups=[workgroup])
    make_agent("bob", workgroups=[workgroup], status=AgentStatus.AT_LUNCH)
    make_agent("cy", workgroups=[workgroup], online=False)
    billing = make_workgroup("Billing")
    customer_writes(billing, psid="7300000000000091")
    interaction = connected(workgroup, agent)

    dialog = logged_in(agent).get(f"/interactions/{interaction.pk}/transfer-dialog", **HTMX)

    body = dialog.content.decode()
    targets = re.findall(r'<label class="target"[^>]*>(.*?)</label>', body, re.S)
    agents = [re.sub(r"<[^>]+>|\s+", " ", t).split() for t in targets if "agent:" in t]
    # Those a transfer can ring come first; the rest say why not.
    assert agents == [["bob", "At", "Lunch"], ["cy", "Available", "·", "desktop", "closed"]]
    assert re.search(r"Billing <span class=\"muted\">1 waiting</span>", body)
    assert 'type="search"' in body


@pytest.mark.parametrize(
    "why, words",
    [
        ("away", "is not available (Away)."),
        ("desktop closed", "does not have the desktop open."),
        ("full", "has no room for another interaction."),
    ],
)
def test_a_transfer_to_an_agent_who_cannot_take_it_says_why(why, words, workgroup):
    # Transfers ring the agent like an offer, so only an agent who could be
    # offered it can be chosen; the sender keeps it and reads why.
    agent = make_agent("ann", workgroups=[workgroup])
    bob = make_agent("bob", workgroups=[workgroup], status=AgentStatus.AWAY)
    interaction = connected(workgroup, agent)
    if why == "desktop closed":
        DesktopConnection.objects.filter(agent=bob).delete()
    if why != "away":
        Agent.objects.filter(pk=bob.pk).update(status=AgentStatus.AVAILABLE)
    if why == "full":
        Agent.objects.filter(pk=bob.pk).update(capacity=0)

    response = logged_in(agent).post(
        f"/interactions/{interaction.pk}/transfer", {"target": f"agent:{bob.pk}"}, **HTMX
    )

    assert response.status_code == 409
    assert f"bob {words}" in response.content.decode()
    assert (refresh(interaction).state, interaction.agent_id) == (S.CONNECTED, agent.pk)


def test_after_a_transfer_the_new_agent_opens_the_transcript_and_the_sender_cannot(workgroup):
    ann = make_agent("ann", workgroups=[workgroup])
    bob = make_agent("bob", workgroups=[workgroup], status=AgentStatus.AWAY)
    interaction = connected(workgroup, ann, text="My order never came")
    services.set_agent_status(agent=bob, status=AgentStatus.AVAILABLE)

    response = logged_in(ann).post(
        f"/interactions/{interaction.pk}/transfer", {"target": f"agent:{bob.pk}"}, **HTMX
    )

    assert response.status_code == 200
    assert f'id="interaction-{interaction.pk}"' not in response.content.decode()
    assert "Offered to bob." in response.content.decode()
    page = logged_in(bob).get(f"/interactions/{interaction.pk}/", **HTMX)
    assert page.status_code == 200 and "My order never came" in page.content.decode()
    assert logged_in(ann).get(f"/interactions/{interaction.pk}/", **HTMX).status_code == 404


def refresh_agent(agent):
    agent.refresh_from_db()
    return agent


def test_the_transfer_dialog_finds_a_colleague_by_login_name_and_workgroup(workgroup):
    agent = make_agent("ann", workgroups=[workgroup])
    bob = make_agent("agent2", workgroups=[workgroup, make_workgroup("Parcels")])
    bob.user.first_name, bob.user.last_name = "Bob", "Agent"
    bob.user.save()
    interaction = connected(workgroup, agent)

    body = logged_in(agent).get(f"/interactions/{interaction.pk}/transfer-dialog", **HTMX)
    label = re.search(
        rf'<label class="target" data-search="([^"]*)">[^<]*<input[^>]*agent:{bob.pk}"',
        body.content.decode(),
    )
    # What the dialog's search box matches: the name shown, the login, the workgroups.
    assert label is not None
    words = label.group(1).split()
    assert {"Bob", "Agent", "agent2", "Facebook", "DM", "Parcels"} <= set(words)
