"""What the fake Meta knows of each Page besides the calls it answered.

Our app's webhook subscription (all the fields we need until something
unsubscribes it, as Meta does after a long webhook failure), whether Meta can
reach our webhook (an outage the simulator switches on), the Human Agent
feature's review, and every message of every thread, delivered to our webhook
or not: the Conversations API serves them for the backfill.
"""

import base64
from datetime import UTC, datetime

from facebook.graph import SUBSCRIBED_FIELDS
from facebook.models import FakePageState, FakeThreadMessage

# Meta's conversation ids start so; the fake's is the customer's PSID after it.
THREAD_PREFIX = "t_"
HUMAN_AGENT_STATUSES = ("approved", "pending", "rejected", "not_requested")


def _state(page_id: str) -> FakePageState:
    state, _ = FakePageState.objects.get_or_create(
        page_id=page_id, defaults={"subscribed_fields": list(SUBSCRIBED_FIELDS)}
    )
    return state


def subscribed_fields(page_id: str) -> list[str]:
    return list(_state(page_id).subscribed_fields)


def subscribe(page_id: str, fields: list[str]) -> None:
    state = _state(page_id)
    state.subscribed_fields = sorted(set(state.subscribed_fields) | set(fields))
    state.save(update_fields=["subscribed_fields"])


def unsubscribe(page_id: str) -> None:
    """Meta removes our app from the Page (after a long webhook failure, say)."""
    FakePageState.objects.filter(pk=_state(page_id).pk).update(subscribed_fields=[])


def set_webhook_down(page_id: str, down: bool) -> None:
    """While down, Meta cannot deliver this Page's events to our webhook."""
    FakePageState.objects.filter(pk=_state(page_id).pk).update(webhook_down=down)


def delivery_blocked(page_id: str) -> str:
    """Why Meta would not post a customer's message to our webhook now; "" when it would."""
    state = _state(page_id)
    if state.webhook_down:
        return "webhook outage switched on"
    if "messages" not in state.subscribed_fields:
        return "the app is unsubscribed from the Page"
    return ""


def human_agent_status(page_id: str) -> str:
    return _state(page_id).human_agent_status


def set_human_agent_status(page_id: str, status: str) -> None:
    if status not in HUMAN_AGENT_STATUSES:
        raise ValueError(f"Unknown Human Agent status {status!r}")
    FakePageState.objects.filter(pk=_state(page_id).pk).update(human_agent_status=status)


def keep_message(
    *, page_id: str, psid: str, mid: str, text: str, from_page: bool, at_ms: int | None = None
) -> None:
    """A message of the thread between the Page and `psid`, as Meta stores it."""
    FakeThreadMessage.objects.get_or_create(
        mid=mid,
        defaults={
            "page_id": page_id,
            "psid": psid,
            "text": text,
            "from_page": from_page,
            "timestamp_ms": at_ms or int(datetime.now(UTC).timestamp() * 1000),
        },
    )


def _meta_time(timestamp_ms: int) -> str:
    # Meta's format: seconds, and "+0000".
    return datetime.fromtimestamp(timestamp_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def threads(page_id: str) -> list[dict]:
    """The Page's conversations, most recently updated first."""
    latest: dict[str, int] = {}
    for psid, at_ms in FakeThreadMessage.objects.filter(page_id=page_id).values_list(
        "psid", "timestamp_ms"
    ):
        latest[psid] = max(at_ms, latest.get(psid, 0))
    ordered = sorted(latest.items(), key=lambda item: item[1], reverse=True)
    return [
        {"id": f"{THREAD_PREFIX}{psid}", "updated_time": _meta_time(at_ms)}
        for psid, at_ms in ordered
    ]


def thread_messages(page_id: str, conversation_id: str) -> list[dict] | None:
    """A thread's messages, newest first; None when the Page has no such thread."""
    psid = conversation_id.removeprefix(THREAD_PREFIX)
    kept = list(
        FakeThreadMessage.objects.filter(page_id=page_id, psid=psid).order_by(
            "-timestamp_ms", "-id"
        )
    )
    if not kept:
        return None
    page = {"id": page_id, "name": "Page"}
    customer = {"id": psid, "name": "Customer"}
    return [
        {
            "id": message.mid,
            "created_time": _meta_time(message.timestamp_ms),
            "from": page if message.from_page else customer,
            "to": {"data": [customer if message.from_page else page]},
            "message": message.text,
        }
        for message in kept
    ]


def cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def offset_of(after: str) -> int:
    if not after:
        return 0
    try:
        decoded = base64.urlsafe_b64decode(after + "=" * (-len(after) % 4)).decode()
        return max(0, int(decoded.removeprefix("offset:")))
    except ValueError:
        return 0
