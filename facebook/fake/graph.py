"""The built-in fake of the Graph API calls we make (only with FACEBOOK_SIMULATOR).

Sends, sender actions, private replies to comments, persona creation, the User
Profile API (Messenger's fields, and Instagram's `name` and `username`) and
conversation routing (which app controls each conversation: take and pass
thread control); the Page's subscribed apps, its conversations and their
messages (every message of a thread is kept, whether our webhook got it or
not), and the Human Agent feature review (`facebook.fake.pages` keeps what
Meta knows of a Page).

It checks requests roughly as Meta does, records every call as a FakeGraphCall
and behaves as the current mode of `facebook.fake.modes` says: answer normally,
answer too late, or refuse with one of Meta's errors. Like Meta, it then posts a signed
echo of every message it accepted to our webhook (a late answer's echo too,
after the delay), and it serves attachment files as Meta's CDN does.

The views are `async def` on purpose: under daphne every sync view of a process
runs on one shared thread, so a sync view sleeping through a "timeout" would
stall the whole server. ORM work goes through sync_to_async.
"""

import asyncio
import hashlib
import json
import logging
import struct
import time
import uuid
import zlib
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from pathlib import Path

import httpx
from asgiref.sync import iscoroutinefunction, sync_to_async
from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.templatetags.static import static
from django.urls import reverse
from django.utils.timezone import now
from django.views.decorators.csrf import csrf_exempt

from facebook.background import BackgroundPool
from facebook.fake import pages as fake_pages
from facebook.fake import webhooks
from facebook.fake.modes import MODES, Answer, Call, Mode, current_mode, meta_error
from facebook.models import (
    FacebookPage,
    FakeComment,
    FakeGraphCall,
    FakeProfile,
    FakeThreadOwner,
    InstagramAccount,
)
from routing.rules import MAX_TEXT_LENGTH  # Meta: text under 2000 characters

logger = logging.getLogger(__name__)

MAX_METADATA_LENGTH = 999  # Meta: metadata under 1000 characters
MESSAGING_TYPES = ("RESPONSE", "UPDATE", "MESSAGE_TAG")
SENDER_ACTIONS = ("typing_on", "typing_off", "mark_seen")
ATTACHMENT_TYPES = ("image", "video", "audio", "file")
# Meta takes attachments up to 25 MB.
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
UPLOADS = "fake-graph"  # under MEDIA_ROOT: the files uploaded to the fake


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


# --- profiles (plain functions: tests and the simulator call them) --------------


def remember_profile(*, psid: str, name: str, instagram: bool = False) -> FakeProfile:
    first_name, _, last_name = name.strip().partition(" ")
    profile, _ = FakeProfile.objects.update_or_create(
        psid=psid,
        defaults={
            "first_name": first_name,
            "last_name": last_name.strip(),
            "instagram": instagram,
        },
    )
    return profile


def instagram_account_of(page: FacebookPage, recipient_id: str) -> str:
    """The Page's linked Instagram account when the recipient is an Instagram user, else ""."""
    if not FakeProfile.objects.filter(psid=recipient_id, instagram=True).exists():
        return ""
    account = InstagramAccount.objects.filter(page=page).order_by("pk").first()
    return account.account_id if account else ""


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


def instagram_username(first_name: str, last_name: str) -> str:
    """The @handle the fake gives a person: their chosen (or made-up) name, joined."""
    return "".join(ch for ch in f"{first_name}.{last_name}".lower() if ch.isalnum() or ch == ".")


# --- comments (what Meta knows of who commented) ----------------------------------

# Meta: one private reply per comment, within 7 days of it.
PRIVATE_REPLY_DAYS = 7


def remember_comment(*, comment_id: str, page_id: str, psid: str, commented_at=None) -> None:
    """A comment posted to the Page: its private reply goes to `psid`'s Messenger."""
    comment, _ = FakeComment.objects.update_or_create(
        comment_id=comment_id, defaults={"page_id": page_id, "psid": psid}
    )
    if commented_at is not None:
        FakeComment.objects.filter(pk=comment.pk).update(posted_at=commented_at)


def _private_reply_recipient(page: FacebookPage, comment_id: str) -> tuple[str, tuple | None]:
    """The commenter's PSID, or Meta's refusal of the private reply."""
    comment = FakeComment.objects.filter(comment_id=comment_id, page_id=page.page_id).first()
    if comment is None:
        return "", _invalid(f"Invalid comment_id {comment_id}")
    too_old = comment.posted_at < now() - timedelta(days=PRIVATE_REPLY_DAYS)
    if too_old:
        return comment.psid, (400, meta_error(10903, "(#10903) This activity can't be replied to"))
    answered = FakeGraphCall.objects.filter(
        page_id=page.page_id, answer_status=200, body__recipient__comment_id=comment_id
    ).exists()
    if answered:
        return comment.psid, (400, meta_error(10900, "(#10900) Activity already replied to"))
    return comment.psid, None


