"""The customer simulator (only with FACEBOOK_SIMULATOR): play a Facebook user.

A person picks a name (which fixes their PSID) and a Page, and writes: a
Messenger message, an Instagram message to the Page's linked Instagram
account, or a comment on one of the Page's posts. The server turns that into a
webhook body shaped like Meta's, signs it
with the app secret and POSTs it to this server's own webhook (at its own
address, never one the request names). The page shows what the customer sent
and the replies the fake Graph API received for them, and switches the fake
Graph API's behaviour. It also plays the Page's bot (conversation routing: the
bot takes, passes or asks for a conversation) and sends a customer in from an
m.me link with a `ref` or from an ad that clicks to Messenger.
"""

import hashlib
import json
import uuid
from datetime import datetime

import httpx
from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from facebook.fake import graph as fake_graph
from facebook.fake import modes, webhooks
from facebook.fake import pages as fake_pages
from facebook.fake.graph import own_webhook_url, simulator_only
from facebook.models import FacebookPage, FakeGraphCall, InstagramAccount

SESSION_SENT = "simulator_sent"
SESSION_NAME = "simulator_name"
SESSION_PAGE = "simulator_page"
SESSION_STATUS = "simulator_status"
# The feedback surveys this browser's customer answered: FakeGraphCall id → the answer.
SESSION_FEEDBACK = "simulator_feedback"
MAX_COMMENT_LENGTH = 1000
KEPT_MESSAGES = 100
MAX_NAME_LENGTH = 100
MAX_TEXT_LENGTH = 5000
TYPING_LASTS_SECONDS = 20  # Messenger turns typing off by itself after about this


def clean_name(name: str) -> str:
    return " ".join(name.split())[:MAX_NAME_LENGTH]


def psid_for_name(name: str) -> str:
    """A stable, PSID-shaped id for a name: the same name is the same person."""
    digest = hashlib.sha256(clean_name(name).casefold().encode()).hexdigest()
    return f"73{int(digest, 16) % 10**14:014d}"


def igsid_for_name(name: str) -> str:
    """The same person's Instagram-scoped id: Instagram numbers people apart from Messenger."""
    digest = hashlib.sha256(f"instagram:{clean_name(name).casefold()}".encode()).hexdigest()
    return f"66{int(digest, 16) % 10**14:014d}"


def commenter_id_for_name(name: str) -> str:
    """The same person's id in the Page's feed: not their PSID, as with Meta."""
    digest = hashlib.sha256(f"feed:{clean_name(name).casefold()}".encode()).hexdigest()
    return f"10{int(digest, 16) % 10**14:014d}"


# What a simulator user can do to the Page; the form's `channel` values.
CHANNELS = {
    "messenger": "Messenger message",
    "instagram": "Instagram message",
    "comment": "Comment on a Page post",
}
# The post simulator users comment on (one per Page).
DEMO_POST_SUFFIX = "_900000000000001"


NO_ADDRESS = (
    "The simulator does not know this server's address: set FACEBOOK_SIMULATOR_WEBHOOK_URL."
)


async def _refused(request, problem: str):
    """A form the simulator cannot act on: the reason in the status line (htmx), or
    after the redirect back to the page."""
    if request.htmx:
        return HttpResponseBadRequest(
            render_to_string("simulator/_status.html", {"status": {"error": problem}})
        )
    await request.session.aset(SESSION_STATUS, {"error": problem})
    return redirect("simulator")


# --- the conversation -----------------------------------------------------------


def _reply_text(call: FakeGraphCall) -> str:
    message = call.body.get("message") if isinstance(call.body, dict) else None
    return str(message.get("text") or "") if isinstance(message, dict) else ""


def _reply_attachment(call: FakeGraphCall) -> dict | None:
    """The file a Page's reply carried (sent by attachment_id), as the customer sees it."""
    attachment_id = fake_graph.attachment_id_sent(call.body)
    found = fake_graph.uploaded_file(attachment_id) if attachment_id else None
    if found is None:
        return None
    message = call.body["message"]
    return {
        "kind": str(message["attachment"].get("type") or "file"),
        "name": str(found[1].get("name") or "file"),
        "src": reverse("fake-graph-upload", args=[attachment_id]),
    }


