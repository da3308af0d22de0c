"""Stored responses in the desktop: picker, search, suggestions, favourites, My Responses."""

import pytest
from django.test import Client

from routing import services
from routing.models import Customer, ResponseCategory, ResponseLibrary, StoredResponse
from tests.factories import customer_writes, make_agent, make_page, make_workgroup

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def workgroup():
    group = make_workgroup("Facebook DM")
    make_page(group)
    return group


@pytest.fixture
def agent(workgroup):
    agent = make_agent("alice", workgroups=[workgroup])
    agent.user.first_name = "Alice"
    agent.user.save()
    return agent


@pytest.fixture
def shared():
    library = ResponseLibrary.objects.create(name="Acme Support")
    greetings = ResponseCategory.objects.create(library=library, name="Greetings")
    orders = ResponseCategory.objects.create(library=library, name="Orders")
    StoredResponse.objects.create(
        category=greetings,
        name="Welcome",
        shortcut="hi",
        labels="greeting",
        text="Hi {customer.first_name}, I'm {agent.first_name} at {page.name}.",
    )
    StoredResponse.objects.create(
        category=orders, name="Order number", shortcut="order", text="Your order number?"
    )
    return library


@pytest.fixture
def interaction(workgroup, agent):
    received = customer_writes(workgroup, psid="7300000000000042", text="Hello")
    Customer.objects.filter(pk=received.interaction.customer_id).update(first_name="Dana")
    return services.pickup(interaction_id=received.interaction.pk, agent=agent)


def client_for(agent) -> Client:
    client = Client()
    client.force_login(agent.user)
    return client


def test_the_picker_lists_responses_with_macros_filled(agent, shared, interaction):
    page = client_for(agent).get(f"/responses/?interaction={interaction.pk}", **HTMX)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Hi Dana, I&#x27;m Alice at Acme Support." in html
    assert "{customer.first_name}" not in html
    assert 'aria-label="Search stored responses"' in html or "Search stored responses" in html
    assert '<optgroup label="Acme Support">' in html
    assert ">Greetings</option>" in html and ">Orders</option>" in html


def test_search_and_category_filter(agent, shared, interaction):
    client = client_for(agent)
    html = client.get(
        f"/responses/search?interaction={interaction.pk}&q=number", **HTMX
    ).content.decode()
    assert "Order number" in html and "Welcome" not in html
    greetings = ResponseCategory.objects.get(name="Greetings")
    html = client.get(
        f"/responses/search?interaction={interaction.pk}&category={greetings.pk}", **HTMX
    ).content.decode()
    assert "Welcome" in html and "Order number" not in html
    html = client.get(
        f"/responses/search?interaction={interaction.pk}&q=nothing+like+it", **HTMX
    ).content.decode()
    assert "No stored response matches “nothing like it”." in html


def test_slash_suggestions_offer_matching_shortcuts(agent, shared, interaction):
    html = (
        client_for(agent)
        .get(f"/responses/suggest?interaction={interaction.pk}&typed=or", **HTMX)
        .content.decode()
    )
    assert 'role="listbox"' in html and "/order" in html and "/hi" not in html
    assert 'data-text="Your order number?"' in html
    empty = client_for(agent).get(
        f"/responses/suggest?interaction={interaction.pk}&typed=zzz", **HTMX
    )
    assert empty.status_code == 200 and "listbox" not in empty.content.decode()


def test_starring_puts_a_favourite_first(agent, shared, interaction):
    order = StoredResponse.objects.get(shortcut="order")
    html = (
        client_for(agent)
        .post(
            f"/responses/{order.pk}/favourite",
            {"on": "1", "interaction": interaction.pk, "q": ""},
            **HTMX,
        )
        .content.decode()
    )
    assert html.index("Order number") < html.index("Welcome")
    assert 'aria-pressed="true"' in html
    assert order.favourited_by.filter(user=agent.user).exists()


def test_responses_need_an_interaction_the_agent_can_see(workgroup, agent, shared, interaction):
    intruder = make_agent("mallory", workgroups=[workgroup])
    client = client_for(intruder)
    assert client.get(f"/responses/?interaction={interaction.pk}", **HTMX).status_code == 404
    assert client.get("/responses/search?q=hi", **HTMX).status_code == 404
    assert client.get("/responses/").status_code == 404
    mine = services.save_my_response(user=agent.user, name="Private", text="secret")
    response = client_for(agent).post(
        f"/responses/{mine.pk}/favourite", {"on": "1", "interaction": interaction.pk}
    )
    assert response.status_code == 200
    other = customer_writes(workgroup, psid="7300000000000043")
    services.pickup(interaction_id=other.interaction.pk, agent=intruder)
    refused = client.post(
        f"/responses/{mine.pk}/favourite", {"on": "1", "interaction": other.interaction.pk}
    )
    assert refused.status_code == 404


