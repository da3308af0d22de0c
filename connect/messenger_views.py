"""The desktop's Messenger extras over HTTP: kept attachment files, sender actions, and
taking a conversation over from another app (conversation routing).

Attachment copies are served only to people who may see the interaction
(never from a public media URL): the agent who has it on their desktop, or
staff with the `routing.view_message` permission (supervisors). Typing and
seen indicators go to Messenger off the request: the agent gets 204 at once,
and a failure is a log line.
"""

import logging
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET, require_POST

from connect import bubbles, views
from facebook import actions, thread_control
from routing import message_entries, selectors, transcript_selectors
from routing.models import Channel, Interaction, InteractionState
from routing.rules import reply_window
from routing.services import RoutingError
from routing.services.conversation_routing import MAX_REASON_LENGTH

logger = logging.getLogger(__name__)

TYPING_STATES = {"on": "typing_on", "off": "typing_off"}


@login_required
@require_GET
def attachment(request: HttpRequest, pk: int, index: int) -> FileResponse:
    """The kept copy of attachment `index` of message `pk`."""
    message = transcript_selectors.shown_message(pk)
    if message is None or not _may_see(request, message.interaction_id):
        raise Http404("No such attachment.")
    entries = message.attachments or []
    entry = entries[index] if 0 <= index < len(entries) else None
    copy = message_entries.kept_copy(entry)
    if not isinstance(entry, dict) or copy is None:
        raise Http404("No copy of this attachment was kept.")
    root = (Path(settings.MEDIA_ROOT) / "attachments").resolve()
    path = (Path(settings.MEDIA_ROOT) / str(copy.get("path", ""))).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise Http404("The kept copy of this attachment is missing.")
    kind = str(entry.get("type"))
    content_type = str(copy.get("content_type") or "")
    inline = bubbles.inline_type(kind, content_type)
    response = FileResponse(
        path.open("rb"),
        content_type=content_type if inline else "application/octet-stream",
        as_attachment=not inline,
        filename=_download_name(entry, path),
    )
    # A customer's file must never run as a page of ours.
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=86400"
    return response


def _may_see(request: HttpRequest, interaction_id: int) -> bool:
    user = request.user
    # Supervisors read every message in admin anyway; being staff alone is not enough.
    if user.is_staff and user.has_perm("routing.view_message"):
        return True
    agent = selectors.agent_for_user(user)
    return agent is not None and selectors.visible_interaction(agent, interaction_id) is not None


def _download_name(entry: dict, path: Path) -> str:
    title = str(entry.get("title") or "").strip()
    if title and "/" not in title and "\\" not in title:
        return title if Path(title).suffix else f"{title}{path.suffix}"
    return f"{entry.get('type') or 'attachment'}{path.suffix}"


def _replying(request: HttpRequest, pk: int) -> Interaction | HttpResponse:
    """The interaction when the agent may reply to it now; else a response saying why."""
    agent = selectors.agent_for_user(request.user)
    interaction = selectors.visible_interaction(agent, pk) if agent else None
    if agent is None or interaction is None:
        return HttpResponse("You cannot see this interaction.", status=404)
    if interaction.agent_id != agent.pk or interaction.state != InteractionState.CONNECTED:
        return HttpResponse("Only the connected agent's typing is shown.", status=409)
    if interaction.customer.channel == Channel.COMMENT:
        return HttpResponse("A comment has no conversation to show typing in.", status=409)
    if not reply_window(interaction.customer).open:
        return HttpResponse("The reply window is closed.", status=409)
    return interaction


def _sender_action(interaction: Interaction, action: str) -> HttpResponse:
    customer = interaction.customer
    # The connected agent's own action: it goes under their persona.
    actions.send_later(
        page_id=customer.page_id,
        psid=customer.psid,
        action=action,
        # Personas are Messenger's: on Instagram the Page itself is typing.
        agent_id=interaction.agent_id if customer.channel == Channel.MESSENGER else None,
    )
    return HttpResponse(status=204)


@login_required
@require_POST
def typing(request: HttpRequest, pk: int) -> HttpResponse:
    """POST state=on|off: the customer sees (or stops seeing) the Page typing."""
    action = TYPING_STATES.get(request.POST.get("state", "on"))
    if action is None:
        return HttpResponse("state is on or off.", status=400)
    interaction = _replying(request, pk)
    if isinstance(interaction, HttpResponse):
        return interaction
    return _sender_action(interaction, action)


@login_required
@require_POST
def seen(request: HttpRequest, pk: int) -> HttpResponse:
    """The agent has the conversation open: the customer sees their messages as seen."""
    interaction = _replying(request, pk)
    if isinstance(interaction, HttpResponse):
        return interaction
    return _sender_action(interaction, "mark_seen")


@login_required
@require_POST
def take_thread_control(request: HttpRequest, pk: int) -> HttpResponse:
    """POST reason=…: take the conversation from the app that controls it (a bot, the
    Page inbox), telling it why; the workspace comes back, with the words if it failed."""
    agent = views.agent_of(request)
    if selectors.visible_interaction(agent, pk) is None:
        return views.not_visible(pk)
    reason = request.POST.get("reason", "")
    if len(reason) > MAX_REASON_LENGTH:
        return HttpResponse(
            f"Keep the reason under {MAX_REASON_LENGTH} characters.",
            status=400,
            content_type="text/plain",
        )
    try:
        problem = thread_control.take_over(interaction_id=pk, agent=agent, reason=reason)
    except RoutingError as refused:
        problem = str(refused)
    if problem:
        return views._workspace_with_error(request, agent, pk, problem)
    return views._after_change(request, agent, pk)
