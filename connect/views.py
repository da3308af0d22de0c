"""The agent desktop's HTTP side: thin views over routing services and selectors."""

import uuid

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from connect import fragments, messenger_fragments
from connect.http import HtmxHttpRequest
from routing import outbound_files, selectors, services
from routing.models import Agent, Interaction
from routing.services import RoutingError


async def healthz(request: HttpRequest) -> HttpResponse:
    """200 when the database and the channel layer answer, else 503 with which failed."""
    problems = []
    try:
        await sync_to_async(_ping_database)()
    except Exception as exc:  # any failure means unhealthy
        problems.append(f"database: {exc.__class__.__name__}")
    try:
        layer = get_channel_layer()
        channel = await layer.new_channel("healthz.")
        await layer.send(channel, {"type": "healthz"})
        await layer.receive(channel)
    except Exception as exc:
        problems.append(f"channel layer: {exc.__class__.__name__}")
    if problems:
        return HttpResponse("; ".join(problems), status=503, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")


def _ping_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _visible(agent: Agent, pk: int) -> tuple[Interaction | None, int]:
    """The interaction if this agent may see it, and when it was read (`fragments.read_stamp`)."""
    read_at = fragments.read_stamp()
    return selectors.visible_interaction(agent, pk), read_at


def agent_of(request: HttpRequest) -> Agent:
    """The agent the request's login is, or 404 for a login that is no agent."""
    agent = selectors.agent_for_user(request.user)
    if agent is None:
        raise Http404("This account is not an agent.")
    return agent


@login_required
@require_GET
def desktop(request: HttpRequest) -> HttpResponse:
    agent = selectors.agent_for_user(request.user)
    if agent is None:
        if request.user.is_staff:
            return redirect("admin:index")
        return render(request, "desktop/not_an_agent.html", status=403)
    selected, read_at = None, 0
    selected_id = request.GET.get("interaction", "").strip()
    if selected_id.isdigit():
        selected, read_at = _visible(agent, int(selected_id))
    return render(
        request, fragments.TEMPLATE, fragments.page_context(agent, selected, read_at=read_at)
    )


@login_required
@require_GET
def interaction_panel(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    agent = agent_of(request)
    interaction, read_at = _visible(agent, pk)
    if not request.htmx:
        return redirect(f"/?interaction={pk}")
    if interaction is None:
        return HttpResponse(
            fragments.gone(pk, "You cannot open this interaction.", oob=False), status=404
        )
    # Reading it is the POST the panel sends as it loads (`reads_on_open`).
    return HttpResponse(fragments.workspace(agent, interaction, request, read_at=read_at))


QUEUE_ACTIONS = {
    "pickup": lambda agent, pk, post: services.pickup(interaction_id=pk, agent=agent),
    "hold": lambda agent, pk, post: services.hold(interaction_id=pk, agent=agent),
    "record": lambda agent, pk, post: services.set_recording(
        interaction_id=pk, agent=agent, on=post.get("on") == "1"
    ),
    "disconnect": lambda agent, pk, post: services.disconnect(interaction_id=pk, agent=agent),
    "dismiss": lambda agent, pk, post: services.dismiss(interaction_id=pk, agent=agent),
    "after-contact-done": lambda agent, pk, post: services.end_after_contact(
        interaction_id=pk, agent=agent
    ),
    "wrap-up": lambda agent, pk, post: services.set_wrap_up(
        interaction_id=pk, agent=agent, wrap_up_code_id=_wrap_up_code_id(post)
    ),
}


# Actions whose answer also redraws the queue panel when the interaction was
# queued: a pickup from the queue takes it out. A pickup of an offer, and the
# other actions, cannot change the queue (what the ACD offers after a
# disconnect reaches the panel live, as every member's does).
QUEUE_CHANGING_ACTIONS = {"pickup"}


def _wrap_up_code_id(post) -> int:
    chosen = post.get("wrap_up_code", "").strip()
    if not chosen.isdigit():
        raise RoutingError("Choose a wrap-up code.")
    return int(chosen)


@login_required
@require_POST
def interaction_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    agent = agent_of(request)
    if action not in QUEUE_ACTIONS:
        raise Http404("No such action.")
    # Read before the action. Should the state change in between, every
    # member's live push of the queue brings the panel up to date.
    queue_too = action in QUEUE_CHANGING_ACTIONS and selectors.is_queued(pk)
    try:
        QUEUE_ACTIONS[action](agent, pk, request.POST)
    except RoutingError as refused:
        return _workspace_with_error(request, agent, pk, str(refused))
    return _after_change(request, agent, pk, queue_too=queue_too)


@login_required
@require_POST
def transfer(request: HttpRequest, pk: int) -> HttpResponse:
    agent = agent_of(request)
    target = request.POST.get("target", "")
    kind, _, target_id = target.partition(":")
    try:
        if not target_id.isdigit():
            raise RoutingError("Choose an agent or a workgroup to transfer to.")
        if kind == "agent":
            services.transfer_to_agent(interaction_id=pk, agent=agent, to_agent_id=int(target_id))
        elif kind == "workgroup":
            services.transfer_to_workgroup(
                interaction_id=pk, agent=agent, workgroup_id=int(target_id)
            )
        else:
            raise RoutingError("Choose an agent or a workgroup to transfer to.")
    except RoutingError as refused:
        return _workspace_with_error(request, agent, pk, str(refused))
    return _after_change(request, agent, pk)


@login_required
@require_GET
def transfer_dialog(request: HttpRequest, pk: int) -> HttpResponse:
    agent = agent_of(request)
    interaction = selectors.visible_interaction(agent, pk)
    if interaction is None:
        raise Http404("You cannot open this interaction.")
    return render(
        request,
        f"{fragments.TEMPLATE}#transfer_dialog",
        {
            "selected": interaction,
            "agents": selectors.transfer_targets(agent),
            "workgroups": selectors.transfer_workgroups(),
        },
    )


@login_required
@require_POST
def send_message(request: HttpRequest, pk: int) -> HttpResponse:
    """The composer's Send: its text and its files (multipart), each file a message of its own."""
    agent = agent_of(request)
    text = request.POST.get("text", "")
    try:
        client_id = uuid.UUID(request.POST.get("client_id", ""))
    except ValueError:
        client_id = None
    files = request.FILES.getlist("files")
    try:
        # Checked and kept on disk before any row is stored: a refused file stores nothing.
        kept = outbound_files.keep(files)
    except outbound_files.FileRefused as refused:
        return _composer_refused(
            request, agent, pk, text, str(refused), status=413 if refused.too_large else 422
        )
    try:
        messages = services.store_replies(
            interaction_id=pk, agent=agent, text=text, files=kept, client_id=client_id
        )
    except RoutingError as refused:
        outbound_files.forget(kept)
        reason = str(refused)
        if kept:
            reason = f"{reason} The files were not sent: attach them again."
        return _composer_refused(request, agent, pk, text, reason, status=422)
    body = fragments.composer(agent, messages[0].interaction, request)
    return HttpResponse(body + "".join(fragments.bubble(message) for message in messages))


def _composer_refused(
    request: HttpRequest, agent: Agent, pk: int, text: str, reason: str, *, status: int
) -> HttpResponse:
    interaction = selectors.visible_interaction(agent, pk)
    if interaction is None:
        return not_visible(pk)
    body = fragments.composer(agent, interaction, request, text=text, error=reason)
    return HttpResponse(body, status=status)


@login_required
@require_POST
def add_note(request: HttpRequest, pk: int) -> HttpResponse:
    """The composer's text becomes an internal note (never sent to the customer)."""
    agent = agent_of(request)
    text = request.POST.get("text", "")
    try:
        written = services.add_note(interaction_id=pk, agent=agent, text=text)
    except RoutingError as refused:
        interaction = selectors.visible_interaction(agent, pk)
        if interaction is None:
            return not_visible(pk)
        body = fragments.composer(agent, interaction, request, text=text, error=str(refused))
        return HttpResponse(body, status=422)
    interaction = selectors.visible_interaction(agent, pk)
    if interaction is None:  # moved on the instant after the note
        return HttpResponse(fragments.note(written))
    return HttpResponse(fragments.composer(agent, interaction, request) + fragments.note(written))


@login_required
@require_POST
def ask_for_help(request: HttpRequest, pk: int) -> HttpResponse:
    """The live board shows "Needs help" for this interaction until a supervisor answers."""
    agent = agent_of(request)
    try:
        interaction = services.ask_for_help(interaction_id=pk, agent=agent)
    except RoutingError as refused:
        if selectors.visible_interaction(agent, pk) is None:
            return not_visible(pk)
        return HttpResponse(fragments.refused(str(refused)), status=409)
    return HttpResponse(fragments.ask_for_help(interaction))


MESSAGE_ACTIONS = {
    "resend": services.resend,
    "retry": services.resend,
    "delete": services.delete_unsent,
}


@login_required
@require_POST
def message_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    agent = agent_of(request)
    if action not in MESSAGE_ACTIONS:
        raise Http404("No such action.")
    try:
        message = MESSAGE_ACTIONS[action](message_id=pk, agent=agent)
    except RoutingError as refused:
        if not selectors.message_visible(agent, pk):
            return HttpResponse(NOT_VISIBLE, status=404, content_type="text/plain")
        settled = fragments.settled_bubble(agent, pk)
        if settled:
            # Its echo settled it meanwhile: the fresh bubble shows it sent, without Retry.
            return HttpResponse(settled, status=409)
        return HttpResponse(fragments.refused(str(refused)), status=409)
    return HttpResponse(fragments.bubble(message, oob=False))


@login_required
@require_POST
def set_status(request: HttpRequest) -> HttpResponse:
    agent = agent_of(request)
    try:
        agent = services.set_agent_status(agent=agent, status=request.POST.get("status", ""))
    except RoutingError as refused:
        return HttpResponse(fragments.refused(str(refused)), status=422)
    return HttpResponse(fragments.status_picker(agent))


@login_required
@require_GET
def resync(request: HttpRequest) -> HttpResponse:
    """After the websocket reconnects: everything that may have changed meanwhile."""
    agent = agent_of(request)
    parts = [
        fragments.my_interactions(agent, oob=True),
        fragments.queue(agent, oob=True),
        fragments.status_picker(agent, oob=True),
        messenger_fragments.token_banner(agent, oob=True),
    ]
    selected_id = request.GET.get("interaction", "")
    if selected_id.isdigit():
        interaction, read_at = _visible(agent, int(selected_id))
        if interaction is None:
            parts.append(fragments.gone(int(selected_id), "This interaction is no longer yours."))
        else:
            parts.append(fragments.interaction_parts(agent, interaction, request, read_at=read_at))
            parts.append(fragments.transcript(agent, interaction, oob=True))
    return HttpResponse("".join(parts))


def _after_change(
    request: HttpRequest, agent: Agent, pk: int, *, queue_too: bool = True
) -> HttpResponse:
    """The workspace and the agent's list after an action; the queue panel too when the
    action may have changed it (`queue_too`)."""
    interaction, read_at = _visible(agent, pk)
    if interaction is None:
        body = fragments.gone(pk, fragments.gone_reason(pk), oob=False)
    else:
        body = fragments.workspace(agent, interaction, request, read_at=read_at)
    body += fragments.my_interactions(agent, oob=True)
    if queue_too:
        body += fragments.queue(agent, oob=True)
    return HttpResponse(body)


# One answer to whoever may not see an interaction, whether it is someone
# else's, in another state or gone: the precise reason (409) is for those who see it.
NOT_VISIBLE = "You cannot see this interaction."


def not_visible(pk: int) -> HttpResponse:
    return HttpResponse(fragments.gone(pk, NOT_VISIBLE, oob=False), status=404)


def _workspace_with_error(request: HttpRequest, agent: Agent, pk: int, error: str) -> HttpResponse:
    interaction, read_at = _visible(agent, pk)
    if interaction is None:
        return not_visible(pk)
    return HttpResponse(
        fragments.workspace(agent, interaction, request, action_error=error, read_at=read_at)
        + fragments.my_interactions(agent, oob=True),
        status=409,
    )
