"""Stored responses: an agent's own "My Responses", favourites, and macros.

Shared libraries are kept by supervisors in admin; an agent changes only
their own library and their own favourites, through these functions.
"""

import re

from django.db import transaction
from django.utils.text import slugify

from routing import response_selectors
from routing.models import FavouriteResponse, ResponseCategory, ResponseLibrary, StoredResponse
from routing.rules import MAX_TEXT_LENGTH
from routing.services.kernel import RoutingError

MY_LIBRARY = "My Responses"
DEFAULT_CATEGORY = "General"

MACROS = ("customer.first_name", "agent.first_name", "page.name")
_MACRO = re.compile(r"\{(" + "|".join(re.escape(name) for name in MACROS) + r")\}")


def fill_macros(
    text: str, *, customer_first_name: str, agent_first_name: str, page_name: str
) -> str:
    """Replace the known macros; unknown braces stay as typed.

    A customer without a known first name is greeted as "there" ("Hi there").
    """
    values = {
        "customer.first_name": customer_first_name.strip() or "there",
        "agent.first_name": agent_first_name.strip(),
        "page.name": page_name.strip(),
    }
    return _MACRO.sub(lambda match: values[match.group(1)], text)


def set_favourite(*, user, response_id: int, on: bool) -> StoredResponse:
    """Star or unstar a response the user can see. Idempotent."""
    with transaction.atomic():
        response = response_selectors.visible_to(user).filter(pk=response_id).first()
        if response is None:
            raise RoutingError("This stored response does not exist.")
        if on:
            FavouriteResponse.objects.get_or_create(user=user, response=response)
        else:
            FavouriteResponse.objects.filter(user=user, response=response).delete()
    return response


def save_my_response(
    *,
    user,
    name: str,
    text: str,
    shortcut: str = "",
    labels: str = "",
    category: str = "",
) -> StoredResponse:
    """Add a response to the user's own "My Responses" library (created on first use)."""
    name = name.strip()
    text = text.strip()
    shortcut = shortcut.strip().lstrip("/").lower()
    category_name = category.strip() or DEFAULT_CATEGORY
    if not name:
        raise RoutingError("Give the response a name.")
    if len(name) > 100:
        raise RoutingError("A name has at most 100 characters.")
    if not text:
        raise RoutingError("A stored response needs some text.")
    if len(text) > MAX_TEXT_LENGTH:
        raise RoutingError(f"A stored response has at most {MAX_TEXT_LENGTH} characters.")
    if shortcut and (slugify(shortcut) != shortcut or len(shortcut) > 40):
        raise RoutingError(
            "A shortcut is one word of letters, digits, - or _ (at most 40), typed as /shortcut."
        )
    if len(category_name) > 100:
        raise RoutingError("A category name has at most 100 characters.")
    clean_labels = ", ".join(label.strip() for label in labels.split(",") if label.strip())
    if len(clean_labels) > 200:
        raise RoutingError("Labels take at most 200 characters.")
    with transaction.atomic():
        library, _ = ResponseLibrary.objects.get_or_create(owner=user, name=MY_LIBRARY)
        if (
            shortcut
            and StoredResponse.objects.filter(
                category__library=library, shortcut__iexact=shortcut
            ).exists()
        ):
            raise RoutingError(f"You already have a response with the shortcut /{shortcut}.")
        folder, _ = ResponseCategory.objects.get_or_create(library=library, name=category_name)
        return StoredResponse.objects.create(
            category=folder,
            name=name,
            shortcut=shortcut,
            labels=clean_labels,
            text=text,
        )


def delete_my_response(*, user, response_id: int) -> None:
    """Delete one of the user's own responses; shared ones are kept in admin."""
    with transaction.atomic():
        deleted, _ = StoredResponse.objects.filter(
            pk=response_id, category__library__owner=user
        ).delete()
    if not deleted:
        raise RoutingError("Only your own responses can be deleted here.")
