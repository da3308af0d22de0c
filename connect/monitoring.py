"""A supervisor on one live interaction, from the live board: monitor, coach, take over.

Monitoring opens a read-only view that the board's socket keeps live (it joins
the interaction's group, as a member's desktop does for one it looks at);
nobody else is told. Coaching reaches the agent's desktop only. Taking over
makes it the supervisor's, connected, on their own desktop at `/`. Each is a
routing verb, and an event row.
"""

from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from connect.board import (
    TEMPLATE,
    may_act_on_interactions,
    notice,
    refused,
    supervisors_only,
)
from connect.http import AuthenticatedHttpRequest
from routing import selectors, services, transcript_selectors
from routing.services import RoutingError


@supervisors_only
@require_GET
def monitor(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    try:
        services.monitor(interaction_id=pk, supervisor_user_id=request.user.pk)
    except RoutingError as gone:
        return refused(request, str(gone), 409)
    interaction = selectors.interaction_by_id(pk)
    if interaction is None:
        return refused(request, "This interaction no longer exists.", 404)
    return render(
        request,
        f"{TEMPLATE}#monitor_dialog",
        {
            "interaction": interaction,
            "page": transcript_selectors.transcript_page(interaction),
            "can_act": may_act_on_interactions(request.user),
        },
    )


@supervisors_only
@require_POST
def coach(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    if not may_act_on_interactions(request.user):
        return refused(request, "You may not coach agents.", 403)
    try:
        row = services.coach(
            interaction_id=pk, supervisor_user_id=request.user.pk, text=request.POST.get("text", "")
        )
    except RoutingError as why:
        return refused(request, str(why), 409)
    interaction = row.interaction
    agent = interaction.agent.display_name if interaction.agent else "the agent"
    return HttpResponse(notice(f"Coaching sent to {agent} ({interaction.customer.display_name})."))


@supervisors_only
@require_POST
def take_over(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    if not may_act_on_interactions(request.user):
        return refused(request, "You may not take interactions over.", 403)
    try:
        services.take_over(
            interaction_id=pk,
            supervisor_user_id=request.user.pk,
            reason=request.POST.get("reason", ""),
        )
    except RoutingError as why:
        return refused(request, str(why), 409)
    # It is on the supervisor's own desktop now.
    desktop = f"{reverse('desktop')}?interaction={pk}"
    return HttpResponse(
        notice("Taken over: opening your desktop…"), headers={"HX-Redirect": desktop}
    )
