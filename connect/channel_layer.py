"""The Redis channel layer, with a server process's messages taken in batches and
handed to its sockets by one reader.

channels_redis gives every socket of a server process one shared inbox in
Redis, and takes from it one message per four round trips (a clean-up
script, a blocking pop, a backup copy, its removal), each waiting its turn
on the process's busy event loop. Measured under the bench's load, that
drained about 60 frames a second while 100 were coming: the desktops fell
seconds behind. Here one round trip takes up to RECEIVE_BATCH messages.

Each socket's receive there also made two tasks, a wait and a turn at a lock
for every message it was handed: 45 µs of CPU per frame with 200 sockets
(`bench/receive_cost.py`). Here one reader per event loop takes for every
socket and completes the future its socket waits on: 15 µs.

What is lost is the backup copy, which let a message taken by a receiver
cancelled mid-way go back to the inbox: here the reader is no receiver's, and
what it takes waits in this process for the channel's next receiver. A
process that dies loses what it had taken, as it loses what it had not yet
sent to its sockets; the desktops reconnect and redraw (their resync).
"""

import asyncio
import contextlib
import logging
import time
import weakref
from collections import deque
from copy import deepcopy

from channels.layers import InMemoryChannelLayer
from channels_redis.core import RedisChannelLayer

logger = logging.getLogger(__name__)

RECEIVE_BATCH = 100
# A take from the process inbox that fails this many times in a row fails every receiver.
TAKE_ATTEMPTS = 2
RETAKE_AFTER = 0.2

# channels_redis's own delivery step: each inbox takes the message while under its capacity.
_DELIVER = """
    local over_capacity = 0
    local current_time = ARGV[#ARGV - 1]
    local expiry = ARGV[#ARGV]
    for i=1,#KEYS do
        if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[i + #KEYS]) then
            redis.call('ZADD', KEYS[i], current_time, ARGV[i])
            redis.call('EXPIRE', KEYS[i], expiry)
        else
            over_capacity = over_capacity + 1
        end
    end
    return over_capacity
"""


class _ProcessInbox:
    """The process's inbox as one event loop reads it: one reader takes from Redis and
    hands each message to the receiver waiting on its channel, or keeps it for the next."""

    def __init__(self) -> None:
        # Per channel, its receivers' futures in the order they came (one, for a socket).
        self.waiting: dict[str, list[asyncio.Future]] = {}
        self.kept: dict[str, deque[dict]] = {}
        self.kept_at: dict[str, float] = {}
        self.reader: asyncio.Task | None = None
        self.swept_at = time.monotonic()


