"""Typed webhook events → routing services, one handler per event kind.

A Page's body is handled through the Page; an Instagram body through the
Instagram account linked to a Page (its messages open Instagram interactions
in the account's workgroup, else the Page's); an account or Page not set up
here is stored and refused.

`route` hands every event of a stored body to routing, each event in its own
savepoint so that a refused action undoes only that event, and says what
became of the body. `facebook.ingest` calls it off the request, in the same
transaction that records the outcome.
"""

import logging
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction

from facebook import attachments as attachment_copies
from facebook import pages as pages_state
from facebook import profiles, thread_control
from facebook.models import FacebookPage, InstagramAccount, WebhookVerdict
from facebook.parsing import (
    Body,
    CommentAdded,
    CustomerMessage,
    Delivery,
    Event,
    Handover,
    MessageEdit,
    MessagingFeedback,
    PageEcho,
    PolicyEnforcement,
    Postback,
    Reaction,
    Read,
    Referral,
    ReferralInfo,
    Standby,
    ms_to_datetime,
    person_of,
)
from routing import config_cache, message_entries, services
from routing.models import Channel, Customer
from routing.rules import HANDOVER_MID_PREFIX
from routing.services import RoutingError
from routing.services.conversation_routing import UNKNOWN_APP

logger = logging.getLogger(__name__)

# A batch of garbage should not turn into a megabyte of detail.
MAX_DETAIL_NOTES = 20


# --- one handler per event kind ------------------------------------------------------
# Each takes the Page the event came through and the event, calls routing, and
# may return a note for the delivery's detail.


def _customer_message(page: FacebookPage, event: CustomerMessage) -> str | None:
    _receive_customer_message(page, event)
    return None


def _receive_customer_message(page: FacebookPage, event: CustomerMessage) -> services.Received:
    attachments = [attachment.as_dict() for attachment in event.attachments]
    if event.quick_reply_payload is not None:
        attachments.append(message_entries.quick_reply(event.quick_reply_payload))
    received = services.receive_customer_message(
        workgroup_id=page.workgroup_id,
        page_id=page.page_id,
        psid=event.psid,
        mid=event.mid,
        text=event.text,
        attachments=attachments,
        sent_at=event.at,
        reply_to_mid=event.reply_to_mid or "",
    )
    _note_referral(
        page,
        event,
        event.referral,
        with_message=True,
        customer=received.interaction.customer if received.interaction else None,
    )
    _after_customer_message(page, received)
    return received


def _note_referral(
    page: FacebookPage,
    event: CustomerMessage | Postback,
    referral: ReferralInfo | None,
    *,
    with_message: bool,
    customer: Customer | None = None,
) -> None:
    """Where the customer came from (m.me link, ad), else: was this the first message
    after an ad click (it opens the ad's longer reply window)? `customer`: their row
    as the message's transaction read it, when known."""
    if referral is not None:
        services.record_referral(
            page_id=page.page_id,
            psid=event.psid,
            referral=referral.as_dict(),
            at=event.at,
            with_message=with_message,
        )
    elif with_message:
        services.note_customer_message(
            page_id=page.page_id, psid=event.psid, at=event.at, customer=customer
        )


def _comment(page: FacebookPage, event: CommentAdded) -> str | None:
    received = services.receive_page_comment(
        workgroup_id=page.workgroup_id,
        page_id=page.page_id,
        commenter_id=event.commenter_id,
        commenter_name=event.commenter_name,
        comment_id=event.comment_id,
        post_id=event.post_id,
        post_url=event.post_url or "",
        text=event.text,
        commented_at=event.at,
    )
    if received.duplicate:
        return f"comment {event.comment_id} already stored"
    return None


def _postback(page: FacebookPage, event: Postback) -> str | None:
    # A tapped button reads as the customer writing its title ("Get Started").
    received = services.receive_customer_message(
        workgroup_id=page.workgroup_id,
        page_id=page.page_id,
        psid=event.psid,
        mid=event.message_mid,
        text=event.title,
        attachments=[message_entries.postback(event.title, event.payload)],
        sent_at=event.at,
    )
    # Get Started from an m.me link or an ad: kept; an ad's window waits for a typed message.
    _note_referral(page, event, event.referral, with_message=False)
    _after_customer_message(page, received)
    return None