# --- Meta's answers -------------------------------------------------------------


def _bad_token() -> tuple[int, dict]:
    return 400, meta_error(190, "Invalid OAuth access token - Cannot parse access token")


def _invalid(message: str) -> tuple[int, dict]:
    return 400, meta_error(100, f"(#100) {message}")


def _check_send_body(body) -> tuple[int, dict] | None:
    """Meta's parameter checks, as far as they are useful here; None when fine."""
    if not isinstance(body, dict):
        return _invalid("The parameter recipient is required")
    recipient = body.get("recipient")
    private_reply = isinstance(recipient, dict) and bool(recipient.get("comment_id"))
    if not isinstance(recipient, dict) or not (
        str(recipient.get("id") or "").strip() or private_reply
    ):
        return _invalid("The parameter recipient is required")
    if "sender_action" in body:
        if body["sender_action"] not in SENDER_ACTIONS:
            return _invalid("Param sender_action must be one of {typing_on, typing_off, mark_seen}")
        if "message" in body:
            return _invalid("sender_action cannot be sent together with message")
        return None
    if private_reply and "messaging_type" not in body:
        pass  # a private reply needs none
    elif body.get("messaging_type") not in MESSAGING_TYPES:
        return _invalid("param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}")
    if body.get("messaging_type") == "MESSAGE_TAG" and not body.get("tag"):
        return _invalid("Param tag must be provided when messaging_type is MESSAGE_TAG")
    message = body.get("message")
    if not isinstance(message, dict):
        return _invalid("param message must be non-empty.")
    text = message.get("text")
    if not message.get("attachment") and not (isinstance(text, str) and text):
        return _invalid("Must send either message text or an attachment")
    attachment = message.get("attachment")
    if isinstance(attachment, dict) and attachment.get("type") == "template":
        return _check_template(attachment.get("payload"), body)
    if attachment is not None:
        if not isinstance(attachment, dict) or attachment.get("type") not in ATTACHMENT_TYPES:
            return _invalid(
                "param message[attachment][type] must be one of {image, video, audio, file}"
            )
        payload = attachment.get("payload")
        if not isinstance(payload, dict) or not (
            payload.get("attachment_id") or payload.get("url")
        ):
            return _invalid(
                "param message[attachment][payload] must name an attachment_id or a url"
            )
    if isinstance(text, str) and len(text) > MAX_TEXT_LENGTH:
        return _invalid("Length of param message[text] must be less than or equal to 2000")
    if len(str(message.get("metadata") or "")) > MAX_METADATA_LENGTH:
        return _invalid("Length of param message[metadata] must be less than 1000")
    return None


def _check_template(payload, body: dict) -> tuple[int, dict] | None:
    """The one template the project sends: Messenger's customer feedback survey."""
    if not isinstance(payload, dict) or payload.get("template_type") != "customer_feedback":
        return _invalid(
            "param message[attachment][payload][template_type] must be customer_feedback"
        )
    if body.get("messaging_type") != "RESPONSE" or body.get("tag"):
        return _invalid("The customer feedback template is sent as RESPONSE, without a tag")
    for field in ("title", "button_title"):
        if not isinstance(payload.get(field), str) or not payload[field]:
            return _invalid(f"param {field} is required for the customer feedback template")
    privacy = payload.get("business_privacy")
    if not isinstance(privacy, dict) or not str(privacy.get("url") or "").startswith("http"):
        return _invalid("param business_privacy[url] is required")
    if not survey_questions(payload):
        return _invalid("param feedback_screens must hold one question of type csat")
    return None


def survey_questions(payload) -> list[dict]:
    """The CSAT questions of a customer feedback template, [] when it has none well formed."""
    screens = payload.get("feedback_screens") if isinstance(payload, dict) else None
    if not isinstance(screens, list) or len(screens) != 1 or not isinstance(screens[0], dict):
        return []
    questions = screens[0].get("questions")
    if not isinstance(questions, list):
        return []
    return [
        q
        for q in questions
        if isinstance(q, dict)
        and q.get("type") == "csat"
        and isinstance(q.get("id"), str)
        and q["id"]
        and q.get("score_option", "five_stars") == "five_stars"
    ]


