"""The live board's websocket (`/ws/board/`): re-renders the board as the floor changes.

It joins the `board` group (connect.audience decides which events reach it)
and pushes the board's live partial as an `hx-swap-oob` fragment. Busy
floors send many events a second, so renders are coalesced: the first event
renders at once, and while events keep coming the board is rendered again at
most every RENDER_INTERVAL seconds, from fresh rows, after the last of them.
"""

import asyncio
import contextlib
import json
import logging

from channels.db import database_sync_to_async

from connect import audience, board, database_watch, layer_watch, live
from connect.socket_stack import ForwardingConsumer

logger = logging.getLogger(__name__)

CLOSE_ANONYMOUS = 4401
CLOSE_NOT_A_SUPERVISOR = 4403

RENDER_INTERVAL = 0.5
# Figures that move without an event (agents' tabs opening and closing,
# midnight) are caught up this often.
REFRESH_SECONDS = 15.0


class BoardConsumer(ForwardingConsumer):
    joined = False
    # The interaction group this board follows while its Monitor view is open.
    monitoring: str | None = None

    async def connect(self) -> None:
        live.note_server_loop()
        self.dirty = False
        self.render_task: asyncio.Task | None = None
        self.refresh_task: asyncio.Task | None = None
        self.user = self.scope.get("user")
        if self.user is None or not self.user.is_authenticated:
            await self.close(code=CLOSE_ANONYMOUS)
            return
        if not await database_sync_to_async(board.may_watch)(self.user):
            await self.close(code=CLOSE_NOT_A_SUPERVISOR)
            return
        await self.channel_layer.group_add(audience.BOARD_GROUP, self.channel_name)
        await self.channel_layer.group_add(audience.user_group(self.user.pk), self.channel_name)
        self.joined = True
        await layer_watch.watch(self)
        await self.accept()
        database_watch.watch(self)
        # A fresh board on every (re)connect: whatever changed while it was
        # away is in it.
        self._changed()
        self.refresh_task = asyncio.ensure_future(self._refresh_periodically())

    async def disconnect(self, code: int) -> None:
        if self.monitoring:
            await self.channel_layer.group_discard(self.monitoring, self.channel_name)
        if self.joined:
            await self.channel_layer.group_discard(audience.BOARD_GROUP, self.channel_name)
            await self.channel_layer.group_discard(
                audience.user_group(self.user.pk), self.channel_name
            )
        for task in (getattr(self, "render_task", None), getattr(self, "refresh_task", None)):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def receive(self, text_data=None, bytes_data=None) -> None:
        # Actions are HTTP posts; the socket only hears which interaction the
        # Monitor view shows ({"monitor": id}, or null when it closes).
        try:
            data = json.loads(text_data or "")
        except ValueError:
            return
        if not isinstance(data, dict) or "monitor" not in data:
            return
        if self.monitoring:
            await self.channel_layer.group_discard(self.monitoring, self.channel_name)
            self.monitoring = None
        interaction_id = data["monitor"]
        if isinstance(interaction_id, int) and not isinstance(interaction_id, bool):
            # Whoever may watch the board may watch any live interaction on it.
            self.monitoring = audience.interaction_group(interaction_id)
            await self.channel_layer.group_add(self.monitoring, self.channel_name)

    async def live_frame(self, message: dict) -> None:
        """A change of the monitored interaction, rendered once for all who look at it."""
        if message.get("only"):
            return  # an owner's own view (their buttons), for their desktop
        try:
            await self.send(text_data=message["html"])
        except Exception:
            logger.debug("frame for a closed board socket dropped")

    async def board_changed(self, message: dict) -> None:
        self._changed()

    async def session_end(self, message: dict) -> None:
        """Logged out, deactivated, or no longer a supervisor: the board closes."""
        key = message.get("session_key")
        session = self.scope.get("session")
        if key and (session is None or session.session_key != key):
            return
        await self.close(code=CLOSE_ANONYMOUS)

    def _changed(self) -> None:
        self.dirty = True
        if self.render_task is None or self.render_task.done():
            self.render_task = asyncio.ensure_future(self._render_while_changing())

    async def _render_while_changing(self) -> None:
        while self.dirty:
            self.dirty = False
            try:
                html = await database_sync_to_async(board.render_workgroups)(self.user, oob=True)
                await self.send(text_data=html)
            except Exception:
                logger.exception("live board render failed")
            await asyncio.sleep(RENDER_INTERVAL)

    async def _refresh_periodically(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            self._changed()
