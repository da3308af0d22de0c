"""Sends stored replies through the Graph API, off the request.

Routing stores a reply as `sending` and announces `outbound_ready` after commit;
this module hands it to a thread pool, sends it, and reports the outcome back
through routing's services. A file goes through `facebook.uploads` (uploaded
once per Page, sent by id). Routing decided the messaging type; nothing about
the reply window is computed here. If the process dies mid-send, routing's
`expire_stuck_sends` timer settles the message.

Meta's rate limits (codes 4, 32, 613) never drop a reply: the send is held
back (a `DeferredSend`, the message still `sending`) and the timer loop sends
it again after a backoff that doubles each time (`send_deferred_due`). The
Page sends nothing more until then, and a customer's later replies wait
behind the held one, so they still go out once each and in order.
"""

import logging
import time
from concurrent.futures import Future
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from facebook import graph, pages, personas, uploads
from facebook.background import BackgroundPool
from facebook.models import DeferredSend, FacebookPage
from routing import message_entries, services
from routing.events import outbound_ready
from routing.models import Channel, Message
from routing.services import automatic
from routing.services.conversation_routing import UNKNOWN_APP

logger = logging.getLogger(__name__)

MAX_WORKERS = 16
# Retries of a retryable error, as fractions of the send timeout (0.5 s and
# 1 s at the default 10 s), so that every attempt fits inside the deadline.
RETRY_DELAYS = (0.05, 0.1)
# A retry with less time than this left would only end as a confusing timeout.
MIN_ATTEMPT_SECONDS = 0.25
INTERNAL_ERROR = "Internal error while sending"
# A rate-limited reply waits FACEBOOK_RATE_LIMIT_BACKOFF, doubling each time up to this many times.
MAX_BACKOFF_FACTOR = 16

# Tests may pause it (`pool.pause()`) to keep a send queued while something else happens.
pool = BackgroundPool("facebook-sender", max_workers=MAX_WORKERS)


def on_outbound_ready(sender, message_id: int, **kwargs) -> None:
    submit(message_id)


outbound_ready.connect(on_outbound_ready, dispatch_uid="facebook.sender")


def submit(message_id: int) -> Future:
    """Queue the send of a stored reply; returns at once."""
    return pool.submit(send_stored_reply, message_id)


def wait_for_idle(timeout: float = 30.0) -> bool:
    """Block until no send is queued or running; False if `timeout` passed first."""
    return pool.wait_for_idle(timeout)


def send_stored_reply(message_id: int, *, held_back: bool = False) -> None:
    """Send one `sending` message and record the outcome. Never raises.

    `held_back`: a reply a rate limit held back, sent again; its hold ends here
    unless it is held back once more."""
    try:
        held_again = _send(message_id, held_back=held_back)
        if held_back and not held_again:
            DeferredSend.objects.filter(message_id=message_id).delete()
    except Exception:
        logger.exception("Sending message %s failed unexpectedly", message_id)
        try:
            services.record_send_failed(
                message_id=message_id, code="internal", reason=INTERNAL_ERROR
            )
        except Exception:
            # expire_stuck_sends will time it out.
            logger.exception("Could not mark message %s as failed", message_id)


def _timeout_words(seconds: float) -> str:
    return f"Not confirmed by Messenger within {seconds:g} s. It may not have been sent."


