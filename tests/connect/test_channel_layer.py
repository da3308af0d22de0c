"""The Redis channel layer that takes a process's messages in batches: every message
arrives, once and in order, however receivers come and go (PostgreSQL + Redis pass)."""

import asyncio
import os

import pytest
import redis.exceptions
from channels.layers import get_channel_layer

from connect.channel_layer import RECEIVE_BATCH, BatchedRedisChannelLayer
from tests.processes import free_port

pytestmark = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"), reason="the Redis layer needs REDIS_URL (the second pass)"
)


def fresh_layer(**options) -> BatchedRedisChannelLayer:
    layer = get_channel_layer()
    assert isinstance(layer, BatchedRedisChannelLayer)
    # One of its own: its inbox and pools are not the other tests'.
    return BatchedRedisChannelLayer(
        hosts=layer.hosts, prefix=f"test-{os.getpid()}", capacity=layer.capacity, **options
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


async def test_waiting_receivers_cost_no_task_of_their_own_and_all_hear_a_group_message():
    layer = fresh_layer()
    sockets = [await layer.new_channel() for _ in range(50)]
    for socket in sockets:
        await layer.group_add("workgroup.5", socket)
    tasks_before = len(asyncio.all_tasks())
    receivers = [asyncio.ensure_future(layer.receive(socket)) for socket in sockets]
    await asyncio.sleep(0.2)
    # The receivers themselves and the one reader taking for all of them.
    assert len(asyncio.all_tasks()) - tasks_before == len(sockets) + 1
    await layer.group_send("workgroup.5", {"type": "live.frame", "n": 1})
    heard = await asyncio.wait_for(asyncio.gather(*receivers), timeout=10)
    assert [message["n"] for message in heard] == [1] * len(sockets)
    await layer.flush()
    await layer.close_pools()


async def test_two_receivers_of_one_channel_are_handed_its_messages_in_turn():
    layer = fresh_layer()
    socket = await layer.new_channel()
    first = asyncio.ensure_future(layer.receive(socket))
    await asyncio.sleep(0.1)
    second = asyncio.ensure_future(layer.receive(socket))
    await asyncio.sleep(0.1)
    for n in (1, 2):
        await layer.send(socket, {"type": "live.frame", "n": n})
    heard = await asyncio.wait_for(asyncio.gather(first, second), timeout=10)
    assert [message["n"] for message in heard] == [1, 2]
    await layer.flush()
    await layer.close_pools()


async def test_a_busy_channel_keeps_its_messages_until_the_expiry_then_forgets_them():
    layer = fresh_layer(expiry=1)
    busy, gone, waiting = [await layer.new_channel() for _ in range(3)]
    listening = asyncio.ensure_future(layer.receive(waiting))  # keeps the reader reading
    await layer.send(busy, {"type": "live.frame", "n": "kept"})
    await layer.send(gone, {"type": "live.frame", "n": "stale"})
    await asyncio.sleep(0.3)
    # A receiver that was busy meanwhile is handed what came for it.
    assert (await asyncio.wait_for(layer.receive(busy), timeout=10))["n"] == "kept"
    await asyncio.sleep(1.2)
    await layer.send(waiting, {"type": "live.frame", "n": "later"})
    assert (await asyncio.wait_for(listening, timeout=10))["n"] == "later"
    # Nobody received on `gone` for longer than the expiry: what was kept is forgotten.
    await layer.send(gone, {"type": "live.frame", "n": "fresh"})
    assert (await asyncio.wait_for(layer.receive(gone), timeout=10))["n"] == "fresh"
    await layer.flush()
    await layer.close_pools()


async def test_channels_of_another_prefix_are_read_from_their_own_inbox():
    layer = fresh_layer()
    socket = await layer.new_channel()  # "specific.…!…": the sockets' inbox
    listening = asyncio.ensure_future(layer.receive(socket))
    await asyncio.sleep(0.1)
    probe = await layer.new_channel("healthz.")  # another inbox of the same process
    await layer.send(probe, {"type": "healthz"})
    assert (await asyncio.wait_for(layer.receive(probe), timeout=10))["type"] == "healthz"
    await layer.send(socket, {"type": "live.frame", "n": 1})
    assert (await asyncio.wait_for(listening, timeout=10))["n"] == 1
    await layer.flush()
    await layer.close_pools()


async def test_a_connection_dropped_under_the_reader_costs_no_receiver_its_message():
    layer = fresh_layer()
    sockets = [await layer.new_channel() for _ in range(3)]
    waiting = [asyncio.ensure_future(layer.receive(socket)) for socket in sockets]
    await asyncio.sleep(0.3)
    admin = layer.connection(0)
    blocked = [c for c in await admin.client_list() if c.get("cmd") == "bzpopmin"]
    assert blocked, "the reader waits in BZPOPMIN"
    for client in blocked:
        await admin.client_kill_filter(_id=client["id"])
    for n, socket in enumerate(sockets):
        await layer.send(socket, {"type": "live.frame", "n": n})
    heard = await asyncio.wait_for(asyncio.gather(*waiting), timeout=10)
    assert [message["n"] for message in heard] == [0, 1, 2]
    await layer.flush()
    await layer.close_pools()


async def test_every_waiting_receiver_hears_it_when_redis_cannot_be_reached():
    layer = BatchedRedisChannelLayer(
        hosts=[{"address": f"redis://127.0.0.1:{free_port()}/0"}], prefix="test-unreachable"
    )
    sockets = [await layer.new_channel() for _ in range(3)]
    outcomes = await asyncio.wait_for(
        asyncio.gather(*(layer.receive(socket) for socket in sockets), return_exceptions=True),
        timeout=30,
    )
    assert all(isinstance(outcome, redis.exceptions.ConnectionError) for outcome in outcomes)
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
