"""Micro-measurements of the stack's known traps, in the bench process, on the bench database.

- Django's ASGI handler runs each request's sync code in a thread of its own
  (a fresh `ThreadSensitiveContext`, hence a fresh single-thread executor),
  so a request never reuses the thread, nor the thread's database connection,
  of the one before: CONN_MAX_AGE cannot keep a connection across requests.
- Channels' `database_sync_to_async` runs `close_old_connections()` before
  and after every call: with CONN_MAX_AGE 0 each call opens a new connection;
  with CONN_MAX_AGE > 0 and health checks each call pays a health check (a
  query on PostgreSQL, nothing on SQLite).
- SQLite: two writers that both start with a read deadlock in DEFERRED
  transactions ("database is locked" at once, whatever the busy timeout);
  IMMEDIATE transactions queue behind the busy timeout instead.
"""

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from channels.db import database_sync_to_async

TRAP_SQLITE = Path("/tmp/h-bench-trap.sqlite3")


def _noop() -> None:
    return None


async def thread_per_request(calls: int) -> dict[str, float]:
    """Seconds per sync call: in a fresh context (as each Django request) vs a kept thread."""

    async def fresh_context() -> None:
        async with ThreadSensitiveContext():
            await sync_to_async(_noop)()

    started = time.perf_counter()
    for _ in range(calls):
        await fresh_context()
    fresh = (time.perf_counter() - started) / calls

    started = time.perf_counter()
    for _ in range(calls):
        await sync_to_async(_noop)()
    kept = (time.perf_counter() - started) / calls
    return {"fresh_thread": fresh, "kept_thread": kept}


def _small_query() -> bool:
    from routing.models import Agent

    return Agent.objects.filter(pk=1).exists()


async def consumer_db_calls(calls: int) -> dict[str, float]:
    """Seconds per small query: as a consumer makes it, with CONN_MAX_AGE 0 and as configured,
    and on a connection simply kept open."""
    from django.db import connections

    def close() -> None:
        connections["default"].close()

    async def per_call(call) -> float:
        await call(_small_query)()  # warm: imports, first connection
        started = time.perf_counter()
        for _ in range(calls):
            await call(_small_query)()
        took = (time.perf_counter() - started) / calls
        await sync_to_async(close)()
        return took

    settings = connections.settings["default"]
    configured = settings["CONN_MAX_AGE"]
    settings["CONN_MAX_AGE"] = 0
    try:
        reconnecting = await per_call(database_sync_to_async)
    finally:
        settings["CONN_MAX_AGE"] = configured
    return {
        "conn_max_age_0": reconnecting,
        "configured": await per_call(database_sync_to_async),
        "kept_open": await per_call(sync_to_async),
    }


def connection_cost(calls: int) -> dict[str, float]:
    """Seconds for connect + first query vs a query on an open connection (Django's backend)."""
    from django.db import connection

    def query() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()

    query()
    started = time.perf_counter()
    for _ in range(calls):
        query()
    reused = (time.perf_counter() - started) / calls

    started = time.perf_counter()
    for _ in range(calls):
        connection.close()
        query()
    fresh = (time.perf_counter() - started) / calls
    connection.close()
    return {"new_connection": fresh, "open_connection": reused}


def journal_mode(path: Path) -> str:
    with sqlite3.connect(path) as connection:
        return connection.execute("PRAGMA journal_mode").fetchone()[0]


def sqlite_read_then_write(
    mode: str, *, threads: int, transactions: int, work: float = 0.001, timeout: float = 5.0
) -> dict[str, float]:
    """`threads` writers, each reading a counter then writing it, in WAL with a busy timeout."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{TRAP_SQLITE}{suffix}").unlink(missing_ok=True)
    with sqlite3.connect(TRAP_SQLITE) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE counter (n INTEGER NOT NULL)")
        setup.execute("INSERT INTO counter VALUES (0)")
    errors = 0
    lock = threading.Lock()

    def writer() -> None:
        nonlocal errors
        connection = sqlite3.connect(TRAP_SQLITE, timeout=timeout, isolation_level=None)
        connection.execute("PRAGMA synchronous=NORMAL")
        for _ in range(transactions):
            try:
                connection.execute(f"BEGIN {mode}")
                (n,) = connection.execute("SELECT n FROM counter").fetchone()
                time.sleep(work)  # the view's Python between its read and its write
                connection.execute("UPDATE counter SET n = ?", [n + 1])
                connection.execute("COMMIT")
            except sqlite3.OperationalError:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                with lock:
                    errors += 1
        connection.close()

    started = time.perf_counter()
    workers = [threading.Thread(target=writer) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - started
    with sqlite3.connect(TRAP_SQLITE) as check:
        (final,) = check.execute("SELECT n FROM counter").fetchone()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{TRAP_SQLITE}{suffix}").unlink(missing_ok=True)
    attempted = threads * transactions
    return {
        "attempted": attempted,
        "errors": errors,
        "committed": final,
        "per_second": final / seconds if seconds else 0.0,
    }


def run_async(coroutine):
    return asyncio.run(coroutine)
