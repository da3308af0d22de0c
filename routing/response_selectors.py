"""Read paths for stored responses: what a user may see, searched, by /shortcut, by category.

One rule decides what a user may see (`visible_to`): the shared libraries and
their own "My Responses". The services that change responses use it too.
"""

from dataclasses import dataclass

from django.db.models import (
    BooleanField,
    Case,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)

from routing.models import FavouriteResponse, ResponseCategory, StoredResponse


def library_visible_to(user) -> Q:
    """Libraries a user may see, as a filter on `library__`: shared ones and their own."""
    return Q(library__owner__isnull=True) | Q(library__owner=user)


def visible_to(user) -> QuerySet[StoredResponse]:
    """The stored responses a user may see and use."""
    return StoredResponse.objects.filter(
        Q(category__library__owner__isnull=True) | Q(category__library__owner=user)
    )


def with_file(user, pk: int) -> StoredResponse | None:
    """A stored response the user may see that carries a file; None otherwise."""
    found = visible_to(user).filter(pk=pk).first()
    return found if found is not None and found.file else None


@dataclass(frozen=True)
class ResponseResults:
    responses: list[StoredResponse]  # annotated with is_favourite and is_mine
    total: int  # how many matched before the limit


def visible_responses(user) -> QuerySet[StoredResponse]:
    """Shared responses and the user's own, marked as favourite and as theirs."""
    return (
        visible_to(user)
        .select_related("category__library")
        .annotate(
            is_favourite=Exists(
                FavouriteResponse.objects.filter(user=user, response=OuterRef("pk"))
            ),
            is_mine=Case(
                When(category__library__owner=user, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
        )
    )


def search_responses(
    user, *, query: str = "", category_id: int | None = None, limit: int = 50
) -> ResponseResults:
    """Full-text search over name, shortcut, labels and text; favourites first.

    Every word must match somewhere (case-insensitive); a leading `/` is a
    shortcut as typed in the composer. Exact and prefix shortcut matches, then
    name matches, rank above matches in the text.
    """
    responses = visible_responses(user)
    if category_id is not None:
        responses = responses.filter(category_id=category_id)
    words = [word.lstrip("/") for word in query.split()]
    words = [word for word in words if word]
    for word in words:
        responses = responses.filter(
            Q(name__icontains=word)
            | Q(shortcut__icontains=word)
            | Q(labels__icontains=word)
            | Q(text__icontains=word)
        )
    first = words[0] if words else ""
    rank = Case(
        When(shortcut__iexact=first, then=Value(0)),
        When(shortcut__istartswith=first, then=Value(1)),
        When(name__istartswith=first, then=Value(2)),
        When(name__icontains=first, then=Value(3)),
        When(labels__icontains=first, then=Value(4)),
        default=Value(5),
        output_field=IntegerField(),
    )
    ordered = responses.annotate(rank=rank if first else Value(0)).order_by(
        F("is_favourite").desc(),
        "rank",
        F("category__library__owner").asc(nulls_first=True),
        "category__library__name",
        "category__name",
        "name",
        "pk",
    )
    return ResponseResults(responses=list(ordered[:limit]), total=responses.count())


def shortcut_matches(user, typed: str, *, limit: int = 8) -> list[StoredResponse]:
    """Responses offered for `/typed` in the composer: exact, then prefix, then the rest."""
    typed = typed.strip().lstrip("/")
    responses = visible_responses(user).exclude(shortcut="")
    if typed:
        responses = responses.filter(
            Q(shortcut__icontains=typed) | Q(name__istartswith=typed)
        ).annotate(
            rank=Case(
                When(shortcut__iexact=typed, then=Value(0)),
                When(shortcut__istartswith=typed, then=Value(1)),
                When(name__istartswith=typed, then=Value(2)),
                default=Value(3),
                output_field=IntegerField(),
            )
        )
    else:
        responses = responses.annotate(rank=Value(0))
    return list(responses.order_by("rank", F("is_favourite").desc(), "shortcut", "pk")[:limit])


def response_categories(user) -> list[ResponseCategory]:
    """Categories the user can browse: shared libraries first, then their own."""
    return list(
        ResponseCategory.objects.filter(library_visible_to(user))
        .select_related("library")
        .order_by(F("library__owner").asc(nulls_first=True), "library__name", "name")
    )
