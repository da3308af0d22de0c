"""Each request runs in a thread of its own; its connection goes back to the pool."""

import threading
import time

import pytest
from django.core.signals import request_finished
from django.db import connection

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the pool is PostgreSQL's (this run uses SQLite)"
    ),
]


def _sessions_so_far() -> int:
    """Connections made to this database so far, those closed included."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def _a_request_in_a_thread_of_its_own() -> None:
    """What Django's ASGI handler does: the request's sync code in a new thread,
    request_finished sent from it at the end."""

    def request() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        request_finished.send(sender=None)

    thread = threading.Thread(target=request)
    thread.start()
    thread.join()


def test_requests_one_after_another_take_the_pools_connections_not_new_ones():
    _a_request_in_a_thread_of_its_own()  # the pool is open
    before = _sessions_so_far()
    for _ in range(10):
        _a_request_in_a_thread_of_its_own()
    time.sleep(0.5)  # a closed connection's session is counted as its backend exits
    # Without the pool, each request's thread opened a connection of its own: ten.
    assert _sessions_so_far() - before <= 1