def _after_customer_message(page: FacebookPage, received: services.Received) -> None:
    """Off the request, after commit: keep copies of attachments, fetch a stale profile."""
    message, interaction = received.message, received.interaction
    if message is None or interaction is None:
        return  # a duplicate (`received.duplicate`): handled when it first came
    attachment_copies.keep_copies_after_commit(message)
    profiles.refresh_after_commit(page=page, customer=interaction.customer)


def _page_echo(page: FacebookPage, event: PageEcho) -> str | None:
    message = services.record_page_echo(
        page_id=page.page_id,
        psid=event.psid,
        mid=event.mid,
        client_id=_our_client_id(event),
        text=event.text,
        attachments=[attachment.as_dict() for attachment in event.attachments],
        sent_at=event.at,
    )
    if message is None:
        return f"echo {event.mid}: the customer has no interaction"
    return None


def _our_client_id(event: PageEcho) -> uuid.UUID | None:
    """The Message.client_id we put in `metadata`, when the echo is of our own send."""
    if not settings.FACEBOOK_APP_ID or event.app_id != settings.FACEBOOK_APP_ID:
        return None
    try:
        return uuid.UUID(event.metadata or "")
    except ValueError:
        return None


def _delivery(page: FacebookPage, event: Delivery) -> str | None:
    services.record_delivered(
        page_id=page.page_id,
        psid=event.psid,
        mids=event.mids,
        watermark=ms_to_datetime(event.watermark_ms) if event.watermark_ms else None,
    )
    return None


def _read(page: FacebookPage, event: Read) -> str | None:
    services.record_read(
        page_id=page.page_id, psid=event.psid, watermark=ms_to_datetime(event.watermark_ms)
    )
    return None


def _message_edit(page: FacebookPage, event: MessageEdit) -> str | None:
    message = services.record_customer_edit(
        page_id=page.page_id,
        psid=event.psid,
        mid=event.mid,
        text=event.text,
        num_edit=event.num_edit,
        edited_at=event.at,
    )
    if message is None:
        return f"edit of unknown message {event.mid}"
    return None


def _reaction(page: FacebookPage, event: Reaction) -> str | None:
    message = services.record_reaction(
        page_id=page.page_id,
        psid=event.psid,
        mid=event.mid,
        action=event.action,
        reaction=event.reaction,
        emoji=event.emoji,
        reacted_at=event.at,
    )
    if message is None:
        return f"reaction on unknown message {event.mid}"
    return None


def _messaging_feedback(page: FacebookPage, event: MessagingFeedback) -> str | None:
    interaction = services.record_feedback(
        page_id=page.page_id,
        psid=event.psid,
        score=event.score,
        comment=event.comment,
        answered_at=event.at,
    )
    if interaction is None:
        return "feedback: no survey of this customer waits for an answer"
    return None


# The standby items shown in the transcript; the others are recorded only.
_SHOWN_STANDBY_KINDS = {"message", "postback"}


def _standby(page: FacebookPage, event: Standby) -> str | None:
    # Another app owns the thread (handover protocol): its messages are shown,
    # never offered; other kinds (delivery, read…) stay in the raw body.
    if event.item_kind not in _SHOWN_STANDBY_KINDS or not event.psid:
        return f"standby {event.item_kind} recorded only"
    _another_app_has_it(page, event)
    message = services.record_standby(
        page_id=page.page_id,
        psid=event.psid,
        mid=event.message_mid,
        text=event.text,
        from_customer=not event.is_echo,
        kind="echo" if event.is_echo else event.item_kind,
        sent_at=event.at,
    )
    if message is None:
        if not event.is_echo:
            # Talking to the bot before ever reaching us: the window counts from it.
            services.note_standby_message(page_id=page.page_id, psid=event.psid, at=event.at)
        return f"standby {event.item_kind}: the customer has no interaction"
    return None


def _referral(page: FacebookPage, event: Referral) -> str | None:
    # A customer with a thread already came back through an m.me link or an ad.
    customer = services.record_referral(
        page_id=page.page_id,
        psid=event.psid,
        referral=event.referral.as_dict(),
        at=event.at,
        with_message=False,
    )
    if customer is None:
        return f"referral ({event.referral.source}) not stored"
    return None


