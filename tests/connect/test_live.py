"""Live delivery: each event rendered once per audience, whatever the size of the floor.

Members' sockets are stood in for by channels added to the real channel layer
(in memory, or Redis in the PostgreSQL pass): the layer, the renderer and the
database are the real ones.
"""

import re
import time

import pytest
from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import connection
from django.template.backends.django import Template as DjangoTemplate
from django.test.utils import CaptureQueriesContext

from connect import audience, fragments, live
from routing import services
from routing.events import EventType, interaction_event, message_event
from routing.models import Customer, Interaction
from tests.factories import customer_writes, make_agent, make_page, make_workgroup, refresh

pytestmark = pytest.mark.django_db(transaction=True)


class Floor:
    """A workgroup whose members each have a desktop socket (a channel in their groups)."""

    def __init__(self, members: int) -> None:
        self.layer = get_channel_layer()
        self.workgroup = make_workgroup()
        self.page = make_page(self.workgroup, page_id=f"1000{self.workgroup.pk:011d}")
        self.agents = [make_agent(workgroups=[self.workgroup]) for _ in range(members)]
        self.channels: dict[int, str] = {}
        for agent in self.agents:
            # A plain name: Redis receives it directly, from whichever loop asks.
            channel = f"test.member.{agent.pk}"
            self.channels[agent.pk] = channel
            for group in (
                audience.agent_group(agent.pk),
                audience.workgroup_group(self.workgroup.pk),
            ):
                async_to_sync(self.layer.group_add)(group, channel)

    def frames(self, agent) -> list[str]:
        """Every frame this member's socket has been sent so far."""
        got = []
        for message in self._messages(self.channels[agent.pk]):
            got.append(message["html"] if message["type"] == live.FRAME else message["type"])
        return got

    def _messages(self, channel):
        if isinstance(self.layer, InMemoryChannelLayer):
            # Without waiting: the layer's queues belong to one event loop.
            queue = self.layer.channels.get(channel)
            while queue is not None and not queue.empty():
                yield queue.get_nowait()[1]
            return
        # Taken without waiting too: the renderer has sent them before it returns
        # (`LIVE_UPDATES = "inline"`). A receive cancelled by a timeout could take
        # a message from Redis and lose it, and a short one missed a frame still
        # on its way under a loaded machine.
        yield from async_to_sync(self._take_all)(channel)

    async def _take_all(self, channel) -> list[dict]:
        connection = self.layer.connection(self.layer.consistent_hash(channel))
        members = await connection.zpopmin(self.layer.prefix + channel, 10_000)
        messages = [self.layer.deserialize(member) for member, _score in members]
        for message in messages:
            message.pop("__asgi_channel__", None)
        return messages

    def leave(self) -> None:
        for agent in self.agents:
            for group in (
                audience.agent_group(agent.pk),
                audience.workgroup_group(self.workgroup.pk),
            ):
                async_to_sync(self.layer.group_discard)(group, self.channels[agent.pk])


@pytest.fixture
def counted_renders(monkeypatch):
    """How many templates are rendered (a spy on Django's template backend: every
    render_to_string passes through it once, and renders as before)."""
    calls = []
    real_render = DjangoTemplate.render

    def counting(template, *args, **kwargs):
        calls.append(template.template.name)
        return real_render(template, *args, **kwargs)

    monkeypatch.setattr(DjangoTemplate, "render", counting)
    return calls


def deliver_cost(event, counted_renders) -> tuple[int, int]:
    counted_renders.clear()
    live.renderer._queue_sent_at.clear()  # the queue is not held back by an earlier test
    with CaptureQueriesContext(connection) as queries:
        live.deliver(sender=None, event=event)
    return len(queries), len(counted_renders)


def offer_on(floor: Floor):
    """A customer writes and is offered to the first member; returns the offer event."""
    received = customer_writes(floor.workgroup, text="Hello?", page_id=floor.page.page_id)
    interaction = refresh(received.interaction)
    assert interaction.state == "alerting"
    return interaction, received.message