def _refusal(call: FakeGraphCall) -> str:
    if call.answer_status == 200:
        return ""
    error = call.answer.get("error") if isinstance(call.answer, dict) else None
    if isinstance(error, dict):
        return f"Refused by the fake Graph API: {error.get('message', '')}"
    return f"Refused by the fake Graph API with HTTP {call.answer_status}"


def _survey(call: FakeGraphCall, answered: dict) -> dict | None:
    """The customer feedback survey a Page's message carried, as the customer sees it."""
    payload = fake_graph.survey_sent(call.body)
    questions = fake_graph.survey_questions(payload) if payload else []
    if payload is None or not questions:
        return None
    question = questions[0]
    follow_up = question.get("follow_up")
    return {
        "call_id": call.pk,
        "title": str(payload.get("title") or ""),
        "subtitle": str(payload.get("subtitle") or ""),
        "button_title": str(payload.get("button_title") or "Submit"),
        "question": str(question.get("title") or "How would you rate your experience?"),
        "comment_placeholder": str(follow_up.get("placeholder") or "")
        if isinstance(follow_up, dict)
        else "",
        "answer": answered.get(str(call.pk)),
    }


def conversation_context(
    sent: list[dict], name: str, page_id: str, answered: dict | None = None
) -> dict:
    """What the customer sent (from the session) and what the Page answered, oldest first."""
    name = clean_name(name)
    if not name:
        return {"name": "", "psid": "", "items": [], "typing": False}
    psid = psid_for_name(name)
    # The same person on Messenger (private replies land there too), and on Instagram.
    ids = {psid: "", igsid_for_name(name): "Instagram", commenter_id_for_name(name): "Comment"}
    items = [
        {
            "who": "customer",
            "text": entry["text"],
            "at": datetime.fromisoformat(entry["at"]),
            "note": _webhook_note(entry.get("webhook_status"), entry.get("problem", "")),
            "via": ids[entry["psid"]],
        }
        for entry in sent
        if entry.get("psid") in ids and entry.get("page_id") == page_id
    ]
    calls = list(
        FakeGraphCall.objects.filter(
            recipient_psid__in=list(ids), page_id=page_id, method="POST"
        ).order_by("-id")[:KEPT_MESSAGES]
    )
    typing = False
    for call in calls:  # newest first: the latest of text or typing decides
        action = call.body.get("sender_action") if isinstance(call.body, dict) else None
        if action or _reply_text(call) or fake_graph.attachment_id_sent(call.body):
            typing = (
                action == "typing_on"
                and (timezone.now() - call.at).total_seconds() < TYPING_LASTS_SECONDS
            )
            break
    personas = fake_graph.personas_of(page_id)
    items += [
        {
            "who": "page",
            "text": _reply_text(call),
            "attachment": _reply_attachment(call),
            "survey": survey,
            "at": call.at,
            "note": _refusal(call),
            # Messenger shows a persona's name with the Page's: "Alice from Acme Support".
            "persona": personas.get(call.persona_id),
            "via": "Private reply"
            if isinstance(call.body.get("recipient"), dict)
            and call.body["recipient"].get("comment_id")
            else ids.get(call.recipient_psid, ""),
        }
        for call in calls
        for survey in [_survey(call, answered or {}) if call.answer_status == 200 else None]
        if _reply_text(call) or fake_graph.attachment_id_sent(call.body) or survey
    ]
    items.sort(key=lambda item: item["at"])
    page = FacebookPage.objects.filter(page_id=page_id).first()
    return {
        "name": name,
        "psid": psid,
        "page": page,
        "items": items[-KEPT_MESSAGES:],
        "typing": typing,
    }


def _webhook_note(status: int | None, problem: str) -> str:
    if status is None:
        return f"Our webhook could not be reached ({problem or 'no answer'})"
    if status != 200:
        return f"Our webhook answered HTTP {status}"
    return ""


# --- views ----------------------------------------------------------------------


