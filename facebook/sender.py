"""Sends stored replies through the Graph API, off the request.

Routing stores a reply as `sending` and announces `outbound_ready` after commit;
this module hands it to a thread pool, sends it, and reports the outcome back
through routing's services. A file goes through `facebook.uploads` (uploaded
once per Page, sent by id). Routing decided the messaging type; nothing about
the reply window is computed here. If the process dies mid-send, routing's
`expire_stuck_sends` timer settles the message.
"""

import logging
import time
from concurrent.futures import Future

from django.conf import settings
from django.utils import timezone

from facebook import graph, pages, personas, uploads
from facebook.background import BackgroundPool
from facebook.models import FacebookPage
from routing import message_entries, services
from routing.events import outbound_ready
from routing.models import Channel, Message

logger = logging.getLogger(__name__)

MAX_WORKERS = 16
# Retries of a retryable error, as fractions of the send timeout (0.5 s and
# 1 s at the default 10 s), so that every attempt fits inside the deadline.
RETRY_DELAYS = (0.05, 0.1)
# A retry with less time than this left would only end as a confusing timeout.
MIN_ATTEMPT_SECONDS = 0.25
INTERNAL_ERROR = "Internal error while sending"

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


def send_stored_reply(message_id: int) -> None:
    """Send one `sending` message and record the outcome. Never raises."""
    try:
        _send(message_id)
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


def _send(message_id: int) -> None:
    started = time.monotonic()
    message = services.claim_for_sending(message_id=message_id)
    if message is None:
        return  # settled or deleted meanwhile
    customer = message.interaction.customer
    page = FacebookPage.objects.filter(page_id=customer.page_id).first()
    if page is None:
        services.record_send_failed(
            message_id=message_id,
            code="no_page",
            reason=f"The Facebook Page {customer.page_id} is no longer set up here.",
        )
        return
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
        return
    try:
        result = _send_with_retries(message, page, budget_end=budget_end, persona_id=persona_id)
    except uploads.FileMissing as missing:
        services.record_send_failed(
            message_id=message_id,
            code="file_missing",
            reason=f"{missing} Delete it and attach the file again.",
        )
        return
    except graph.GraphTimeout:
        logger.info("Message %s: no answer from Messenger in time", message_id)
        services.record_send_failed(
            message_id=message_id, code="timeout", reason=_timeout_words(timeout), timed_out=True
        )
        return
    except _GaveUp as gave_up:
        error = gave_up.error
        if error.kind == graph.ErrorKind.TOKEN_INVALID:
            pages.mark_token_invalid(page)
        reason = error.reason
        if gave_up.attempts > 1:
            reason = f"{reason} (tried {gave_up.attempts} times)"
        services.record_send_failed(message_id=message_id, code=error.error_code, reason=reason)
        return
    if customer.channel == Channel.COMMENT:
        services.record_private_reply_sent(
            message_id=message_id, mid=result.message_id, psid=result.recipient_id
        )
        return
    services.record_sent(message_id=message_id, mid=result.message_id)


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
    while True:
        try:
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