@pytest.mark.parametrize("event_kind", ["offer", "message", "pickup"])
def test_one_event_costs_the_same_with_2_and_with_200_members_online(event_kind, counted_renders):
    costs = []
    for members in (2, 200):
        floor = Floor(members)
        try:
            interaction, message = offer_on(floor)
            if event_kind == "offer":
                event = interaction_event(interaction, previous_state="queued")
            elif event_kind == "message":
                event = message_event(message, interaction)
            else:
                services.pickup(interaction_id=interaction.pk, agent=interaction.agent)
                event = interaction_event(
                    refresh(interaction),
                    previous_state="alerting",
                    previous_agent_id=interaction.agent_id,
                )
            costs.append(deliver_cost(event, counted_renders))
        finally:
            floor.leave()
            Interaction.objects.all().delete()
    (queries_2, renders_2), (queries_200, renders_200) = costs
    assert queries_2 == queries_200
    assert renders_2 == renders_200
    assert 0 < renders_200 <= 6


def test_members_hear_a_new_customer_in_one_queue_frame_the_offered_agent_gets_their_own():
    floor = Floor(20)
    try:
        interaction, _ = offer_on(floor)
        offered = interaction.agent
        others = [agent for agent in floor.agents if agent.pk != offered.pk]
        for agent in others:
            frames = floor.frames(agent)
            # The queue, rendered once for the workgroup (the customer came and
            # went in it), and nothing of the offered agent's.
            assert all(f'id="workgroup-queue-{floor.workgroup.pk}"' in f for f in frames)
            assert 1 <= len(frames) <= 2
        mine = "".join(floor.frames(offered))
        assert f'id="interaction-{interaction.pk}"' in mine and 'data-state="alerting"' in mine
        # No tab shows the interaction yet: its buttons are not even rendered.
        assert f'id="toolbar-{interaction.pk}"' not in mine
    finally:
        floor.leave()


def test_reading_reaches_only_the_readers_own_tabs():
    floor = Floor(3)
    try:
        interaction, _ = offer_on(floor)
        agent = interaction.agent
        services.pickup(interaction_id=interaction.pk, agent=agent)
        customer_writes(floor.workgroup, text="Another line", page_id=floor.page.page_id)
        for member in floor.agents:
            floor.frames(member)  # drain
        live.deliver(
            sender=None,
            event=interaction_event(refresh(interaction), type_=EventType.INTERACTION_READ),
        )
        assert [f for f in floor.frames(agent) if 'id="my-interactions"' in f]
        for member in floor.agents:
            if member.pk != agent.pk:
                assert floor.frames(member) == []
    finally:
        floor.leave()


def test_a_note_reaches_the_owner_and_who_it_names_not_the_rest_of_the_floor():
    floor = Floor(4)
    try:
        interaction, _ = offer_on(floor)
        owner = interaction.agent
        services.pickup(interaction_id=interaction.pk, agent=owner)
        named, *others = [a for a in floor.agents if a.pk != owner.pk]
        for member in floor.agents:
            floor.frames(member)  # drain

        services.add_note(
            interaction_id=interaction.pk,
            agent=owner,
            text=f"@{named.user.username} can you take a look?",
        )

        assert any("Internal note" in f for f in floor.frames(owner))
        told = floor.frames(named)
        assert len(told) == 1 and "named you in a note" in told[0]
        for member in others:
            assert floor.frames(member) == []
    finally:
        floor.leave()


def test_a_long_queue_lists_its_oldest_fifty_and_counts_the_rest():

    workgroup = make_workgroup()
    page = make_page(workgroup, page_id="100000000000099")
    for n in range(fragments.QUEUE_ROWS_SHOWN + 5):
        customer_writes(workgroup, psid=f"75{n:014d}", page_id=page.page_id)
    html = fragments.workgroup_queue(workgroup.pk)
    assert f'data-count="{fragments.QUEUE_ROWS_SHOWN + 5}"' in html
    assert html.count('class="interaction-row') == fragments.QUEUE_ROWS_SHOWN
    assert "and 5 more waiting" in html


