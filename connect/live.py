"""Routing's after-commit events → rendered frames on the channel layer.

The process that commits a change renders what it changes, once: each
fragment `connect.audience.plan` names is rendered a single time whoever
receives it, and sent as HTML to the groups; the sockets only forward it.
A workgroup's queue is rendered once for all its members and coalesced: the
first change is sent at once, further changes at most every QUEUE_INTERVAL.

Servers render in one thread per process (`LIVE_UPDATES=background`): the
request or router that committed returns at once, and events that pile up
while it renders are rendered together (each fragment once, from the rows as
they are then). `inline` renders in the committing thread (the test suite).
"""

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Iterable

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.db import close_old_connections
from django.dispatch import receiver

from connect import audience, fragments
from connect.audience import Plan
from facebook.pages import page_changed
from routing.events import RoutingEvent, routing_event

logger = logging.getLogger(__name__)

QUEUE_INTERVAL = 0.25
# How long the render thread waits for the layer to take a batch of frames.
SEND_TIMEOUT = 5.0
FRAME = "live.frame"

# The server process's event loop, noted when it first serves a connection.
# Work finishing in a plain thread publishes through it: async_to_sync there
# would start a second loop, which the in-memory channel layer does not support.
server_loop: asyncio.AbstractEventLoop | None = None


def note_server_loop() -> None:
    global server_loop
    if server_loop is None or server_loop.is_closed():
        server_loop = asyncio.get_running_loop()


@receiver(routing_event, dispatch_uid="connect.live.deliver")
def deliver(sender, event: RoutingEvent, **kwargs) -> None:
    hand_over(audience.plan(event))


@receiver(page_changed, dispatch_uid="connect.live.page_changed")
def deliver_page_change(sender, page_id: str, workgroup_ids, **kwargs) -> None:
    hand_over(audience.plan_page_change(workgroup_ids))


def hand_over(plan: Plan) -> None:
    if not plan.frames and not plan.queues and not plan.board and not plan.membership:
        return
    if settings.LIVE_UPDATES == "inline":
        renderer.render([plan], coalesce=False)
    else:
        renderer.put(plan)


def send_control(group: str, message: dict) -> None:
    """A message for the sockets themselves (join a group, end a session), not a render."""
    _publish([(group, message)], wait=False)


class Renderer:
    """Renders plans into frames; in servers, on a thread of its own."""

    def __init__(self) -> None:
        self._plans: queue.Queue[Plan] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        # Coalescing of each workgroup's queue: when it was last sent, and
        # when a change that came too soon after is due.
        self._queue_sent_at: dict[int, float] = {}
        self._queue_due: dict[int, float] = {}

    def put(self, plan: Plan) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="live-render", daemon=True)
                self._thread.start()
        self._plans.put(plan)

    def _run(self) -> None:
        while True:
            timeout = None
            if self._queue_due:
                timeout = max(0.0, min(self._queue_due.values()) - time.monotonic())
            try:
                plans = [self._plans.get(timeout=timeout)]
            except queue.Empty:
                plans = []
            while True:  # whatever piled up meanwhile is rendered together
                try:
                    plans.append(self._plans.get_nowait())
                except queue.Empty:
                    break
            try:
                self.render(plans, coalesce=True)
            except Exception:
                logger.exception("live render failed")
            finally:
                close_old_connections()

    def render(self, plans: list[Plan], *, coalesce: bool) -> None:
        listened = _listened_groups()
        frames: dict[tuple[str, frozenset[int]], dict[audience.Fragment, None]] = {}
        for plan in plans:
            for frame in plan.frames:
                if listened is not None and frame.group not in listened:
                    continue
                key = (frame.group, frame.skip_agent_ids)
                frames.setdefault(key, {}).update(dict.fromkeys(frame.fragments))
        html: dict[audience.Fragment, str] = {}
        messages: list[tuple[str, dict]] = []
        for (group, skip), wanted in frames.items():
            for fragment in wanted:
                if fragment not in html:
                    html[fragment] = fragments.render(fragment)
            body = "".join(html[fragment] for fragment in wanted)
            if body:
                messages.append((group, {"type": FRAME, "html": body, "skip": sorted(skip)}))
        queues = set().union(*(plan.queues for plan in plans))
        messages += self._queue_frames(queues, listened, coalesce=coalesce)
        for plan in plans:
            if plan.membership:
                messages.append(_membership_message(*plan.membership))
        if any(plan.board for plan in plans):
            messages.append((audience.BOARD_GROUP, {"type": "board.changed"}))
        if messages:
            _publish(messages, wait=coalesce)

    def _queue_frames(self, changed: set[int], listened, *, coalesce: bool) -> list:
        now = time.monotonic()
        render_now = set()
        for workgroup_id in changed:
            if not coalesce or now - self._queue_sent_at.get(workgroup_id, 0.0) >= QUEUE_INTERVAL:
                render_now.add(workgroup_id)
            else:
                self._queue_due.setdefault(
                    workgroup_id, self._queue_sent_at[workgroup_id] + QUEUE_INTERVAL
                )
        render_now |= {w for w, due in self._queue_due.items() if due <= now}
        messages = []
        for workgroup_id in sorted(render_now):
            self._queue_due.pop(workgroup_id, None)
            self._queue_sent_at[workgroup_id] = now
            group = audience.workgroup_group(workgroup_id)
            if listened is not None and group not in listened:
                continue
            body = fragments.workgroup_queue(workgroup_id)
            if body:
                messages.append((group, {"type": FRAME, "html": body, "skip": []}))
        return messages


renderer = Renderer()


def _membership_message(agent_id: int, workgroup_ids: frozenset[int]) -> tuple[str, dict]:
    """The agent's sockets join and leave workgroup groups, and redraw the parts
    that depend on their workgroups (one agent: rendered for them)."""
    return (
        audience.agent_group(agent_id),
        {
            "type": "desktop.membership",
            "workgroup_ids": sorted(workgroup_ids),
            "html": fragments.membership_parts(agent_id),
        },
    )


def _listened_groups() -> set[str] | None:
    """The groups anyone listens to, where the layer can tell (in memory); None: assume all."""
    layer = get_channel_layer()
    if isinstance(layer, InMemoryChannelLayer):
        # A copy: the server loop may add a socket meanwhile.
        return {group for group, channels in list(layer.groups.items()) if channels}
    return None


def _publish(messages: Iterable[tuple[str, dict]], *, wait: bool) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    messages = list(messages)

    async def send_all() -> None:
        # In order, one after another: a tab sees fragments as they were rendered.
        for group, message in messages:
            await layer.group_send(group, message)

    loop = server_loop
    if loop is not None and not loop.is_running() and not _inside_asgiref_thread():
        return  # the server is stopping: its sockets are going anyway
    if loop is not None and loop.is_running() and not _inside_asgiref_thread():
        future = asyncio.run_coroutine_threadsafe(send_all(), loop)
        if wait:
            try:
                future.result(timeout=SEND_TIMEOUT)
            except Exception:
                logger.exception("live update to %s failed", [group for group, _ in messages])
        else:
            future.add_done_callback(_log_failure)
        return
    try:
        async_to_sync(send_all)()
    except Exception:
        logger.exception("live update to %s failed", [group for group, _ in messages])


def _inside_asgiref_thread() -> bool:
    """True in a thread started by sync_to_async, where async_to_sync reuses the server loop."""
    return getattr(SyncToAsync.threadlocal, "main_event_loop", None) is not None


def _log_failure(future) -> None:
    if future.exception() is not None:
        logger.error("live update failed", exc_info=future.exception())
