"""Messenger personas: replies and typing go out under the agent's name and picture.

Each agent gets one persona per Page, created through the Graph API on first
use and kept in `MessengerPersona`. A persona is a courtesy: its creation is
bounded by a short timeout, and when it fails (Meta refuses, no answer, no
`PUBLIC_BASE_URL` for the picture) the reply goes out under the Page alone,
the error is logged and shown in admin, and a later reply tries again (not
before RETRY_AFTER). One creation at a time per Page and agent, across
processes: a caller that finds another one creating goes on without waiting.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError
from django.db.models import F, Q
from django.templatetags.static import static
from django.utils import timezone

from facebook import graph
from facebook.models import FacebookPage, MessengerPersona
from routing.models import Agent

logger = logging.getLogger(__name__)

# At most this long, and at most this share of the send timeout, is spent
# creating a persona before a reply.
CREATE_TIMEOUT = 2.0
SEND_TIMEOUT_SHARE = 0.4
# After a failed creation, replies go out without a persona for this long
# before the next try, so a Graph outage costs one short wait, not one per reply.
RETRY_AFTER = timedelta(seconds=30)
DEFAULT_PICTURE = "personas/agent.png"
NO_PUBLIC_URL = "PUBLIC_BASE_URL is not set: Meta needs a public address for the picture."


def persona_name(agent: Agent) -> str:
    """What the customer reads beside the Page's name: the agent's first name."""
    return (agent.user.first_name or agent.display_name).strip()[:200]


def picture_url() -> str:
    """The persona's picture, as an absolute URL Meta can fetch; "" without PUBLIC_BASE_URL.

    Agents have no picture of their own: every persona shows the default one.
    """
    if not settings.PUBLIC_BASE_URL:
        return ""
    return settings.PUBLIC_BASE_URL + static(DEFAULT_PICTURE)


def creation_timeout() -> float:
    return min(CREATE_TIMEOUT, SEND_TIMEOUT_SHARE * settings.FACEBOOK_SEND_TIMEOUT)


def persona_for_user(*, page: FacebookPage, user_id: int | None, timeout: float) -> str:
    """The persona id to send under for the agent with login `user_id`; "" for none."""
    if not page.personas_enabled or user_id is None:
        return ""
    agent = Agent.objects.select_related("user").filter(user_id=user_id).first()
    if agent is None:
        return ""
    return persona_for(page=page, agent=agent, timeout=timeout)


def persona_for(*, page: FacebookPage, agent: Agent, timeout: float) -> str:
    """The agent's persona on `page`, created now if need be; "" when there is none.

    Never raises for a Graph API failure, and waits at most `timeout`.
    """
    if not page.personas_enabled:
        return ""
    name, picture = persona_name(agent), picture_url()
    persona = _row(page, agent)
    if persona.persona_id and persona.name == name and persona.picture_url == picture:
        return persona.persona_id
    now = timezone.now()
    if not picture:
        if persona.last_error != NO_PUBLIC_URL:
            _failed(persona, NO_PUBLIC_URL, now=now)
        return ""
    if persona.last_error and persona.attempted_at and now - persona.attempted_at < RETRY_AFTER:
        return ""
    claimed = (
        MessengerPersona.objects.filter(pk=persona.pk)
        .filter(Q(creating_until__isnull=True) | Q(creating_until__lt=now))
        .update(creating_until=now + timedelta(seconds=timeout + 1), attempted_at=now)
    )
    if not claimed:
        return ""  # another reply is creating it right now: this one goes without
    try:
        persona_id = graph.create_persona(
            page=page, name=name, picture_url=picture, timeout=timeout
        )
    except graph.GraphTimeout as timed_out:
        _failed(persona, str(timed_out), now=now)
        return ""
    except graph.GraphError as error:
        _failed(persona, f"{error.error_code}: {error.reason}", now=now)
        return ""
    MessengerPersona.objects.filter(pk=persona.pk).update(
        persona_id=persona_id,
        name=name,
        picture_url=picture,
        created_at=timezone.now(),
        creating_until=None,
        failures=0,
        last_error="",
    )
    logger.info("Created persona %s for agent %s on Page %s", persona_id, agent.pk, page.page_id)
    return persona_id


def _row(page: FacebookPage, agent: Agent) -> MessengerPersona:
    try:
        persona, _ = MessengerPersona.objects.get_or_create(page=page, agent=agent)
    except IntegrityError:  # made by another thread between the get and the create
        persona = MessengerPersona.objects.get(page=page, agent=agent)
    return persona


def _failed(persona: MessengerPersona, reason: str, *, now) -> None:
    logger.warning(
        "No persona for agent %s on Page %s: %s", persona.agent_id, persona.page_id, reason
    )
    MessengerPersona.objects.filter(pk=persona.pk).update(
        last_error=reason[:300],
        attempted_at=now,
        creating_until=None,
        failures=F("failures") + 1,
    )