def test_save_as_response_from_the_composer_text(agent, shared, interaction):
    client = client_for(agent)
    # The draft travels in a POST body, never in a URL an access log keeps.
    assert client.get("/responses/new", {"text": "Our store opens at 9."}).status_code == 405
    dialog = client.post("/responses/new", {"text": "Our store opens at 9."}, **HTMX)
    assert dialog.status_code == 200
    assert "Our store opens at 9.</textarea>" in dialog.content.decode()

    refused = client.post("/responses/mine", {"name": "", "text": "Our store opens at 9."}, **HTMX)
    assert refused.status_code == 422
    assert "Give the response a name." in refused.content.decode()
    assert "Our store opens at 9.</textarea>" in refused.content.decode()

    saved = client.post(
        "/responses/mine",
        {"name": "Opening hours", "shortcut": "hours", "labels": "store", "text": "Open at 9."},
        **HTMX,
    )
    assert saved.status_code == 200
    assert "Saved “Opening hours” to My Responses as /hours." in saved.content.decode()
    html = client.get(
        f"/responses/search?interaction={interaction.pk}&q=hours", **HTMX
    ).content.decode()
    assert "My Responses" in html and "Delete Opening hours" in html


def test_deleting_a_shared_response_is_refused_with_words(agent, shared, interaction):
    welcome = StoredResponse.objects.get(shortcut="hi")
    response = client_for(agent).post(
        f"/responses/{welcome.pk}/delete", {"interaction": interaction.pk}, **HTMX
    )
    assert response.status_code == 409
    assert "Only your own responses can be deleted here." in response.content.decode()
    assert StoredResponse.objects.filter(pk=welcome.pk).exists()


def test_the_composer_offers_the_tools(agent, shared, interaction):
    html = client_for(agent).get(f"/?interaction={interaction.pk}").content.decode()
    assert "response-picker-toggle" in html and "Save as response" in html
    assert f'data-suggest-url="/responses/suggest?interaction={interaction.pk}"' in html


# --- a stored response that carries a file ------------------------------------------------


@pytest.fixture
def with_file(shared, settings, tmp_path):
    from django.core.files.base import ContentFile

    settings.MEDIA_ROOT = tmp_path / "media"
    price_list = StoredResponse.objects.get(name="Order number")
    price_list.file.save("price-list.pdf", ContentFile(b"%PDF-1.4 price list"), save=True)
    return price_list


def test_a_response_with_a_file_offers_it_to_the_composer_and_serves_it(
    agent, interaction, with_file
):
    client = client_for(agent)
    picker = client.get(f"/responses/?interaction={interaction.pk}", **HTMX).content.decode()
    url = f"/responses/{with_file.pk}/file"
    assert f'data-file-url="{url}" data-file-name="price-list.pdf"' in picker
    assert "📎 price-list.pdf" in picker

    answer = client.get(url)

    assert answer.status_code == 200
    assert b"".join(answer.streaming_content) == b"%PDF-1.4 price list"
    assert answer["Content-Type"] == "application/pdf"
    assert answer["X-Content-Type-Options"] == "nosniff"


def test_a_file_is_served_only_to_who_may_see_its_response(agent, workgroup, with_file):
    from django.core.files.base import ContentFile

    mine = services.save_my_response(
        user=agent.user, name="Map", shortcut="map", labels="", category="Mine", text="Here"
    )
    mine.file.save("map.png", ContentFile(b"\x89PNG map"), save=True)
    other = make_agent("bob", workgroups=[workgroup])

    assert client_for(other).get(f"/responses/{mine.pk}/file").status_code == 404
    assert client_for(agent).get(f"/responses/{mine.pk}/file").status_code == 200
    plain = StoredResponse.objects.get(name="Welcome")
    assert client_for(agent).get(f"/responses/{plain.pk}/file").status_code == 404


def test_admin_refuses_a_program_as_a_responses_file(shared):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from routing.admin import StoredResponseForm

    category = ResponseCategory.objects.get(name="Orders")
    form = StoredResponseForm(
        data={"category": category.pk, "name": "Tool", "text": "Run this"},
        files={"file": SimpleUploadedFile("setup.exe", b"MZ...")},
    )
    assert not form.is_valid()
    assert "a program or script" in str(form.errors["file"])
    ok = StoredResponseForm(
        data={"category": category.pk, "name": "Leaflet", "text": "Our leaflet"},
        files={"file": SimpleUploadedFile("leaflet.pdf", b"%PDF leaflet")},
    )
    assert ok.is_valid(), ok.errors
