"""Three bench-only endpoints, served through the project's whole middleware stack.

- `/bench/empty`: the cheapest Django view, with the webhook's decorators
  (a sync view, CSRF-exempt, GET or POST). The webhook's throughput divided by
  this one's is the share of the stack's own cost the webhook keeps.
- `/bench/floor`: one `group_send` of a ready, constant-size fragment to a
  group (the bench names the workgroup of its agents' sockets), as the live
  updates send theirs. POST → frame on the sockets is the least a live update
  can take with this framework on this machine.
- `/bench/statements`: how many SQL statements each part of this process has
  run so far (benchsite.statements), as JSON.
"""

from channels.layers import get_channel_layer
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from benchsite import statements

# Frames start with this, so the bench's socket reader tells them apart cheaply.
FLOOR_MARK = '<template data-bench-floor="'


@csrf_exempt
@require_http_methods(["GET", "POST"])
def empty(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")


def _consumer_forwards_frames() -> bool:
    """A checkout whose desktop consumer has no `live.frame` handler would crash on one."""
    from connect.consumers import DesktopConsumer

    return hasattr(DesktopConsumer, "live_frame")


@csrf_exempt
@require_http_methods(["POST"])
async def floor(request: HttpRequest) -> HttpResponse:
    if not _consumer_forwards_frames():
        answer = HttpResponse("this checkout's desktop consumer has no live.frame", status=501)
        answer._has_been_logged = True  # an answer the bench asked for, not a server error
        return answer
    group = request.GET.get("group", "")
    number = request.GET.get("n", "")
    if not group or not number.isdigit():
        return HttpResponse("group and n are required", status=400)
    html = f'{FLOOR_MARK}{int(number):08d}"></template>'
    await get_channel_layer().group_send(group, {"type": "live.frame", "html": html, "skip": []})
    return HttpResponse("ok", content_type="text/plain; charset=utf-8")


@require_http_methods(["GET"])
def statement_counts(request: HttpRequest) -> JsonResponse:
    return JsonResponse(statements.snapshot())
