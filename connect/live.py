"""Routing's after-commit events → rendered frames on the channel layer.

The process that commits a change renders what it changes, once: each
fragment `connect.audience.plan` names is rendered a single time whoever
receives it, and sent as HTML to the groups; the sockets only forward it.
A workgroup's queue is rendered once for all its members and coalesced: it
is drawn QUEUE_SETTLE after a change, then at most every QUEUE_INTERVAL,
or less often for a big workgroup: its frames to all members stay under
QUEUE_FRAMES_PER_SECOND (each member's tab is a message of its own through
the channel layer).

Servers render in one thread per process (`LIVE_UPDATES=background`): the
request or router that committed returns at once, and events that pile up
while it renders are rendered together (each fragment once, from the rows as
they are then). `inline` renders in the committing thread (the test suite).
"""

import asyncio
import hashlib
import logging
import queue
import threading
import time
from collections.abc import Iterable

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from channels_redis.core import RedisChannelLayer
from django.conf import settings
from django.db import close_old_connections
from django.dispatch import receiver

from connect import audience, channel_layer, fragments
from connect.audience import Plan
from facebook.pages import page_changed
from routing.events import RoutingEvent, routing_event

logger = logging.getLogger(__name__)

QUEUE_INTERVAL = 0.25
# How long after a change a workgroup's queue is drawn: the offer that
# follows a new customer's arrival lands first.
QUEUE_SETTLE = 0.2
# Frames per second a workgroup's queue may cost, over all its members' tabs:
# 200 members hear it once a second, 20 members four times.
QUEUE_FRAMES_PER_SECOND = 200
# How long the render thread waits for the layer to take a batch of frames.
SEND_TIMEOUT = 5.0
FRAME = "live.frame"

# The server process's event loop, noted when it first serves a connection.
# Work finishing in a plain thread publishes through it: async_to_sync there
# would start a second loop, which the in-memory channel layer does not support.
server_loop: asyncio.AbstractEventLoop | None = None


def _live_server_loop() -> asyncio.AbstractEventLoop | None:
    """The server's loop; None once closed (a test's loop that ended), not one stopping."""
    loop = server_loop
    return None if loop is None or loop.is_closed() else loop


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

    def __init__(self, *, queue_frames_per_second: int = QUEUE_FRAMES_PER_SECOND) -> None:
        self._queue_frames_per_second = queue_frames_per_second
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
        queues = set().union(*(plan.queues for plan in plans))
        board = any(plan.board for plan in plans)
        listened = listened_groups(
            {frame.group for plan in plans for frame in plan.frames}
            | {audience.workgroup_group(w) for w in queues | set(self._queue_due)}
            | ({audience.BOARD_GROUP} if board else set())
        )
        frames: dict[tuple[str, frozenset[int], frozenset[int]], dict[audience.Fragment, None]] = {}
        for plan in plans:
            for frame in plan.frames:
                if frame.group not in listened:
                    continue  # nobody would see it: not even rendered
                key = (frame.group, frame.skip_agent_ids, frame.only_agent_ids)
                frames.setdefault(key, {}).update(dict.fromkeys(frame.fragments))
        html = fragments.render_all(
            list(dict.fromkeys(f for wanted in frames.values() for f in wanted))
        )
        messages: list[tuple[str, dict]] = []
        for (group, skip, only), wanted in frames.items():
            body = "".join(html[fragment] for fragment in wanted)
            if body:
                message = {"type": FRAME, "html": body, "skip": sorted(skip)}
                if only:
                    message["only"] = sorted(only)
                messages.append((group, message))
        messages += self._queue_frames(queues, listened, coalesce=coalesce)
        for plan in plans:
            if plan.membership:
                messages.append(_membership_message(*plan.membership))
        if board and audience.BOARD_GROUP in listened:  # no live board open: nobody to tell
            messages.append((audience.BOARD_GROUP, {"type": "board.changed"}))
        if messages:
            _publish(messages, wait=coalesce)

    def _queue_frames(self, changed: set[int], listened: dict[str, int], *, coalesce: bool) -> list:
        now = time.monotonic()
        render_now = set()
        for workgroup_id in changed:
            if not coalesce:
                render_now.add(workgroup_id)
                continue
            members = listened.get(audience.workgroup_group(workgroup_id), 0)
            interval = max(QUEUE_INTERVAL, members / self._queue_frames_per_second)
            # Drawn a moment after the change: a customer offered at once (the
            # usual case) comes and goes unseen, and an unchanged queue is not sent.
            self._queue_due.setdefault(
                workgroup_id,
                max(
                    now + QUEUE_SETTLE, self._queue_sent_at.get(workgroup_id, -interval) + interval
                ),
            )
        render_now |= {w for w, due in self._queue_due.items() if due <= now}
        bodies = {}
        for workgroup_id in sorted(render_now):
            self._queue_due.pop(workgroup_id, None)
            self._queue_sent_at[workgroup_id] = now
            group = audience.workgroup_group(workgroup_id)
            if group not in listened:
                continue
            body = fragments.workgroup_queue(workgroup_id)
            if body:
                bodies[group] = body
        # The same queue again (customers came and were offered at once) goes to
        # nobody: every member's tab already shows it.
        same = same_as_last_sent(bodies)
        return [
            (group, {"type": FRAME, "html": body, "skip": []})
            for group, body in bodies.items()
            if group not in same
        ]


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


