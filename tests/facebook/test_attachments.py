"""A copy of every attachment kept on receipt, downloaded over real HTTP from the
fake's stand-in for Meta's CDN, and shown in the bubble."""

import time
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from django.test import Client

from connect import fragments
from facebook import attachments, background
from facebook.fake.graph import png
from facebook.models import WebhookDelivery
from routing import events
from routing.events import routing_event
from routing.models import Message
from tests.facebook.bodies import envelope, from_customer, new_mid, post
from tests.factories import make_agent, make_page, make_workgroup

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def page():
    return make_page(make_workgroup("Facebook DM"))


@pytest.fixture
def cdn(fake_graph_api):
    """URLs of files on the fake's stand-in for Meta's CDN."""
    return lambda name: f"{fake_graph_api.url}/_media/{name}"


def customer_sends(client, *attachments: dict) -> Message:
    body = envelope(from_customer("message", {"mid": new_mid(), "attachments": list(attachments)}))
    assert post(client, body).status_code == 200
    assert background.wait_for_all(timeout=15)
    return Message.objects.get(mid=body["entry"][0]["messaging"][0]["message"]["mid"])


def attachment(kind: str, url: str | None) -> dict:
    return {"type": kind, "payload": {"url": url} if url else None}


def kept_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_an_image_is_kept_and_shown_from_our_copy(client, page, cdn, settings):
    changed = []
    routing_event.connect(
        lambda sender, event, **kw: changed.append(event),
        weak=False,
        dispatch_uid="tests.attachments",
    )
    try:
        agent = make_agent(workgroups=[page.workgroup])
        url = cdn("photo.png")

        message = customer_sends(client, attachment("image", url))
    finally:
        routing_event.disconnect(dispatch_uid="tests.attachments")

    [entry] = message.attachments
    assert entry["url"] == url
    assert entry["copy"]["content_type"] == "image/png"
    assert entry["copy"]["size"] == len(png())
    [kept] = kept_files(settings)
    assert kept.read_bytes() == png()
    assert entry["copy"]["path"] == str(kept.relative_to(settings.MEDIA_ROOT))
    # The bubble shows our copy, never Meta's expiring URL, and updated live.
    html = fragments.bubble(message, oob=False)
    assert f'<img class="attachment-image" src="/messages/{message.pk}/attachments/0"' in html
    assert url not in html
    assert any(
        e.type == events.EventType.MESSAGE_CHANGED and e.message_id == message.pk
        for e in changed[1:]
    )

    # The agent it is offered to gets the file; nobody else does.
    mine = Client()
    mine.force_login(agent.user)
    response = mine.get(f"/messages/{message.pk}/attachments/0")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == png()
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    stranger = Client()
    stranger.force_login(make_agent(workgroups=[make_workgroup()]).user)
    assert stranger.get(f"/messages/{message.pk}/attachments/0").status_code == 404
    assert Client().get(f"/messages/{message.pk}/attachments/0").status_code == 302


def test_video_audio_and_files_are_kept_and_shown_each_their_way(client, page, cdn):
    message = customer_sends(
        client,
        attachment("video", cdn("clip.mp4")),
        attachment("audio", cdn("voice.mp3")),
        attachment("file", cdn("invoice.pdf")),
    )

    assert [a["copy"]["content_type"] for a in message.attachments] == [
        "video/mp4",
        "audio/mpeg",
        "application/pdf",
    ]
    html = fragments.bubble(message, oob=False)
    assert f'<video class="attachment-video" src="/messages/{message.pk}/attachments/0"' in html
    assert "controls" in html
    assert f'<audio class="attachment-audio" src="/messages/{message.pk}/attachments/1"' in html
    assert f'href="/messages/{message.pk}/attachments/2" download' in html


def test_an_attachment_over_the_size_limit_is_not_kept(client, page, cdn, settings):
    settings.FACEBOOK_ATTACHMENT_MAX_BYTES = 4096

    message = customer_sends(
        client,
        attachment("image", cdn("big.png") + "?bytes=5000"),
        # No Content-Length: counted while downloading.
        attachment("video", cdn("long.mp4") + "?bytes=5000&chunked=1"),
        attachment("image", cdn("small.png") + "?bytes=3000"),
    )

    big, long, small = message.attachments
    assert big["copy_failed"] == "This image is over the 4 KB limit, so no copy was kept."
    assert long["copy_failed"] == "This video is over the 4 KB limit, so no copy was kept."
    assert small["copy"]["size"] == 3000
    assert len(kept_files(settings)) == 1  # nothing half-written left behind
    html = fragments.bubble(message, oob=False)
    assert "Attachment unavailable: This image is over the 4 KB limit" in html


def test_a_failed_download_shows_a_clear_placeholder(client, page, cdn, settings):
    message = customer_sends(
        client,
        attachment("image", cdn("missing.png")),
        attachment("file", cdn("report.pdf") + "?status=503"),
    )

    gone, broken = message.attachments
    assert gone["copy_failed"] == "This image could not be downloaded from Messenger (HTTP 404)."
    assert broken["copy_failed"] == ("This file could not be downloaded from Messenger (HTTP 503).")
    assert kept_files(settings) == []
    html = fragments.bubble(message, oob=False)
    assert html.count('class="attachment-missing"') == 2
    assert "Attachment unavailable: This image could not be downloaded" in html


