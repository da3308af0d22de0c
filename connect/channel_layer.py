"""The Redis channel layer, with a server process's messages taken in batches.

channels_redis gives every socket of a server process one shared inbox in
Redis, and takes from it one message per four round trips (a clean-up
script, a blocking pop, a backup copy, its removal), each waiting its turn
on the process's busy event loop. Measured under the bench's load, that
drained about 60 frames a second while 100 were coming: the desktops fell
seconds behind. Here one round trip takes up to RECEIVE_BATCH messages.

What is lost is the backup copy, which let a message taken by a receiver
cancelled mid-way go back to the inbox: here a take is shielded and its
messages wait in this process for the next receiver. A process that dies
loses what it had taken, as it loses what it had not yet sent to its
sockets; the desktops reconnect and redraw (their resync).
"""

import asyncio
import logging
import time
from collections import deque

from channels_redis.core import RedisChannelLayer

logger = logging.getLogger(__name__)

RECEIVE_BATCH = 100

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


class BatchedRedisChannelLayer(RedisChannelLayer):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Per inbox key: messages taken and not yet handed out, and the take under way.
        self._taken: dict[str, deque[bytes]] = {}
        self._taking: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Future]] = {}

    async def receive_single(self, channel):
        if "!" not in channel:
            return await super().receive_single(channel)  # a plain channel: as channels_redis
        key = self.prefix + channel
        taken = self._taken.setdefault(key, deque())
        while not taken:
            loop = asyncio.get_running_loop()
            under_way = self._taking.get(key)
            if under_way is None or under_way[0] is not loop or under_way[1].done():
                under_way = (loop, asyncio.ensure_future(self._take(channel, key, taken)))
                self._taking[key] = under_way
            # Shielded: should this receiver be cancelled, the take still lands in `taken`.
            await asyncio.shield(under_way[1])
        message = self.deserialize(taken.popleft())
        if "__asgi_channel__" in message:
            channel = message.pop("__asgi_channel__")
        return channel, message

    async def _take(self, channel: str, key: str, taken: deque[bytes]) -> None:
        connection = self.connection(self.consistent_hash(channel))
        members = await connection.zpopmin(key, RECEIVE_BATCH)
        if not members:
            popped = await connection.bzpopmin(key, timeout=self.brpop_timeout)
            members = [(popped[1], popped[2])] if popped else []
        taken.extend(member for member, _score in members)

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
