"""Sender actions (typing_on, typing_off, mark_seen), sent off the request.

They are courtesies: a failure is a log line, never an error for the agent,
and never retried. `typing_on` is sent at most once per TYPING_ON_EVERY
seconds for one customer (Messenger shows it for about 20 s by itself).
"""

import logging
import threading
import time

from facebook import graph, personas
from facebook.background import BackgroundPool
from facebook.models import FacebookPage
from routing.models import Agent

logger = logging.getLogger(__name__)

TYPING_ON_EVERY = 5.0
ACTION_TIMEOUT = 5.0

# One customer's actions go out in order (typing_off must not overtake its
# typing_on): each customer is served by one single-threaded lane.
LANES = 4
_lanes = [BackgroundPool(f"facebook-sender-actions-{n}", max_workers=1) for n in range(LANES)]
# (page id, psid) → when typing_on was last queued in this process.
_typing_since: dict[tuple[str, str], float] = {}
_lock = threading.Lock()


def send_later(*, page_id: str, psid: str, action: str, agent_id: int | None = None) -> bool:
    """Queue a sender action, under `agent_id`'s persona when the Page uses personas;
    False when throttled (typing_on sent moments ago)."""
    if action not in graph.SENDER_ACTIONS:
        raise ValueError(f"Unknown sender action {action!r}")
    key = (page_id, psid)
    now = time.monotonic()
    with _lock:
        if action == "typing_on":
            last = _typing_since.get(key)
            if last is not None and now - last < TYPING_ON_EVERY:
                return False
            _typing_since[key] = now
        else:
            _typing_since.pop(key, None)
    _lanes[hash(key) % LANES].submit(_send, page_id, psid, action, agent_id)
    return True


def _send(page_id: str, psid: str, action: str, agent_id: int | None = None) -> None:
    page = FacebookPage.objects.filter(page_id=page_id).first()
    if page is None or page.token_invalid:
        return
    persona_id = ""
    agent = Agent.objects.select_related("user").filter(pk=agent_id).first() if agent_id else None
    if agent is not None:
        persona_id = personas.persona_for(
            page=page, agent=agent, timeout=personas.creation_timeout()
        )
    try:
        graph.send_sender_action(
            page=page, psid=psid, action=action, timeout=ACTION_TIMEOUT, persona_id=persona_id
        )
    except graph.GraphTimeout:
        logger.info("Sender action %s for Page %s: no answer in time", action, page_id)
    except graph.GraphError as error:
        logger.info("Sender action %s for Page %s refused: %s", action, page_id, error.error_code)


def forget_throttle() -> None:
    """Tests: start with no typing_on remembered."""
    with _lock:
        _typing_since.clear()
