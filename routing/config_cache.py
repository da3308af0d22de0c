"""Configuration read once per router batch instead of once per customer message.

A batch of webhook bodies (one transaction) reads the same workgroup, its
business hours and the Page's priority rules for every message in it. Inside
`reading_config_once()` those reads are answered from the first one; outside
it (requests, timers, the board) every read goes to the database as before.
A supervisor's change reaches the next batch, a fraction of a second later.
"""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

_local = threading.local()


@contextmanager
def reading_config_once() -> Iterator[None]:
    outer = getattr(_local, "cache", None)
    _local.cache = outer if outer is not None else {}
    try:
        yield
    finally:
        _local.cache = outer


def cached(kind: str, key: Any, load: Callable[[], T]) -> T:
    """`load()`, or what it gave for (kind, key) earlier in this batch."""
    cache: dict | None = getattr(_local, "cache", None)
    if cache is None:
        return load()
    if (kind, key) not in cache:
        cache[kind, key] = load()
    return cache[kind, key]
