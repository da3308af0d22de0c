"""A small Graph API client: Send API (text, attachments, sender actions, private
replies to comments), the Attachment Upload API, personas, the User Profile API
(Messenger's, and Instagram's through the linked Page), conversation routing, and
what the health guard reads (subscribed apps, conversations, feature review).

Every call raises `GraphError` (Meta refused, or could not be reached) or
`GraphTimeout` (no answer in time: the message may or may not have gone out).
The Page access token travels in the query string, as Meta documents; it never
appears in our log lines or exception messages, and a filter on httpx's logger
masks it should that logger be turned up to INFO.
"""

import enum
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import httpx
from django.conf import settings
from django.utils import timezone

from facebook.models import FacebookPage

logger = logging.getLogger(__name__)

SENDER_ACTIONS = ("typing_on", "typing_off", "mark_seen")
ATTACHMENT_KINDS = ("image", "video", "audio", "file")
PROFILE_FIELDS = "first_name,last_name,profile_pic"
# Instagram's user profile, asked with the Instagram-scoped id and the Page token.
INSTAGRAM_PROFILE_FIELDS = "name,username,profile_pic"

_TOKEN_IN_URL = re.compile(r"(access_token=)[^&\s\"']+")


def redact(text: str, token: str = "") -> str:
    """`text` with any access token (a known one, or one in a query string) masked."""
    if token:
        text = text.replace(token, "[token]")
    return _TOKEN_IN_URL.sub(r"\1[token]", text)