def survey_sent(body) -> dict | None:
    """The customer feedback template a Send API body carried, else None."""
    message = body.get("message") if isinstance(body, dict) else None
    attachment = message.get("attachment") if isinstance(message, dict) else None
    if not isinstance(attachment, dict) or attachment.get("type") != "template":
        return None
    payload = attachment.get("payload")
    if not isinstance(payload, dict) or payload.get("template_type") != "customer_feedback":
        return None
    return payload


@dataclass
class _Call:
    method: str
    path: str
    body: dict
    page: FacebookPage | None = None
    psid: str = ""
    persona_id: str = ""


def _page_and_mode(token: str) -> tuple[FacebookPage | None, Mode]:
    # Tokens are encrypted at rest (never the same ciphertext twice): compare in Python.
    page = (
        next((p for p in FacebookPage.objects.all() if p.access_token == token), None)
        if token
        else None
    )
    return page, MODES[current_mode()]


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
        persona_id=call.persona_id[:64],
    )


async def _answer(
    call: _Call, status: int, answer: dict, *, how: Answer = Answer.NORMAL
) -> HttpResponse:
    """Record the call, then answer; `how` says how a 200 answer is given."""
    if status == 200 and how == Answer.HTML_500:
        await sync_to_async(_record)(call, 500, {"html": HTML_500})
        return _quiet(HttpResponse(HTML_500, status=500, content_type="text/html; charset=utf-8"))
    await sync_to_async(_record)(call, status, answer)
    if status == 200 and how == Answer.LATE:
        # Recorded first, as Meta would have sent it; only the answer is late.
        await asyncio.sleep(settings.FACEBOOK_SEND_TIMEOUT + 1)
    return _quiet(JsonResponse(answer, status=status))


def _quiet(response: HttpResponse) -> HttpResponse:
    # A 5xx asked for is no server error of ours: keep it out of django.request's ERROR log.
    # The flag is django.utils.log.log_response's own, private (so not in django-stubs).
    vars(response)["_has_been_logged"] = True
    return response


# --- the echo Meta posts back for every message the Page sent ----------------------

# Seconds after the answer; Meta's echo usually follows its answer closely.
ECHO_DELAY = 0.05
ECHO_TIMEOUT = 20.0
echoes = BackgroundPool("fake-graph-echoes", max_workers=8)


def own_webhook_url(request) -> str:
    """Where to post: FACEBOOK_SIMULATOR_WEBHOOK_URL, else the address this
    request arrived on (under daphne, the listening socket's own address).

    Never a URL built from the Host header: whoever sends the form must not
    pick where a body signed with the app secret goes. "" when unknown.
    """
    if settings.FACEBOOK_SIMULATOR_WEBHOOK_URL:
        return settings.FACEBOOK_SIMULATOR_WEBHOOK_URL
    server = getattr(request, "scope", {}).get("server")
    if not server or not server[1]:
        return ""  # a Unix socket, or not served over ASGI
    host, port = server
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}{reverse('facebook-webhook')}"


def echo_later(
    *,
    webhook_url: str,
    page_id: str,
    psid: str,
    message: dict,
    mid: str,
    delay: float,
    instagram_account_id: str = "",
) -> None:
    """Post the signed echo to our own webhook from a thread: never from the event
    loop, where a call to this same server would wait on itself. A message to an
    Instagram user is echoed on the Instagram account's entry, as Instagram does."""
    at_ms = int(time.time() * 1000)
    item = webhooks.page_echo(
        page_id=instagram_account_id or page_id,
        psid=psid,
        mid=mid,
        text=message["text"] if isinstance(message.get("text"), str) else None,
        metadata=message["metadata"] if isinstance(message.get("metadata"), str) else None,
        app_id=settings.FACEBOOK_APP_ID,
        at_ms=at_ms,
    )
    if instagram_account_id:
        body = webhooks.instagram_envelope(item, account_id=instagram_account_id, at_ms=at_ms)
    else:
        body = webhooks.envelope(item, page_id=page_id, at_ms=at_ms)
    echoes.submit(_post_echo, webhook_url, body, delay)


def _post_echo(webhook_url: str, body: dict, delay: float) -> None:
    time.sleep(delay)
    try:
        response = webhooks.post(
            webhook_url, body, secret=settings.FACEBOOK_APP_SECRET, timeout=ECHO_TIMEOUT
        )
    except httpx.HTTPError as exc:
        logger.info("The fake Graph API could not post an echo: %s", type(exc).__name__)
        return
    if response.status_code != 200:
        logger.info("The fake Graph API's echo was answered HTTP %s", response.status_code)


