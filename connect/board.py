"""The supervisors' live board: figures per workgroup, and a few actions on the floor.

Staff only. Watching needs `routing.view_interaction`; transferring or
disconnecting any interaction needs `routing.change_interaction` (given to
the Supervisors group for exactly this: admin itself never changes an
interaction); setting an agent's status needs `routing.change_agent`.
Every action goes through a routing verb. The page renders the same partial
the websocket (`connect.board_consumer`) pushes on every change.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from connect.http import AuthenticatedHttpRequest, HtmxHttpRequest
from facebook import selectors as facebook_selectors
from routing import board, selectors, services
from routing.rules import CHOOSABLE_STATUSES
from routing.services import RoutingError

TEMPLATE = "board/board.html"
SETTABLE_STATUSES = list(CHOOSABLE_STATUSES)


def may_watch(user) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and user.is_staff
        and user.has_perm("routing.view_interaction")
    )


def may_act_on_interactions(user) -> bool:
    return may_watch(user) and user.has_perm("routing.change_interaction")


def may_set_status(user) -> bool:
    return may_watch(user) and user.has_perm("routing.change_agent")


def supervisors_only(view):
    """Log in first; then staff with the board's permission, else 403 in words."""

    @login_required
    @wraps(view)
    def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not may_watch(request.user):
            return render(request, "board/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return checked


def board_context(user, *, now=None) -> dict:
    now = now or timezone.now()
    return {
        "figures": board.board(now=now),
        "now": now,
        "statuses": SETTABLE_STATUSES,
        "can_act": may_act_on_interactions(user),
        "can_set_status": may_set_status(user),
    }


def render_workgroups(user, *, oob: bool = False, request=None) -> str:
    """The live part of the board, as the page shows it and the websocket pushes it."""
    context = board_context(user)
    context["oob"] = oob
    return render_to_string(f"{TEMPLATE}#workgroups", context, request=request)


def notice(text: str, *, error: bool = False) -> str:
    return render_to_string(f"{TEMPLATE}#notice", {"text": text, "error": error, "oob": True})


def after_action(request: HtmxHttpRequest, done: str) -> HttpResponse:
    if not request.htmx:
        return redirect("board")
    return HttpResponse(notice(done) + render_workgroups(request.user, oob=True, request=request))


def refused(request: HttpRequest, reason: str, status: int) -> HttpResponse:
    return HttpResponse(notice(reason, error=True), status=status)


@supervisors_only
@require_GET
def board_page(request: HttpRequest) -> HttpResponse:
    context = board_context(request.user)
    context["is_agent"] = selectors.agent_for_user(request.user) is not None
    context["time_zone"] = timezone.get_current_timezone_name()
    context["page_health"] = facebook_selectors.pages_health()
    return render(request, TEMPLATE, context)


@supervisors_only
@require_GET
def transfer_dialog(request: HttpRequest, pk: int) -> HttpResponse:
    if not may_act_on_interactions(request.user):
        return refused(request, "You may not transfer interactions.", 403)
    interaction = selectors.interaction_by_id(pk)
    if interaction is None:
        raise Http404("This interaction no longer exists.")
    return render(
        request,
        f"{TEMPLATE}#transfer_dialog",
        {
            "interaction": interaction,
            "agents": board.transfer_choices(),
            "workgroups": selectors.workgroups(),
        },
    )


@supervisors_only
@require_POST
def transfer(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    if not may_act_on_interactions(request.user):
        return refused(request, "You may not transfer interactions.", 403)
    kind, _, target_id = request.POST.get("target", "").partition(":")
    if kind not in ("agent", "workgroup") or not target_id.isdigit():
        return refused(request, "Choose an agent or a workgroup to transfer to.", 422)
    try:
        if kind == "agent":
            done = services.supervisor_transfer_to_agent(
                interaction_id=pk, supervisor_user_id=request.user.pk, to_agent_id=int(target_id)
            )
            assert done.agent is not None, "the interaction rings the agent it went to"
            words = f"Offered to {done.agent.display_name}."
        else:
            done = services.supervisor_transfer_to_workgroup(
                interaction_id=pk,
                supervisor_user_id=request.user.pk,
                workgroup_id=int(target_id),
            )
            words = f"Waiting in the {done.workgroup.name} queue."
    except RoutingError as why:
        return refused(request, str(why), 409)
    return after_action(request, f"{done.customer.display_name}: {words}")


@supervisors_only
@require_POST
def disconnect(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    if not may_act_on_interactions(request.user):
        return refused(request, "You may not disconnect interactions.", 403)
    try:
        done = services.supervisor_disconnect(
            interaction_id=pk, supervisor_user_id=request.user.pk, reason="from the live board"
        )
    except RoutingError as why:
        return refused(request, str(why), 409)
    return after_action(request, f"{done.customer.display_name}: disconnected.")


@supervisors_only
@require_POST
def set_status(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    if not may_set_status(request.user):
        return refused(request, "You may not change agents' status.", 403)
    agent = selectors.agent_by_id(pk)
    if agent is None:
        return refused(request, "That agent does not exist.", 404)
    try:
        agent = services.set_agent_status(agent=agent, status=request.POST.get("status", ""))
    except RoutingError as why:
        return refused(request, str(why), 422)
    return after_action(request, f"{agent.display_name} is now {agent.get_status_display()}.")
