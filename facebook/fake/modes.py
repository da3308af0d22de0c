"""How the fake Graph API answers: one table, mode name → behaviour.

The simulator offers these modes (with their labels, in this order), the
tests and the bench switch them by name, and `facebook.fake.graph` reads
nothing else to decide how to answer. The current mode is one database row,
so every server process of a test or bench run answers alike.
"""

import secrets
from dataclasses import dataclass
from enum import Enum

from django.db import transaction
from django.utils import timezone

from facebook.models import FakeGraphMode


class Call(Enum):
    """The kinds of call a refusal may concern."""

    SEND = "send"  # POST …/messages: a text or a sender action
    PROFILE = "profile"  # GET /{psid}: the User Profile API
    UPLOAD = "upload"  # POST …/message_attachments: the Attachment Upload API
    PERSONA = "persona"  # POST /{page-id}/personas


class Answer(Enum):
    """How a call that is not refused is answered."""

    NORMAL = "normal"
    # Recorded at once, as Meta would have sent it; the answer comes after the
    # send timeout, and the echo a moment after that answer.
    LATE = "late"
    # An HTML page with HTTP 500, as Meta's edge sometimes answers; no echo.
    HTML_500 = "html_500"


EVERY_CALL = frozenset(Call)
SENDS = frozenset({Call.SEND})
PROFILES = frozenset({Call.PROFILE})
PERSONAS = frozenset({Call.PERSONA})


def meta_error(code: int, message: str, subcode: int | None = None, **extra) -> dict:
    """Meta's error body: {"error": {message, type, code, error_subcode?, …, fbtrace_id}}."""
    error = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error.update(extra)
    error["fbtrace_id"] = "Fake" + secrets.token_urlsafe(12)
    return {"error": error}


@dataclass(frozen=True)
class Refusal:
    """One of Meta's errors, with the HTTP status it comes with."""

    status: int
    code: int
    message: str
    subcode: int | None = None
    is_transient: bool = False

    def answer(self) -> tuple[int, dict]:
        extra = {"is_transient": True} if self.is_transient else {}
        return self.status, meta_error(self.code, self.message, self.subcode, **extra)


@dataclass(frozen=True)
class Mode:
    label: str  # what the simulator's switch shows
    refusal: Refusal | None = None
    refuses: frozenset[Call] = EVERY_CALL  # the calls the refusal concerns
    # A token refusal comes before Meta looks at the body; the others after.
    before_checks: bool = False
    answer: Answer = Answer.NORMAL
    answers: frozenset[Call] = EVERY_CALL  # the calls answered as `answer` says

    def answer_for(self, call: Call) -> Answer:
        """How `call` is answered when it is not refused."""
        return self.answer if call in self.answers else Answer.NORMAL

    def refusal_for(self, call: Call) -> tuple[int, dict] | None:
        """The answer refusing `call`, if this mode refuses it."""
        if self.refusal is None or call not in self.refuses:
            return None
        return self.refusal.answer()


MODES: dict[str, Mode] = {
    "ok": Mode("Answer normally"),
    "timeout": Mode("Answer too late (after the send timeout)", answer=Answer.LATE),
    "error_1": Mode(
        "Temporary error (code 1)",
        Refusal(500, 1, "An unknown error occurred", 99, is_transient=True),
    ),
    "rate_limit": Mode(
        "Rate limited (code 613)",
        Refusal(400, 613, "(#613) Calls to this api have exceeded the rate limit."),
    ),
    "window_closed": Mode(
        "Reply window closed (10 / 2018278)",
        Refusal(400, 10, "(#10) This message is sent outside of allowed window.", 2018278),
        SENDS,
    ),
    "unavailable": Mode(
        "Person unavailable (551)",
        Refusal(400, 551, "(#551) This person isn't available right now.", 1545041),
        SENDS,
    ),
    "token_invalid": Mode(
        "Page token invalid (190)",
        Refusal(
            400,
            190,
            "Error validating access token: The session has been invalidated because "
            "the user changed their password or Facebook has changed the session for "
            "security reasons.",
            460,
        ),
        before_checks=True,
    ),
    "http_500": Mode("HTTP 500 with an HTML page", answer=Answer.HTML_500),
    "no_profile": Mode(
        "No user profile (2018218); sends work",
        Refusal(400, 100, "(#100) No profile available for this user.", 2018218),
        PROFILES,
    ),
    "error_2": Mode(
        "Temporary error (code 2)",
        Refusal(
            503,
            2,
            "An unexpected error has occurred. Please retry your request later.",
            is_transient=True,
        ),
    ),
    "error_1200": Mode(
        "Temporary send failure (code 1200)",
        Refusal(500, 1200, "Temporary send message failure. Please try again later."),
    ),
    "rate_limit_4": Mode(
        "App rate limit (code 4)",
        Refusal(400, 4, "(#4) Application request limit reached"),
    ),
    "rate_limit_32": Mode(
        "Page rate limit (code 32)",
        Refusal(400, 32, "(#32) Page request limit reached"),
    ),
    "window_closed_2534022": Mode(
        "Outside the allowed window (10 / 2534022)",
        Refusal(
            400,
            10,
            "(#10) This message is sent outside of allowed window. You need page_messaging "
            "permission to be able to do it.",
            2534022,
        ),
        SENDS,
    ),
    "cannot_receive": Mode(
        "Person cannot receive messages now (10 / 2018108)",
        Refusal(400, 10, "(#10) This person isn't receiving messages from you right now.", 2018108),
        SENDS,
    ),
    "blocked": Mode(
        "Person unavailable or blocked the Page (200 / 1545041)",
        Refusal(403, 200, "(#200) This person isn't available right now.", 1545041),
        SENDS,
    ),
    "invalid_parameter": Mode(
        "Invalid parameter (100)",
        Refusal(400, 100, "(#100) Invalid parameter"),
        SENDS,
    ),
    "no_matching_user": Mode(
        "No matching user (100 / 2018001)",
        Refusal(400, 100, "(#100) No matching user found", 2018001),
        SENDS,
    ),
    "thread_control": Mode(
        "Another app controls the thread (2018300)",
        Refusal(
            400, 2018300, "(#2018300) Cannot send message: another app has control of this thread"
        ),
        SENDS,
    ),
    "persona_refused": Mode(
        "Personas refused (100); sends work",
        Refusal(400, 100, "(#100) Invalid parameter: profile_picture_url could not be fetched"),
        PERSONAS,
    ),
    "persona_late": Mode(
        "Personas answered too late; sends work",
        answer=Answer.LATE,
        answers=PERSONAS,
    ),
}
DEFAULT_MODE = "ok"


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


def labels() -> dict[str, str]:
    """Mode name → label, in the table's order (the simulator's switch)."""
    return {name: mode.label for name, mode in MODES.items()}