class _RedactAccessTokens(logging.Filter):
    """httpx logs each request URL at INFO, and our URLs carry the Page token."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "access_token=" in message:
            record.msg = redact(message)
            record.args = ()
        return True


logging.getLogger("httpx").addFilter(_RedactAccessTokens())

# One client for the process: its connection pool is thread-safe and reusing
# connections saves a TLS handshake per send. Timeouts are given per request
# so that a changed FACEBOOK_SEND_TIMEOUT applies at once.
_client = httpx.Client(
    headers={"User-Agent": "connect-messenger/1"},
    follow_redirects=False,
    limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
)


# --- results and errors --------------------------------------------------------


@dataclass(frozen=True)
class SendResult:
    recipient_id: str
    message_id: str


@dataclass(frozen=True)
class Profile:
    first_name: str
    last_name: str
    profile_pic: str


@dataclass(frozen=True)
class InstagramProfile:
    name: str
    username: str
    profile_pic: str


class ErrorKind(enum.StrEnum):
    TEMPORARY = "temporary"
    RATE_LIMIT = "rate_limit"
    TOKEN_INVALID = "token_invalid"
    WINDOW_CLOSED = "window_closed"
    UNAVAILABLE = "unavailable"
    CANNOT_RECEIVE = "cannot_receive"
    NO_PROFILE = "no_profile"
    NO_MATCHING_USER = "no_matching_user"
    INVALID_PARAMETER = "invalid_parameter"
    THREAD_CONTROL = "thread_control"
    PRIVATE_REPLY_REFUSED = "private_reply_refused"
    SERVER_ERROR = "server_error"
    NETWORK = "network"
    BAD_ANSWER = "bad_answer"
    OTHER = "other"


# (code, subcode) → kind, most specific first; subcode None matches any.
_KINDS: list[tuple[int, int | None, ErrorKind]] = [
    (10, 2018278, ErrorKind.WINDOW_CLOSED),
    (10, 2534022, ErrorKind.WINDOW_CLOSED),
    (10, 2018108, ErrorKind.CANNOT_RECEIVE),
    (200, 1545041, ErrorKind.UNAVAILABLE),
    (100, 2018218, ErrorKind.NO_PROFILE),
    (2018218, None, ErrorKind.NO_PROFILE),
    (100, 2018001, ErrorKind.NO_MATCHING_USER),
    (551, None, ErrorKind.UNAVAILABLE),
    (190, None, ErrorKind.TOKEN_INVALID),
    (2018300, None, ErrorKind.THREAD_CONTROL),
    (10900, None, ErrorKind.PRIVATE_REPLY_REFUSED),
    (10903, None, ErrorKind.PRIVATE_REPLY_REFUSED),
    (100, None, ErrorKind.INVALID_PARAMETER),
    (4, None, ErrorKind.RATE_LIMIT),
    (32, None, ErrorKind.RATE_LIMIT),
    (613, None, ErrorKind.RATE_LIMIT),
    (1, None, ErrorKind.TEMPORARY),
    (2, None, ErrorKind.TEMPORARY),
    (1200, None, ErrorKind.TEMPORARY),
]

_RETRYABLE = {
    ErrorKind.TEMPORARY,
    ErrorKind.RATE_LIMIT,
    ErrorKind.SERVER_ERROR,
    ErrorKind.NETWORK,
}

# Words for the agent, shown beside the failed message.
_WORDS = {
    ErrorKind.TEMPORARY: "Messenger had a temporary problem",
    ErrorKind.RATE_LIMIT: "Messenger is limiting how fast this Page may send; try again shortly",
    ErrorKind.TOKEN_INVALID: (
        "The Page's access token is invalid or expired: a supervisor must enter a new one"
    ),
    ErrorKind.WINDOW_CLOSED: "Messenger's 24-hour reply window has closed",
    ErrorKind.UNAVAILABLE: "This person isn't available right now",
    ErrorKind.CANNOT_RECEIVE: "This person can't receive messages from this Page right now",
    ErrorKind.NO_PROFILE: "Messenger has no profile for this person",
    ErrorKind.NO_MATCHING_USER: "Messenger knows no such person for this Page",
    ErrorKind.INVALID_PARAMETER: "Messenger refused the message as invalid",
    ErrorKind.THREAD_CONTROL: "Another app controls this conversation right now",
    ErrorKind.PRIVATE_REPLY_REFUSED: (
        "Meta allows one private reply per comment, within 7 days of it: this comment "
        "cannot be answered any more"
    ),
    ErrorKind.SERVER_ERROR: "Messenger answered with a server error",
    ErrorKind.NETWORK: "Messenger could not be reached",
    ErrorKind.BAD_ANSWER: "Messenger's answer could not be understood",
    ErrorKind.OTHER: "Messenger refused the message",
}


class GraphError(Exception):
    """Meta refused the call, or could not be reached. Never carries the token."""

    def __init__(
        self,
        *,
        kind: ErrorKind,
        code: int | None = None,
        subcode: int | None = None,
        meta_message: str = "",
        fbtrace_id: str = "",
        http_status: int | None = None,
        retryable: bool | None = None,
    ) -> None:
        self.kind = kind
        self.code = code
        self.subcode = subcode
        self.meta_message = meta_message
        self.fbtrace_id = fbtrace_id
        self.http_status = http_status
        self.retryable = kind in _RETRYABLE if retryable is None else retryable
        super().__init__(f"Graph API error {self.error_code}: {self.reason}")

    @property
    def final(self) -> bool:
        """Trying the same call again will not help."""
        return not self.retryable

    @property
    def error_code(self) -> str:
        """A short code to store: `613`, `10/2018278`, `http_502`, `network`…"""
        if self.code is not None:
            return f"{self.code}/{self.subcode}" if self.subcode else str(self.code)
        if self.kind == ErrorKind.SERVER_ERROR and self.http_status:
            return f"http_{self.http_status}"
        return self.kind.value

    @property
    def reason(self) -> str:
        """What the agent reads: our words, and Meta's where ours are generic."""
        words = _WORDS[self.kind]
        if self.kind in (ErrorKind.INVALID_PARAMETER, ErrorKind.OTHER) and self.meta_message:
            words = f"{words}: {self.meta_message}"
        if self.kind == ErrorKind.SERVER_ERROR and self.http_status:
            words = f"{words} (HTTP {self.http_status})"
        return words


