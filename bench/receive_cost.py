"""What handing a frame to one of a process's sockets costs, in the channel layer.

    REDIS_URL=redis://127.0.0.1:6379/5 .venv/bin/python bench/receive_cost.py [SOCKETS]

Point REDIS_URL at a scratch Redis database (it is flushed). SOCKETS
receivers (200 by default, the bench's floor) wait on their channels as a
consumer does (channels' `await_many_dispatch`), all in one group; 100 group
messages are sent to them in batches of 10. Prints, for channels_redis's
layer as it comes, for channels' in-memory layer and for ours of each
(`connect.channel_layer`), the wall time until every receiver had every
message and this process's CPU time per frame handed out, three runs each,
alternated.
"""

import asyncio
import functools
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

EVENTS = 100
RUNS = 3


async def hand_out(make_layer, sockets: int) -> tuple[float, float]:
    from channels.utils import await_many_dispatch

    from connect.channel_layer import group_send_all

    layer = make_layer()
    await layer.flush()
    total, handed = sockets * EVENTS, 0
    every_frame_handed = asyncio.Event()

    async def dispatch(message: dict) -> None:
        nonlocal handed
        handed += 1
        if handed == total:
            every_frame_handed.set()

    never = asyncio.Event()
    channels = [await layer.new_channel() for _ in range(sockets)]
    for channel in channels:
        await layer.group_add("workgroup.1", channel)
    consumers = [
        asyncio.ensure_future(
            await_many_dispatch([never.wait, functools.partial(layer.receive, channel)], dispatch)
        )
        for channel in channels
    ]
    await asyncio.sleep(0.5)  # every receiver waiting
    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in range(EVENTS // 10):
        await group_send_all(
            layer, [("workgroup.1", {"type": "live.frame", "html": "x" * 300}) for _ in range(10)]
        )
    await asyncio.wait_for(every_frame_handed.wait(), 120)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    for consumer in consumers:
        consumer.cancel()
    await asyncio.gather(*consumers, return_exceptions=True)
    await layer.flush()
    if hasattr(layer, "close_pools"):  # Redis
        await layer.close_pools()
    return wall * 1000, cpu / total * 1e6


def main(sockets: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "connect.settings")
    from channels.layers import InMemoryChannelLayer
    from channels_redis.core import RedisChannelLayer

    from connect import channel_layer

    hosts = [{"address": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/5")}]
    layers = {
        "channels_redis": lambda: RedisChannelLayer(hosts=hosts, prefix="cost", capacity=1000),
        "one reader per process (ours)": lambda: channel_layer.BatchedRedisChannelLayer(
            hosts=hosts, prefix="cost", capacity=1000
        ),
        "channels' in-memory": lambda: InMemoryChannelLayer(capacity=1000),
    }
    if hasattr(channel_layer, "LocalChannelLayer"):  # a checkout before it has none
        layers["in memory (ours)"] = lambda: channel_layer.LocalChannelLayer(capacity=1000)
    print(f"{sockets} sockets × {EVENTS} group messages, {os.cpu_count()} cores")
    print(f"{'layer':<34} {'wall ms':>8} {'CPU µs/frame':>13}")
    for _ in range(RUNS):
        for name, make_layer in layers.items():
            wall, per_frame = asyncio.run(hand_out(make_layer, sockets))
            print(f"{name:<34} {wall:>8.0f} {per_frame:>13.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