class BatchedRedisChannelLayer(RedisChannelLayer):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._inboxes: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    async def receive(self, channel):
        """The next message of a channel, as channels_redis's `receive`, but cheaper per
        message: its receive makes two tasks, a wait and a lock per message taken, for
        each socket; here a receiver waits on one future, which the reader completes."""
        if "!" not in channel:
            return await super().receive(channel)  # a plain channel: as channels_redis
        assert self.require_valid_channel_name(channel), "Channel name not valid"
        process_channel = self.non_local_name(channel)
        inbox = self._inbox(process_channel)
        kept = inbox.kept.get(channel)
        if kept:
            return kept.popleft()
        waiter = asyncio.get_running_loop().create_future()
        inbox.waiting.setdefault(channel, []).append(waiter)
        if inbox.reader is None:
            inbox.reader = asyncio.ensure_future(self._read(inbox, process_channel))
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                # Handed its message as it was cancelled: the next receiver has it.
                inbox.kept.setdefault(channel, deque(maxlen=self.capacity)).appendleft(
                    waiter.result()
                )
            raise
        finally:
            waiters = inbox.waiting.get(channel)
            if waiters is not None and waiter in waiters:
                waiters.remove(waiter)
                if not waiters:
                    del inbox.waiting[channel]

    def _inbox(self, process_channel: str) -> _ProcessInbox:
        # One per event loop (a future belongs to the loop it was made on) and per
        # process inbox ("specific.…!" for consumers, "healthz.…!" for the probe).
        inboxes = self._inboxes.setdefault(asyncio.get_running_loop(), {})
        inbox = inboxes.get(process_channel)
        if inbox is None:
            inbox = inboxes[process_channel] = _ProcessInbox()
        return inbox

    async def _read(self, inbox: _ProcessInbox, process_channel: str) -> None:
        """Take the process's messages, up to RECEIVE_BATCH a round trip, while anyone waits."""
        key = self.prefix + process_channel
        connection = self.connection(self.consistent_hash(process_channel))
        failed = 0
        try:
            while inbox.waiting:
                try:
                    members = await connection.zpopmin(key, RECEIVE_BATCH)
                    if not members:
                        popped = await connection.bzpopmin(key, timeout=self.brpop_timeout)
                        members = [(popped[1], popped[2])] if popped else []
                except Exception:
                    # One dropped connection must not close every socket of the
                    # process: take again on another. Twice in a row, Redis is gone.
                    failed += 1
                    if failed >= TAKE_ATTEMPTS:
                        raise
                    logger.warning("taking from Redis failed; taking again", exc_info=True)
                    await asyncio.sleep(RETAKE_AFTER)
                    continue
                failed = 0
                for member, _score in members:
                    message = self.deserialize(member)
                    to = message.pop("__asgi_channel__")
                    for channel in [to] if isinstance(to, str) else to:
                        self._hand(inbox, channel, message)
                self._sweep(inbox)
        except Exception as error:
            # Redis is gone: every receiver hears it (their sockets close, the
            # desktops reconnect), as each would have taking for itself.
            for waiters in inbox.waiting.values():
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_exception(error)
        finally:
            inbox.reader = None

    def _hand(self, inbox: _ProcessInbox, channel: str, message: dict) -> None:
        waiters = inbox.waiting.get(channel)
        while waiters:
            waiter = waiters.pop(0)  # the first to wait is handed it, as in channels_redis
            if not waiters:
                del inbox.waiting[channel]
            if not waiter.done():
                waiter.set_result(message)
                return
        kept = inbox.kept.get(channel)
        if kept is None:
            kept = inbox.kept[channel] = deque(maxlen=self.capacity)  # full: the oldest goes
        kept.append(message)
        inbox.kept_at[channel] = time.monotonic()

    def _sweep(self, inbox: _ProcessInbox) -> None:
        """Forget what was kept for channels nobody received on for `expiry` seconds:
        consumers gone, or messages Redis itself would have let expire by now."""
        now = time.monotonic()
        if now - inbox.swept_at < self.expiry:
            return
        inbox.swept_at = now
        for channel, kept_at in list(inbox.kept_at.items()):
            if now - kept_at > self.expiry and channel not in inbox.waiting:
                inbox.kept.pop(channel, None)
                del inbox.kept_at[channel]

    async def close_pools(self):
        for inbox in self._inboxes.get(asyncio.get_running_loop(), {}).values():
            if inbox.reader is not None:
                inbox.reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await inbox.reader
        await super().close_pools()

    async def group_add(self, group, channel):
        # One round trip, not two (ZADD, then EXPIRE).
        await self.group_add_all([group], channel)

    async def group_add_all(self, groups, channel):
        """Join several groups in one round trip per Redis host, one connection each.

        A desktop joins three groups or more as it opens, and a burst opens
        hundreds: side by side, each join took a round trip and a connection.
        """
        joined_at = time.time()
        for host, keys in self._group_keys_by_host(groups, channel).items():
            async with self.connection(host).pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.zadd(key, {channel: joined_at})
                    pipe.expire(key, self.group_expiry)
                await pipe.execute()

    async def group_discard_all(self, groups, channel):
        """Leave several groups in one round trip per Redis host, one connection each.

        A closing desktop leaves three groups or more. Left side by side, each
        took a connection of the pool: 3,000 desktops closing at once wanted
        more than its 4,000, and the ones refused left their rows behind.
        """
        for host, keys in self._group_keys_by_host(groups, channel).items():
            async with self.connection(host).pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.zrem(key, channel)
                await pipe.execute()

    async def group_send_all(self, messages) -> None:
        """Send each (group, message), in the order given, in two round trips per Redis
        host: one reads every group's members, one delivers every message.

        channels_redis's `group_send` takes four round trips per message, each
        waiting its turn on the server's busy event loop; a live render sends
        dozens of messages at once (an agent's list for each offer).
        """
        by_host: dict[int, list[tuple[str, dict]]] = {}
        for group, message in messages:
            assert self.require_valid_group_name(group), "Group name not valid"
            by_host.setdefault(self.consistent_hash(group), []).append((group, message))
        members = {}
        for host, sent in by_host.items():
            groups = list(dict.fromkeys(group for group, _message in sent))
            async with self.connection(host).pipeline(transaction=False) as pipe:
                for group in groups:
                    key = self._group_key(group)
                    pipe.zremrangebyscore(key, min=0, max=int(time.time()) - self.group_expiry)
                    pipe.zrange(key, 0, -1)
                answers = await pipe.execute()
            for index, group in enumerate(groups):
                members[group] = [name.decode("utf8") for name in answers[2 * index + 1]]
        # Each message to its members' inboxes, in order, one pipeline per inbox host.
        deliveries: dict[int, list[tuple[str, list[str], list]]] = {}
        for group, message in messages:
            if not members[group]:
                continue
            keys_by_host, message_by_key, capacity_by_key = self._map_channel_keys_to_connection(
                members[group], message
            )
            for host, keys in keys_by_host.items():
                args = [message_by_key[key] for key in keys] + [
                    capacity_by_key[key] for key in keys
                ]
                deliveries.setdefault(host, []).append((group, keys, args))
        for host, sends in deliveries.items():
            async with self.connection(host).pipeline(transaction=False) as pipe:
                expired_before = int(time.time()) - int(self.expiry)
                for key in dict.fromkeys(key for _group, keys, _args in sends for key in keys):
                    pipe.zremrangebyscore(key, min=0, max=expired_before)
                for _group, keys, args in sends:
                    pipe.eval(_DELIVER, len(keys), *keys, *args, time.time(), self.expiry)
                answers = await pipe.execute()
            for (group, keys, _args), over in zip(sends, answers[-len(sends) :], strict=True):
                if over:
                    logger.info(
                        "%s of %s channels over capacity in group %s", over, len(keys), group
                    )

    def _group_keys_by_host(self, groups, channel) -> dict[int, list[str]]:
        assert self.require_valid_channel_name(channel), "Channel name not valid"
        keys_by_host: dict[int, list[str]] = {}
        for group in groups:
            assert self.require_valid_group_name(group), "Group name not valid"
            keys_by_host.setdefault(self.consistent_hash(group), []).append(self._group_key(group))
        return keys_by_host