class GraphTimeout(Exception):
    """No answer within the timeout: the call may or may not have taken effect."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"No answer from the Graph API within {seconds:g} s")


def classify(code: int | None, subcode: int | None) -> ErrorKind:
    for known_code, known_subcode, kind in _KINDS:
        if code == known_code and known_subcode in (None, subcode):
            return kind
    return ErrorKind.OTHER


def parse_error(status_code: int, content: bytes | str, *, token: str = "") -> GraphError:
    """Meta's `{"error": {...}}` answer (or whatever came instead) as a GraphError."""
    try:
        error = json.loads(content).get("error")
    except (ValueError, AttributeError):
        error = None
    if not isinstance(error, dict):
        if status_code >= 500:
            return GraphError(kind=ErrorKind.SERVER_ERROR, http_status=status_code)
        return GraphError(kind=ErrorKind.BAD_ANSWER, http_status=status_code)
    code = _int_or_none(error.get("code"))
    subcode = _int_or_none(error.get("error_subcode"))
    kind = classify(code, subcode)
    retryable = None
    if kind == ErrorKind.OTHER:
        # An unlisted code: trust Meta's own hint, else a 5xx is worth a retry.
        retryable = bool(error.get("is_transient")) or status_code >= 500
    return GraphError(
        kind=kind,
        code=code,
        subcode=subcode,
        meta_message=redact(str(error.get("message") or ""), token)[:300],
        fbtrace_id=str(error.get("fbtrace_id") or ""),
        http_status=status_code,
        retryable=retryable,
    )


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- calls ---------------------------------------------------------------------


def _url(*parts: str) -> str:
    base = settings.FACEBOOK_GRAPH_URL.rstrip("/")
    return "/".join([base, settings.FACEBOOK_GRAPH_VERSION, *parts])


def _request(
    method: str,
    url: str,
    *,
    page: FacebookPage,
    json_body: dict | None = None,
    params: dict | None = None,
    data: dict | None = None,
    files: dict | None = None,
    timeout: float | None,
) -> dict:
    seconds = settings.FACEBOOK_SEND_TIMEOUT if timeout is None else max(timeout, 0.01)
    token = page.access_token
    try:
        response = _client.request(
            method,
            url,
            params={**(params or {}), "access_token": token},
            json=json_body,
            data=data,
            files=files,
            timeout=seconds,
        )
    except httpx.TimeoutException:
        raise GraphTimeout(seconds) from None
    except httpx.HTTPError as exc:
        # The exception text may hold the URL, and with it the token: name its type only.
        logger.warning(
            "Graph API %s for Page %s failed: %s", method, page.page_id, type(exc).__name__
        )
        raise GraphError(kind=ErrorKind.NETWORK, meta_message=type(exc).__name__) from None
    if response.is_success:
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if isinstance(answer, dict):
            _note_success(page)
            return answer
        raise GraphError(kind=ErrorKind.BAD_ANSWER, http_status=response.status_code)
    error = parse_error(response.status_code, response.content, token=token)
    logger.info(
        "Graph API %s for Page %s refused: %s (HTTP %s, fbtrace_id %s)",
        method,
        page.page_id,
        error.error_code,
        response.status_code,
        error.fbtrace_id or "-",
    )
    raise error


# The Page's "last Graph API success" is written at most this often (seconds).
GRAPH_OK_EVERY = 60


def _note_success(page: FacebookPage) -> None:
    """Remember that Meta accepted a call for this Page (the health guard shows it)."""
    now = timezone.now()
    last = page.last_graph_ok_at
    if last is not None and (now - last).total_seconds() < GRAPH_OK_EVERY:
        return
    try:
        FacebookPage.objects.filter(pk=page.pk).update(last_graph_ok_at=now)
        page.last_graph_ok_at = now
    except Exception:
        # A note only: never let it turn Meta's success into a failure.
        logger.warning("Could not note the Graph API success of Page %s", page.page_id)


def send_text(
    *,
    page: FacebookPage,
    psid: str,
    text: str,
    messaging_type: str = "RESPONSE",
    tag: str = "",
    metadata: str = "",
    timeout: float | None = None,
    persona_id: str = "",
) -> SendResult:
    """Send API: a text message. `tag` goes along only with MESSAGE_TAG; with
    `persona_id` the customer sees it come from that persona."""
    return _send_message(
        page=page,
        psid=psid,
        message={"text": text},
        messaging_type=messaging_type,
        tag=tag,
        metadata=metadata,
        timeout=timeout,
        persona_id=persona_id,
    )


