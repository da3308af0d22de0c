"""Open sockets never go silently deaf when Redis restarts.

Group memberships live in Redis. A Redis that restarts (or is flushed) comes
back without them: every socket would stay open and hear nothing again. Each
server process keeps a marker key in Redis and looks for it every few
seconds; when it is gone, the process closes its sockets (4012). The
browsers reconnect at once, join their groups again and redraw what changed
meanwhile (the desktop's resync). Nothing to do with the in-memory layer,
which lives and dies with the process.
"""

import asyncio
import logging
import time
import uuid
import weakref

from django.conf import settings

logger = logging.getLogger(__name__)

CHECK_SECONDS = 3.0
# 4000–4999 are the application's (daphne refuses 1012): the desktop reconnects at once.
CLOSE_RESTARTED = 4012


class _Watch:
    """This process's marker in Redis, and the sockets that joined their groups under it."""

    def __init__(self, redis_url: str) -> None:
        from redis.asyncio import Redis

        self.loop = asyncio.get_running_loop()
        self.client = Redis.from_url(redis_url, socket_timeout=CHECK_SECONDS)
        self.marker = f"connect:process:{uuid.uuid4().hex}"
        self.marked = False
        # Redis did not answer: when it does again, it may have restarted meanwhile.
        self.unsure = False
        self.lock = asyncio.Lock()
        # Each socket with the marker it joined under: after a loss, only those
        # from before the new marker are closed, not the ones coming back.
        self.sockets: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self.generation = 0
        # When the last completed look started, and the look under way.
        self.checked_from = 0.0
        self.looking: asyncio.Task | None = None

    async def checked_since(self, moment: float) -> None:
        """Until a look that started at or after `moment` is done (looks are shared)."""
        while self.checked_from < moment:
            if self.looking is None or self.looking.done():
                self.looking = asyncio.ensure_future(self.check())
            await asyncio.shield(self.looking)

    async def check(self) -> None:
        async with self.lock:
            started = time.monotonic()
            try:
                lost = self.unsure or (self.marked and not await self.client.exists(self.marker))
                if lost or not self.marked:
                    await self.client.set(self.marker, "1")
                    self.marked, self.unsure = True, False
                    self.generation += 1
            except Exception as exc:  # Redis down: its sockets fail on their own
                logger.warning("Redis does not answer the layer watch: %s", exc)
                self.unsure = self.marked
                self.checked_from = started  # looked; the socket fails with Redis
                return
            self.checked_from = started
        if lost:
            logger.warning("Redis lost its data: closing the sockets that joined before")
            await self._close_older_than(self.generation)

    async def _close_older_than(self, generation: int) -> None:
        for consumer, joined in list(self.sockets.items()):
            if joined < generation:
                try:
                    await consumer.close(code=CLOSE_RESTARTED)
                except Exception:
                    logger.exception("closing a socket after Redis lost its data failed")

    async def run(self) -> None:
        while True:
            await asyncio.sleep(CHECK_SECONDS)
            await self.check()


_watch: _Watch | None = None
_task: asyncio.Task | None = None


async def watch(consumer) -> None:
    """Count a socket in once it has joined its groups (before it is accepted).

    Checks the marker first: the first socket back after a loss finds it and
    closes the deaf ones, and is itself counted under the new marker.
    """
    global _watch, _task
    if not settings.REDIS_URL:
        return
    if _watch is None or _watch.loop is not asyncio.get_running_loop():
        # One per server loop (a test suite runs several loops one after another).
        _watch = _Watch(settings.REDIS_URL)
        _task = None
    if _task is None or _task.done():
        _task = asyncio.get_running_loop().create_task(_watch.run())
    # A look that started after this socket joined its groups: sockets of a
    # burst share a few looks rather than one each.
    await _watch.checked_since(time.monotonic())
    _watch.sockets[consumer] = _watch.generation
