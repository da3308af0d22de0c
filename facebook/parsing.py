"""Messenger webhook bodies as typed events.

No database here: `parse_body` checks the envelope (raising `BadEnvelope` for
what deserves a 400) and turns every `messaging` and `standby` item, and every
comment added in a `feed` change, into one frozen dataclass per event kind,
ordered by the event timestamp. Instagram bodies (`object: "instagram"`) have
the same `messaging` items; their entry id is the Instagram account's. An item that
does not have the documented shape becomes a `Skipped` note instead of an
exception: the raw body is stored anyway, and one bad item must not sink the
rest of the batch.

Strings are cleaned on the way in (no NUL, no lone surrogates) and ids are
checked against the column sizes routing stores them in, so bad input cannot
make the database refuse a write later.
"""

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar, TypedDict, TypeGuard

from routing import message_entries

logger = logging.getLogger(__name__)

# Customer.page_id / Customer.psid and Message.mid column sizes.
MAX_ID_LENGTH = 64
MAX_MID_LENGTH = 200
# Epoch milliseconds a Python datetime (and every database) can hold: up to 9999-12-31.
MAX_TIMESTAMP_MS = 253_402_300_799_999
# Meta's clock and ours may differ a little, never by more than this.
MAX_CLOCK_SKEW = timedelta(hours=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Keys every `messaging` item carries besides the one naming its kind.
_ADDRESS_KEYS = frozenset({"sender", "recipient", "timestamp"})
# The entry kinds we ourselves keep in `Message.attachments` beside real attachments
# (routing.message_entries.EXTRA_KINDS): a customer's attachment must not pose as one of them,
# or later reactions and edits would read it as their own entry.
INTERNAL_ENTRY_TYPES = message_entries.EXTRA_KINDS


class BadEnvelope(ValueError):
    """The body is not JSON, or not `{"object": …, "entry": [...]}`: answered with 400."""


class _Malformed(ValueError):
    """One item does not have the documented shape; it is skipped, the rest is handled."""


def ms_to_datetime(timestamp_ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=timestamp_ms)


# --- the events ------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Attachment:
    type: str
    url: str | None = None
    title: str = ""
    # The button's or quick reply's payload, for the pseudo-attachments below.
    payload: str | None = None
    # The type Meta sent, when it collided with one of our own entry kinds.
    original_type: str | None = None

    def as_dict(self) -> dict:
        data = {"type": self.type, "url": self.url, "title": self.title}
        if self.payload is not None:
            data["payload"] = self.payload
        if self.original_type is not None:
            data["original_type"] = self.original_type
        return data


@dataclass(frozen=True, kw_only=True)
class ReferralInfo:
    """How the customer came to the conversation: an m.me link (`SHORTLINK`, with its
    `ref`), an ad that clicks to Messenger (`ADS`, with the ad's id and context)…"""

    source: str
    type: str = ""
    ref: str = ""
    ad_id: str = ""
    ad_title: str = ""
    photo_url: str = ""
    video_url: str = ""
    post_id: str = ""
    product_id: str = ""

    @property
    def from_ad(self) -> bool:
        return self.source == "ADS"

    def as_dict(self) -> dict[str, str]:
        return {key: value for key, value in vars(self).items() if value}


@dataclass(frozen=True, kw_only=True)
class Event:
    kind: ClassVar[str]
    page_id: str  # the entry's id
    timestamp_ms: int

    @property
    def at(self) -> datetime:
        """When it happened, as Meta says; never believed far in the future, where
        it would hold a reply window open for ever (or overflow it)."""
        return min(ms_to_datetime(self.timestamp_ms), datetime.now(UTC) + MAX_CLOCK_SKEW)


@dataclass(frozen=True, kw_only=True)
class MessagingEvent(Event):
    psid: str  # the customer: the sender, or the recipient of an echo


@dataclass(frozen=True, kw_only=True)
class CustomerMessage(MessagingEvent):
    kind = "message"
    mid: str
    text: str = ""
    attachments: tuple[Attachment, ...] = ()
    quick_reply_payload: str | None = None
    reply_to_mid: str | None = None
    # The first message after an ad click or an m.me link carries where it came from.
    referral: ReferralInfo | None = None


@dataclass(frozen=True, kw_only=True)
class PageEcho(MessagingEvent):
    """A message the Page sent: ours (our app id and metadata) or typed in another tool."""

    kind = "echo"
    mid: str
    text: str = ""
    attachments: tuple[Attachment, ...] = ()
    app_id: str | None = None
    metadata: str | None = None


@dataclass(frozen=True, kw_only=True)
class Postback(MessagingEvent):
    kind = "postback"
    title: str
    payload: str | None = None
    mid: str | None = None
    # Get Started in a new thread opened from an m.me link or an ad.
    referral: ReferralInfo | None = None

    @property
    def message_mid(self) -> str:
        # Older postbacks carry no mid; this one is stable across redeliveries.
        return self.mid or f"postback:{self.psid}:{self.timestamp_ms}"


@dataclass(frozen=True, kw_only=True)
class Delivery(MessagingEvent):
    kind = "delivery"
    mids: tuple[str, ...] = ()
    watermark_ms: int | None = None


@dataclass(frozen=True, kw_only=True)
class Read(MessagingEvent):
    kind = "read"
    watermark_ms: int


@dataclass(frozen=True, kw_only=True)
class Reaction(MessagingEvent):
    kind = "reaction"
    mid: str
    action: str  # "react" or "unreact"
    reaction: str = ""
    emoji: str = ""


@dataclass(frozen=True, kw_only=True)
class MessageEdit(MessagingEvent):
    kind = "message_edit"
    mid: str
    text: str
    num_edit: int = 0


@dataclass(frozen=True, kw_only=True)
class Referral(MessagingEvent):
    """`messaging_referrals`: a customer with a thread already came back through an
    m.me link or an ad."""

    kind = "referral"
    referral: ReferralInfo


HANDOVER_ACTIONS = {
    "pass_thread_control": "pass",
    "take_thread_control": "take",
    "request_thread_control": "request",
}


@dataclass(frozen=True, kw_only=True)
class Handover(MessagingEvent):
    """`messaging_handovers`: control of the conversation moved between apps (pass, take),
    or another app asks us for it (request)."""

    kind = "handover"
    action: str  # "pass", "take" or "request"
    new_owner_app_id: str = ""
    previous_owner_app_id: str = ""
    requested_owner_app_id: str = ""
    metadata: str = ""


@dataclass(frozen=True, kw_only=True)
class MessagingFeedback(MessagingEvent):
    """The customer answered the customer feedback survey: its CSAT question (1-5)
    and, if they wrote one, the free-form comment."""

    kind = "messaging_feedback"
    question_id: str
    score: int
    comment: str = ""


@dataclass(frozen=True, kw_only=True)
class Standby(Event):
    """An event in a thread another app controls (handover protocol).

    Messages and postbacks (the customer's, or that app's echoes) carry who,
    what and a mid to show and dedupe them; other kinds are recorded only.
    """

    kind = "standby"
    item_kind: str
    psid: str = ""  # the customer, when the item names one
    mid: str | None = None
    text: str = ""
    is_echo: bool = False

    @property
    def message_mid(self) -> str:
        # A standby postback may carry no mid; this one is stable across redeliveries.
        return self.mid or f"standby:{self.psid}:{self.timestamp_ms}:{self.item_kind}"


@dataclass(frozen=True, kw_only=True)
class PolicyEnforcement(Event):
    """Meta's word on the Page's standing (`messaging_policy_enforcement`): no sender."""

    kind = "policy_enforcement"
    action: str  # "warning", "block" or "unblock"
    reason: str = ""


POLICY_ACTIONS = ("warning", "block", "unblock")
# Meta's older bodies spell the key with a hyphen.
_POLICY_KEYS = ("policy_enforcement", "policy-enforcement")


@dataclass(frozen=True, kw_only=True)
class CommentAdded(Event):
    """Someone commented on one of the Page's posts (`feed` change, item `comment`, verb `add`)."""

    kind = "comment"
    comment_id: str
    post_id: str
    commenter_id: str  # `from.id`: not their Messenger PSID
    commenter_name: str = ""
    text: str = ""
    post_url: str | None = None


@dataclass(frozen=True, kw_only=True)
class UnknownEvent(Event):
    kind = "unknown"
    item_kind: str


@dataclass(frozen=True)
class Skipped:
    where: str  # e.g. "entry[0].messaging[2]"
    reason: str
    page_id: str | None = None


@dataclass(frozen=True)
class Body:
    text: str  # the raw body, decoded, exactly as received
    object: str
    page_ids: tuple[str, ...]
    events: tuple[Event, ...]  # ordered by timestamp
    skipped: tuple[Skipped, ...]

    @property
    def is_page(self) -> bool:
        return self.object == "page"

    @property
    def is_instagram(self) -> bool:
        return self.object == "instagram"

    @property
    def is_routed(self) -> bool:
        """Bodies we route: a Page's, or an Instagram account's linked to a Page."""
        return self.is_page or self.is_instagram

    @property
    def item_count(self) -> int:
        return len(self.events) + len(self.skipped)

    @property
    def people(self) -> frozenset[tuple[str, str]] | None:
        """Whose conversations the events touch, as (entry id, person id); None when
        an event belongs to nobody's (a Page-wide one, such as a policy notice)."""
        people = set()
        for event in self.events:
            person = person_of(event)
            if person is None:
                return None
            people.add((event.page_id, person))
        return frozenset(people)


def person_of(event: Event) -> str | None:
    """Whose conversation the event belongs to; None for a Page-wide one."""
    if isinstance(event, CommentAdded):
        return event.commenter_id
    return getattr(event, "psid", None) or None


# --- the envelope ----------------------------------------------------------------


def parse_body(raw: bytes) -> Body:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadEnvelope("body is not UTF-8") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise BadEnvelope("body is not JSON") from None
    if not isinstance(data, dict):
        raise BadEnvelope("body is not a JSON object")
    if "object" not in data:
        raise BadEnvelope("envelope has no 'object'")
    entries = data.get("entry")
    if not isinstance(entries, list):
        raise BadEnvelope("envelope has no 'entry' list")
    object_ = data["object"]
    object_name = object_ if isinstance(object_, str) else repr(object_)
    if object_name not in ("page", "instagram"):
        return Body(text, _clean(object_name)[:100], (), (), ())

    page_ids: list[str] = []
    events: list[Event] = []
    skipped: list[Skipped] = []
    for index, entry in enumerate(entries):
        where = f"entry[{index}]"
        page_id = _id(entry.get("id")) if isinstance(entry, dict) else None
        if page_id is None:
            skipped.append(Skipped(where, "entry is not an object with a Page id"))
            continue
        page_ids.append(page_id)
        for key, parse_item in (("messaging", _messaging_item), ("standby", _standby_item)):
            items = entry.get(key)
            if items is None:
                continue
            if not isinstance(items, list):
                skipped.append(Skipped(f"{where}.{key}", "not a list", page_id))
                continue
            for position, item in enumerate(items):
                item_where = f"{where}.{key}[{position}]"
                try:
                    events.append(parse_item(page_id, item))
                except _Malformed as exc:
                    skipped.append(Skipped(item_where, str(exc), page_id))
                except Exception:
                    # A parser bug: keep the rest of the batch; the body is stored raw.
                    logger.exception("could not parse %s", item_where)
                    skipped.append(Skipped(item_where, "could not be parsed", page_id))
        changes = entry.get("changes")
        if changes is not None and object_name == "page":
            if not isinstance(changes, list):
                skipped.append(Skipped(f"{where}.changes", "not a list", page_id))
                changes = []
            for position, change in enumerate(changes):
                change_where = f"{where}.changes[{position}]"
                try:
                    events.append(_feed_change(page_id, change))
                except _Malformed as exc:
                    skipped.append(Skipped(change_where, str(exc), page_id))
        elif changes is not None:
            skipped.append(Skipped(f"{where}.changes", "changes are not handled", page_id))
    # Meta does not guarantee order after a failed delivery; the timestamp does.
    events.sort(key=lambda event: event.timestamp_ms)
    return Body(text, object_name, tuple(dict.fromkeys(page_ids)), tuple(events), tuple(skipped))


# --- the items -------------------------------------------------------------------


class _Address(TypedDict):
    """What every `messaging` event carries: passed on to each event's constructor."""

    page_id: str
    timestamp_ms: int
    psid: str


class _StandbyAddress(TypedDict):
    page_id: str
    timestamp_ms: int
    item_kind: str


def _messaging_item(page_id: str, item: object) -> Event:
    if not isinstance(item, dict):
        raise _Malformed("item is not an object")
    timestamp_ms = _timestamp(item.get("timestamp"))
    sender = _id(_field(item, "sender", "id"))
    recipient = _id(_field(item, "recipient", "id"))
    if timestamp_ms is None:
        raise _Malformed("no valid timestamp")
    policy_key = next((key for key in _POLICY_KEYS if key in item), None)
    if policy_key is not None:
        return _policy_enforcement(page_id, timestamp_ms, _object(item, policy_key))
    if sender is None or recipient is None:
        raise _Malformed("no valid sender.id / recipient.id")
    common: _Address = {"page_id": page_id, "timestamp_ms": timestamp_ms, "psid": sender}
    if "message" in item:
        return _message(common, recipient, _object(item, "message"))
    if "postback" in item:
        return _postback(common, _object(item, "postback"))
    if "delivery" in item:
        return _delivery(common, _object(item, "delivery"))
    if "read" in item:
        read = _object(item, "read")
        watermark_ms = _timestamp(read.get("watermark"))
        if watermark_ms is None and _mid(read.get("mid")) is not None:
            # Instagram names the message seen instead of a watermark: the
            # conversation was seen when the event happened.
            watermark_ms = timestamp_ms
        if watermark_ms is None:
            raise _Malformed("read has no valid watermark")
        return Read(**common, watermark_ms=watermark_ms)
    if "reaction" in item:
        return _reaction(common, _object(item, "reaction"))
    if "message_edit" in item:
        return _message_edit(common, _object(item, "message_edit"))
    if "referral" in item:
        referral = _referral(item["referral"])
        if referral is None:
            raise _Malformed("referral has no source")
        return Referral(**common, referral=referral)
    for key, action in HANDOVER_ACTIONS.items():
        if key in item:
            return _handover(common, action, _object(item, key))
    if "messaging_feedback" in item:
        return _messaging_feedback(common, _object(item, "messaging_feedback"))
    return UnknownEvent(page_id=page_id, timestamp_ms=timestamp_ms, item_kind=_item_kind(item))


def _policy_enforcement(page_id: str, timestamp_ms: int, value: dict) -> PolicyEnforcement:
    action = value.get("action")
    if action not in POLICY_ACTIONS:
        raise _Malformed("policy_enforcement has no valid action")
    reason = value.get("reason")
    return PolicyEnforcement(
        page_id=page_id,
        timestamp_ms=timestamp_ms,
        action=action,
        reason=_clean(reason)[:1000] if isinstance(reason, str) else "",
    )


def _standby_item(page_id: str, item: object) -> Standby:
    if not isinstance(item, dict):
        raise _Malformed("item is not an object")
    common: _StandbyAddress = {
        "page_id": page_id,
        "timestamp_ms": _timestamp(item.get("timestamp")) or 0,
        "item_kind": _item_kind(item),
    }
    sender = _id(_field(item, "sender", "id"))
    recipient = _id(_field(item, "recipient", "id"))
    message = item.get("message")
    if isinstance(message, dict) and sender and recipient:
        is_echo = bool(message.get("is_echo"))
        text = message.get("text")
        if not isinstance(text, str) or not text:
            count = len(message.get("attachments") or [])
            text = f"[{count} attachment{'s' if count != 1 else ''}]" if count else ""
        return Standby(
            **common,
            psid=recipient if is_echo else sender,
            mid=_mid(message.get("mid")),
            text=_clean(text),
            is_echo=is_echo,
        )
    postback = item.get("postback")
    if isinstance(postback, dict) and sender:
        title = _optional_text(postback.get("title")) or _optional_text(postback.get("payload"))
        return Standby(
            **common, psid=sender, mid=_mid(postback.get("mid")), text=title or "Postback"
        )
    return Standby(**common, psid=sender or "")


def _message(common: _Address, recipient: str, message: dict) -> CustomerMessage | PageEcho:
    mid = _mid(message.get("mid"))
    if mid is None:
        raise _Malformed("message has no valid mid")
    text = _text(message.get("text"), "message.text")
    attachments = _attachments(message.get("attachments"))
    # Anything flagged as an echo is the Page's own message: never a customer's.
    if message.get("is_echo"):
        return PageEcho(
            page_id=common["page_id"],
            timestamp_ms=common["timestamp_ms"],
            psid=recipient,
            mid=mid,
            text=text,
            attachments=attachments,
            app_id=_id(message.get("app_id")),
            metadata=_optional_text(message.get("metadata")),
        )
    quick_reply = message.get("quick_reply")
    reply_to = message.get("reply_to")
    return CustomerMessage(
        **common,
        mid=mid,
        text=text,
        attachments=attachments,
        quick_reply_payload=(
            _optional_text(quick_reply.get("payload")) if isinstance(quick_reply, dict) else None
        ),
        reply_to_mid=_mid(reply_to.get("mid")) if isinstance(reply_to, dict) else None,
        referral=_referral(message.get("referral")),
    )


def _feed_change(page_id: str, change: object) -> CommentAdded:
    """A `feed` change: a comment added by someone else is routed; the rest is recorded only."""
    if not isinstance(change, dict) or change.get("field") != "feed":
        field = change.get("field") if isinstance(change, dict) else None
        raise _Malformed(f"{_clean(str(field))[:40]!r} changes are not handled")
    value = change.get("value")
    if not isinstance(value, dict):
        raise _Malformed("feed change has no value")
    item, verb = value.get("item"), value.get("verb")
    if item != "comment" or verb != "add":
        raise _Malformed(f"feed {_clean(str(item))[:40]} {_clean(str(verb))[:40]} not handled")
    comment_id = _mid(value.get("comment_id"))
    post_id = _mid(value.get("post_id"))
    commenter = value.get("from")
    if not isinstance(commenter, dict):
        commenter = {}
    commenter_id = _id(commenter.get("id"))
    if comment_id is None or post_id is None or commenter_id is None:
        raise _Malformed("comment has no valid comment_id, post_id or from.id")
    if commenter_id == page_id:
        raise _Malformed("the Page's own comment")
    created = value.get("created_time")
    # Feed changes carry epoch seconds.
    timestamp_ms = _timestamp(created * 1000) if _is_int(created) else None
    if timestamp_ms is None:
        raise _Malformed("comment has no valid created_time")
    post = value.get("post")
    return CommentAdded(
        page_id=page_id,
        timestamp_ms=timestamp_ms,
        comment_id=comment_id,
        post_id=post_id,
        commenter_id=commenter_id,
        commenter_name=(_optional_text(commenter.get("name")) or "")[:200],
        text=_text(value.get("message"), "comment message"),
        post_url=_web_url(post.get("permalink_url")) if isinstance(post, dict) else None,
    )


def _postback(common: _Address, postback: dict) -> Postback:
    payload = _optional_text(postback.get("payload"))
    title = _optional_text(postback.get("title")) or payload or "Postback"
    mid = postback.get("mid")
    if mid is not None and _mid(mid) is None:
        raise _Malformed("postback has an invalid mid")
    return Postback(
        **common,
        title=title,
        payload=payload,
        mid=_mid(mid),
        referral=_referral(postback.get("referral")),
    )


# Stored on the customer and shown on the panel: bounded, whatever Meta sends.
MAX_REFERRAL_FIELD = 300


def _referral(value: object) -> ReferralInfo | None:
    """Meta's `referral` object (m.me link, ad, …); None when absent or without a source."""
    if not isinstance(value, dict):
        return None
    source = _short(value.get("source"))
    if not source:
        return None
    context = value.get("ads_context_data")
    context = context if isinstance(context, dict) else {}
    return ReferralInfo(
        source=source.upper(),
        type=_short(value.get("type")),
        ref=_short(value.get("ref")),
        ad_id=_id(value.get("ad_id")) or "",
        ad_title=_short(context.get("ad_title")),
        photo_url=_web_url(context.get("photo_url")) or "",
        video_url=_web_url(context.get("video_url")) or "",
        post_id=_id(context.get("post_id")) or "",
        product_id=_id(context.get("product_id")) or "",
    )


def _short(value: object) -> str:
    if _is_int(value):
        value = str(value)
    return _clean(value)[:MAX_REFERRAL_FIELD] if isinstance(value, str) else ""


def _handover(common: _Address, action: str, value: dict) -> Handover:
    return Handover(
        **common,
        action=action,
        new_owner_app_id=_id(value.get("new_owner_app_id")) or "",
        previous_owner_app_id=_id(value.get("previous_owner_app_id")) or "",
        requested_owner_app_id=_id(value.get("requested_owner_app_id")) or "",
        metadata=_short(value.get("metadata")),
    )


def _delivery(common: _Address, delivery: dict) -> Delivery:
    raw_mids = delivery.get("mids") or []
    if not isinstance(raw_mids, list):
        raise _Malformed("delivery.mids is not a list")
    mids = tuple(mid for mid in map(_mid, raw_mids) if mid is not None)
    watermark_ms = _timestamp(delivery.get("watermark"))
    if not mids and watermark_ms is None:
        raise _Malformed("delivery has neither mids nor a valid watermark")
    return Delivery(**common, mids=mids, watermark_ms=watermark_ms)


def _reaction(common: _Address, reaction: dict) -> Reaction:
    mid = _mid(reaction.get("mid"))
    if mid is None:
        raise _Malformed("reaction has no valid mid")
    return Reaction(
        **common,
        mid=mid,
        action=_optional_text(reaction.get("action")) or "react",
        reaction=_optional_text(reaction.get("reaction")) or "",
        emoji=_optional_text(reaction.get("emoji")) or "",
    )


def _message_edit(common: _Address, edit: dict) -> MessageEdit:
    mid = _mid(edit.get("mid"))
    if mid is None:
        raise _Malformed("message_edit has no valid mid")
    text = edit.get("text")
    if not isinstance(text, str):
        raise _Malformed("message_edit has no text")
    num_edit = edit.get("num_edit")
    return MessageEdit(
        **common,
        mid=mid,
        text=_clean(text),
        num_edit=num_edit if _is_int(num_edit) and num_edit >= 0 else 0,
    )


def _messaging_feedback(common: _Address, feedback: dict) -> MessagingFeedback:
    """`feedback_screens[].questions` maps each question id to its answer:
    `{"type": "csat", "payload": "1".."5", "follow_up": {"type": "free_form", "payload": …}}`.
    The first CSAT answer is the score; other question types are left in the raw body."""
    screens = feedback.get("feedback_screens")
    if not isinstance(screens, list):
        raise _Malformed("messaging_feedback has no feedback_screens list")
    for screen in screens:
        questions = screen.get("questions") if isinstance(screen, dict) else None
        if not isinstance(questions, dict):
            continue
        for question_id, answer in questions.items():
            if not isinstance(answer, dict) or answer.get("type") != "csat":
                continue
            payload = answer.get("payload")
            if not isinstance(payload, str) or payload not in ("1", "2", "3", "4", "5"):
                raise _Malformed("messaging_feedback csat payload is not 1 to 5")
            follow_up = answer.get("follow_up")
            comment = (
                _optional_text(follow_up.get("payload")) if isinstance(follow_up, dict) else None
            )
            return MessagingFeedback(
                **common,
                question_id=_clean(str(question_id))[:MAX_ID_LENGTH],
                score=int(payload),
                comment=(comment or "").strip(),
            )
    raise _Malformed("messaging_feedback has no csat answer")


def _attachments(value: object) -> tuple[Attachment, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _Malformed("message.attachments is not a list")
    attachments = []
    for item in value:
        if not isinstance(item, dict):
            continue  # nothing to show for it; the raw body keeps it
        payload = item.get("payload")
        if not isinstance(payload, dict):
            payload = {}
        title = _optional_text(item.get("title")) or _optional_text(payload.get("title")) or ""
        kind = (_optional_text(item.get("type")) or "unknown")[:40]
        original_type = None
        if kind in INTERNAL_ENTRY_TYPES:
            kind, original_type = "fallback", kind
        attachments.append(
            Attachment(
                type=kind,
                url=_web_url(payload.get("url")),
                title=title,
                original_type=original_type,
            )
        )
    return tuple(attachments)


# --- field helpers ---------------------------------------------------------------


def _clean(text: str) -> str:
    # Neither PostgreSQL nor SQLite stores NUL or a lone surrogate ("\ud83d" in JSON).
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _object(item: dict, key: str) -> dict:
    value = item[key]
    if not isinstance(value, dict):
        raise _Malformed(f"{key} is not an object")
    return value


def _field(item: dict, outer: str, inner: str) -> object:
    value = item.get(outer)
    return value.get(inner) if isinstance(value, dict) else None


def _id(value: object, max_length: int = MAX_ID_LENGTH) -> str | None:
    """A Page id, PSID or app id: Meta sends strings, sometimes numbers."""
    if _is_int(value) and value >= 0:
        value = str(value)
    # isprintable() also refuses NUL and lone surrogates.
    if not isinstance(value, str) or not value or len(value) > max_length:
        return None
    return value if value.isprintable() else None


def _mid(value: object) -> str | None:
    return _id(value, MAX_MID_LENGTH)


def _timestamp(value: object) -> int | None:
    if _is_int(value) and 0 < value <= MAX_TIMESTAMP_MS:
        return value
    return None


def _text(value: object, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Malformed(f"{name} is not a string")
    return _clean(value)


def _optional_text(value: object) -> str | None:
    return _clean(value) if isinstance(value, str) else None


def _web_url(value: object) -> str | None:
    # Only links a browser may follow safely end up in an href or src.
    if isinstance(value, str) and value.startswith(("https://", "http://")):
        return _clean(value)
    return None


def _item_kind(item: dict) -> str:
    keys = [key for key in item if key not in _ADDRESS_KEYS]
    return _clean(str(keys[0]))[:40] if keys else "empty"