def _handover(page: FacebookPage, event: Handover) -> str | None:
    owner, words = thread_control.handover_words(page, event)
    customer = services.record_thread_owner(
        page_id=page.page_id,
        psid=event.psid,
        owner_app_id=owner,
        action=event.action,
        at=event.at,
        words=words,
        # Stable across redeliveries: the same event is shown once.
        mid=f"{HANDOVER_MID_PREFIX}{event.psid}:{event.timestamp_ms}:{event.action}",
        # Handed to us: a customer with no live interaction is queued for an agent.
        open_in_workgroup_id=page.workgroup_id if owner == "" else None,
        detail={
            "new_owner_app_id": event.new_owner_app_id,
            "previous_owner_app_id": event.previous_owner_app_id,
            "requested_owner_app_id": event.requested_owner_app_id,
            "metadata": event.metadata,
        },
    )
    if customer is None:
        return f"{event.action}_thread_control: the customer has not written yet"
    return None


def _another_app_has_it(page: FacebookPage, event: Standby) -> None:
    """Meta sends standby only to apps that do not control the conversation: when we
    believed we did (no handover told us otherwise), the desktop learns another app has it."""
    services.record_thread_owner(
        page_id=page.page_id,
        psid=event.psid,
        owner_app_id=UNKNOWN_APP,
        action="standby",
        at=event.at,
        only_while_ours=True,
    )


def _policy_enforcement(page: FacebookPage, event: PolicyEnforcement) -> str | None:
    return pages_state.record_policy(page, event)


HANDLERS: dict[type[Event], Callable[[FacebookPage, Any], str | None]] = {
    CustomerMessage: _customer_message,
    CommentAdded: _comment,
    Postback: _postback,
    PageEcho: _page_echo,
    Delivery: _delivery,
    Read: _read,
    MessageEdit: _message_edit,
    Reaction: _reaction,
    Standby: _standby,
    Referral: _referral,
    Handover: _handover,
    MessagingFeedback: _messaging_feedback,
    PolicyEnforcement: _policy_enforcement,
}


# --- Instagram: the same items, through the account's linked Page -----------------------


def _instagram_message(account: InstagramAccount, event: CustomerMessage) -> str | None:
    received = services.receive_customer_message(
        workgroup_id=account.workgroup_id_to_route,
        page_id=account.page.page_id,
        psid=event.psid,  # the Instagram-scoped id
        mid=event.mid,
        text=event.text,
        attachments=[attachment.as_dict() for attachment in event.attachments],
        sent_at=event.at,
        reply_to_mid=event.reply_to_mid or "",
        channel=Channel.INSTAGRAM,
    )
    _after_customer_message(account.page, received)
    return None


def _through_page(handler: Callable[[FacebookPage, Any], str | None]):
    """Echoes, receipts, reactions and edits: the customer is addressed through the Page."""

    def handle(account: InstagramAccount, event: Event) -> str | None:
        return handler(account.page, event)

    return handle


INSTAGRAM_HANDLERS: dict[type[Event], Callable[[InstagramAccount, Any], str | None]] = {
    CustomerMessage: _instagram_message,
    PageEcho: _through_page(_page_echo),
    Delivery: _through_page(_delivery),
    Read: _through_page(_read),
    MessageEdit: _through_page(_message_edit),
    Reaction: _through_page(_reaction),
}


# --- the body ----------------------------------------------------------------------


@dataclass
class _Tally:
    handled: int = 0
    ignored: int = 0
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if len(self.notes) < MAX_DETAIL_NOTES:
            self.notes.append(text)
        elif len(self.notes) == MAX_DETAIL_NOTES:
            self.notes.append("…")

    def ignore(self, text: str) -> None:
        self.ignored += 1
        self.note(text)


@dataclass(frozen=True)
class Outcome:
    verdict: str
    event_count: int
    detail: str


def route(body: Body, *, each_event_apart: bool = True) -> Outcome:
    """Hand every event of a verified Page body to routing; the caller stores the outcome.

    Runs inside the caller's transaction (`facebook.ingest`): an exception that
    is not a refusal (a bug, the database gone) undoes the whole body. Each
    event runs in a savepoint of its own, so that a refused one is undone
    alone; without `each_event_apart` there is none, and a refusal raises
    (the caller undoes its whole transaction and routes the body again apart).
    """
    if not body.is_routed:
        return Outcome(WebhookVerdict.NOT_PAGE, body.item_count, f"object is {body.object!r}")
    return _handle(body, each_event_apart=each_event_apart)


