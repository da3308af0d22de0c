"""Files an agent sends, end to end over HTTP: uploaded to the fake Graph API once per
Page, then sent by attachment_id; the same sending / sent / Retry / Resend life as text."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from facebook import sender, uploads
from facebook.fake.graph import png
from facebook.models import UploadedAttachment
from routing import message_entries, outbound_files, services
from routing.models import Channel, Customer, Message, MessageStatus

pytestmark = pytest.mark.django_db(transaction=True)

PICTURE = png(24, 16)


def send_files(talk, *files: SimpleUploadedFile, text: str = "") -> list[Message]:
    """What Send does with files: keep them, store the messages, let the sender run."""
    kept = outbound_files.keep(list(files))
    with transaction.atomic():
        messages = services.store_replies(
            interaction_id=talk.interaction_id, agent=talk.agent, text=text, files=kept
        )
    assert sender.wait_for_idle(timeout=15)
    for message in messages:
        message.refresh_from_db()
    return messages


def picture(name: str = "parcel.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PICTURE, content_type="image/png")


def send_calls(fake_graph_api):
    return [c for c in fake_graph_api.message_calls() if c.path.endswith("/messages")]


def upload_calls(fake_graph_api):
    return [
        c for c in fake_graph_api.calls(method="POST") if c.path.endswith("/message_attachments")
    ]


def test_a_file_is_uploaded_then_sent_by_its_attachment_id(fake_graph_api, conversation):
    talk = conversation()

    [text, image] = send_files(talk, picture(), text="Here is the label")

    assert (text.status, image.status) == (MessageStatus.SENT, MessageStatus.SENT)
    [upload] = upload_calls(fake_graph_api)
    assert upload.path == f"/fake-graph/v24.0/{talk.page.page_id}/message_attachments"
    assert upload.body["message"] == {
        "attachment": {"type": "image", "payload": {"is_reusable": True}}
    }
    assert upload.body["filedata"]["name"] == "parcel.png"
    assert upload.body["filedata"]["size"] == len(PICTURE)
    attachment_id = upload.answer["attachment_id"]
    sends = {c.message_id: c for c in send_calls(fake_graph_api)}
    assert sends[text.mid].body["message"]["text"] == "Here is the label"
    assert sends[image.mid].body == {
        "recipient": {"id": talk.psid},
        "messaging_type": "RESPONSE",
        "message": {
            "attachment": {"type": "image", "payload": {"attachment_id": attachment_id}},
            "metadata": str(image.client_id),
        },
    }
    # The bubble shows the sent file from our own copy, like a received one.
    entry = message_entries.sent_file(image.attachments)
    assert entry["title"] == "parcel.png"
    assert message_entries.kept_copy(entry)["content_type"] == "image/png"


def test_the_same_file_is_uploaded_once_per_page_and_then_reused(fake_graph_api, conversation):
    talk = conversation()

    send_files(talk, picture("first.png"))
    [again] = send_files(talk, picture("again.png"))

    assert again.status == MessageStatus.SENT
    assert len(upload_calls(fake_graph_api)) == 1
    [stored] = UploadedAttachment.objects.all()
    last_send = send_calls(fake_graph_api)[-1]
    assert (
        last_send.body["message"]["attachment"]["payload"]["attachment_id"] == stored.attachment_id
    )


def test_an_attachment_id_meta_no_longer_knows_is_uploaded_afresh(fake_graph_api, conversation):
    talk = conversation()
    send_files(talk, picture())
    UploadedAttachment.objects.update(attachment_id="999")

    [message] = send_files(talk, picture())

    assert message.status == MessageStatus.SENT
    assert len(upload_calls(fake_graph_api)) == 2
    assert UploadedAttachment.objects.get().attachment_id != "999"


def test_a_refused_upload_fails_with_resend_and_resend_sends_it(fake_graph_api, conversation):
    talk = conversation()
    fake_graph_api.mode("token_invalid")

    [message] = send_files(talk, picture())

    assert message.status == MessageStatus.FAILED
    assert "access token" in message.error_message
    assert not send_calls(fake_graph_api)
    fake_graph_api.mode("ok")
    talk.page.token_invalid = False
    talk.page.save()
    services.resend(message_id=message.pk, agent=talk.agent)
    assert sender.wait_for_idle(timeout=15)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


def test_an_unanswered_upload_times_out_with_retry(fake_graph_api, conversation, settings):
    settings.FACEBOOK_SEND_TIMEOUT = 0.5
    settings.FACEBOOK_UPLOAD_TIMEOUT = 0.5
    fake_graph_api.mode("timeout")
    talk = conversation()

    [message] = send_files(talk, picture())

    assert message.status == MessageStatus.TIMED_OUT
    assert message.error_code == "timeout"
    assert not UploadedAttachment.objects.exists()
    time.sleep(1.2)  # the fake's late answer finishes before the live server stops


def test_a_file_no_longer_kept_fails_with_words(fake_graph_api, conversation, settings):
    talk = conversation()
    kept = outbound_files.keep([picture()])
    kept[0].delete()
    with transaction.atomic():
        [message] = services.store_replies(
            interaction_id=talk.interaction_id, agent=talk.agent, text="", files=kept
        )
    assert sender.wait_for_idle(timeout=15)
    message.refresh_from_db()

    assert message.status == MessageStatus.FAILED
    assert message.error_code == "file_missing"
    assert "attach the file again" in message.error_message


def test_audio_sends_of_a_page_are_paced(fake_graph_api, conversation):
    talk = conversation()
    clips = [
        SimpleUploadedFile(f"clip{n}.mp3", bytes([n]) * 2000, content_type="audio/mpeg")
        for n in range(3)
    ]

    messages = send_files(talk, *clips)

    assert [m.status for m in messages] == [MessageStatus.SENT] * 3
    sends = sorted(c.at for c in send_calls(fake_graph_api))
    gaps = [(b - a).total_seconds() for a, b in zip(sends, sends[1:], strict=False)]
    # The fake stamps a call when it has read it: on a busy machine one call's
    # stamp comes later than its start, so a gap may read shorter than the pace
    # (it measured 74 ms for 100); unpaced, the three arrive milliseconds apart.
    assert min(gaps) >= uploads.PACED_INTERVAL * 0.5, gaps


def test_pacing_holds_only_audio_and_video():
    started = time.monotonic()
    for _ in range(5):
        uploads.wait_for_slot("pacing-test-page", "image", until=started + 5)
    assert time.monotonic() - started < uploads.PACED_INTERVAL
    for _ in range(3):
        uploads.wait_for_slot("pacing-test-page", "video", until=started + 5)
    assert time.monotonic() - started >= 2 * uploads.PACED_INTERVAL * 0.9


def test_an_instagram_file_is_uploaded_for_instagram_and_kept_apart(fake_graph_api, conversation):
    talk = conversation()
    Customer.objects.filter(psid=talk.psid).update(channel=Channel.INSTAGRAM)

    [image] = send_files(talk, picture())

    assert image.status == MessageStatus.SENT
    [upload] = upload_calls(fake_graph_api)
    assert upload.body["platform"] == "instagram"
    [send] = send_calls(fake_graph_api)
    assert send.body["recipient"] == {"id": talk.psid}
    assert "persona_id" not in send.body
    # Meta keeps Instagram's uploads apart from the Page's Messenger ones.
    [kept] = UploadedAttachment.objects.all()
    assert kept.page_id == f"{talk.page.page_id}/instagram"
    assert kept.attachment_id == upload.answer["attachment_id"]