def _send_message(
    *,
    page: FacebookPage,
    psid: str,
    message: dict,
    messaging_type: str,
    tag: str,
    metadata: str,
    timeout: float | None,
    persona_id: str,
) -> SendResult:
    """The Send API's envelope around one message, and Meta's answer to it."""
    if metadata:
        message["metadata"] = metadata
    body: dict = {"recipient": {"id": psid}, "messaging_type": messaging_type}
    if messaging_type == "MESSAGE_TAG":
        body["tag"] = tag
    body["message"] = message
    if persona_id:
        body["persona_id"] = persona_id
    answer = _request(
        "POST", _url(page.page_id, "messages"), page=page, json_body=body, timeout=timeout
    )
    message_id = answer.get("message_id")
    if not message_id:
        raise GraphError(kind=ErrorKind.BAD_ANSWER, http_status=200)
    return SendResult(recipient_id=str(answer.get("recipient_id") or psid), message_id=message_id)


def send_private_reply(
    *,
    page: FacebookPage,
    comment_id: str,
    text: str,
    metadata: str = "",
    timeout: float | None = None,
) -> SendResult:
    """Send API: the one private reply to a comment on the Page's posts, in Messenger.

    Meta answers with the person's PSID as `recipient_id`: their answer, if
    any, comes from it.
    """
    message: dict = {"text": text}
    if metadata:
        message["metadata"] = metadata
    body = {"recipient": {"comment_id": comment_id}, "message": message}
    answer = _request(
        "POST", _url(page.page_id, "messages"), page=page, json_body=body, timeout=timeout
    )
    message_id = answer.get("message_id")
    if not message_id:
        raise GraphError(kind=ErrorKind.BAD_ANSWER, http_status=200)
    return SendResult(recipient_id=str(answer.get("recipient_id") or ""), message_id=message_id)


def upload_attachment(
    *,
    page: FacebookPage,
    kind: str,
    path: Path,
    name: str,
    content_type: str,
    timeout: float | None = None,
    platform: str = "",
) -> str:
    """Attachment Upload API: the file as a reusable attachment of the Page; its `attachment_id`.

    `platform="instagram"` uploads it for the Page's linked Instagram account.
    """
    if kind not in ATTACHMENT_KINDS:
        raise ValueError(f"Unknown attachment type {kind!r}")
    message = {"attachment": {"type": kind, "payload": {"is_reusable": True}}}
    data = {"message": json.dumps(message)}
    if platform:
        data["platform"] = platform
    with path.open("rb") as file:
        answer = _request(
            "POST",
            _url(page.page_id, "message_attachments"),
            page=page,
            data=data,
            files={"filedata": (name, file, content_type)},
            timeout=timeout,
        )
    attachment_id = answer.get("attachment_id")
    if not attachment_id:
        raise GraphError(kind=ErrorKind.BAD_ANSWER, http_status=200)
    return str(attachment_id)


def send_attachment(
    *,
    page: FacebookPage,
    psid: str,
    kind: str,
    attachment_id: str,
    messaging_type: str = "RESPONSE",
    tag: str = "",
    metadata: str = "",
    timeout: float | None = None,
    persona_id: str = "",
) -> SendResult:
    """Send API: an uploaded attachment, by its id (under the agent's persona, if any)."""
    return _send_message(
        page=page,
        psid=psid,
        message={"attachment": {"type": kind, "payload": {"attachment_id": attachment_id}}},
        messaging_type=messaging_type,
        tag=tag,
        metadata=metadata,
        timeout=timeout,
        persona_id=persona_id,
    )


@dataclass(frozen=True)
class FeedbackSurvey:
    """What the customer reads on the survey; Meta requires the privacy policy link."""

    title: str
    subtitle: str
    button_title: str
    question_id: str
    question: str
    placeholder: str
    privacy_url: str
    expires_in_days: int = 3


def send_customer_feedback(
    *,
    page: FacebookPage,
    psid: str,
    survey: FeedbackSurvey,
    metadata: str = "",
    timeout: float | None = None,
) -> SendResult:
    """Send API: Messenger's customer feedback template with one CSAT question
    (five stars) and an optional free-form comment. Always RESPONSE, never tagged."""
    template = {
        "template_type": "customer_feedback",
        "title": survey.title,
        "subtitle": survey.subtitle,
        "button_title": survey.button_title,
        "feedback_screens": [
            {
                "questions": [
                    {
                        "id": survey.question_id,
                        "type": "csat",
                        "title": survey.question,
                        "score_label": "neg_pos",
                        "score_option": "five_stars",
                        "follow_up": {"type": "free_form", "placeholder": survey.placeholder},
                    }
                ]
            }
        ],
        "business_privacy": {"url": survey.privacy_url},
        "expires_in_days": survey.expires_in_days,
    }
    return _send_message(
        page=page,
        psid=psid,
        message={"attachment": {"type": "template", "payload": template}},
        messaging_type="RESPONSE",
        tag="",
        metadata=metadata,
        timeout=timeout,
        persona_id="",
    )