@simulator_only
@require_GET
def simulator_page(request):
    name = request.session.get(SESSION_NAME, "")
    pages = list(FacebookPage.objects.order_by("name", "pk"))
    page_id = request.session.get(SESSION_PAGE) or (pages[0].page_id if pages else "")
    return render(
        request,
        "simulator/page.html",
        {
            "channels": CHANNELS,
            "pages": pages,
            "page_id": page_id,
            "name": name,
            "status": request.session.pop(SESSION_STATUS, None),
            "conversation": conversation_context(
                request.session.get(SESSION_SENT, []),
                name,
                page_id,
                request.session.get(SESSION_FEEDBACK, {}),
            ),
            **bot_context(name, page_id),
            **_mode_context(),
            **_meta_page_context(page_id),
        },
    )


@simulator_only
@require_GET
def conversation(request):
    """The conversation pane, polled every second by the page."""
    context = conversation_context(
        request.session.get(SESSION_SENT, []),
        request.GET.get("name", ""),
        request.GET.get("page", ""),
        request.session.get(SESSION_FEEDBACK, {}),
    )
    return render(request, "simulator/_conversation.html", {"conversation": context})


# Async on purpose: it calls this same server over HTTP, and under daphne a
# sync view would hold the one thread the webhook view needs: a deadlock.
@simulator_only
@require_POST
async def send(request):
    """Send the customer's message to our webhook, signed as Meta signs it."""
    name = clean_name(request.POST.get("name", ""))
    page_id = request.POST.get("page", "").strip()
    text = request.POST.get("text", "").strip()
    problem = ""
    if not name:
        problem = "Type your name first."
    elif not text:
        problem = "Type a message first."
    elif len(text) > MAX_TEXT_LENGTH:
        problem = f"Keep the message under {MAX_TEXT_LENGTH} characters."
    elif not await FacebookPage.objects.filter(page_id=page_id).aexists():
        problem = "Pick a Page."
    elif not (url := own_webhook_url(request)):
        problem = NO_ADDRESS
    if problem:
        return await _refused(request, problem)

    channel = request.POST.get("channel", "messenger")
    if channel not in CHANNELS:
        channel = "messenger"
    account = None
    if channel == "instagram":
        account = await InstagramAccount.objects.filter(page__page_id=page_id).afirst()
        if account is None:
            return await _refused(
                request, "This Page has no Instagram account linked: add one in admin."
            )

    psid = psid_for_name(name)
    # Stored before posting: the webhook may ask the fake Graph API for the profile at once.
    await sync_to_async(fake_graph.remember_profile)(psid=psid, name=name)
    mid = f"m_sim_{uuid.uuid4().hex}"
    at_ms = webhooks.now_ms()
    blocked = ""
    if account is not None:
        sender_id = igsid_for_name(name)
        await sync_to_async(fake_graph.remember_profile)(psid=sender_id, name=name, instagram=True)
        body = webhooks.instagram_envelope(
            webhooks.customer_message(
                page_id=account.account_id, psid=sender_id, mid=mid, text=text, at_ms=at_ms
            ),
            account_id=account.account_id,
            at_ms=at_ms,
        )
    elif channel == "comment":
        sender_id = commenter_id_for_name(name)
        mid = f"{page_id}{DEMO_POST_SUFFIX}_{uuid.uuid4().int % 10**15:015d}"
        # Meta knows who commented: the private reply reaches their Messenger (PSID).
        await sync_to_async(fake_graph.remember_comment)(comment_id=mid, page_id=page_id, psid=psid)
        body = webhooks.comment_added(
            page_id=page_id,
            post_id=f"{page_id}{DEMO_POST_SUFFIX}",
            comment_id=mid,
            commenter_id=sender_id,
            commenter_name=name,
            text=text,
            created_s=at_ms // 1000,
        )
    else:
        sender_id = psid
        owner = await sync_to_async(fake_graph.thread_owner)(page_id, psid)
        body = customer_body(
            page_id=page_id,
            psid=psid,
            mid=mid,
            text=text,
            at_ms=at_ms,
            came_from=request.POST.get("came_from", ""),
            ref=request.POST.get("ref", "").strip()[:MAX_REF_LENGTH],
            # While another app (the bot) controls the conversation, Meta sends what the
            # customer writes to that app, and to us only as `standby`.
            standby=bool(owner) and owner != settings.FACEBOOK_APP_ID,
        )
        # Meta keeps the message in the thread whether our webhook gets it or not.
        await sync_to_async(fake_pages.keep_message)(
            page_id=page_id, psid=psid, mid=mid, text=text, from_page=False, at_ms=at_ms
        )
        blocked = await sync_to_async(fake_pages.delivery_blocked)(page_id)
    if blocked:
        webhook_status, failure = None, blocked
    else:
        webhook_status, failure = await _post_to_webhook(url, body)

    sent = list(await request.session.aget(SESSION_SENT, []))
    sent.append(
        {
            "page_id": page_id,
            "psid": sender_id,
            "text": text,
            "mid": mid,
            "at": timezone.now().isoformat(),
            "webhook_status": webhook_status,
            "problem": failure,
        }
    )
    sent = sent[-KEPT_MESSAGES:]
    await request.session.aset(SESSION_SENT, sent)
    await request.session.aset(SESSION_NAME, name)
    await request.session.aset(SESSION_PAGE, page_id)

    status = {"mid": mid, "psid": psid, "webhook_status": webhook_status}
    if webhook_status is None or webhook_status != 200:
        status["error"] = _webhook_note(webhook_status, failure)
    if not request.htmx:
        await request.session.aset(SESSION_STATUS, status)
        return redirect("simulator")
    answered = await request.session.aget(SESSION_FEEDBACK, {})
    context = await sync_to_async(conversation_context)(sent, name, page_id, answered)
    return HttpResponse(
        render_to_string("simulator/_sent.html", {"status": status, "conversation": context})
    )


