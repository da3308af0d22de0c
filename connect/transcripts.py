"""Reading conversations: older messages on demand, unread marks, the customer's past.

Access to a customer's past interactions goes through an interaction of that
customer the agent has on their desktop right now (theirs and not dismissed,
or waiting in their workgroup's queue): the URL names it and every request
checks it again, so the history closes as soon as that interaction is
transferred away or dismissed. Which of the customer's interactions the agent
may open is `selectors.interactions_visible_to`, the rule the history list
follows too.
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from connect.views import NOT_VISIBLE, agent_of
from facebook import selectors as facebook_selectors
from routing import selectors, services, transcript_selectors
from routing.models import Agent, Interaction
from routing.services import RoutingError

TEMPLATE = "desktop/_transcript.html"


def _visible(agent: Agent, pk: int) -> Interaction:
    interaction = selectors.visible_interaction(agent, pk)
    if interaction is None:
        raise Http404("You cannot open this interaction.")
    return interaction


def _before(request: HttpRequest) -> int | None:
    raw = request.GET.get("before", "").strip()
    return int(raw) if raw.isdigit() else None


def _older(request: HttpRequest, interaction: Interaction, url: str) -> HttpResponse:
    """The page of messages before `?before=`, with its own "Load older" button on top."""
    before = _before(request)
    if before is None:
        return HttpResponse("Say which message to load older messages before.", status=422)
    page = transcript_selectors.transcript_page(interaction, before_id=before)
    return render(request, f"{TEMPLATE}#older", {"page": page, "older_url": url})


@login_required
@require_GET
def older_messages(request: HttpRequest, pk: int) -> HttpResponse:
    agent = agent_of(request)
    interaction = _visible(agent, pk)
    return _older(request, interaction, reverse("older-messages", args=[pk]))


@login_required
@require_POST
def mark_read(request: HttpRequest, pk: int) -> HttpResponse:
    """The agent has the conversation in front of them: clear its unread mark."""
    agent = agent_of(request)
    up_to = request.POST.get("up_to", "").strip()
    try:
        services.mark_read_by_agent(
            interaction_id=pk, agent=agent, up_to_message_id=int(up_to) if up_to.isdigit() else None
        )
    except RoutingError as refused:
        if selectors.visible_interaction(agent, pk) is None:
            return HttpResponse(NOT_VISIBLE, status=404, content_type="text/plain")
        return HttpResponse(str(refused), status=409, content_type="text/plain")
    return HttpResponse(status=204)


@login_required
@require_GET
def past_interaction(request: HttpRequest, pk: int, past_pk: int) -> HttpResponse:
    """A read-only transcript of another interaction of the same customer."""
    agent = agent_of(request)
    current = _visible(agent, pk)
    if current.dismissed_at is not None:
        raise Http404("This interaction is no longer on your desktop.")
    past = selectors.past_interaction(current, past_pk, agent)
    if past is None:
        # 404 whether it does not exist or is not the agent's to see: never confirm it exists.
        raise Http404("This is not an earlier interaction of this customer.")
    url = reverse("past-interaction", args=[pk, past_pk])
    if "before" in request.GET:
        return _older(request, past, url)
    return render(
        request,
        f"{TEMPLATE}#past_dialog",
        {
            "past": past,
            "page": transcript_selectors.transcript_page(past),
            "older_url": url,
            "page_name": facebook_selectors.page_name(past.customer.page_id),
        },
    )