def send_sender_action(
    *,
    page: FacebookPage,
    psid: str,
    action: str,
    timeout: float | None = None,
    persona_id: str = "",
) -> None:
    """Send API: typing_on, typing_off or mark_seen (under a persona when given)."""
    if action not in SENDER_ACTIONS:
        raise ValueError(f"Unknown sender action {action!r}")
    body = {"recipient": {"id": psid}, "sender_action": action}
    if persona_id:
        body["persona_id"] = persona_id
    _request("POST", _url(page.page_id, "messages"), page=page, json_body=body, timeout=timeout)


def create_persona(
    *, page: FacebookPage, name: str, picture_url: str, timeout: float | None = None
) -> str:
    """Personas API: a name and picture the Page may send under; its id."""
    answer = _request(
        "POST",
        _url(page.page_id, "personas"),
        page=page,
        json_body={"name": name, "profile_picture_url": picture_url},
        timeout=timeout,
    )
    persona_id = answer.get("id")
    if not persona_id:
        raise GraphError(kind=ErrorKind.BAD_ANSWER, http_status=200)
    return str(persona_id)


def fetch_profile(*, page: FacebookPage, psid: str, timeout: float | None = None) -> Profile:
    """User Profile API. Fails with ErrorKind.NO_PROFILE for people Meta will not describe."""
    answer = _request(
        "GET", _url(psid), page=page, params={"fields": PROFILE_FIELDS}, timeout=timeout
    )
    return Profile(
        first_name=str(answer.get("first_name") or ""),
        last_name=str(answer.get("last_name") or ""),
        profile_pic=str(answer.get("profile_pic") or ""),
    )


def take_thread_control(
    *, page: FacebookPage, psid: str, metadata: str = "", timeout: float | None = None
) -> None:
    """Conversation routing: our app takes control of the customer's conversation."""
    _thread_control(
        "take_thread_control", page=page, psid=psid, body={}, metadata=metadata, timeout=timeout
    )


def pass_thread_control(
    *,
    page: FacebookPage,
    psid: str,
    target_app_id: str,
    metadata: str = "",
    timeout: float | None = None,
) -> None:
    """Conversation routing: hand the customer's conversation to another app (a bot)."""
    _thread_control(
        "pass_thread_control",
        page=page,
        psid=psid,
        body={"target_app_id": target_app_id},
        metadata=metadata,
        timeout=timeout,
    )


def _thread_control(
    edge: str, *, page: FacebookPage, psid: str, body: dict, metadata: str, timeout: float | None
) -> None:
    # POST /{page-id}/take_thread_control|pass_thread_control: recipient.id and metadata
    # (under 1000 characters); Meta answers {"success": true}.
    json_body = {"recipient": {"id": psid}, **body}
    if metadata:
        json_body["metadata"] = metadata[:999]
    answer = _request(
        "POST", _url(page.page_id, edge), page=page, json_body=json_body, timeout=timeout
    )
    if answer.get("success") is not True:
        raise GraphError(kind=ErrorKind.BAD_ANSWER, http_status=200)


# --- what the health guard reads and repairs ----------------------------------------

# The webhook fields Connect needs: messages and their echoes, receipts, reactions,
# edits, postbacks, conversation routing (standby, handovers), referrals, the feedback
# survey's answers, Meta's policy enforcement and the Page's feed (comments).
SUBSCRIBED_FIELDS = (
    "messages",
    "message_echoes",
    "message_deliveries",
    "message_reads",
    "message_reactions",
    "message_edits",
    "messaging_postbacks",
    "standby",
    "messaging_handovers",
    "messaging_referrals",
    "messaging_feedback",
    "messaging_policy_enforcement",
    "feed",
)


