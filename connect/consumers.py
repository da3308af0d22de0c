"""The desktop's websocket: joins the agent's groups, pushes rendered fragments.

It holds no business rules: presence goes through routing services, and each
event is rendered from fresh rows by `connect.fragments`.
"""

import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from connect import audience, fragments, live, timers
from routing import selectors, services
from routing.models import Workgroup

logger = logging.getLogger(__name__)

# Close codes the browser can tell apart (4000–4999 are the application's).
CLOSE_ANONYMOUS = 4401
CLOSE_NOT_AN_AGENT = 4403


class DesktopConsumer(AsyncWebsocketConsumer):
    agent_id: int | None = None
    groups_joined: list[str]

    async def connect(self) -> None:
        live.note_server_loop()
        self.groups_joined = []
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_ANONYMOUS)
            return
        agent, workgroup_ids = await self._agent_and_workgroups(user)
        if agent is None:
            await self.close(code=CLOSE_NOT_AN_AGENT)
            return
        self.agent_id = agent.pk
        self.groups_joined = [audience.agent_group(agent.pk)] + [
            audience.workgroup_group(w) for w in workgroup_ids
        ]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        timers.open_desktop_channels.add(self.channel_name)
        # After accept: an offer made now reaches this socket.
        await database_sync_to_async(services.desktop_opened)(
            agent=agent, channel_name=self.channel_name
        )

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        if self.agent_id is not None:
            timers.open_desktop_channels.discard(self.channel_name)
            await database_sync_to_async(services.desktop_closed)(channel_name=self.channel_name)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        # The desktop sends nothing over the socket: actions are HTTP posts.
        return

    @database_sync_to_async
    def _agent_and_workgroups(self, user):
        agent = selectors.agent_for_user(user)
        if agent is None:
            return None, []
        return agent, list(Workgroup.objects.filter(members=agent).values_list("pk", flat=True))

    async def _push(self, message: dict) -> None:
        html = await database_sync_to_async(fragments.for_event)(self.agent_id, message)
        if html:
            await self.send(text_data=html)

    async def routing_interaction_changed(self, message: dict) -> None:
        await self._push(message)

    async def routing_message_changed(self, message: dict) -> None:
        await self._push(message)

    async def routing_agent_changed(self, message: dict) -> None:
        await self._push(message)

    async def facebook_page_changed(self, message: dict) -> None:
        await self._push(message)