# --- where the customer came from: an m.me link with a ref, or an ad -----------------

MAX_REF_LENGTH = 250
DEMO_AD_ID = "6045246247433"
DEMO_AD = {
    "ad_title": "Summer sale: 20% off everything",
    "post_id": "100000000000001_1700000000000001",
}


def customer_body(
    *,
    page_id: str,
    psid: str,
    mid: str,
    text: str,
    at_ms: int,
    came_from: str = "",
    ref: str = "",
    standby: bool = False,
) -> dict:
    """The webhook body of a customer's message, as Meta shapes it for where they came from.

    `ad`: the first message after clicking an ad that clicks to Messenger carries the
    ad as `message.referral`. `link`: opening an existing thread from an m.me link is a
    `messaging_referrals` event (`SHORTLINK`, with the link's `ref`), then the message.
    """
    message = webhooks.customer_message(page_id=page_id, psid=psid, mid=mid, text=text, at_ms=at_ms)
    items = [message]
    if came_from == "ad":
        referral: dict[str, object] = {
            "source": "ADS",
            "type": "OPEN_THREAD",
            "ad_id": DEMO_AD_ID,
            "ads_context_data": dict(DEMO_AD),
        }
        if ref:
            referral["ref"] = ref
        message["message"]["referral"] = referral
    elif came_from == "link":
        value = {"ref": ref or "simulator", "source": "SHORTLINK", "type": "OPEN_THREAD"}
        items.insert(
            0,
            webhooks.from_customer("referral", value, page_id=page_id, psid=psid, at_ms=at_ms - 1),
        )
    key = "standby" if standby else "messaging"
    return webhooks.envelope(*items, page_id=page_id, at_ms=at_ms, key=key)


# --- the Page's bot (conversation routing) -------------------------------------------

BOT_ACTIONS = {
    "take": ("take_thread_control", "The bot took the conversation."),
    "pass": ("pass_thread_control", "The bot passed the conversation to the agents."),
    "request": ("request_thread_control", "The bot asked the agents for the conversation."),
}


def bot_context(name: str, page_id: str) -> dict:
    name = clean_name(name)
    owner = fake_graph.thread_owner(page_id, psid_for_name(name)) if name else ""
    if owner == fake_graph.DEMO_BOT_APP_ID:
        words = "The bot"
    elif owner and owner == settings.FACEBOOK_APP_ID:
        words = "The agents (Connect)"
    elif owner:
        words = f"App {owner}"
    else:
        words = "Nobody (idle)"
    return {"bot_app_id": fake_graph.DEMO_BOT_APP_ID, "owner_words": words}