# --- attachment files, as Meta's CDN serves them ---------------------------------

# Just over Meta's 25 MB attachment limit, enough to see an over-size copy
# refused; more is refused with 400, so nobody makes the server push 64 MB.
MAX_MEDIA_BYTES = 26 * 1024 * 1024

MEDIA_CONTENT_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".mp4": "video/mp4",
    ".mp3": "audio/mpeg",
    ".pdf": "application/pdf",
}


def png(width: int = 240, height: int = 160) -> bytes:
    """A small PNG: a sky-to-sea gradient with a sun, enough to see in a bubble."""
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")  # filter: none
        for x in range(width):
            if (x - width * 0.7) ** 2 + (y - height * 0.3) ** 2 < (height * 0.13) ** 2:
                row += bytes((255, 204, 51))
            elif y < height * 0.6:
                row += bytes((90 + y // 2, 160 + y // 3, 235))
            else:
                row += bytes((20, 90 + (y - height // 2) // 2, 140))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


@simulator_only
async def media(request, name: str):
    """GET /_media/<name>: an attachment file. `?bytes=N` serves N bytes, `?chunked=1`
    without Content-Length, `?status=N` refuses, `?delay=S` answers S seconds late,
    `?redirect=URL` sends the client to URL;
    a name starting `missing` is a 404."""
    delay = request.GET.get("delay", "")
    if delay.isdigit():
        await asyncio.sleep(min(int(delay), 10))
    redirect = request.GET.get("redirect", "")
    if redirect:
        # As a CDN may: the file is elsewhere (tests check every hop is vetted).
        return _quiet(HttpResponse(status=302, headers={"Location": redirect}))
    status = request.GET.get("status", "")
    if name.startswith("missing") or (status.isdigit() and int(status) >= 400):
        code = int(status) if status.isdigit() else 404
        return _quiet(HttpResponse(b"gone", status=code, content_type="text/plain"))
    suffix = name[name.rfind(".") :].lower() if "." in name else ""
    content_type = MEDIA_CONTENT_TYPES.get(suffix, "application/octet-stream")
    size = request.GET.get("bytes", "")
    if size.isdigit() and int(size) > MAX_MEDIA_BYTES:
        return _quiet(
            HttpResponse(
                f"bytes is at most {MAX_MEDIA_BYTES}".encode(),
                status=400,
                content_type="text/plain",
            )
        )
    if size.isdigit():
        content = b"\x00" * int(size)
    elif suffix == ".png":
        content = png()
    else:
        content = f"fake {name}\n".encode() * 64
    if request.GET.get("chunked"):
        parts = [content[i : i + 65536] for i in range(0, len(content), 65536)]
        return StreamingHttpResponse(iter(parts), content_type=content_type)
    return HttpResponse(content, content_type=content_type)


# --- views ----------------------------------------------------------------------


@simulator_only
@csrf_exempt
async def messages(request, version: str, page_id: str):
    """POST /{version}/{page-id|me}/messages: text messages and sender actions;
    GET /{version}/{conversation-id}/messages: a thread's messages."""
    if request.method == "GET" and page_id.startswith(fake_pages.THREAD_PREFIX):
        return await thread_messages(request, version, page_id)
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = {"unparsed": request.body.decode("utf-8", "replace")[:2000]}
    recipient = body.get("recipient") if isinstance(body, dict) else None
    psid = str(recipient.get("id") or "") if isinstance(recipient, dict) else ""
    page, mode = await sync_to_async(_page_and_mode)(request.GET.get("access_token", ""))
    call = _Call("POST", request.path, body if isinstance(body, dict) else {}, page, psid)
    if isinstance(body, dict) and body.get("persona_id"):
        call.persona_id = str(body["persona_id"])
    if request.method != "POST":
        return await _answer(call, *_invalid("Unsupported get request."))
    if page is None:
        return await _answer(call, *_bad_token())
    mode_refusal = mode.refusal_for(Call.SEND)
    if mode_refusal and mode.before_checks:
        return await _answer(call, *mode_refusal)
    if refusal := _check_send_body(body):
        return await _answer(call, *refusal)
    if page_id not in ("me", page.page_id):
        return await _answer(call, *_invalid("The access token does not belong to this Page"))
    attachment_id = attachment_id_sent(body)
    if attachment_id and not await sync_to_async(_upload_of)(page.page_id, attachment_id):
        return await _answer(call, *_invalid(f"Invalid attachment_id {attachment_id}"))
    comment_id = str(recipient.get("comment_id") or "") if isinstance(recipient, dict) else ""
    if comment_id:
        # A private reply: Meta sends it to the commenter's Messenger and names their PSID.
        psid, refusal = await sync_to_async(_private_reply_recipient)(page, comment_id)
        call.psid = psid
        if refusal:
            return await _answer(call, *refusal)
    if mode_refusal:
        return await _answer(call, *mode_refusal)
    if "sender_action" not in body and await sync_to_async(_controlled_by_another_app)(
        page.page_id, psid
    ):
        return await _answer(call, *_thread_taken())
    answer = {"recipient_id": psid}
    if "sender_action" not in body:
        answer["message_id"] = f"m_fake_{uuid.uuid4().hex}"
        await sync_to_async(fake_pages.keep_message)(
            page_id=page.page_id,
            psid=psid,
            mid=answer["message_id"],
            text=str(body["message"].get("text") or ""),
            from_page=True,
        )
        if mode.answer_for(Call.SEND) != Answer.HTML_500:
            # Meta echoes every message the Page sent; a late answer's message
            # too, a moment after that answer.
            echo_later(
                webhook_url=own_webhook_url(request)
                or request.build_absolute_uri(reverse("facebook-webhook")),
                page_id=page.page_id,
                psid=psid,
                message=body["message"],
                mid=answer["message_id"],
                instagram_account_id=await sync_to_async(instagram_account_of)(page, psid),
                delay=settings.FACEBOOK_SEND_TIMEOUT + 2
                if mode.answer_for(Call.SEND) == Answer.LATE
                else ECHO_DELAY,
            )
    return await _answer(call, 200, answer, how=mode.answer_for(Call.SEND))


@simulator_only
@csrf_exempt
async def personas(request, version: str, page_id: str):
    """POST /{version}/{page-id|me}/personas: `name` and `profile_picture_url` → `{"id"}`."""
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    page, mode = await sync_to_async(_page_and_mode)(request.GET.get("access_token", ""))
    call = _Call("POST", request.path, body, page)
    if request.method != "POST":
        return await _answer(call, *_invalid("Unsupported get request."))
    if page is None:
        return await _answer(call, *_bad_token())
    mode_refusal = mode.refusal_for(Call.PERSONA)
    if mode_refusal and mode.before_checks:
        return await _answer(call, *mode_refusal)
    name, picture = body.get("name"), body.get("profile_picture_url")
    if not isinstance(name, str) or not name.strip():
        return await _answer(call, *_invalid("The parameter name is required"))
    if not isinstance(picture, str) or not picture.startswith(("http://", "https://")):
        return await _answer(call, *_invalid("The parameter profile_picture_url is required"))
    if page_id not in ("me", page.page_id):
        return await _answer(call, *_invalid("The access token does not belong to this Page"))
    if mode_refusal:
        return await _answer(call, *mode_refusal)
    call.persona_id = str(uuid.uuid4().int)[:16]
    return await _answer(call, 200, {"id": call.persona_id}, how=mode.answer_for(Call.PERSONA))


@dataclass(frozen=True)
class FakePersona:
    name: str
    picture_url: str


def personas_of(page_id: str) -> dict[str, FakePersona]:
    """Persona id → the persona, for those created on `page_id` (the simulator shows them)."""
    created = FakeGraphCall.objects.filter(
        page_id=page_id, path__endswith="/personas", answer_status=200
    ).exclude(persona_id="")
    return {
        call.persona_id: FakePersona(
            name=str(call.body.get("name") or ""),
            picture_url=str(call.body.get("profile_picture_url") or ""),
        )
        for call in created
    }


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
        return await _answer(call, *_invalid("Unsupported post request."))
    if page is None:
        return await _answer(call, *_bad_token())
    if mode_refusal := mode.refusal_for(Call.PROFILE):
        return await _answer(call, *mode_refusal)
    first_name, last_name = await sync_to_async(profile_names)(psid)
    known = {
        "first_name": first_name,
        "last_name": last_name,
        "name": f"{first_name} {last_name}".strip(),
        "username": instagram_username(first_name, last_name),
        "profile_pic": request.build_absolute_uri(static("simulator/avatar.svg")),
    }
    answer = {field: known[field] for field in fields if field in known}
    answer["id"] = psid
    return await _answer(call, 200, answer, how=mode.answer_for(Call.PROFILE))


# --- the Attachment Upload API ------------------------------------------------------


def attachment_id_sent(body: dict) -> str:
    message = body.get("message") if isinstance(body, dict) else None
    attachment = message.get("attachment") if isinstance(message, dict) else None
    payload = attachment.get("payload") if isinstance(attachment, dict) else None
    return str(payload.get("attachment_id") or "") if isinstance(payload, dict) else ""


def _upload_of(page_id: str, attachment_id: str) -> FakeGraphCall | None:
    """The recorded upload that answered `attachment_id` for this Page."""
    return (
        FakeGraphCall.objects.filter(
            page_id=page_id, answer_status=200, answer__attachment_id=attachment_id
        )
        .order_by("id")
        .first()
    )


def uploaded_file(attachment_id: str) -> tuple[Path, dict] | None:
    """Where the fake keeps an uploaded file, and what was recorded of it (`filedata`)."""
    call = (
        FakeGraphCall.objects.filter(answer_status=200, answer__attachment_id=attachment_id)
        .order_by("id")
        .first()
    )
    filedata = call.body.get("filedata") if call and isinstance(call.body, dict) else None
    if not isinstance(filedata, dict) or not attachment_id.isdigit():
        return None
    return Path(settings.MEDIA_ROOT) / UPLOADS / attachment_id, filedata


@simulator_only
@csrf_exempt
async def message_attachments(request, version: str, page_id: str):
    """POST /{version}/{page-id}/message_attachments: multipart `message` + `filedata`."""
    page, mode = await sync_to_async(_page_and_mode)(request.GET.get("access_token", ""))
    try:
        message = json.loads(request.POST.get("message") or "{}")
    except ValueError:
        message = {"unparsed": request.POST.get("message", "")[:2000]}
    upload = request.FILES.get("filedata")
    content = upload.read() if upload is not None else b""
    filedata = (
        {
            "name": upload.name,
            "content_type": upload.content_type,
            "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
        }
        if upload is not None
        else {}
    )
    recorded = {"message": message, "filedata": filedata}
    if request.POST.get("platform"):
        recorded["platform"] = request.POST["platform"][:40]  # "instagram" for its linked account
    call = _Call("POST", request.path, recorded, page, "")
    if request.method != "POST":
        return await _answer(call, *_invalid("Unsupported get request."))
    if page is None:
        return await _answer(call, *_bad_token())
    mode_refusal = mode.refusal_for(Call.UPLOAD)
    if mode_refusal and mode.before_checks:
        return await _answer(call, *mode_refusal)
    attachment = message.get("attachment") if isinstance(message, dict) else None
    if not isinstance(attachment, dict) or attachment.get("type") not in ATTACHMENT_TYPES:
        return await _answer(
            call,
            *_invalid("param message[attachment][type] must be one of {image, video, audio, file}"),
        )
    if upload is None or not content:
        return await _answer(call, *_invalid("The parameter filedata is required"))
    if len(content) > MAX_UPLOAD_BYTES:
        return await _answer(call, *_invalid("Attachment size exceeds allowable limit"))
    if page_id not in ("me", page.page_id):
        return await _answer(call, *_invalid("The access token does not belong to this Page"))
    if mode_refusal:
        return await _answer(call, *mode_refusal)
    attachment_id = str(uuid.uuid4().int)[:16]
    folder = Path(settings.MEDIA_ROOT) / UPLOADS
    await sync_to_async(folder.mkdir)(parents=True, exist_ok=True)
    await sync_to_async((folder / attachment_id).write_bytes)(content)
    return await _answer(
        call, 200, {"attachment_id": attachment_id}, how=mode.answer_for(Call.UPLOAD)
    )


@simulator_only
async def uploaded(request, attachment_id: str):
    """GET /_uploads/<attachment_id>: a file uploaded to the fake, for the simulator to show."""
    found = await sync_to_async(uploaded_file)(attachment_id)
    if found is None or not found[0].is_file():
        raise Http404("No such upload.")
    path, filedata = found
    content_type = str(filedata.get("content_type") or "")
    if not content_type.startswith(("image/", "video/", "audio/")):
        content_type = "application/octet-stream"
    response = HttpResponse(await sync_to_async(path.read_bytes)(), content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- conversation routing: which app controls each conversation ----------------------
# Plain functions for the simulator (playing the bot) and the tests; views for our app.

# The app the simulator plays: a bot answering the Page before agents do.
DEMO_BOT_APP_ID = "100000000000888"


def thread_owner(page_id: str, psid: str) -> str:
    """The app controlling the conversation; "" while it is idle (any app may send)."""
    owner = FakeThreadOwner.objects.filter(page_id=page_id, psid=psid).first()
    return owner.owner_app_id if owner else ""


def set_thread_owner(page_id: str, psid: str, app_id: str) -> None:
    if app_id:
        FakeThreadOwner.objects.update_or_create(
            page_id=page_id, psid=psid, defaults={"owner_app_id": app_id}
        )
    else:
        FakeThreadOwner.objects.filter(page_id=page_id, psid=psid).delete()


def _controlled_by_another_app(page_id: str, psid: str) -> bool:
    owner = thread_owner(page_id, psid)
    return bool(owner) and owner != settings.FACEBOOK_APP_ID


def _thread_taken() -> tuple[int, dict]:
    return 400, meta_error(
        2018300, "(#2018300) Cannot send message: another app has control of this thread"
    )


def handover_item(
    action: str,
    *,
    page_id: str,
    psid: str,
    new_owner_app_id: str = "",
    previous_owner_app_id: str = "",
    requested_owner_app_id: str = "",
    metadata: str = "",
) -> dict:
    """A `messaging_handovers` item as Meta posts it: `pass_thread_control`,
    `take_thread_control` or `request_thread_control`."""
    value: dict = {}
    if action == "request_thread_control":
        value["requested_owner_app_id"] = requested_owner_app_id
    else:
        value["new_owner_app_id"] = new_owner_app_id
        value["previous_owner_app_id"] = previous_owner_app_id or None  # null: idle before
    if metadata:
        value["metadata"] = metadata
    return webhooks.from_customer(action, value, page_id=page_id, psid=psid)


def bot_handover(action: str, *, page_id: str, psid: str, metadata: str = "") -> dict:
    """The demo bot acts on a conversation; returns the handover webhook body Meta would
    post to our app (take: we lost control; pass: we got it; request: it asks us)."""
    ours = settings.FACEBOOK_APP_ID
    previous = thread_owner(page_id, psid)
    owners: dict[str, str]
    if action == "take_thread_control":
        set_thread_owner(page_id, psid, DEMO_BOT_APP_ID)
        owners = {"new_owner_app_id": DEMO_BOT_APP_ID, "previous_owner_app_id": previous}
    elif action == "pass_thread_control":
        set_thread_owner(page_id, psid, ours)
        owners = {"new_owner_app_id": ours, "previous_owner_app_id": previous}
    elif action == "request_thread_control":
        owners = {"requested_owner_app_id": DEMO_BOT_APP_ID}
    else:
        raise ValueError(f"Unknown handover action {action!r}")
    item = handover_item(action, page_id=page_id, psid=psid, metadata=metadata, **owners)
    return webhooks.envelope(item, page_id=page_id)


@simulator_only
@csrf_exempt
async def take_thread_control(request, version: str, page_id: str):
    """POST /{version}/{page-id}/take_thread_control: `recipient.id`, `metadata` →
    {"success": true}; our app controls the conversation from now on."""
    return await _thread_control(request, page_id, take=True)


@simulator_only
@csrf_exempt
async def pass_thread_control(request, version: str, page_id: str):
    """POST /{version}/{page-id}/pass_thread_control: `recipient.id`, `target_app_id`,
    `metadata` → {"success": true}; that app controls the conversation from now on."""
    return await _thread_control(request, page_id, take=False)


async def _thread_control(request, page_id: str, *, take: bool) -> HttpResponse:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    recipient = body.get("recipient")
    psid = str(recipient.get("id") or "") if isinstance(recipient, dict) else ""
    page, mode = await sync_to_async(_page_and_mode)(request.GET.get("access_token", ""))
    call = _Call("POST", request.path, body, page, psid)
    if request.method != "POST":
        return await _answer(call, *_invalid("Unsupported get request."))
    if page is None:
        return await _answer(call, *_bad_token())
    if not psid:
        return await _answer(call, *_invalid("The parameter recipient is required"))
    if page_id not in ("me", page.page_id):
        return await _answer(call, *_invalid("The access token does not belong to this Page"))
    if len(str(body.get("metadata") or "")) > MAX_METADATA_LENGTH:
        return await _answer(call, *_invalid("Length of param metadata must be less than 1000"))
    target = str(body.get("target_app_id") or "")
    if not take and not target.isdigit():
        return await _answer(call, *_invalid("The parameter target_app_id is required"))
    # The failure modes of sends apply, but for thread control itself: taking it is the cure.
    mode_refusal = mode.refusal_for(Call.SEND) if mode is not MODES["thread_control"] else None
    if mode_refusal:
        return await _answer(call, *mode_refusal)
    owner = settings.FACEBOOK_APP_ID if take else target
    await sync_to_async(set_thread_owner)(page.page_id, psid, owner)
    return await _answer(call, 200, {"success": True})


# --- the health guard's calls: subscribed apps, conversations, feature review ------------


def _listing(request, items: list[dict]) -> dict:
    """One page of `items` as Meta pages a list: `limit`, `after`, `paging.next`."""
    try:
        limit = max(1, min(int(request.GET.get("limit", "25")), 100))
    except ValueError:
        limit = 25
    start = fake_pages.offset_of(request.GET.get("after", ""))
    chunk = items[start : start + limit]
    answer: dict = {"data": chunk}
    if chunk:
        cursors = {
            "before": fake_pages.cursor(start),
            "after": fake_pages.cursor(start + len(chunk)),
        }
        answer["paging"] = {"cursors": cursors}
        if start + len(chunk) < len(items):
            query = request.GET.copy()
            query["after"] = cursors["after"]
            answer["paging"]["next"] = request.build_absolute_uri(
                f"{request.path}?{query.urlencode()}"
            )
    return answer


async def _page_call(request, call_kind: Call | None = None) -> tuple[_Call, HttpResponse | None]:
    """The Page of the token, or Meta's refusal (bad token, or the mode's)."""
    page, mode = await sync_to_async(_page_and_mode)(request.GET.get("access_token", ""))
    body = {key: value for key, value in request.GET.items() if key != "access_token"}
    call = _Call(request.method, request.path, body, page)
    if page is None:
        return call, await _answer(call, *_bad_token())
    refusal = mode.refusal_for(call_kind) if call_kind else None
    if refusal is None and mode.before_checks and mode.refusal is not None:
        refusal = mode.refusal.answer()  # a token refusal concerns every call
    if refusal:
        return call, await _answer(call, *refusal)
    return call, None


@simulator_only
@csrf_exempt
async def subscribed_apps(request, version: str, page_id: str):
    """GET: the apps subscribed to the Page's webhooks; POST `subscribed_fields`: subscribe."""
    call, refused = await _page_call(request)
    if refused:
        return refused
    assert call.page is not None
    if page_id not in ("me", call.page.page_id):
        return await _answer(call, *_invalid("The access token does not belong to this Page"))
    if request.method == "POST":
        fields = [f for f in request.GET.get("subscribed_fields", "").split(",") if f]
        if not fields:
            return await _answer(call, *_invalid("The parameter subscribed_fields is required"))
        await sync_to_async(fake_pages.subscribe)(call.page.page_id, fields)
        return await _answer(call, 200, {"success": True})
    if request.method != "GET":
        return await _answer(call, *_invalid("Unsupported request."))
    fields = await sync_to_async(fake_pages.subscribed_fields)(call.page.page_id)
    apps = []
    if fields:
        apps.append(
            {
                "category": "Business",
                "link": "https://connect.example/",
                "name": "Connect",
                "id": settings.FACEBOOK_APP_ID or "100000000000777",
                "subscribed_fields": fields,
            }
        )
    return await _answer(call, 200, {"data": apps})


@simulator_only
async def conversations(request, version: str, page_id: str):
    """GET /{page-id}/conversations: the Page's threads, most recently updated first."""
    call, refused = await _page_call(request)
    if refused:
        return refused
    assert call.page is not None
    if page_id not in ("me", call.page.page_id):
        return await _answer(call, *_invalid("The access token does not belong to this Page"))
    threads = await sync_to_async(fake_pages.threads)(call.page.page_id)
    return await _answer(call, 200, _listing(request, threads))


async def thread_messages(request, version: str, conversation_id: str):
    """GET /{conversation-id}/messages: newest first, as Meta lists them."""
    call, refused = await _page_call(request)
    if refused:
        return refused
    assert call.page is not None
    found = await sync_to_async(fake_pages.thread_messages)(call.page.page_id, conversation_id)
    if found is None:
        return await _answer(
            call, *_invalid(f"Unsupported get request. Object with ID '{conversation_id}'")
        )
    return await _answer(call, 200, _listing(request, found))


@simulator_only
async def feature_review(request, version: str):
    """GET /me/messaging_feature_review: the Page's Messenger features and their review."""
    call, refused = await _page_call(request)
    if refused:
        return refused
    assert call.page is not None
    status = await sync_to_async(fake_pages.human_agent_status)(call.page.page_id)
    data = [] if status == "not_requested" else [{"feature": "human_agent", "status": status}]
    return await _answer(call, 200, {"data": data})
