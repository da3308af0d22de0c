"""The Redis channel layer that takes a process's messages in batches: every message
arrives, once and in order, however receivers come and go (PostgreSQL + Redis pass)."""

import asyncio
import os

import pytest
from channels.layers import get_channel_layer

from connect.channel_layer import RECEIVE_BATCH, BatchedRedisChannelLayer

pytestmark = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"), reason="the Redis layer needs REDIS_URL (the second pass)"
)


def fresh_layer() -> BatchedRedisChannelLayer:
    layer = get_channel_layer()
    assert isinstance(layer, BatchedRedisChannelLayer)
    # One of its own: its inbox and pools are not the other tests'.
    return BatchedRedisChannelLayer(
        hosts=layer.hosts, prefix=f"test-{os.getpid()}", capacity=layer.capacity
    )


async def test_a_backlog_is_taken_in_batches_in_order_and_once():
    layer = fresh_layer()
    sockets = [await layer.new_channel() for _ in range(3)]
    count = RECEIVE_BATCH * 2 + 7
    for n in range(count):
        await layer.send(sockets[n % 3], {"type": "live.frame", "n": n})
    got: dict[str, list[int]] = {socket: [] for socket in sockets}

    async def read(socket):
        while len(got[socket]) < len([n for n in range(count) if sockets[n % 3] == socket]):
            got[socket].append((await layer.receive(socket))["n"])

    await asyncio.wait_for(asyncio.gather(*(read(socket) for socket in sockets)), timeout=10)
    for index, socket in enumerate(sockets):
        assert got[socket] == [n for n in range(count) if n % 3 == index]
    await layer.flush()
    await layer.close_pools()


async def test_a_receiver_cancelled_while_waiting_loses_nothing():
    layer = fresh_layer()
    socket = await layer.new_channel()
    waiting = asyncio.ensure_future(layer.receive(socket))
    await asyncio.sleep(0.2)  # it blocks in Redis, taking for the whole process
    waiting.cancel()
    await layer.send(socket, {"type": "live.frame", "n": 1})
    await layer.send(socket, {"type": "live.frame", "n": 2})
    # The take under way lands them; the next receiver is handed them in order.
    first = await asyncio.wait_for(layer.receive(socket), timeout=10)
    second = await asyncio.wait_for(layer.receive(socket), timeout=10)
    assert (first["n"], second["n"]) == (1, 2)
    await layer.flush()
    await layer.close_pools()


async def test_a_channel_joins_a_group_that_expires_as_channels_redis_says():
    layer = fresh_layer()
    socket = await layer.new_channel()
    await layer.group_add("workgroup.7", socket)
    await layer.group_send("workgroup.7", {"type": "live.frame", "n": 1})
    assert (await asyncio.wait_for(layer.receive(socket), timeout=10))["n"] == 1
    connection = layer.connection(layer.consistent_hash("workgroup.7"))
    ttl = await connection.ttl(layer._group_key("workgroup.7"))
    assert layer.group_expiry - 5 <= ttl <= layer.group_expiry
    await layer.flush()
    await layer.close_pools()


async def test_a_channel_joins_all_its_groups_at_once_and_hears_each_until_it_expires():
    layer = fresh_layer()
    socket = await layer.new_channel()
    groups = ["agent.2", "user.2", "workgroup.8", "workgroup.9"]
    await layer.group_add_all(groups, socket)
    for n, group in enumerate(groups):
        await layer.group_send(group, {"type": "live.frame", "n": n})
    heard = [(await asyncio.wait_for(layer.receive(socket), timeout=10))["n"] for _ in groups]
    assert heard == [0, 1, 2, 3]
    for group in groups:
        connection = layer.connection(layer.consistent_hash(group))
        ttl = await connection.ttl(layer._group_key(group))
        assert layer.group_expiry - 5 <= ttl <= layer.group_expiry
    await layer.flush()
    await layer.close_pools()


async def test_a_channel_leaves_all_its_groups_at_once_and_hears_none_of_them():
    layer = fresh_layer()
    socket, other = await layer.new_channel(), await layer.new_channel()
    groups = ["agent.1", "user.1", "workgroup.7"]
    for group in groups:
        await layer.group_add(group, socket)
        await layer.group_add(group, other)
    await layer.group_discard_all(groups, socket)
    for n, group in enumerate(groups):
        await layer.group_send(group, {"type": "live.frame", "n": n})
    # The other channel still hears every group; this one none of them: what it
    # hears first is what was sent to it alone after them.
    heard = [(await asyncio.wait_for(layer.receive(other), timeout=10))["n"] for _ in groups]
    assert heard == [0, 1, 2]
    await layer.send(socket, {"type": "live.frame", "n": "alone"})
    assert (await asyncio.wait_for(layer.receive(socket), timeout=10))["n"] == "alone"
    await layer.flush()
    await layer.close_pools()


async def _calls(layer: BatchedRedisChannelLayer, command: str) -> int:
    stats = await layer.connection(0).info("commandstats")
    return stats.get(f"cmdstat_{command}", {}).get("calls", 0)


async def test_a_batch_of_group_messages_reaches_each_member_in_order_reading_each_group_once():
    layer, other_process = fresh_layer(), fresh_layer()
    ann, bob = await layer.new_channel(), await layer.new_channel()
    cy = await other_process.new_channel()  # another server process's inbox
    for group, channels in {
        "workgroup.3": [ann, bob, cy],
        "agent.1": [ann],
        "interaction.9": [bob, cy],
    }.items():
        await layer.group_add_all([group], channels[0])
        for channel in channels[1:]:
            await layer.group_add(group, channel)
    batch = [
        ("agent.1", {"type": "live.frame", "n": 0}),
        ("workgroup.3", {"type": "live.frame", "n": 1}),
        ("interaction.9", {"type": "live.frame", "n": 2}),
        ("agent.1", {"type": "live.frame", "n": 3}),
        ("workgroup.3", {"type": "live.frame", "n": 4}),
        ("nobody.listens", {"type": "live.frame", "n": 5}),
    ]
    reads_before = await _calls(layer, "zrange")
    await layer.group_send_all(batch)
    assert await _calls(layer, "zrange") - reads_before == 4  # each group once

    async def heard(receiver, channel, count: int) -> list[int]:
        return [
            (await asyncio.wait_for(receiver.receive(channel), timeout=10))["n"]
            for _ in range(count)
        ]

    assert await heard(layer, ann, 4) == [0, 1, 3, 4]
    assert await heard(layer, bob, 3) == [1, 2, 4]
    assert await heard(other_process, cy, 3) == [1, 2, 4]
    for used in (layer, other_process):
        await used.flush()
        await used.close_pools()
