"""The in-memory channel layer of a single process (`make run`): every member hears a
group message once and in order, a copy of what was sent, and what expires still goes."""

import asyncio

from connect.channel_layer import LocalChannelLayer


async def test_every_member_hears_each_group_message_once_in_order_as_it_was_sent():
    layer = LocalChannelLayer()
    members = [await layer.new_channel() for _ in range(3)]
    outsider = await layer.new_channel()
    for member in members:
        await layer.group_add("workgroup.1", member)
    sent = [{"type": "live.frame", "html": f"<p>{n}</p>", "skip": [n]} for n in range(5)]
    for message in sent:
        await layer.group_send("workgroup.1", message)
    sent[0]["skip"].append(99)  # the sender's dict changed afterwards: not what was sent
    for member in members:
        heard = [await asyncio.wait_for(layer.receive(member), 1) for _ in sent]
        assert [message["html"] for message in heard] == [f"<p>{n}</p>" for n in range(5)]
        assert heard[0]["skip"] == [0]
    await layer.send(outsider, {"type": "live.frame", "html": "alone"})
    assert (await asyncio.wait_for(layer.receive(outsider), 1))["html"] == "alone"
    await layer.group_discard("workgroup.1", members[0])
    await layer.group_send("workgroup.1", {"type": "live.frame", "html": "after"})
    assert layer.channels.get(members[0]) is None  # nothing more for who left
    assert (await asyncio.wait_for(layer.receive(members[1]), 1))["html"] == "after"


async def test_a_full_member_misses_a_group_message_and_the_others_hear_it():
    layer = LocalChannelLayer(capacity=1)
    full, free = await layer.new_channel(), await layer.new_channel()
    for member in (full, free):
        await layer.group_add("workgroup.2", member)
    await layer.send(full, {"type": "live.frame", "html": "waiting"})
    await layer.group_send("workgroup.2", {"type": "live.frame", "html": "new"})
    assert (await asyncio.wait_for(layer.receive(full), 1))["html"] == "waiting"
    assert (await asyncio.wait_for(layer.receive(free), 1))["html"] == "new"


async def test_a_message_past_its_expiry_is_dropped_and_its_channel_leaves_its_groups():
    layer = LocalChannelLayer(expiry=1)
    gone, listening = await layer.new_channel(), await layer.new_channel()
    await layer.group_add("workgroup.3", gone)
    await layer.group_send("workgroup.3", {"type": "live.frame", "html": "stale"})
    await asyncio.sleep(layer.EXPIRY_CHECKED_EVERY + 1.1)
    # Looked for on the next use of the layer: the stale message goes, and with it
    # the channel that did not take it (as channels' layer does).
    await layer.send(listening, {"type": "live.frame", "html": "fresh"})
    assert (await asyncio.wait_for(layer.receive(listening), 1))["html"] == "fresh"
    assert "stale" not in str(layer.channels.get(gone))
    assert gone not in layer.groups.get("workgroup.3", {})