def listened_groups(groups: set[str]) -> dict[str, int]:
    """Which of `groups` have sockets in them now, and how many: nothing is rendered
    for the others.

    In memory the layer knows; on Redis, one pipelined round trip asks how
    many members each group's sorted set holds (channels_redis keeps a group
    as one, members stamped when they joined and dropped after
    `group_expiry`). Should the question fail, every group counts as
    listened (by one): a frame too many, never one missing.
    """
    if not groups:
        return {}
    layer = get_channel_layer()
    if isinstance(layer, InMemoryChannelLayer):
        # A copy: the server loop may add a socket meanwhile.
        held = dict(layer.groups)
        return {group: len(held[group]) for group in groups if held.get(group)}
    if isinstance(layer, RedisChannelLayer):
        try:
            return _on_server_loop(lambda: _redis_listened(layer, groups))
        except _ServerStopping:
            return {}
        except Exception:
            logger.exception("who listens to %s groups could not be read", len(groups))
    return dict.fromkeys(groups, 1)


# An identical fragment for a group within this many seconds is not sent again
# (a burst sends the same queue every QUEUE_INTERVAL; a little later it is
# sent again all the same, which costs one frame).
SAME_FOR_SECONDS = 2
_last_sent: dict[str, tuple[str, float]] = {}


def forget_last_sent() -> None:
    """This process's notes of what it sent last (the in-memory layer's): tests."""
    _last_sent.clear()


def same_as_last_sent(bodies: dict[str, str]) -> set[str]:
    """The groups whose fragment is the one last sent to them (by any process), and
    note these as the last sent. On Redis, one pipelined SET … GET: with several
    server processes, what another one sent last counts."""
    if not bodies:
        return set()
    digests = {group: hashlib.sha1(body.encode()).hexdigest() for group, body in bodies.items()}
    layer = get_channel_layer()
    if isinstance(layer, RedisChannelLayer):
        try:
            return _on_server_loop(lambda: _redis_same(layer, digests))
        except _ServerStopping:
            return set()
        except Exception:
            logger.exception("what was last sent to %s groups could not be read", len(digests))
            return set()
    now = time.monotonic()
    same = set()
    for group, digest in digests.items():
        last = _last_sent.get(group)
        if last is not None and last[0] == digest and now - last[1] < SAME_FOR_SECONDS:
            same.add(group)
        _last_sent[group] = (digest, now)
    return same


async def _redis_same(layer: RedisChannelLayer, digests: dict[str, str]) -> set[str]:
    previous = await _pipelined(
        layer,
        digests,
        lambda pipe, group: pipe.set(
            f"{layer.prefix}:connect-last-sent:{group}",
            digests[group],
            ex=SAME_FOR_SECONDS,
            get=True,
        ),
    )
    return {
        group
        for group, old in previous.items()
        if old is not None and old.decode() == digests[group]
    }


async def _redis_listened(layer: RedisChannelLayer, groups: set[str]) -> dict[str, int]:
    joined_since = int(time.time()) - layer.group_expiry
    counts = await _pipelined(
        layer,
        groups,
        lambda pipe, group: pipe.zcount(layer._group_key(group), joined_since, "+inf"),
    )
    return {group: count for group, count in counts.items() if count}


async def _pipelined(layer: RedisChannelLayer, groups: Iterable[str], command) -> dict:
    """One command per group, pipelined on the Redis host that holds the group; the
    answers by group."""
    by_host: dict[int, list[str]] = {}
    for group in groups:
        by_host.setdefault(layer.consistent_hash(group), []).append(group)
    answers: dict = {}
    for index, on_host in by_host.items():
        pipe = layer.connection(index).pipeline(transaction=False)
        for group in on_host:
            command(pipe, group)
        answers.update(zip(on_host, await pipe.execute(), strict=True))
    return answers


class _ServerStopping(Exception):
    """The server's loop has stopped: its sockets are going anyway."""


def _on_server_loop(make_coroutine, *, wait: bool = True):
    """Run a coroutine on the layer's loop (the server's, else a new one) and return
    its result; without `wait`, on the server's loop, only start it (a failure is logged)."""
    loop = _live_server_loop()
    if loop is not None and not _inside_asgiref_thread():
        if not loop.is_running():
            raise _ServerStopping
        future = asyncio.run_coroutine_threadsafe(make_coroutine(), loop)
        if not wait:
            future.add_done_callback(_log_failure)
            return None
        return future.result(SEND_TIMEOUT)

    async def run():
        return await make_coroutine()

    return async_to_sync(run)()


def _publish(messages: Iterable[tuple[str, dict]], *, wait: bool) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    messages = list(messages)

    async def send_all() -> None:
        # In order per group; on Redis in two round trips for the whole batch.
        await channel_layer.group_send_all(layer, messages)

    try:
        _on_server_loop(send_all, wait=wait)
    except _ServerStopping:
        pass  # its sockets are going anyway
    except Exception:
        logger.exception("live update to %s failed", [group for group, _ in messages])


def _inside_asgiref_thread() -> bool:
    """True in a thread started by sync_to_async, where async_to_sync reuses the server loop."""
    return getattr(SyncToAsync.threadlocal, "main_event_loop", None) is not None


def _log_failure(future) -> None:
    if future.exception() is not None:
        logger.error("live update failed", exc_info=future.exception())
