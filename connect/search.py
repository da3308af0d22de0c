"""Finding any past conversation: `/search/` and the read-only transcript opened at the match.

Thin: the query string becomes a `ConversationQuery`, the reads are
`routing.search_selectors`, which only ever look inside
`selectors.interactions_visible_to`. From the desktop's top bar everything
opens in a dialog (htmx), so the desktop and its live socket stay; without
htmx the same partials make whole pages.
"""

from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from connect.http import HtmxHttpRequest
from connect.views import agent_of
from facebook import selectors as facebook_selectors
from routing import search_selectors, selectors, transcript_selectors
from routing.models import Agent, Interaction
from routing.search_selectors import MAX_QUERY_LENGTH, ConversationQuery

TEMPLATE = "desktop/_search.html"
# The query string a result and its transcript carry, to go back to the results.
SEARCH_FIELDS = ("q", "from", "to", "workgroup", "page")


class BadSearch(ValueError):
    """The query cannot be searched; the message says why, in words."""


def _day(given: str, field: str) -> date | None:
    given = given.strip()
    if not given:
        return None
    try:
        return date.fromisoformat(given)
    except ValueError:
        raise BadSearch(f"Write the {field} date as YYYY-MM-DD, for example 2025-03-10.") from None


def parse_query(params: QueryDict, workgroup_ids: set[int]) -> ConversationQuery:
    text = params.get("q", "").strip()
    if not text:
        raise BadSearch("Type a name, a PSID or words from the conversation to search for.")
    if len(text) > MAX_QUERY_LENGTH:
        raise BadSearch(f"Search for at most {MAX_QUERY_LENGTH} characters.")
    if not search_selectors.search_terms(text):
        raise BadSearch("Search for letters or digits: punctuation alone matches nothing.")
    start = _day(params.get("from", ""), "first")
    end = _day(params.get("to", ""), "last")
    if start and end and end < start:
        raise BadSearch("The last date comes before the first date.")
    workgroup = params.get("workgroup", "").strip()
    if workgroup and not (workgroup.isdigit() and int(workgroup) in workgroup_ids):
        raise BadSearch("Choose one of your workgroups, or all of them.")
    return ConversationQuery(
        text=text, start=start, end=end, workgroup_id=int(workgroup) if workgroup else None
    )


def _results_query(params: QueryDict) -> str:
    return urlencode([(key, params[key]) for key in SEARCH_FIELDS if params.get(key)])


@dataclass(frozen=True)
class SearchForm:
    given: QueryDict
    workgroups: list
    results_query: str


@login_required
@require_GET
def search(request: HtmxHttpRequest) -> HttpResponse:
    agent = agent_of(request)
    workgroups = list(selectors.agent_workgroups(agent))
    context: dict[str, object] = {
        "form": SearchForm(request.GET, workgroups, _results_query(request.GET)),
        "max_length": MAX_QUERY_LENGTH,
        "in_dialog": bool(request.htmx),
    }
    template = f"{TEMPLATE}#results_dialog" if request.htmx else "desktop/search.html"
    if "q" not in request.GET:
        return render(request, template, context)
    try:
        query = parse_query(request.GET, {workgroup.pk for workgroup in workgroups})
    except BadSearch as bad:
        context["error"] = str(bad)
        # 422 for htmx: the dialog swaps in with the words (htmx leaves a 400 unswapped).
        return render(request, template, context, status=422 if request.htmx else 400)
    page = Paginator(
        search_selectors.search_conversations(agent, query), search_selectors.RESULTS_PER_PAGE
    ).get_page(request.GET.get("page"))
    context.update(
        page=page, hits=search_selectors.search_hits(list(page.object_list), query.terms)
    )
    return render(request, template, context)


def _readable(agent: Agent, pk: int) -> Interaction:
    interaction = search_selectors.searchable_interaction(agent, pk)
    if interaction is None:
        # The same words whether it does not exist or is not the agent's to see.
        raise Http404("You cannot open this interaction.")
    return interaction


@login_required
@require_GET
def transcript(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The read-only transcript of a result, opened at the matching message or note."""
    agent = agent_of(request)
    interaction = _readable(agent, pk)
    window = search_selectors.transcript_around(interaction, request.GET.get("at", ""))
    if window is None:
        window = search_selectors.TranscriptWindow(
            page=transcript_selectors.transcript_page(interaction), has_newer=False, marked=""
        )
    context = {
        "past": interaction,
        "window": window,
        "page": window.page,
        "older_url": reverse("search-older", args=[pk]),
        "page_name": facebook_selectors.page_name(interaction.customer.page_id),
        "results_url": f"{reverse('search')}?{_results_query(request.GET)}",
        "in_dialog": bool(request.htmx),
    }
    template = f"{TEMPLATE}#transcript_dialog" if request.htmx else "desktop/search_transcript.html"
    return render(request, template, context)


def _message_id(request: HtmxHttpRequest, name: str) -> int | None:
    raw = request.GET.get(name, "").strip()
    return int(raw) if raw.isdigit() else None


@login_required
@require_GET
def older(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    interaction = _readable(agent_of(request), pk)
    before = _message_id(request, "before")
    if before is None:
        return HttpResponse("Say which message to load older messages before.", status=422)
    context = {
        "page": transcript_selectors.transcript_page(interaction, before_id=before),
        "older_url": reverse("search-older", args=[pk]),
    }
    return render(request, "desktop/_transcript.html#older", context)


@login_required
@require_GET
def newer(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    interaction = _readable(agent_of(request), pk)
    after = _message_id(request, "after")
    if after is None:
        return HttpResponse("Say which message to load newer messages after.", status=422)
    window = search_selectors.transcript_after(interaction, after_id=after)
    context = {"window": window, "page": window.page, "past": interaction}
    return render(request, f"{TEMPLATE}#newer", context)
