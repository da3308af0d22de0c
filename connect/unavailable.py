"""A database that does not answer in time gets a 503 with words, never a 500.

Under a burst, SQLite's writers queue one behind another and a write still
waiting after the busy timeout fails with "database is locked"; a PostgreSQL
that went away, or a lock not granted in time, fails the same way. Every
change goes through one service in one transaction, so nothing was changed:
the person is told so, and that trying again is safe. Other errors are bugs
and stay 500s.
"""

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

BUSY = "The server is too busy to do that right now. Nothing was changed: try again in a moment."
RETRY_AFTER_SECONDS = 2


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning(
            "%s %s: the database did not answer in time (%s: %s)",
            request.method,
            request.path,
            exception.__class__.__name__,
            exception,
        )
        return HttpResponse(
            BUSY,
            status=503,
            content_type="text/plain; charset=utf-8",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
