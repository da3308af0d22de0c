"""Gives a request's database connections back when the request ends.

Under ASGI, Django runs each request's sync code in a thread of its own that
ends with the request, so a connection that CONN_MAX_AGE keeps open is never
used again: it lingers, idle, until garbage collection, and under load
PostgreSQL refuses new ones ("too many clients"). CONN_MAX_AGE still serves
the thread that lives on: the one running the websocket consumers' and the
timers' database work.
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
