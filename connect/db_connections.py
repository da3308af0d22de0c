"""Gives a request's database connections back when the request ends.

Under ASGI, Django runs each request's sync code in a thread of its own that
ends with the request. On PostgreSQL, closing the connection gives it back
to the process's pool (connect.settings), for the next request to take
without connecting again; a connection never given back would hold a place
in the pool for good. On SQLite, where CONN_MAX_AGE keeps connections open,
one left open would linger, idle, until garbage collection; CONN_MAX_AGE
still serves the threads that live on.
"""

from django.core.signals import request_finished
from django.db import connections
from django.dispatch import receiver


@receiver(request_finished, dispatch_uid="connect.close_request_connections")
def close_request_connections(sender, **kwargs) -> None:
    for connection in connections.all(initialized_only=True):
        # Never inside a transaction: a test may wrap its requests in one.
        if not connection.in_atomic_block:
            connection.close()
