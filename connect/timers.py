"""The timer loop: alert timeouts, stuck sends, stale tabs, waiting offers; replies a
rate limit held back, and the Facebook Pages' health checks.

daphne has no ASGI lifespan, so each server process starts the loop on its
first request. Every step is a routing service that locks rows, so any number
of processes can run it at once; `manage.py run_timers` runs it on its own.
"""

import asyncio
import logging
import os

from channels.db import database_sync_to_async

from connect import live
from facebook import health, ingest, retention, sender
from routing import services

logger = logging.getLogger(__name__)

TICK_SECONDS = 1.0
# Each process vouches for its open tabs this often (see DesktopConnection).
HEARTBEAT_EVERY_TICKS = 20
# Old webhook bodies and attachment copies go every ten minutes, a few batches at a time.
RETENTION_EVERY_TICKS = 600
RETENTION_BATCHES_A_TICK = 4
# Whether a Page's health check is due is looked at this often (each runs in the background).
HEALTH_EVERY_TICKS = 10

# Channel names of the desktop sockets this process holds.
open_desktop_channels: set[str] = set()

_task: asyncio.Task | None = None


def timers_enabled() -> bool:
    return os.environ.get("CONNECT_TIMERS", "1") != "0"


async def run_timer_loop(tick_seconds: float = TICK_SECONDS) -> None:
    tick = 0
    while True:
        try:
            await database_sync_to_async(services.run_due_timers)()
            if tick % HEARTBEAT_EVERY_TICKS == 0 and open_desktop_channels:
                await database_sync_to_async(services.desktops_seen)(
                    channel_names=list(open_desktop_channels)
                )
            await database_sync_to_async(sender.send_deferred_due)()
            if tick % HEALTH_EVERY_TICKS == 0:
                await database_sync_to_async(health.check_due_pages)()
            if tick % RETENTION_EVERY_TICKS == RETENTION_EVERY_TICKS - 1:
                await database_sync_to_async(retention.purge)(max_batches=RETENTION_BATCHES_A_TICK)
        except Exception:
            logger.exception("timer tick failed")
        tick += 1
        await asyncio.sleep(tick_seconds)


def ensure_timer_loop() -> None:
    global _task
    if _task is None or _task.done():
        _task = asyncio.get_running_loop().create_task(run_timer_loop())


class StartTimersOnFirstUse:
    """ASGI wrapper that starts this process's timer loop and webhook router
    with its first connection (daphne has no lifespan to start them)."""

    def __init__(self, app) -> None:
        self.app = app
        self.enabled = timers_enabled()

    async def __call__(self, scope, receive, send):
        live.note_server_loop()
        if scope["type"] in ("http", "websocket"):
            # Bodies a stopped process stored but did not route are routed now.
            ingest.start_router()
            if self.enabled:
                ensure_timer_loop()
        return await self.app(scope, receive, send)