# Async for the same reason as `send`: it posts to this same server.
@simulator_only
@require_POST
async def bot(request):
    """POST action=take|pass|request, name, page: the bot acts on that customer's
    conversation, and Meta's handover webhook reaches us."""
    name = clean_name(request.POST.get("name", ""))
    page_id = request.POST.get("page", "").strip()
    action = BOT_ACTIONS.get(request.POST.get("action", ""))
    problem = ""
    if action is None:
        problem = "The bot can take, pass or request a conversation."
    elif not name:
        problem = "Type the customer's name first."
    elif not await FacebookPage.objects.filter(page_id=page_id).aexists():
        problem = "Pick a Page."
    elif not (url := own_webhook_url(request)):
        problem = "The simulator does not know this server's address."
    if problem or action is None:
        context = await sync_to_async(bot_context)(name, page_id)
        return HttpResponseBadRequest(
            render_to_string(
                "simulator/_bot.html", {"status": {"error": problem}, **context}, request=request
            )
        )
    metadata = request.POST.get("metadata", "").strip()[:MAX_REF_LENGTH]
    body = await sync_to_async(fake_graph.bot_handover)(
        action[0], page_id=page_id, psid=psid_for_name(name), metadata=metadata
    )
    webhook_status, failure = await _post_to_webhook(url, body)
    if webhook_status != 200:
        status = {"error": _webhook_note(webhook_status, failure)}
    else:
        status = {"done": action[1]}
    context = await sync_to_async(bot_context)(name, page_id)
    return HttpResponse(
        render_to_string("simulator/_bot.html", {"status": status, **context}, request=request)
    )


def _survey_call(call_id: str, psid: str, page_id: str) -> tuple[FakeGraphCall, str] | None:
    """The accepted Page message with a feedback survey sent to this customer, and the
    id of its CSAT question; None when there is no such survey."""
    if not call_id.isdigit():
        return None
    call = FakeGraphCall.objects.filter(
        pk=int(call_id), recipient_psid=psid, page_id=page_id, method="POST", answer_status=200
    ).first()
    payload = fake_graph.survey_sent(call.body) if call else None
    questions = fake_graph.survey_questions(payload) if payload else []
    if call is None or not questions:
        return None
    return call, questions[0]["id"]


@simulator_only
@require_POST
async def feedback(request):
    """The customer answers a feedback survey: a signed `messaging_feedback` webhook."""
    name = clean_name(request.POST.get("name", ""))
    page_id = request.POST.get("page", "").strip()
    score = request.POST.get("score", "")
    comment = request.POST.get("comment", "").strip()
    psid = psid_for_name(name) if name else ""
    answered = dict(await request.session.aget(SESSION_FEEDBACK, {}))
    call_id = request.POST.get("call", "")
    found = await sync_to_async(_survey_call)(call_id, psid, page_id) if psid else None
    problem = ""
    if found is None:
        problem = "There is no such survey for this customer."
    elif call_id in answered:
        problem = "You already answered this survey."
    elif score not in ("1", "2", "3", "4", "5"):
        problem = "Choose from 1 to 5 stars."
    elif len(comment) > MAX_COMMENT_LENGTH:
        problem = f"Keep the comment under {MAX_COMMENT_LENGTH} characters."
    elif not (url := own_webhook_url(request)):
        problem = NO_ADDRESS
    if problem:
        return await _refused(request, problem)

    assert found is not None  # the checks above
    _call, question_id = found
    at_ms = webhooks.now_ms()
    body = webhooks.envelope(
        webhooks.messaging_feedback(
            page_id=page_id,
            psid=psid,
            question_id=question_id,
            score=int(score),
            comment=comment,
            at_ms=at_ms,
        ),
        page_id=page_id,
        at_ms=at_ms,
    )
    webhook_status, failure = await _post_to_webhook(url, body)
    answered[call_id] = {
        "score": int(score),
        "comment": comment,
        "note": _webhook_note(webhook_status, failure),
    }
    await request.session.aset(SESSION_FEEDBACK, answered)
    if not request.htmx:
        return redirect("simulator")
    sent = await request.session.aget(SESSION_SENT, [])
    context = await sync_to_async(conversation_context)(sent, name, page_id, answered)
    return render(request, "simulator/_conversation.html", {"conversation": context})


async def _post_to_webhook(url: str, body: dict) -> tuple[int | None, str]:
    try:
        response = await webhooks.post_async(url, body, secret=settings.FACEBOOK_APP_SECRET)
    except httpx.HTTPError as exc:
        return None, type(exc).__name__
    return response.status_code, ""


