"""Stored responses: search, favourites, an agent's own My Responses, macros."""

import pytest

from routing import response_selectors, services
from routing.models import (
    FavouriteResponse,
    ResponseCategory,
    ResponseLibrary,
    StoredResponse,
)
from routing.services import RoutingError
from tests.factories import make_agent

pytestmark = pytest.mark.django_db


@pytest.fixture
def library():
    shared = ResponseLibrary.objects.create(name="Acme Support")
    greetings = ResponseCategory.objects.create(library=shared, name="Greetings")
    orders = ResponseCategory.objects.create(library=shared, name="Orders")
    StoredResponse.objects.create(
        category=greetings,
        name="Welcome",
        shortcut="hi",
        labels="greeting, start",
        text="Hi {customer.first_name}, I'm {agent.first_name} from {page.name}.",
    )
    StoredResponse.objects.create(
        category=orders,
        name="Order number",
        shortcut="order",
        labels="orders",
        text="Could you send me your order number, please?",
    )
    StoredResponse.objects.create(
        category=orders,
        name="Refund policy",
        shortcut="refund",
        labels="money, returns",
        text="Refunds reach your card within 5 working days.",
    )
    StoredResponse.objects.create(
        category=orders,
        name="Shipping delay",
        shortcut="delay",
        labels="shipping",
        text="Sorry for the delay: the order ships tomorrow.",
    )
    return shared


@pytest.fixture
def ann(workgroup):
    return make_agent("ann", workgroups=[workgroup]).user


@pytest.fixture
def bob(workgroup):
    return make_agent("bob", workgroups=[workgroup]).user


def names(results) -> list[str]:
    return [r.name for r in results]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("welcome", ["Welcome"]),  # name
        ("/refund", ["Refund policy"]),  # shortcut as typed in the composer
        ("returns", ["Refund policy"]),  # label
        ("working days", ["Refund policy"]),  # text, every word must match
        ("ORDER", ["Order number", "Shipping delay"]),  # case-insensitive; name before text
        ("order ships", ["Shipping delay"]),
        ("nothing like this", []),
    ],
)
def test_full_text_search_over_name_shortcut_labels_and_text(library, ann, query, expected):
    found = response_selectors.search_responses(ann, query=query)
    assert names(found.responses) == expected
    assert found.total == len(expected)


def test_favourites_come_first_and_are_per_agent(library, ann, bob):
    refund = StoredResponse.objects.get(shortcut="refund")
    services.set_favourite(user=ann, response_id=refund.pk, on=True)
    services.set_favourite(user=ann, response_id=refund.pk, on=True)  # idempotent

    mine = response_selectors.search_responses(ann).responses
    assert mine[0].name == "Refund policy" and mine[0].is_favourite
    assert not any(r.is_favourite for r in mine[1:])
    assert response_selectors.search_responses(bob).responses[0].name != "Refund policy"

    services.set_favourite(user=ann, response_id=refund.pk, on=False)
    assert not FavouriteResponse.objects.exists()


def test_my_responses_are_mine_alone(library, ann, bob):
    saved = services.save_my_response(
        user=ann,
        name="Store hours",
        text="We open at 9.",
        shortcut="/hours",
        labels=" opening ,, times ",
        category="",
    )
    assert saved.shortcut == "hours" and saved.labels == "opening, times"
    assert saved.category.name == "General"
    assert saved.category.library.owner == ann
    assert saved.category.library.name == "My Responses"

    found = response_selectors.search_responses(ann, query="hours").responses
    assert names(found) == ["Store hours"] and found[0].is_mine
    assert response_selectors.search_responses(bob, query="hours").responses == []
    with pytest.raises(RoutingError):
        services.set_favourite(user=bob, response_id=saved.pk, on=True)
    with pytest.raises(RoutingError, match="Only your own"):
        services.delete_my_response(user=bob, response_id=saved.pk)
    shared = StoredResponse.objects.get(shortcut="hi")
    with pytest.raises(RoutingError, match="Only your own"):
        services.delete_my_response(user=ann, response_id=shared.pk)

    services.delete_my_response(user=ann, response_id=saved.pk)
    assert not StoredResponse.objects.filter(pk=saved.pk).exists()


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"name": " ", "text": "x"}, "Give the response a name."),
        ({"name": "n", "text": "  "}, "needs some text"),
        ({"name": "n", "text": "x" * 2000}, "at most 1999 characters"),
        ({"name": "n", "text": "x", "shortcut": "two words"}, "A shortcut is one word"),
        ({"name": "n", "text": "x", "shortcut": "ça"}, "A shortcut is one word"),
        ({"name": "n", "text": "x", "labels": "x" * 201}, "at most 200"),
    ],
)
def test_saving_refuses_with_words(ann, fields, error):
    with pytest.raises(RoutingError, match=error):
        services.save_my_response(user=ann, **fields)
    assert not StoredResponse.objects.exists()


def test_a_shortcut_is_used_once_in_my_responses(ann):
    services.save_my_response(user=ann, name="A", text="a", shortcut="same")
    with pytest.raises(RoutingError, match="already have a response with the shortcut /same"):
        services.save_my_response(user=ann, name="B", text="b", shortcut="Same")


def test_shortcut_matches_rank_exact_then_prefix(library, ann):
    services.save_my_response(user=ann, name="Ordering help", text="x", shortcut="orders-help")
    assert [r.shortcut for r in response_selectors.shortcut_matches(ann, "order")] == [
        "order",
        "orders-help",
    ]
    assert [r.shortcut for r in response_selectors.shortcut_matches(ann, "/re")] == ["refund"]
    assert len(response_selectors.shortcut_matches(ann, "")) == 5
    assert response_selectors.shortcut_matches(ann, "zzz") == []


def test_search_scales_with_a_limit_and_a_total(library, ann):
    category = ResponseCategory.objects.get(name="Orders")
    StoredResponse.objects.bulk_create(
        StoredResponse(category=category, name=f"Bulk {n:03}", text=f"bulk answer {n}")
        for n in range(300)
    )
    found = response_selectors.search_responses(ann, query="bulk", limit=50)
    assert len(found.responses) == 50 and found.total == 300
    by_category = response_selectors.search_responses(
        ann, category_id=ResponseCategory.objects.get(name="Greetings").pk
    )
    assert names(by_category.responses) == ["Welcome"]


def test_macros_are_filled_and_unknown_braces_kept():
    text = "Hi {customer.first_name}, I'm {agent.first_name} at {page.name}. {order.id}"
    filled = services.fill_macros(
        text, customer_first_name="Dana", agent_first_name="Alice", page_name="Acme Support"
    )
    assert filled == "Hi Dana, I'm Alice at Acme Support. {order.id}"
    anonymous = services.fill_macros(
        "Hi {customer.first_name}!", customer_first_name="", agent_first_name="", page_name=""
    )
    assert anonymous == "Hi there!"