def _receivers(body: Body) -> tuple[dict[str, Any], dict[type[Event], Callable], str]:
    """Who each entry id is (Pages, or Instagram accounts with their Page), their
    handlers, and the word for an unknown one."""
    # Read once per router batch (routing.config_cache): its bodies mostly name the same Pages.
    if body.is_instagram:
        accounts = config_cache.cached(
            "instagram_accounts",
            body.page_ids,
            lambda: InstagramAccount.objects.select_related("page").in_bulk(
                body.page_ids, field_name="account_id"
            ),
        )
        return accounts, INSTAGRAM_HANDLERS, "Instagram account"
    pages = config_cache.cached(
        "pages",
        body.page_ids,
        lambda: FacebookPage.objects.in_bulk(body.page_ids, field_name="page_id"),
    )
    return pages, HANDLERS, "Page"


def _handle(body: Body, *, each_event_apart: bool) -> Outcome:
    tally = _Tally()
    for skipped in body.skipped:
        tally.ignore(f"{skipped.where}: {skipped.reason}")
    pages, handlers, what = _receivers(body)
    unknown_page_ids = [page_id for page_id in body.page_ids if page_id not in pages]
    for page_id in unknown_page_ids:
        logger.warning("webhook events for unknown %s %s stored, not handled", what, page_id)
        tally.note(f"unknown {what} {page_id}")

    if not body.is_instagram:
        # The Page's own webhook is alive (an Instagram account's says nothing of it).
        pages_state.note_events(pages.values())
    for event in body.events:  # already in timestamp order
        page = pages.get(event.page_id)
        if page is None:
            tally.ignored += 1
            continue
        handler = handlers.get(type(event))
        if handler is None:
            tally.ignore(f"{event.kind} event {getattr(event, 'item_kind', '')!r} not handled")
            continue
        if not each_event_apart:
            note = handler(page, event)  # a refusal raises: the caller routes the body again
        else:
            try:
                # Its own savepoint: a refused action undoes only this event.
                with transaction.atomic():
                    note = handler(page, event)
            except RoutingError as exc:
                tally.ignore(f"{event.kind} at {event.timestamp_ms}: {exc}")
                continue
        tally.handled += 1
        if note:
            tally.note(note)

    if body.page_ids and not pages:
        verdict = WebhookVerdict.UNKNOWN_PAGE
    elif tally.ignored:
        verdict = WebhookVerdict.PARTLY_IGNORED
    else:
        verdict = WebhookVerdict.PROCESSED
    if verdict != WebhookVerdict.PROCESSED:
        logger.info("webhook body %s: %s", verdict, "; ".join(tally.notes))
    return Outcome(
        verdict,
        body.item_count,
        "; ".join([f"{tally.handled} handled, {tally.ignored} ignored", *tally.notes]),
    )


def arrivals_to_read_ahead(bodies: list[Body]) -> list[services.Arrival]:
    """The Messenger messages of a router batch whose customer has no other event in it.

    Their reads are made for the whole batch at once (`services.reading_ahead`);
    a customer with several events asks at each, as the one before may change
    what the next one finds. A Page-wide event (none of anyone's) leaves nothing
    to read ahead.
    """
    events = [event for body in bodies for event in body.events]
    people = Counter((event.page_id, person_of(event)) for event in events)
    if any(person is None for _page_id, person in people):
        return []
    return [
        services.Arrival(page_id=event.page_id, psid=event.psid, mid=event.mid)
        for body in bodies
        if body.is_page
        for event in body.events
        if isinstance(event, CustomerMessage) and people[event.page_id, event.psid] == 1
    ]


def route_missed(page: FacebookPage, events: list[CustomerMessage]) -> int:
    """Messages the webhook missed (read back by the backfill), in the order given,
    through the same handler as the webhook's; how many were new (a stored `mid` is
    skipped). Each in its own transaction: a refused one does not undo the others."""
    stored = 0
    for event in events:
        try:
            with transaction.atomic():
                received = _receive_customer_message(page, event)
        except RoutingError as exc:
            logger.info("missed message %s not stored: %s", event.mid, exc)
            continue
        stored += 0 if received.duplicate else 1
    return stored