def test_nothing_is_rendered_for_an_interaction_nobody_has_open(counted_renders):
    floor = Floor(2)
    try:
        for agent in floor.agents:
            services.set_agent_status(agent=agent, status="away")
        received = customer_writes(floor.workgroup, text="Hello?", page_id=floor.page.page_id)
        interaction = refresh(received.interaction)
        assert interaction.state == "queued"
        event = message_event(received.message, interaction)
        # Waiting, nobody's: only a tab that shows it would get the bubble, and none does.
        assert deliver_cost(event, counted_renders) == (0, 0)
        viewer = f"test.viewer.{interaction.pk}"
        async_to_sync(floor.layer.group_add)(audience.interaction_group(interaction.pk), viewer)
        try:
            assert deliver_cost(event, counted_renders)[1] == 1  # the bubble, for that tab
        finally:
            async_to_sync(floor.layer.group_discard)(
                audience.interaction_group(interaction.pk), viewer
            )
    finally:
        floor.leave()


def test_who_listens_is_read_from_the_layer_itself():
    floor = Floor(2)
    try:
        groups = {
            audience.agent_group(floor.agents[0].pk),
            audience.workgroup_group(floor.workgroup.pk),
            audience.interaction_group(999_999),
            audience.agent_group(999_999),
        }
        # Each group with how many sockets are in it; the others not at all.
        assert live.listened_groups(groups) == {
            audience.agent_group(floor.agents[0].pk): 1,
            audience.workgroup_group(floor.workgroup.pk): 2,
        }
    finally:
        floor.leave()
    assert live.listened_groups(groups) == {}


def queued_customer(floor: Floor, n: int) -> Interaction:
    """A waiting customer's rows, written as they are: nothing is announced."""
    customer = Customer.objects.create(page_id=floor.page.page_id, psid=f"73000000002{n:05d}")
    return Interaction.objects.create(workgroup=floor.workgroup, customer=customer, state="queued")


def test_a_big_workgroups_queue_is_sent_less_often_than_a_small_ones():
    floor = Floor(8)
    member = floor.agents[0]
    # 4 frames a second over 8 members: every 2 s (200 over 200 members: every 1 s).
    renderer = live.Renderer(queue_frames_per_second=4)
    queue_changed = audience.Plan(queues=frozenset({floor.workgroup.pk}))
    try:
        queued_customer(floor, 0)
        renderer.render([queue_changed], coalesce=True)
        assert floor.frames(member) == []  # drawn a moment after the change
        time.sleep(live.QUEUE_SETTLE + 0.05)
        renderer.render([], coalesce=True)
        assert len(floor.frames(member)) == 1
        for n in (1, 2):
            queued_customer(floor, n)
            renderer.render([queue_changed], coalesce=True)
        # The next changes wait for the workgroup's turn.
        assert floor.frames(member) == []
        assert renderer._queue_due[floor.workgroup.pk] - renderer._queue_sent_at[
            floor.workgroup.pk
        ] == pytest.approx(2.0)
    finally:
        floor.leave()


def test_a_customer_offered_at_once_never_moves_the_members_queue():
    floor = Floor(3)
    member = floor.agents[0]
    renderer = live.Renderer()
    queue_changed = audience.Plan(queues=frozenset({floor.workgroup.pk}))
    try:
        renderer.render([queue_changed], coalesce=False)  # the members' queue: empty
        (empty,) = floor.frames(member)
        assert 'data-count="0"' in empty
        # Queued, then offered before the queue is drawn.
        interaction = queued_customer(floor, 9)
        renderer.render([queue_changed], coalesce=True)
        Interaction.objects.filter(pk=interaction.pk).update(
            state="alerting", agent=floor.agents[1]
        )
        renderer.render([queue_changed], coalesce=True)
        time.sleep(live.QUEUE_SETTLE + 0.05)
        renderer.render([], coalesce=True)
        assert floor.frames(member) == []  # the same empty queue: not sent again
    finally:
        floor.leave()


def test_a_queue_frame_the_members_already_have_is_not_sent_again():
    floor = Floor(2)
    member = floor.agents[0]
    try:
        for agent in floor.agents:
            services.set_agent_status(agent=agent, status="away")
        floor.frames(member)  # drain the status picker
        queue_changed = audience.Plan(queues=frozenset({floor.workgroup.pk}))
        live.renderer.render([queue_changed], coalesce=False)
        assert len(floor.frames(member)) == 1
        live.renderer.render([queue_changed], coalesce=False)
        assert floor.frames(member) == []  # the same queue: nothing sent

        customer_writes(floor.workgroup, text="Hello?", page_id=floor.page.page_id)
        floor.frames(member)  # drain what the arrival pushed
        live.renderer.render([queue_changed], coalesce=False)
        assert floor.frames(member) == []
        Interaction.objects.filter(workgroup=floor.workgroup).delete()
        live.renderer.render([queue_changed], coalesce=False)
        (frame,) = floor.frames(member)  # it changed: sent
        assert 'data-count="0"' in frame
    finally:
        floor.leave()


