"""Open sockets never look live while the database is gone.

The consumers touch the database only when a socket opens, so a database
that stops leaves every open desktop looking fine while nothing can change.
Each server process with open sockets asks the database every few seconds;
when it does not answer, the process closes its sockets (4503). The browsers
show "Reconnecting…" and retry with backoff; once the database answers again
they open, join their groups and redraw what changed (the desktop's resync).
"""

import asyncio
import logging
import weakref

from channels.db import database_sync_to_async
from django.db import connection

logger = logging.getLogger(__name__)

CHECK_SECONDS = 2.0
# 4000–4999 are the application's: the desktop says why and reconnects.
CLOSE_DATABASE_DOWN = 4503

_sockets: weakref.WeakSet = weakref.WeakSet()
_task: asyncio.Task | None = None


def _ping() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


async def database_answers() -> bool:
    try:
        ping = database_sync_to_async(_ping, thread_sensitive=False)
        await asyncio.wait_for(ping(), timeout=CHECK_SECONDS * 2)
    except Exception as exc:  # any failure: the database does not answer
        logger.warning("the database does not answer: %s", exc.__class__.__name__)
        return False
    return True


async def _run() -> None:
    while _sockets:
        await asyncio.sleep(CHECK_SECONDS)
        if _sockets and not await database_answers():
            for consumer in list(_sockets):
                _sockets.discard(consumer)
                try:
                    await consumer.close(code=CLOSE_DATABASE_DOWN)
                except Exception:
                    logger.exception("closing a socket while the database is down failed")


def watch(consumer) -> None:
    """Count an accepted socket in; the watch runs while this loop has any."""
    global _task
    _sockets.add(consumer)
    if _task is None or _task.done() or _task.get_loop() is not asyncio.get_running_loop():
        _task = asyncio.get_running_loop().create_task(_run())