def _send(message_id: int, *, held_back: bool = False) -> bool:
    """Send it; True when it was held back for later (a rate limit)."""
    started = time.monotonic()
    message = services.claim_for_sending(message_id=message_id)
    if message is None:
        return False  # settled or deleted meanwhile
    customer = message.interaction.customer
    page = FacebookPage.objects.filter(page_id=customer.page_id).first()
    if page is None:
        services.record_send_failed(
            message_id=message_id,
            code="no_page",
            reason=f"The Facebook Page {customer.page_id} is no longer set up here.",
        )
        return False
    if _survey_entry(message) is not None and not settings.FACEBOOK_PRIVACY_URL:
        services.record_send_failed(
            message_id=message_id,
            code="no_privacy_url",
            reason=(
                "The feedback survey must link to your privacy policy: set FACEBOOK_PRIVACY_URL."
            ),
        )
        return False
    held_until = _held_until(page, customer.psid, message_id, paused_ok=held_back)
    if held_until is not None:
        # The Page is rate limited, or an earlier reply to this customer waits: behind it.
        _defer(message_id, page, customer.psid, due=held_until, refused=None)
        return True
    timeout = settings.FACEBOOK_SEND_TIMEOUT
    has_file = message_entries.sent_file(message.attachments) is not None
    # The agent's persona, created on first use within a short bound; "" sends as the Page.
    # Personas are Messenger's: Instagram messages and private replies go as the Page.
    persona_id = ""
    if customer.channel == Channel.MESSENGER:
        persona_id = personas.persona_for_user(
            page=page, user_id=message.author_id, timeout=personas.creation_timeout()
        )
    budget_end = started + timeout + (settings.FACEBOOK_UPLOAD_TIMEOUT if has_file else 0)
    if message.send_deadline is not None:
        # Queued behind other sends: what is left until routing's deadline counts.
        left = (message.send_deadline - timezone.now()).total_seconds() - 1
        budget_end = min(budget_end, time.monotonic() + left)
    if budget_end - time.monotonic() < MIN_ATTEMPT_SECONDS:
        services.record_send_failed(
            message_id=message_id,
            code="timeout",
            reason=f"Not sent within {timeout:g} s: the server was too busy. It was not sent.",
            timed_out=True,
        )
        return False
    try:
        result = _send_with_retries(message, page, budget_end=budget_end, persona_id=persona_id)
    except uploads.FileMissing as missing:
        services.record_send_failed(
            message_id=message_id,
            code="file_missing",
            reason=f"{missing} Delete it and attach the file again.",
        )
        return False
    except graph.GraphTimeout:
        logger.info("Message %s: no answer from Messenger in time", message_id)
        services.record_send_failed(
            message_id=message_id, code="timeout", reason=_timeout_words(timeout), timed_out=True
        )
        return False
    except _GaveUp as gave_up:
        error = gave_up.error
        if error.kind == graph.ErrorKind.RATE_LIMIT:
            _defer(message_id, page, customer.psid, due=None, refused=error)
            return True
        if error.kind == graph.ErrorKind.TOKEN_INVALID:
            pages.mark_token_invalid(page)
        if error.kind == graph.ErrorKind.THREAD_CONTROL:
            # Another app controls the conversation; unless a handover told us which,
            # the desktop shows it is taken, and the bubble offers Take over.
            services.record_thread_owner(
                page_id=page.page_id,
                psid=customer.psid,
                owner_app_id=UNKNOWN_APP,
                action="refused",
                at=timezone.now(),
                only_while_ours=True,
            )
        reason = error.reason
        if gave_up.attempts > 1:
            reason = f"{reason} (tried {gave_up.attempts} times)"
        services.record_send_failed(message_id=message_id, code=error.error_code, reason=reason)
        return False
    if customer.channel == Channel.COMMENT:
        services.record_private_reply_sent(
            message_id=message_id, mid=result.message_id, psid=result.recipient_id
        )
        return False
    services.record_sent(message_id=message_id, mid=result.message_id)
    return False


def _survey_entry(message: Message) -> dict | None:
    """The feedback survey entry of an automatic message, sent as Meta's template."""
    if not message.automatic:
        return None
    entries = message_entries.of_kind(message.attachments, message_entries.FEEDBACK_SURVEY)
    return entries[0] if entries else None


def _feedback_survey(entry: dict) -> graph.FeedbackSurvey:
    return graph.FeedbackSurvey(
        title=automatic.SURVEY_TITLE,
        subtitle=automatic.SURVEY_SUBTITLE,
        button_title=automatic.SURVEY_BUTTON,
        question_id=str(entry.get("question_id") or automatic.SURVEY_QUESTION_ID),
        question=automatic.SURVEY_QUESTION,
        placeholder=automatic.SURVEY_COMMENT_PLACEHOLDER,
        privacy_url=settings.FACEBOOK_PRIVACY_URL,
    )


class _GaveUp(Exception):
    def __init__(self, error: graph.GraphError, attempts: int) -> None:
        super().__init__(str(error))
        self.error = error
        self.attempts = attempts


