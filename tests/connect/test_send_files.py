"""The composer's Send with files: a multipart POST, refusals in words, one bubble per file."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from facebook import sender
from facebook.fake.graph import png
from routing import message_entries, services
from routing.models import Message
from tests.factories import customer_writes, make_agent, make_page, make_workgroup

pytestmark = pytest.mark.django_db(transaction=True)

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def sender_paused():
    """Stored replies stay `sending`: what the view answered is what is checked."""
    sender.pool.pause()
    yield
    sender.pool.resume()
    assert sender.wait_for_idle(timeout=15)


@pytest.fixture
def chat(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    workgroup = make_workgroup("Facebook DM")
    make_page(workgroup)
    agent = make_agent("ann", workgroups=[workgroup])
    received = customer_writes(workgroup, text="Can you send the label?")
    interaction = services.pickup(interaction_id=received.interaction.pk, agent=agent)
    client = Client()
    client.force_login(agent.user)
    return client, interaction, settings.MEDIA_ROOT


def test_the_composer_offers_attach_files_and_posts_multipart(chat):
    client, interaction, _ = chat

    page = client.get(f"/?interaction={interaction.pk}").content.decode()

    assert 'hx-encoding="multipart/form-data"' in page
    assert 'type="file" name="files" multiple aria-label="Attach files"' in page
    assert "25 MB in all" in page


def test_send_stores_the_text_and_each_file_as_its_own_message(chat, sender_paused):
    client, interaction, media_root = chat
    files = [
        SimpleUploadedFile("label.png", png(10, 10), content_type="image/png"),
        SimpleUploadedFile("invoice.pdf", b"%PDF-1.4 fake", content_type="application/pdf"),
    ]

    response = client.post(
        f"/interactions/{interaction.pk}/messages",
        {"text": "Here you are", "files": files},
        **HTMX,
    )

    assert response.status_code == 200
    text, image, pdf = Message.objects.filter(direction="out").order_by("id")
    assert text.text == "Here you are" and not text.attachments
    assert [image.attachments[0]["type"], pdf.attachments[0]["type"]] == ["image", "file"]
    assert all(m.status == "sending" for m in (text, image, pdf))
    for message in (image, pdf):
        copy = message_entries.kept_copy(message.attachments[0])
        assert (media_root / copy["path"]).is_file()
    body = response.content.decode()
    assert f'id="message-{image.pk}"' in body and 'alt="label.png sent to the customer"' in body
    assert "invoice.pdf" in body
    # The agent can open the sent file as they open a received one.
    served = client.get(f"/messages/{image.pk}/attachments/0")
    assert served.status_code == 200 and served["Content-Type"] == "image/png"


def test_a_file_over_the_limit_is_refused_with_413_and_words(chat, settings):
    client, interaction, media_root = chat
    settings.FACEBOOK_ATTACHMENT_MAX_BYTES = 1000

    response = client.post(
        f"/interactions/{interaction.pk}/messages",
        {"text": "Big one", "files": [SimpleUploadedFile("scan.png", b"x" * 1001)]},
        **HTMX,
    )

    assert response.status_code == 413
    assert "scan.png is" in response.content.decode()
    assert "Messenger takes files up to" in response.content.decode()
    assert not Message.objects.filter(direction="out").exists()
    assert not [p for p in media_root.rglob("*") if p.is_file()]


def test_a_program_is_refused_with_422_and_words(chat):
    client, interaction, _ = chat

    response = client.post(
        f"/interactions/{interaction.pk}/messages",
        {"files": [SimpleUploadedFile("setup.exe", b"MZ...")]},
        **HTMX,
    )

    assert response.status_code == 422
    assert "setup.exe is a program or script" in response.content.decode()
    assert not Message.objects.filter(direction="out").exists()


def test_files_for_an_interaction_on_hold_are_refused_and_not_kept(chat):
    client, interaction, media_root = chat
    agent = interaction.agent
    services.hold(interaction_id=interaction.pk, agent=agent)

    response = client.post(
        f"/interactions/{interaction.pk}/messages",
        {"files": [SimpleUploadedFile("label.png", png(4, 4))]},
        **HTMX,
    )

    assert response.status_code == 422
    assert "attach them again" in response.content.decode()
    assert not [p for p in media_root.rglob("*") if p.is_file()]


def test_another_agents_interaction_takes_no_files(chat):
    _, interaction, media_root = chat
    other = make_agent("bob", workgroups=list(interaction.agent.workgroups.all()))
    client = Client()
    client.force_login(other.user)

    response = client.post(
        f"/interactions/{interaction.pk}/messages",
        {"files": [SimpleUploadedFile("label.png", png(4, 4))]},
        **HTMX,
    )

    assert response.status_code in (404, 422)
    assert not Message.objects.filter(direction="out").exists()
    assert not [p for p in media_root.rglob("*") if p.is_file()]
