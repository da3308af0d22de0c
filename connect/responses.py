"""Stored responses in the composer: the picker, `/shortcut` suggestions, favourites, My Responses.

Responses come back with their macros already filled for the interaction
they will be inserted into, so the browser only places text; it never sends.
"""

import mimetypes
from typing import Protocol, cast

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from connect.views import agent_of
from facebook import selectors as facebook_selectors
from routing import response_selectors, rules, selectors, services
from routing.models import Agent, Interaction, StoredResponse
from routing.services import RoutingError

TEMPLATE = "desktop/_responses.html"
# The picker lists at most this many at once; search narrows down the rest.
PICKER_LIMIT = 50


def _interaction(request: HttpRequest, agent: Agent) -> Interaction:
    raw = (request.GET.get("interaction") or request.POST.get("interaction") or "").strip()
    interaction = selectors.visible_interaction(agent, int(raw)) if raw.isdigit() else None
    if interaction is None:
        raise Http404("Open an interaction of yours to use stored responses.")
    return interaction


class _Filled(Protocol):
    """What `_fill` adds to each StoredResponse for the templates."""

    filled_text: str  # the text with its macros filled for the interaction
    label_list: list[str]


def _fill(found: list[StoredResponse], agent: Agent, interaction: Interaction) -> None:
    page_name = facebook_selectors.page_name(interaction.customer.page_id)
    agent_first_name = agent.user.first_name or agent.display_name
    for response in found:
        filled = cast(_Filled, response)
        filled.filled_text = services.fill_macros(
            response.text,
            customer_first_name=interaction.customer.first_name,
            agent_first_name=agent_first_name,
            page_name=page_name,
        )
        filled.label_list = [label.strip() for label in response.labels.split(",") if label]


def _category_id(request: HttpRequest) -> int | None:
    raw = (request.GET.get("category") or request.POST.get("category") or "").strip()
    return int(raw) if raw.isdigit() else None


def _results(request: HttpRequest, agent: Agent, interaction: Interaction, **extra) -> dict:
    query = (request.GET.get("q") or request.POST.get("q") or "").strip()[:200]
    found = response_selectors.search_responses(
        agent.user, query=query, category_id=_category_id(request), limit=PICKER_LIMIT
    )
    _fill(found.responses, agent, interaction)
    return {
        "responses": found.responses,
        "total": found.total,
        "query": query,
        "selected": interaction,
        **extra,
    }


@login_required
@require_GET
def picker(request: HttpRequest) -> HttpResponse:
    """The picker's body, loaded when it first opens: search, library filter, results."""
    agent = agent_of(request)
    interaction = _interaction(request, agent)
    context = _results(request, agent, interaction)
    context["categories"] = response_selectors.response_categories(agent.user)
    return render(request, f"{TEMPLATE}#picker_body", context)


@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    agent = agent_of(request)
    interaction = _interaction(request, agent)
    return render(request, f"{TEMPLATE}#results", _results(request, agent, interaction))


@login_required
@require_GET
def suggest(request: HttpRequest) -> HttpResponse:
    """Responses whose shortcut matches what follows `/` in the composer."""
    agent = agent_of(request)
    interaction = _interaction(request, agent)
    typed = request.GET.get("typed", "").strip()[:40]
    found = response_selectors.shortcut_matches(agent.user, typed)
    _fill(found, agent, interaction)
    return render(
        request,
        f"{TEMPLATE}#suggestions",
        {"responses": found, "typed": typed, "selected": interaction},
    )


@login_required
@require_POST
def favourite(request: HttpRequest, pk: int) -> HttpResponse:
    """Star or unstar; answers the picker's results re-ordered (favourites first)."""
    agent = agent_of(request)
    interaction = _interaction(request, agent)
    try:
        services.set_favourite(user=agent.user, response_id=pk, on=request.POST.get("on") == "1")
    except RoutingError as refused:
        raise Http404(str(refused)) from None
    return render(request, f"{TEMPLATE}#results", _results(request, agent, interaction))


@login_required
@require_POST
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    agent = agent_of(request)
    interaction = _interaction(request, agent)
    error = ""
    try:
        services.delete_my_response(user=agent.user, response_id=pk)
    except RoutingError as refused:
        error = str(refused)
    context = _results(request, agent, interaction, error=error)
    return render(request, f"{TEMPLATE}#results", context, status=409 if error else 200)


def _my_categories(agent: Agent) -> list[str]:
    return [
        category.name
        for category in response_selectors.response_categories(agent.user)
        if category.library.owner_id == agent.user_id
    ]


@login_required
@require_POST
def new(request: HttpRequest) -> HttpResponse:
    """The "Save as response" dialog, holding the composer's text.

    A POST: the draft is in the body, never in a URL that access logs keep.
    """
    agent = agent_of(request)
    text = request.POST.get("text", "")[: rules.MAX_TEXT_LENGTH]
    return render(
        request,
        f"{TEMPLATE}#save_dialog",
        {"form": {"text": text}, "my_categories": _my_categories(agent)},
    )


@login_required
@require_POST
def save(request: HttpRequest) -> HttpResponse:
    agent = agent_of(request)
    fields = {
        name: request.POST.get(name, "")
        for name in ("name", "shortcut", "labels", "category", "text")
    }
    try:
        saved = services.save_my_response(user=agent.user, **fields)
    except RoutingError as refused:
        context = {"form": fields, "error": str(refused), "my_categories": _my_categories(agent)}
        return render(request, f"{TEMPLATE}#save_dialog", context, status=422)
    return render(request, f"{TEMPLATE}#saved", {"saved": saved})


@login_required
@require_GET
def response_file(request: HttpRequest, pk: int) -> FileResponse:
    """The file a stored response carries, for the composer to attach as the agent inserts it."""
    agent = agent_of(request)
    found = response_selectors.with_file(agent.user, pk)
    if found is None:
        raise Http404("This stored response has no file.")
    try:
        handle = found.file.open("rb")
    except FileNotFoundError:
        raise Http404("The file of this stored response is missing.") from None
    content_type = mimetypes.guess_type(found.file_name)[0] or "application/octet-stream"
    response = FileResponse(
        handle, as_attachment=True, filename=found.file_name, content_type=content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
