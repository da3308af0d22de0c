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
import time
from collections import deque

from channels_redis.core import RedisChannelLayer

RECEIVE_BATCH = 100


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


async def leave_all(layer, groups, channel) -> None:
    """Leave every group: in one round trip on Redis, side by side on another layer."""
    if isinstance(layer, BatchedRedisChannelLayer):
        await layer.group_discard_all(groups, channel)
    else:
        await asyncio.gather(*(layer.group_discard(group, channel) for group in groups))
