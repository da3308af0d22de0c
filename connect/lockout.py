"""The page a locked-out login gets (django-axes calls it: AXES_LOCKOUT_CALLABLE)."""

import math

from axes.helpers import get_cool_off
from django.conf import settings
from django.shortcuts import render


def locked_out(request, original_response=None, credentials=None):
    """429 with words: how long to wait, and who can unlock the account sooner.

    Every attempt during a lockout starts the cool-off again, so the wait is
    the whole cool-off from now.
    """
    cool_off = get_cool_off(request)
    minutes = math.ceil(cool_off.total_seconds() / 60) if cool_off else None
    return render(
        request,
        "registration/locked_out.html",
        {"minutes": minutes, "failure_limit": settings.AXES_FAILURE_LIMIT},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )
