"""The built-in fake of the Graph API calls we make (only with FACEBOOK_SIMULATOR).

It checks requests roughly as Meta does, records every call as a FakeGraphCall
and behaves as the current FakeGraphMode says: answer normally, answer too
late, or refuse with one of Meta's errors.

The views are `async def` on purpose: under daphne every sync view of a process
runs on one shared thread, so a sync view sleeping through a "timeout" would
stall the whole server. ORM work goes through sync_to_async.
"""

import asyncio
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from functools import wraps

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpResponse, JsonResponse
from django.templatetags.static import static
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from facebook.models import FacebookPage, FakeGraphCall, FakeGraphMode, FakeProfile

MAX_TEXT_LENGTH = 1999  # Meta: text under 2000 characters
MAX_METADATA_LENGTH = 999  # Meta: metadata under 1000 characters
MESSAGING_TYPES = ("RESPONSE", "UPDATE", "MESSAGE_TAG")
SENDER_ACTIONS = ("typing_on", "typing_off", "mark_seen")

# What the simulator's mode switch offers, in order.
MODES = {
    "ok": "Answer normally",
    "timeout": "Answer too late (after the send timeout)",
    "error_1": "Temporary error (code 1)",
    "rate_limit": "Rate limited (code 613)",
    "window_closed": "Reply window closed (10 / 2018278)",
    "unavailable": "Person unavailable (551)",
    "token_invalid": "Page token invalid (190)",
    "http_500": "HTTP 500 with an HTML page",
    "no_profile": "No user profile (2018218); sends work",
}
DEFAULT_MODE = "ok"

FIRST_NAMES = ["Ana", "Ben", "Chloé", "Daniel", "Emma", "Farid", "Greta", "Hiro", "Ines", "Jonas"]
LAST_NAMES = ["Silva", "Novak", "Moreau", "Okafor", "Jensen", "Haddad", "Berg", "Tanaka", "Costa"]

HTML_500 = (
    "<!DOCTYPE html><html><head><title>Error</title></head>"
    "<body><h1>Sorry, something went wrong.</h1></body></html>"
)


def simulator_only(view):
    """404 unless settings.FACEBOOK_SIMULATOR is on (read per request, so tests can switch it)."""
    if iscoroutinefunction(view):

        @wraps(view)
        async def gated_async(request, *args, **kwargs):
            if not settings.FACEBOOK_SIMULATOR:
                raise Http404("The simulator is off.")
            return await view(request, *args, **kwargs)

        return gated_async

    @wraps(view)
    def gated(request, *args, **kwargs):
        if not settings.FACEBOOK_SIMULATOR:
            raise Http404("The simulator is off.")
        return view(request, *args, **kwargs)

    return gated


# --- modes and profiles (plain functions: tests and the simulator call them) ----


def current_mode() -> str:
    row = FakeGraphMode.objects.order_by("-updated_at", "-id").first()
    return row.mode if row and row.mode in MODES else DEFAULT_MODE


def set_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"Unknown fake Graph API mode {mode!r}")
    with transaction.atomic():
        # Meant to be a single row; updating every row keeps stray extras in step.
        if not FakeGraphMode.objects.update(mode=mode, updated_at=timezone.now()):
            FakeGraphMode.objects.create(mode=mode)


def remember_profile(*, psid: str, name: str) -> FakeProfile:
    first_name, _, last_name = name.strip().partition(" ")
    profile, _ = FakeProfile.objects.update_or_create(
        psid=psid, defaults={"first_name": first_name, "last_name": last_name.strip()}
    )
    return profile