def _send_with_retries(
    message: Message, page: FacebookPage, *, budget_end: float, persona_id: str = ""
) -> graph.SendResult:
    timeout = settings.FACEBOOK_SEND_TIMEOUT
    attempt = 0
    messaging_type = message.messaging_type or "RESPONSE"
    tag = "HUMAN_AGENT" if message.messaging_type == "MESSAGE_TAG" else ""
    has_file = message_entries.sent_file(message.attachments) is not None
    survey = _survey_entry(message)
    while True:
        try:
            if survey is not None:
                return graph.send_customer_feedback(
                    page=page,
                    psid=message.interaction.customer.psid,
                    survey=_feedback_survey(survey),
                    metadata=str(message.client_id),
                    timeout=budget_end - time.monotonic(),
                )
            if has_file:
                return uploads.send_file(
                    message=message,
                    page=page,
                    messaging_type=messaging_type,
                    tag=tag,
                    budget_end=budget_end,
                    persona_id=persona_id,
                )
            if message.interaction.customer.channel == Channel.COMMENT:
                return graph.send_private_reply(
                    page=page,
                    comment_id=message.reply_to_mid,
                    text=message.text,
                    metadata=str(message.client_id),
                    timeout=budget_end - time.monotonic(),
                )
            return graph.send_text(
                page=page,
                psid=message.interaction.customer.psid,
                text=message.text,
                messaging_type=messaging_type,
                tag=tag,
                metadata=str(message.client_id),
                timeout=budget_end - time.monotonic(),
                persona_id=persona_id,
            )
        except graph.GraphError as error:
            # A rate limit is not hammered: the reply is held back for a while instead.
            if error.kind == graph.ErrorKind.RATE_LIMIT:
                raise _GaveUp(error, attempt + 1) from None
            if not error.retryable or attempt >= len(RETRY_DELAYS):
                raise _GaveUp(error, attempt + 1) from None
            delay = RETRY_DELAYS[attempt] * timeout
            if budget_end - time.monotonic() - delay < MIN_ATTEMPT_SECONDS:
                raise _GaveUp(error, attempt + 1) from None
            attempt += 1
            logger.info(
                "Message %s: %s; retry %d in %.2f s", message.pk, error.error_code, attempt, delay
            )
            time.sleep(delay)


# --- Meta's rate limits: held back, sent later -------------------------------------------


def _held_until(
    page: FacebookPage, psid: str, message_id: int, *, paused_ok: bool = False
) -> datetime | None:
    """When this reply may go, if not now: the Page's pause (unless this is a held reply
    whose time came), or an earlier held reply to the same customer."""
    now = timezone.now()
    waits = []
    paused = page.send_paused_until
    if not paused_ok and paused is not None and paused > now:
        waits.append(paused)
    earlier = (
        DeferredSend.objects.filter(page_id=page.page_id, psid=psid, message_id__lt=message_id)
        .order_by("-due_at")
        .values_list("due_at", flat=True)
        .first()
    )
    if earlier is not None:
        waits.append(max(earlier, now))
    return max(waits) if waits else None


def _defer(
    message_id: int,
    page: FacebookPage,
    psid: str,
    *,
    due: datetime | None,
    refused: graph.GraphError | None,
) -> None:
    """Hold the reply back until `due`, or, refused by a rate limit, for a backoff that
    doubles with each refusal; a refusal pauses the whole Page's sends as long."""
    held = DeferredSend.objects.filter(message_id=message_id).first()
    refusals = (held.attempts if held else 0) + (1 if refused else 0)
    if due is None:
        factor = min(2 ** max(refusals - 1, 0), MAX_BACKOFF_FACTOR)
        due = timezone.now() + timedelta(seconds=settings.FACEBOOK_RATE_LIMIT_BACKOFF * factor)
    if refused is not None:
        FacebookPage.objects.filter(pk=page.pk).update(send_paused_until=due)
    DeferredSend.objects.update_or_create(
        message_id=message_id,
        defaults={
            "page_id": page.page_id,
            "psid": psid,
            "due_at": due,
            "attempts": refusals,
            "error_code": refused.error_code if refused else (held.error_code if held else ""),
        },
    )
    at = timezone.localtime(due)
    services.postpone_send(
        message_id=message_id,
        until=due,
        reason=f"Messenger is limiting how fast this Page may send: it goes out by itself "
        f"at {at:%H:%M:%S}.",
    )
    logger.info(
        "Message %s held back by Messenger's rate limit until %s", message_id, due.isoformat()
    )


def send_deferred_due(*, now: datetime | None = None) -> int:
    """The timer loop's step: send again the held replies whose time came, each
    customer's in order, each claimed by one process. How many were taken."""
    now = now or timezone.now()
    due = list(DeferredSend.objects.filter(due_at__lte=now).order_by("message_id"))
    # Claimed for as long as a send may take: of many processes, one moves the row;
    # a process that dies holding it leaves it due again after that.
    lease = now + timedelta(seconds=3 * settings.FACEBOOK_SEND_TIMEOUT + 5)
    threads: dict[tuple[str, str], list[int]] = {}
    for held in due:
        claimed = DeferredSend.objects.filter(pk=held.pk, due_at=held.due_at).update(due_at=lease)
        if claimed:
            threads.setdefault((held.page_id, held.psid), []).append(held.message_id)
    for message_ids in threads.values():
        pool.submit(_send_in_order, message_ids)
    return sum(len(ids) for ids in threads.values())


def _send_in_order(message_ids: list[int]) -> None:
    for message_id in message_ids:
        send_stored_reply(message_id, held_back=True)
