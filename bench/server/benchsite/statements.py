"""The bench counts the SQL statements a server runs, by the part of the server that ran them.

Every database connection of the process gets an execute wrapper that adds
one to its part's count: a dictionary increment, a few microseconds. A thread
of the server's own (the router, the renderer, a background pool) is known by
its name; a request by its path, which `application` notes in a context
variable that asgiref carries into the thread a sync view runs in. The bench
reads the counts before and after a phase (`/bench/statements`) and prints
them per new customer: where the database work of one customer goes.
"""

import contextvars
import threading
from collections import Counter

from django.db.backends.signals import connection_created

# By thread name (the prefix a server's own threads are given).
THREADS = (
    ("webhook-router", "routing"),
    ("live-render", "live renders"),
    ("facebook-profiles", "profile fetches"),
    ("facebook-sender", "sends"),
    ("webhook-store", "webhook stores"),
)
# By request path, for the threads of requests.
PATHS = (
    ("/fake-graph/", "the fake Graph API (Meta's side)"),
    ("/facebook/webhook", "webhook stores"),
    ("/bench/", "bench endpoints"),
)
AGENTS = "agents' requests"
OTHER = "timers, sockets, other"

request_part: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "bench_request_part", default=None
)
counts: Counter[str] = Counter()
_lock = threading.Lock()


def part_of_path(path: str) -> str:
    return next((part for prefix, part in PATHS if path.startswith(prefix)), AGENTS)


def _part() -> str:
    name = threading.current_thread().name
    for prefix, part in THREADS:
        if name.startswith(prefix):
            return part
    return request_part.get() or OTHER


def count(execute, sql, params, many, context):
    part = _part()
    with _lock:
        counts[part] += 1
    return execute(sql, params, many, context)


def _install(sender, connection, **kwargs) -> None:
    # A pooled connection is made again on each checkout; its wrapper counts once.
    if count not in connection.execute_wrappers:
        connection.execute_wrappers.append(count)


def start_counting() -> None:
    connection_created.connect(_install, dispatch_uid="bench-statements")


def snapshot() -> dict[str, int]:
    with _lock:
        return dict(counts)


def counting(application):
    """`application` with each HTTP request's part noted for the statements it runs."""

    async def counted(scope, receive, send):
        if scope["type"] != "http":
            return await application(scope, receive, send)
        token = request_part.set(part_of_path(scope.get("path", "")))
        try:
            return await application(scope, receive, send)
        finally:
            request_part.reset(token)

    return counted