def test_a_burst_of_offers_reads_every_offered_agents_list_in_one_query():
    floor = Floor(6)
    try:
        offered = []
        for n in range(6):
            received = customer_writes(
                floor.workgroup,
                psid=f"73000000001{n:05d}",
                text=f"Customer {n}",
                page_id=floor.page.page_id,
            )
            offered.append(refresh(received.interaction))
        agents = {interaction.agent_id for interaction in offered}
        assert len(agents) == 6
        lists = [audience.Fragment(audience.MY_INTERACTIONS, agent_id=a) for a in sorted(agents)]

        costs = []
        for wanted in (lists[:2], lists):
            with CaptureQueriesContext(connection) as queries:
                html = fragments.render_all(wanted)
            costs.append(len(queries))
        assert costs[0] == costs[1] <= 2  # the agents, then every list's rows
        for interaction in offered:
            mine = html[audience.Fragment(audience.MY_INTERACTIONS, agent_id=interaction.agent_id)]
            assert mine.count('class="interaction-row') == 1
            assert f'id="interaction-{interaction.pk}"' in mine
            # The same list as drawn for that agent alone.
            assert (
                mine.split('data-read-at="')[1].split('"', 1)[1]
                == fragments.render(
                    audience.Fragment(audience.MY_INTERACTIONS, agent_id=interaction.agent_id)
                )
                .split('data-read-at="')[1]
                .split('"', 1)[1]
            )
    finally:
        floor.leave()


def unstamped(html: str) -> str:
    return re.sub(r'data-read-at="\d+"', 'data-read-at=""', html)


def test_a_batch_naming_one_interaction_for_its_owner_and_its_viewers_reads_it_once():
    floor = Floor(3)
    try:
        interaction, _message = offer_on(floor)
        owner = interaction.agent_id
        other = next(agent.pk for agent in floor.agents if agent.pk != owner)
        wanted = [
            audience.Fragment(audience.AGENT_VIEW, agent_id=owner, interaction_id=interaction.pk),
            audience.Fragment(audience.VIEWER_VIEW, interaction_id=interaction.pk),
            audience.Fragment(audience.AGENT_VIEW, agent_id=other, interaction_id=interaction.pk),
            audience.Fragment(audience.STATUS_PICKER, agent_id=owner),
        ]
        with CaptureQueriesContext(connection) as queries:
            html = fragments.render_all(wanted)
        reads = [q["sql"] for q in queries if q["sql"].startswith("SELECT")]
        assert len([sql for sql in reads if 'FROM "routing_interaction"' in sql]) == 1
        assert len([sql for sql in reads if 'FROM "routing_agent"' in sql]) == 1
        # Each as drawn alone (but for when it was read): the owner's own buttons,
        # "Offered to …" for the others.
        for fragment in wanted:
            assert unstamped(html[fragment]) == unstamped(fragments.render(fragment))
        assert f'hx-post="/interactions/{interaction.pk}/pickup"' in html[wanted[0]]
        assert "Offered to" in html[wanted[1]] and "Offered to" in html[wanted[2]]
    finally:
        floor.leave()


def test_an_interactions_pushed_parts_say_when_it_was_read_so_an_older_one_is_not_swapped_in():
    # The desktop swaps a part over the one shown only when it was read later
    # (static/connect/desktop.js): an offer's view rendered late must not undo a
    # Pickup's answer.
    floor = Floor(1)
    try:
        interaction, _message = offer_on(floor)
        fragment = audience.Fragment(
            audience.AGENT_VIEW, agent_id=interaction.agent_id, interaction_id=interaction.pk
        )
        before = int(time.time() * 1000)
        html = fragments.render_all([fragment])[fragment]
        after = int(time.time() * 1000)
        stamps = re.findall(r'data-read-at="(\d+)"', html)
        assert len(stamps) == 3  # the toolbar, the heading, the composer's state
        assert len(set(stamps)) == 1
        assert before <= int(stamps[0]) <= after
    finally:
        floor.leave()
