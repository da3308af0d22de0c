"""Conversation routing (Meta's handover protocol) on our side.

A Page may have several apps answering it: a bot, the Page inbox, us. One of
them controls a conversation at a time; Meta refuses the others' sends with
code 2018300. Here: an agent takes a conversation over (`take_thread_control`,
with their reason as metadata); a disconnected conversation goes back to the
Page's primary app when one is set (`pass_thread_control`); the handover
events Meta posts, and the names the desktop shows for the apps. Routing keeps
who controls the conversation (`services.record_thread_owner`).
"""

import logging

from django.conf import settings
from django.utils import timezone

from facebook import graph, pages
from facebook.background import BackgroundPool
from facebook.models import FacebookPage
from facebook.parsing import Handover
from facebook.selectors import app_name
from routing import services
from routing.events import EventType, RoutingEvent, routing_event
from routing.models import Agent, Interaction, InteractionState
from routing.services.conversation_routing import MAX_REASON_LENGTH, UNKNOWN_APP

logger = logging.getLogger(__name__)

# Disconnects pass control back off the request.
pool = BackgroundPool("facebook-thread-control", max_workers=2)


# --- an agent takes the conversation over ------------------------------------------


def take_over(*, interaction_id: int, agent: Agent, reason: str) -> str:
    """Take control of the conversation from whichever app has it; "" when done, else
    the words that say why not. Raises RoutingError when the interaction is not the
    agent's to take (not theirs, not picked up)."""
    reason = " ".join(reason.split())[:MAX_REASON_LENGTH]
    interaction = services.check_may_take_thread(interaction_id=interaction_id, agent_id=agent.pk)
    customer = interaction.customer
    page = FacebookPage.objects.filter(page_id=customer.page_id).first()
    if page is None:
        return f"The Facebook Page {customer.page_id} is no longer set up here."
    previous = customer.thread_owner_app_id
    try:
        graph.take_thread_control(
            page=page,
            psid=customer.psid,
            metadata=reason,
            timeout=settings.FACEBOOK_SEND_TIMEOUT,
        )
    except graph.GraphTimeout as timeout:
        return f"Messenger did not answer within {timeout.seconds:g} s: try Take over again."
    except graph.GraphError as error:
        if error.kind == graph.ErrorKind.TOKEN_INVALID:
            pages.mark_token_invalid(page)
        return f"Could not take the conversation over: {error.reason}."
    words = f"{agent.display_name} took the conversation over from {app_name(previous, page)}"
    services.record_thread_owner(
        page_id=page.page_id,
        psid=customer.psid,
        owner_app_id="",
        action="take",
        at=timezone.now(),
        words=f"{words}: {reason}" if reason else f"{words}.",
        actor=agent.user,
        detail={"reason": reason, "previous_owner_app_id": previous},
    )
    return ""


# --- a disconnected conversation goes back to the primary app -----------------------


def on_routing_event(sender, event: RoutingEvent, **kwargs) -> None:
    if (
        event.type == EventType.INTERACTION_CHANGED
        and event.state == InteractionState.DISCONNECTED
        and event.previous_state != InteractionState.DISCONNECTED
        and event.interaction_id is not None
    ):
        pool.submit(pass_back, event.interaction_id)


routing_event.connect(on_routing_event, dispatch_uid="facebook.thread_control")


def pass_back(interaction_id: int) -> None:
    """Pass the conversation to the Page's primary app, when it has one and no other
    app controls the conversation already."""
    interaction = Interaction.objects.select_related("customer").filter(pk=interaction_id).first()
    if interaction is None:
        return
    customer = interaction.customer
    page = FacebookPage.objects.filter(page_id=customer.page_id).first()
    if page is None or not page.primary_app_id or page.token_invalid:
        return
    if customer.thread_owner_app_id not in ("", settings.FACEBOOK_APP_ID):
        return  # another app has it already: nothing of ours to pass
    target = page.primary_app_id
    try:
        graph.pass_thread_control(
            page=page,
            psid=customer.psid,
            target_app_id=target,
            metadata="The agent ended the conversation",
            timeout=settings.FACEBOOK_SEND_TIMEOUT,
        )
    except (graph.GraphError, graph.GraphTimeout) as failure:
        reason = failure.reason if isinstance(failure, graph.GraphError) else str(failure)
        logger.info("Passing %s back to app %s failed: %s", customer.psid, target, reason)
        services.record_thread_owner(
            page_id=page.page_id,
            psid=customer.psid,
            owner_app_id=None,
            action="pass_failed",
            at=timezone.now(),
            words=f"Could not pass the conversation back to {app_name(target, page)}: {reason}",
            detail={"target_app_id": target},
        )
        return
    services.record_thread_owner(
        page_id=page.page_id,
        psid=customer.psid,
        owner_app_id=target,
        action="pass",
        at=timezone.now(),
        words=f"The conversation went back to {app_name(target, page)} when it ended.",
        detail={"target_app_id": target},
    )


def wait_for_idle(timeout: float = 30.0) -> bool:
    return pool.wait_for_idle(timeout)


# --- the handover events Meta posts -------------------------------------------------


def handover_words(page: FacebookPage, event: Handover) -> tuple[str | None, str]:
    """(the owner after the event: "" for us, None when unchanged; the words shown)."""
    ours = settings.FACEBOOK_APP_ID
    if event.action == "request":
        who = app_name(event.requested_owner_app_id, page)
        words = f"{who[0].upper()}{who[1:]} asks for the conversation"
        return None, f"{words}: {event.metadata}" if event.metadata else f"{words}."
    # Meta's take event to the app that lost control may not name the taker.
    new_owner = event.new_owner_app_id or UNKNOWN_APP
    if ours and new_owner == ours:
        owner = ""
        words = "The conversation was passed to this desktop"
        if event.previous_owner_app_id:
            words += f" by {app_name(event.previous_owner_app_id, page)}"
    else:
        owner = new_owner or UNKNOWN_APP
        who = app_name(owner, page)
        verb = "took the conversation" if event.action == "take" else "now has the conversation"
        words = f"{who[0].upper()}{who[1:]} {verb}"
    return owner, f"{words}: {event.metadata}" if event.metadata else f"{words}."
