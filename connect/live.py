"""Hands routing's after-commit events to the channel layer, for the browsers."""

import asyncio
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.dispatch import receiver

from connect import audience
from facebook.pages import page_changed
from routing import events
from routing.events import RoutingEvent, routing_event
from routing.models import Interaction

logger = logging.getLogger(__name__)

# The server process's event loop, noted when it first serves a connection.
# Work finishing in a plain thread (the Graph API sender) publishes through it:
# async_to_sync there would start a second loop, which the in-memory channel
# layer's queues do not support.
server_loop: asyncio.AbstractEventLoop | None = None


def note_server_loop() -> None:
    global server_loop
    if server_loop is None or server_loop.is_closed():
        server_loop = asyncio.get_running_loop()


@receiver(routing_event, dispatch_uid="connect.live.deliver")
def deliver(sender, event: RoutingEvent, **kwargs) -> None:
    if event.type == events.OUTBOUND_READY:
        return
    state = None
    if event.type == events.MESSAGE_CHANGED and event.interaction_id:
        state = (
            Interaction.objects.filter(pk=event.interaction_id)
            .values_list("state", flat=True)
            .first()
        )
    groups = audience.groups_for(event, interaction_state=state)
    if not groups:
        return
    message = audience.channel_message(event)
    _publish(groups, message)


@receiver(page_changed, dispatch_uid="connect.live.page_changed")
def deliver_page_change(sender, page_id: str, workgroup_ids, **kwargs) -> None:
    """A Page's token was refused or replaced: its agents' banners update."""
    groups = audience.groups_for_page_change(workgroup_ids)
    if groups:
        _publish(groups, {"type": "facebook.page_changed", "page_id": page_id})


def _publish(groups: set[str], message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return

    async def send_all() -> None:
        for group in sorted(groups):
            await layer.group_send(group, message)

    loop = server_loop
    if loop is not None and loop.is_running() and not _inside_asgiref_thread():
        future = asyncio.run_coroutine_threadsafe(send_all(), loop)
        future.add_done_callback(_log_failure)
        return
    try:
        async_to_sync(send_all)()
    except Exception:
        logger.exception("live update to %s failed", sorted(groups))


def _inside_asgiref_thread() -> bool:
    """True in a thread started by sync_to_async, where async_to_sync reuses the server loop."""
    from asgiref.sync import SyncToAsync

    return getattr(SyncToAsync.threadlocal, "main_event_loop", None) is not None


def _log_failure(future) -> None:
    if future.exception() is not None:
        logger.error("live update failed", exc_info=future.exception())