def subscribed_fields(*, page: FacebookPage, timeout: float | None = None) -> list[str] | None:
    """GET /{page-id}/subscribed_apps: the fields our app receives, None when it is not there."""
    answer = _request("GET", _url(page.page_id, "subscribed_apps"), page=page, timeout=timeout)
    apps = answer.get("data")
    if not isinstance(apps, list):
        raise GraphError(kind=ErrorKind.BAD_ANSWER, http_status=200)
    for app in apps:
        if not isinstance(app, dict):
            continue
        if settings.FACEBOOK_APP_ID and str(app.get("id") or "") != settings.FACEBOOK_APP_ID:
            continue
        fields = app.get("subscribed_fields")
        return [str(field) for field in fields] if isinstance(fields, list) else []
    return None


def subscribe(
    *, page: FacebookPage, fields: tuple[str, ...] = SUBSCRIBED_FIELDS, timeout: float | None = None
) -> None:
    """POST /{page-id}/subscribed_apps: our app receives `fields` for this Page."""
    answer = _request(
        "POST",
        _url(page.page_id, "subscribed_apps"),
        page=page,
        params={"subscribed_fields": ",".join(fields)},
        timeout=timeout,
    )
    if answer.get("success") is not True:
        raise GraphError(kind=ErrorKind.BAD_ANSWER, http_status=200)


@dataclass(frozen=True)
class Listing:
    """One page of a Graph API list: its items and the cursor of the next ("" at the end)."""

    items: list[dict]
    after: str


def _listing(answer: dict) -> Listing:
    data = answer.get("data")
    if not isinstance(data, list):
        raise GraphError(kind=ErrorKind.BAD_ANSWER, http_status=200)
    paging = answer.get("paging")
    paging = paging if isinstance(paging, dict) else {}
    cursors = paging.get("cursors")
    cursors = cursors if isinstance(cursors, dict) else {}
    # Meta gives a cursor on the last page too; only `next` says there is more.
    after = str(cursors.get("after") or "") if paging.get("next") else ""
    return Listing([item for item in data if isinstance(item, dict)], after)


def conversations(
    *, page: FacebookPage, after: str = "", limit: int = 25, timeout: float | None = None
) -> Listing:
    """GET /{page-id}/conversations: the Page's Messenger threads, recently updated first."""
    params = {"platform": "messenger", "fields": "id,updated_time", "limit": str(limit)}
    if after:
        params["after"] = after
    return _listing(
        _request(
            "GET", _url(page.page_id, "conversations"), page=page, params=params, timeout=timeout
        )
    )


def conversation_messages(
    *,
    page: FacebookPage,
    conversation_id: str,
    after: str = "",
    limit: int = 25,
    timeout: float | None = None,
) -> Listing:
    """GET /{conversation-id}/messages: a thread's messages, newest first."""
    params = {"fields": "id,created_time,from,to,message", "limit": str(limit)}
    if after:
        params["after"] = after
    return _listing(
        _request(
            "GET", _url(conversation_id, "messages"), page=page, params=params, timeout=timeout
        )
    )


def human_agent_status(*, page: FacebookPage, timeout: float | None = None) -> str:
    """GET /me/messaging_feature_review: Meta's review of the Human Agent feature
    (`approved`, `pending`, `rejected`…), `not_requested` when it is not listed."""
    answer = _request("GET", _url("me", "messaging_feature_review"), page=page, timeout=timeout)
    features = answer.get("data")
    if not isinstance(features, list):
        raise GraphError(kind=ErrorKind.BAD_ANSWER, http_status=200)
    for feature in features:
        if isinstance(feature, dict) and str(feature.get("feature") or "").lower() == "human_agent":
            return str(feature.get("status") or "").lower()[:20] or "not_requested"
    return "not_requested"


def fetch_instagram_profile(
    *, page: FacebookPage, igsid: str, timeout: float | None = None
) -> InstagramProfile:
    """Instagram's User Profile API, through the linked Page: name, @username, picture."""
    answer = _request(
        "GET",
        _url(igsid),
        page=page,
        params={"fields": INSTAGRAM_PROFILE_FIELDS},
        timeout=timeout,
    )
    return InstagramProfile(
        name=str(answer.get("name") or ""),
        username=str(answer.get("username") or ""),
        profile_pic=str(answer.get("profile_pic") or ""),
    )