def profile_names(psid: str) -> tuple[str, str]:
    """The chosen name of a simulator user, else a stable made-up one."""
    chosen = FakeProfile.objects.filter(psid=psid).first()
    if chosen:
        return chosen.first_name, chosen.last_name
    digest = int(hashlib.sha256(psid.encode()).hexdigest(), 16)
    return (
        FIRST_NAMES[digest % len(FIRST_NAMES)],
        LAST_NAMES[(digest // len(FIRST_NAMES)) % len(LAST_NAMES)],
    )


# --- Meta's answers -------------------------------------------------------------


def meta_error(code: int, message: str, subcode: int | None = None, **extra) -> dict:
    error = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error.update(extra)
    error["fbtrace_id"] = "Fake" + secrets.token_urlsafe(12)
    return {"error": error}


def _bad_token() -> tuple[int, dict]:
    return 400, meta_error(190, "Invalid OAuth access token - Cannot parse access token")


def _invalid(message: str) -> tuple[int, dict]:
    return 400, meta_error(100, f"(#100) {message}")


# Mode → the refusal it answers with; HTTP 500 with HTML is handled apart.
_MODE_ERRORS = {
    "error_1": lambda: (
        500,
        meta_error(1, "An unknown error occurred", 99, is_transient=True),
    ),
    "rate_limit": lambda: (
        400,
        meta_error(613, "(#613) Calls to this api have exceeded the rate limit."),
    ),
    "window_closed": lambda: (
        400,
        meta_error(10, "(#10) This message is sent outside of allowed window.", 2018278),
    ),
    "unavailable": lambda: (
        400,
        meta_error(551, "(#551) This person isn't available right now.", 1545041),
    ),
    "token_invalid": lambda: (
        400,
        meta_error(
            190,
            "Error validating access token: The session has been invalidated because "
            "the user changed their password or Facebook has changed the session for "
            "security reasons.",
            460,
        ),
    ),
    "no_profile": lambda: (
        400,
        meta_error(100, "(#100) No profile available for this user.", 2018218),
    ),
}
# Refusals that concern sending only, and the one that concerns profiles only.
_SEND_ONLY_MODES = {"window_closed", "unavailable"}
_PROFILE_ONLY_MODES = {"no_profile"}


def _check_send_body(body) -> tuple[int, dict] | None:
    """Meta's parameter checks, as far as they are useful here; None when fine."""
    if not isinstance(body, dict):
        return _invalid("The parameter recipient is required")
    recipient = body.get("recipient")
    if not isinstance(recipient, dict) or not str(recipient.get("id") or "").strip():
        return _invalid("The parameter recipient is required")
    if "sender_action" in body:
        if body["sender_action"] not in SENDER_ACTIONS:
            return _invalid("Param sender_action must be one of {typing_on, typing_off, mark_seen}")
        if "message" in body:
            return _invalid("sender_action cannot be sent together with message")
        return None
    if body.get("messaging_type") not in MESSAGING_TYPES:
        return _invalid("param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}")
    if body["messaging_type"] == "MESSAGE_TAG" and not body.get("tag"):
        return _invalid("Param tag must be provided when messaging_type is MESSAGE_TAG")
    message = body.get("message")
    if not isinstance(message, dict):
        return _invalid("param message must be non-empty.")
    text = message.get("text")
    if not message.get("attachment") and not (isinstance(text, str) and text):
        return _invalid("Must send either message text or an attachment")
    if isinstance(text, str) and len(text) > MAX_TEXT_LENGTH:
        return _invalid("Length of param message[text] must be less than or equal to 2000")
    if len(str(message.get("metadata") or "")) > MAX_METADATA_LENGTH:
        return _invalid("Length of param message[metadata] must be less than 1000")
    return None


@dataclass
class _Call:
    method: str
    path: str
    body: dict
    page: FacebookPage | None = None
    psid: str = ""


def _page_and_mode(token: str) -> tuple[FacebookPage | None, str]:
    page = FacebookPage.objects.filter(access_token=token).first() if token else None
    return page, current_mode()


def _record(call: _Call, status: int, answer: dict) -> None:
    FakeGraphCall.objects.create(
        method=call.method,
        path=call.path[:300],  # the path only: the token is in the query string
        page_id=call.page.page_id if call.page else "",
        recipient_psid=call.psid[:64],
        body=call.body,
        answer_status=status,
        answer=answer,
        message_id=str(answer.get("message_id") or ""),
    )


async def _answer(call: _Call, status: int, answer: dict, *, mode: str) -> HttpResponse:
    """Record the call, then answer as the mode says."""
    if status == 200 and mode == "http_500":
        await sync_to_async(_record)(call, 500, {"html": HTML_500})
        return _quiet(HttpResponse(HTML_500, status=500, content_type="text/html; charset=utf-8"))
    await sync_to_async(_record)(call, status, answer)
    if status == 200 and mode == "timeout":
        # Recorded first, as Meta would have sent it; only the answer is late.
        await asyncio.sleep(settings.FACEBOOK_SEND_TIMEOUT + 1)
    return _quiet(JsonResponse(answer, status=status))


def _quiet(response: HttpResponse) -> HttpResponse:
    # A 5xx asked for is no server error of ours: keep it out of django.request's ERROR log.
    response._has_been_logged = True
    return response


# --- views ----------------------------------------------------------------------


@simulator_only
@csrf_exempt
async def messages(request, version: str, page_id: str):
    """POST /{version}/{page-id|me}/messages: text messages and sender actions."""
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = {"unparsed": request.body.decode("utf-8", "replace")[:2000]}
    recipient = body.get("recipient") if isinstance(body, dict) else None
    psid = str(recipient.get("id") or "") if isinstance(recipient, dict) else ""
    page, mode = await sync_to_async(_page_and_mode)(request.GET.get("access_token", ""))
    call = _Call("POST", request.path, body if isinstance(body, dict) else {}, page, psid)
    if request.method != "POST":
        return await _answer(call, *_invalid("Unsupported get request."), mode="ok")
    if page is None:
        return await _answer(call, *_bad_token(), mode=mode)
    if mode == "token_invalid":
        return await _answer(call, *_MODE_ERRORS[mode](), mode=mode)
    if refusal := _check_send_body(body):
        return await _answer(call, *refusal, mode="ok")
    if page_id not in ("me", page.page_id):
        return await _answer(
            call, *_invalid("The access token does not belong to this Page"), mode="ok"
        )
    if mode in _MODE_ERRORS and mode not in _PROFILE_ONLY_MODES:
        return await _answer(call, *_MODE_ERRORS[mode](), mode=mode)
    answer = {"recipient_id": psid}
    if "sender_action" not in body:
        answer["message_id"] = f"m_fake_{uuid.uuid4().hex}"
    return await _answer(call, 200, answer, mode=mode)


@simulator_only
async def profile(request, version: str, psid: str):
    """GET /{version}/{psid}?fields=…: the User Profile API."""
    fields = [f for f in request.GET.get("fields", "").split(",") if f] or [
        "first_name",
        "last_name",
        "profile_pic",
    ]
    page, mode = await sync_to_async(_page_and_mode)(request.GET.get("access_token", ""))
    call = _Call("GET", request.path, {"fields": ",".join(fields)}, page, psid)
    if request.method != "GET":
        return await _answer(call, *_invalid("Unsupported post request."), mode="ok")
    if page is None:
        return await _answer(call, *_bad_token(), mode=mode)
    if mode in _MODE_ERRORS and mode not in _SEND_ONLY_MODES:
        return await _answer(call, *_MODE_ERRORS[mode](), mode=mode)
    first_name, last_name = await sync_to_async(profile_names)(psid)
    known = {
        "first_name": first_name,
        "last_name": last_name,
        "name": f"{first_name} {last_name}".strip(),
        "profile_pic": request.build_absolute_uri(static("simulator/avatar.svg")),
    }
    answer = {field: known[field] for field in fields if field in known}
    answer["id"] = psid
    return await _answer(call, 200, answer, mode=mode)