POLICY_ACTIONS = {
    "policy_warning": (
        "warning",
        "The Page is about to be blocked for sending messages outside the rules.",
    ),
    "policy_block": ("block", "The Page was blocked for breaking the Messenger Platform Policies."),
    "policy_unblock": ("unblock", ""),
}


def _meta_page_context(page_id: str, done: str = "") -> dict:
    page = FacebookPage.objects.filter(page_id=page_id).first()
    return {
        "meta_page": page,
        "meta_fields": fake_pages.subscribed_fields(page_id) if page else [],
        "meta_blocked": fake_pages.delivery_blocked(page_id) if page else "",
        "meta_human_agent": fake_pages.human_agent_status(page_id) if page else "",
        "human_agent_statuses": fake_pages.HUMAN_AGENT_STATUSES,
        "meta_done": done,
    }


# Async for the same reason as `send`: a policy event is posted to this same server.
@simulator_only
@require_POST
async def meta_page(request):
    """What Meta does to a Page: a webhook outage, unsubscribing our app, the Human
    Agent review, a policy enforcement event (warning, block, unblock)."""
    page_id = request.POST.get("page", "").strip()
    action = request.POST.get("action", "")
    if not await FacebookPage.objects.filter(page_id=page_id).aexists():
        return HttpResponseBadRequest("Pick a Page.")
    if action in ("outage_on", "outage_off"):
        await sync_to_async(fake_pages.set_webhook_down)(page_id, action == "outage_on")
        done = "Webhook outage on." if action == "outage_on" else "Webhook outage over."
    elif action == "unsubscribe":
        await sync_to_async(fake_pages.unsubscribe)(page_id)
        done = "Our app was unsubscribed from the Page."
    elif action == "human_agent":
        status = request.POST.get("human_agent", "")
        if status not in fake_pages.HUMAN_AGENT_STATUSES:
            return HttpResponseBadRequest(f"Unknown Human Agent status {status!r}.")
        await sync_to_async(fake_pages.set_human_agent_status)(page_id, status)
        done = f"Human Agent feature: {status}."
    elif action in POLICY_ACTIONS:
        url = own_webhook_url(request)
        if not url:
            return HttpResponseBadRequest("The simulator does not know this server's address.")
        kind, reason = POLICY_ACTIONS[action]
        item = webhooks.policy_enforcement(page_id=page_id, action=kind, reason=reason)
        webhook_status, failure = await _post_to_webhook(
            url, webhooks.envelope(item, page_id=page_id)
        )
        done = f"Policy {kind} posted: {_webhook_note(webhook_status, failure) or 'HTTP 200'}."
    else:
        return HttpResponseBadRequest(f"Unknown action {action!r}.")
    context = await sync_to_async(_meta_page_context)(page_id, done)
    if request.htmx:
        return HttpResponse(render_to_string("simulator/_meta_page.html", context))
    await request.session.aset(SESSION_PAGE, page_id)
    return redirect("simulator")


def _mode_context(changed: bool = False) -> dict:
    return {
        "mode": modes.current_mode(),
        "modes": modes.labels(),
        "mode_changed": changed,
    }


@simulator_only
@csrf_exempt  # a dev-only switch that scripts and benchmarks flip with a bare POST
@require_http_methods(["GET", "POST"])
def fake_graph_mode(request):
    """GET or POST `mode=<name>`: the fake Graph API's behaviour (htmx: the control, else JSON)."""
    if request.method == "POST":
        mode = request.POST.get("mode", "")
        if not mode and request.content_type == "application/json":
            try:
                mode = str(json.loads(request.body).get("mode", ""))
            except (ValueError, AttributeError):
                mode = ""
        if mode not in modes.MODES:
            return JsonResponse(
                {"error": f"Unknown mode {mode!r}", "modes": list(modes.MODES)}, status=400
            )
        modes.set_mode(mode)
    if request.htmx:
        return render(
            request, "simulator/_mode.html", _mode_context(changed=request.method == "POST")
        )
    if request.method == "POST" and "text/html" in request.headers.get("Accept", ""):
        return redirect("simulator")  # the form without JavaScript
    return JsonResponse({"mode": modes.current_mode(), "modes": list(modes.MODES)})
