"""The request types views declare, for the type checker (no behaviour of their own).

`request.htmx` is set by django-htmx's middleware, so plain `HttpRequest` does not
know it: `HtmxHttpRequest` declares it, as django-htmx's documentation recommends.
Behind `login_required`, `request.user` is a real user, never `AnonymousUser`:
`AuthenticatedHttpRequest` says so (django-stubs' recommended pattern).
"""

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


class AuthenticatedHttpRequest(HtmxHttpRequest):
    user: User
