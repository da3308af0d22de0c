"""The desktop's websocket: joins the agent's groups and forwards rendered frames.

It holds no business rules and renders nothing: `connect.live` renders each
event once and the frames arrive here ready. The database is read only when
the socket opens and when the tab opens another interaction (to join that
interaction's group, if the agent may see it), never per event.
"""

import asyncio
import json
import logging

from channels.db import database_sync_to_async

from connect import (
    audience,
    channel_layer,
    database_watch,
    desktop_presence,
    layer_watch,
    live,
    timers,
)
from connect.socket_stack import ForwardingConsumer
from routing import selectors

logger = logging.getLogger(__name__)

# Close codes the browser can tell apart (4000–4999 are the application's).
CLOSE_ANONYMOUS = 4401
CLOSE_NOT_AN_AGENT = 4403


class DesktopConsumer(ForwardingConsumer):
    agent_id: int | None = None
    groups_joined: set[str]
    viewing: str | None = None
    # Closed because the agent left (logged out, deactivated), not by the tab:
    # their offers go back at once instead of waiting for a reload.
    leaving = False

    async def connect(self) -> None:
        live.note_server_loop()
        self.groups_joined = set()
        self.viewing = None
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_ANONYMOUS)
            return
        agent_id, workgroup_ids = self.scope["agent"]  # read with the user (socket_stack)
        if agent_id is None:
            await self.close(code=CLOSE_NOT_AN_AGENT)
            return
        self.agent_id = agent_id
        await self._join(
            audience.agent_group(agent_id),
            audience.user_group(user.pk),
            *(audience.workgroup_group(w) for w in workgroup_ids),
        )
        await layer_watch.watch(self)
        await self.accept()
        database_watch.watch(self)
        timers.open_desktop_channels.add(self.channel_name)
        # After accept: an offer made now reaches this socket.
        await desktop_presence.opened((agent_id, self.channel_name))

    async def disconnect(self, code: int) -> None:
        # The groups first: a few quick round trips to the layer. daphne kills a
        # consumer not done soon after its socket closed (--application-close-timeout),
        # and one killed before leaving its groups would stay in them, costing every
        # frame a dead send.
        groups, self.groups_joined = self.groups_joined, set()
        await channel_layer.leave_all(self.channel_layer, groups, self.channel_name)
        if self.agent_id is not None:
            timers.open_desktop_channels.discard(self.channel_name)
            # With the other tabs closing now (connect.desktop_presence). Shielded:
            # should daphne give up on this consumer meanwhile, the row still goes.
            await asyncio.shield(desktop_presence.closed((self.channel_name, self.leaving)))

    async def receive(self, text_data=None, bytes_data=None) -> None:
        # Actions are HTTP posts; the socket only hears which interaction the
        # tab shows, to hear its changes while the agent does not own it.
        try:
            data = json.loads(text_data or "")
        except ValueError:
            return
        if isinstance(data, dict) and "view" in data:
            await self._view(data["view"])

    async def _view(self, interaction_id) -> None:
        if self.viewing:
            await self.channel_layer.group_discard(self.viewing, self.channel_name)
            self.groups_joined.discard(self.viewing)
            self.viewing = None
        if not isinstance(interaction_id, int) or isinstance(interaction_id, bool):
            return
        visible = await database_sync_to_async(self._may_view, thread_sensitive=False)(
            interaction_id
        )
        if visible:
            self.viewing = audience.interaction_group(interaction_id)
            await self._join(self.viewing)

    def _may_view(self, interaction_id: int) -> bool:
        agent = selectors.agent_by_id(self.agent_id)
        return (
            agent is not None and selectors.visible_interaction(agent, interaction_id) is not None
        )

    async def _join(self, *groups: str) -> None:
        # Noted first: should a join fail, the close still leaves every group.
        self.groups_joined.update(groups)
        await channel_layer.join_all(self.channel_layer, groups, self.channel_name)

    # --- from the channel layer -------------------------------------------------------

    async def live_frame(self, message: dict) -> None:
        if self.agent_id in message.get("skip", ()):
            return  # this agent was sent their own view of the same change
        only = message.get("only")
        if only and self.agent_id not in only:
            return  # another agent's own view (an owner's buttons)
        await self._forward(message["html"])

    async def _forward(self, html: str) -> None:
        try:
            await self.send(text_data=html)
        except Exception:
            # The socket closed under the frame; its disconnect is on its way
            # and must still run, so this consumer may not crash here.
            logger.debug("frame for a closed desktop socket dropped")

    async def desktop_membership(self, message: dict) -> None:
        """The agent joined or left workgroups: follow their queues from now on."""
        wanted = {audience.workgroup_group(w) for w in message["workgroup_ids"]}
        current = {g for g in self.groups_joined if g.startswith("workgroup.")}
        for group in current - wanted:
            await self.channel_layer.group_discard(group, self.channel_name)
            self.groups_joined.discard(group)
        await self._join(*(wanted - current))
        if message.get("html"):
            await self._forward(message["html"])

    async def session_end(self, message: dict) -> None:
        """Logged out (this session, or every one), or no longer allowed in."""
        if message.get("boards_only"):
            return  # left the Supervisors group: the desktop stays
        key = message.get("session_key")
        session = self.scope.get("session")
        if key and (session is None or session.session_key != key):
            return
        self.leaving = True
        await self.close(code=CLOSE_ANONYMOUS)
