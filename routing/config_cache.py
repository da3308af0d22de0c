"""Configuration read once per router batch instead of once per customer message,
and shared by the batches of the next second.

A batch of webhook bodies (one transaction) reads the same workgroup, its
business hours and the Page's priority rules for every message in it. Inside
`reading_config_once()` those reads are answered from the first one; outside
it (requests, timers, the board) every read goes to the database as before.

At a quiet hour each body is a batch of its own, and these reads were its
largest fixed cost. So what a batch read of the kinds in `SHARED` is kept for
the process's next batches for up to `SHARED_FOR`. A change saved in this
process forgets everything at once (routing.apps connects the models'
signals); a change saved in another process reaches this one's routing within
`SHARED_FOR`, as a change used to reach the next batch.
"""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save

T = TypeVar("T")

SHARED_FOR = 1.0  # seconds
# Configuration only: rows a supervisor changes. Not what customers' own
# events change (a Page's private replies), which every batch reads afresh.
SHARED = frozenset(
    {"workgroup", "schedule", "priority_rules", "required_skills", "pages", "instagram_accounts"}
)

_local = threading.local()
_shared: dict[tuple[str, Any], tuple[float, Any]] = {}
_shared_lock = threading.Lock()
_generation = 0


@contextmanager
def reading_config_once() -> Iterator[None]:
    outer = getattr(_local, "cache", None)
    _local.cache = outer if outer is not None else {}
    try:
        yield
    finally:
        _local.cache = outer


def cached(kind: str, key: Any, load: Callable[[], T]) -> T:
    """`load()`, or what it gave for (kind, key) earlier in this batch (or, for
    the kinds in SHARED, in a batch of the last SHARED_FOR seconds)."""
    cache: dict | None = getattr(_local, "cache", None)
    if cache is None:
        return load()
    if (kind, key) not in cache:
        cache[kind, key] = _shared_or_loaded(kind, key, load) if kind in SHARED else load()
    return cache[kind, key]


def _shared_or_loaded(kind: str, key: Any, load: Callable[[], T]) -> T:
    now = time.monotonic()
    with _shared_lock:
        kept = _shared.get((kind, key))
        generation = _generation
    if kept is not None and now - kept[0] < SHARED_FOR:
        return kept[1]
    value = load()
    with _shared_lock:
        if generation == _generation:  # nothing was changed while it loaded
            _shared[kind, key] = (now, value)
    return value


def forget() -> None:
    """Every batch from now on reads the configuration afresh."""
    global _generation
    with _shared_lock:
        _shared.clear()
        _generation += 1


def configuration_changed(**_signal_arguments: Any) -> None:
    """A configuration row is being written in this process: forgotten now, and
    again once it commits (a batch in between read the row as it was)."""
    forget()
    transaction.on_commit(forget)


def forget_when_saved(*models: type[Model]) -> None:
    """Each save or delete of a row of `models` in this process is a configuration change
    (for the apps' `ready`)."""
    for model in models:
        for signal in (post_save, post_delete):
            signal.connect(
                configuration_changed,
                sender=model,
                dispatch_uid=f"config_cache.{model._meta.label}.{id(signal)}",
            )