def test_fallback_and_missing_urls_are_attachment_unavailable(client, page, settings):
    message = customer_sends(
        client,
        {"type": "fallback", "payload": None, "title": "Attachment Unavailable"},
        attachment("image", None),
    )

    assert all("copy" not in a and "copy_failed" not in a for a in message.attachments)
    html = fragments.bubble(message, oob=False)
    assert html.count("Attachment unavailable") == 2
    assert kept_files(settings) == []


def test_a_redelivered_body_downloads_nothing_again(client, page, cdn, settings):
    body = envelope(
        from_customer(
            "message", {"mid": new_mid(), "attachments": [attachment("image", cdn("a.png"))]}
        )
    )
    assert post(client, body).status_code == 200
    assert background.wait_for_all(timeout=15)
    first = Message.objects.get().attachments

    assert post(client, body).status_code == 200
    assert background.wait_for_all(timeout=15)

    assert Message.objects.get().attachments == first
    assert len(kept_files(settings)) == 1
    assert WebhookDelivery.objects.count() == 2


def test_the_webhook_answers_before_the_download(client, page, cdn):
    # A slow CDN must not hold up Meta: the body is stored and answered first.
    body = envelope(
        from_customer(
            "message",
            {"mid": new_mid(), "attachments": [attachment("image", cdn("slow.png") + "?delay=2")]},
        )
    )
    started = time.monotonic()
    assert post(client, body).status_code == 200
    assert time.monotonic() - started < 1.5
    assert "copy" not in Message.objects.get().attachments[0]

    assert background.wait_for_all(timeout=15)
    assert Message.objects.get().attachments[0]["copy"]["content_type"] == "image/png"


# --- only public https addresses are fetched ------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://cdn.example.com/photo.png",  # not https
        "https://127.0.0.1/photo.png",  # loopback
        "https://10.1.2.3/photo.png",  # private
        "https://169.254.169.254/latest/meta-data/",  # link-local (cloud metadata)
        "https://[::1]/photo.png",
        "https://[::ffff:192.168.0.1]/photo.png",
        "https://240.0.0.1/photo.png",  # reserved
        "https://localhost/photo.png",  # resolves to loopback
        "file:///etc/passwd",
    ],
)
def test_only_https_to_public_addresses_is_fetched(url, settings):
    settings.FACEBOOK_ATTACHMENT_ALLOWED_HOSTS = []
    with pytest.raises(attachments.NotKept, match="not a public https address"):
        attachments.download(url, message_id=1, index=0, kind="image")
    assert kept_files(settings) == []


@pytest.mark.parametrize(
    ("url", "address", "expected"),
    [
        (
            "https://cdn.example.com/v/photo.png?x=1",
            "157.240.1.1",
            "https://157.240.1.1/v/photo.png?x=1",
        ),
        ("https://cdn.example.com:8443/a", "157.240.1.1", "https://157.240.1.1:8443/a"),
        ("https://cdn.example.com/a", "2a03:2880::1", "https://[2a03:2880::1]/a"),
    ],
)
def test_a_checked_fetch_connects_to_the_address_it_checked_and_names_the_host(
    url, address, expected
):
    # A DNS answer that changes between the check and the request cannot send
    # the request elsewhere: it goes to the address checked, TLS naming the host.
    target, headers, extensions = attachments.pinned(url, address)
    assert target == expected
    assert headers == {"Host": url.split("/")[2]}
    assert extensions == {"sni_hostname": "cdn.example.com"}


def test_the_address_checked_is_the_one_the_name_resolves_to_and_allowed_hosts_are_left_alone(
    settings,
):
    settings.FACEBOOK_ATTACHMENT_ALLOWED_HOSTS = ["127.0.0.1"]
    assert attachments.check_url("http://127.0.0.1:8000/photo.png") is None
    assert attachments.pinned("http://127.0.0.1:8000/p", None) == (
        "http://127.0.0.1:8000/p",
        {},
        {},
    )
    assert attachments.check_url("https://8.8.8.8/photo.png") == "8.8.8.8"


def test_every_redirect_hop_is_checked(client, page, cdn, settings, fake_graph_api):
    port = urlsplit(fake_graph_api.url).port
    # The fake CDN is allowed on its own port only; its redirect to another
    # loopback port (an internal service) is refused before it is requested.
    settings.FACEBOOK_ATTACHMENT_ALLOWED_HOSTS = [f"localhost:{port}"]
    internal = f"http://localhost:{port + 1 if port < 65535 else port - 1}/admin"
    message = customer_sends(
        client, attachment("image", cdn(f"photo.png?redirect={quote(internal, safe='')}"))
    )
    [entry] = message.attachments
    assert "not a public https address" in entry["copy_failed"]
    assert kept_files(settings) == []

    # A redirect within what is allowed is followed.
    within = cdn("photo.png")
    message = customer_sends(
        client, attachment("image", cdn(f"photo.png?redirect={quote(within, safe='')}"))
    )
    assert message.attachments[0]["copy"]["content_type"] == "image/png"