class LocalChannelLayer(InMemoryChannelLayer):
    """channels' in-memory layer (one process, no Redis: `make run`), cheaper per message.

    Its `receive` and `group_send` each walked every channel and every group
    membership of the process to drop expired ones, and its `group_send` made
    a task and a deep copy for every member: with 200 desktops open, 390 µs
    of CPU per frame (`bench/receive_cost.py`). Here expiry is looked for at
    most once a second (messages live `expiry` seconds, 60 by default), and a
    group message is copied once and put in each member's queue, as channels_redis
    hands one message to all of a process's members.
    """

    EXPIRY_CHECKED_EVERY = 1.0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._expiry_checked_at = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._expiry_checked_at < self.EXPIRY_CHECKED_EVERY:
            return
        self._expiry_checked_at = now
        super()._clean_expired()

    async def group_send(self, group, message):
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        members = self.groups.get(group)
        if not members:
            return
        shared = (time.time() + self.expiry, deepcopy(message))
        for channel in list(members):
            queue = self.channels.setdefault(
                channel, asyncio.Queue(maxsize=self.get_capacity(channel))
            )
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(shared)  # a full channel misses it, as in channels'


async def join_all(layer, groups, channel) -> None:
    """Join every group: in one round trip on Redis, side by side on another layer
    (the in-memory one of a single process)."""
    if isinstance(layer, BatchedRedisChannelLayer):
        await layer.group_add_all(groups, channel)
    else:
        await asyncio.gather(*(layer.group_add(group, channel) for group in groups))


async def group_send_all(layer, messages: list[tuple[str, dict]]) -> None:
    """Send each (group, message) in order: in two round trips on Redis; on another
    layer one group after another, each group's messages in order."""
    if isinstance(layer, BatchedRedisChannelLayer):
        await layer.group_send_all(messages)
        return
    by_group: dict[str, list[dict]] = {}
    for group, message in messages:
        by_group.setdefault(group, []).append(message)

    async def send_in_order(group: str, queued: list[dict]) -> None:
        for message in queued:
            await layer.group_send(group, message)

    outcomes = await asyncio.gather(
        *(send_in_order(group, queued) for group, queued in by_group.items()),
        return_exceptions=True,
    )
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome  # the caller logs it; the other groups were sent


async def leave_all(layer, groups, channel) -> None:
    """Leave every group: in one round trip on Redis, side by side on another layer."""
    if isinstance(layer, BatchedRedisChannelLayer):
        await layer.group_discard_all(groups, channel)
    else:
        await asyncio.gather(*(layer.group_discard(group, channel) for group in groups))
