"""Webhook bodies → typed events, without a database."""

import json
from pathlib import Path

import pytest

from facebook.parsing import (
    Attachment,
    BadEnvelope,
    CommentAdded,
    CustomerMessage,
    Delivery,
    Handover,
    MessageEdit,
    MessagingFeedback,
    PageEcho,
    Postback,
    Reaction,
    Read,
    Referral,
    ReferralInfo,
    Standby,
    UnknownEvent,
    ms_to_datetime,
    parse_body,
)

SAMPLES = Path(__file__).parent / "samples"
PAGE_ID = "100000000000001"
PSID = "7300000000000001"


def parse_sample(name: str):
    return parse_body((SAMPLES / name).read_bytes())


def envelope(*items, page_id: str = PAGE_ID, key: str = "messaging") -> bytes:
    body = {"object": "page", "entry": [{"id": page_id, "time": 1, key: list(items)}]}
    return json.dumps(body).encode()


def item(**kind) -> dict:
    return {
        "sender": {"id": PSID},
        "recipient": {"id": PAGE_ID},
        "timestamp": 1764057600000,
        **kind,
    }


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "body is not JSON"),
        (b"\xff\xfe{}", "body is not UTF-8"),
        (b"[]", "body is not a JSON object"),
        (b'{"entry": []}', "envelope has no 'object'"),
        (b'{"object": "page"}', "envelope has no 'entry' list"),
        (b'{"object": "page", "entry": {}}', "envelope has no 'entry' list"),
        (b"[" * 100_000 + b"]" * 100_000, "body is not JSON"),
    ],
)
def test_what_is_not_an_envelope_is_refused(raw, reason):
    with pytest.raises(BadEnvelope, match=reason):
        parse_body(raw)


def test_a_text_message():
    body = parse_sample("text.json")
    assert body.is_page
    assert body.page_ids == (PAGE_ID,)
    assert body.skipped == ()
    assert body.events == (
        CustomerMessage(
            page_id=PAGE_ID,
            psid=PSID,
            timestamp_ms=1764057600000,
            mid="m_AAAA0001",
            text="Hi, my order #1042 has not arrived.",
        ),
    )
    assert body.events[0].at == ms_to_datetime(1764057600000)
    assert body.events[0].at.isoformat() == "2025-11-25T08:00:00+00:00"


def test_unicode_text_is_decoded():
    (event,) = parse_sample("unicode.json").events
    assert event.text == "Grüße — заказ 😀 مرحبا"


def test_attachments():
    (image,) = parse_sample("image.json").events
    assert image.attachments == (
        Attachment(type="image", url="https://scontent.example/photo.jpg"),
    )
    (fallback,) = parse_sample("fallback.json").events
    assert fallback.attachments == (
        Attachment(type="fallback", url=None, title="Attachment Unavailable"),
    )
    assert fallback.attachments[0].as_dict() == {
        "type": "fallback",
        "url": None,
        "title": "Attachment Unavailable",
    }


def test_a_link_that_is_not_http_is_dropped():
    raw = envelope(
        item(
            message={
                "mid": "m_1",
                "attachments": [{"type": "file", "payload": {"url": "javascript:alert(1)"}}],
            }
        )
    )
    (event,) = parse_body(raw).events
    assert event.attachments == (Attachment(type="file", url=None),)


@pytest.mark.parametrize("kind", ["reaction", "edit", "quick_reply", "postback", "standby"])
def test_an_attachment_cannot_pose_as_one_of_our_own_entries(kind):
    # Our reaction, edit, quick reply, postback and standby entries live beside
    # attachments in Message.attachments; a customer's must never read as one.
    raw = envelope(
        item(
            message={
                "mid": "m_1",
                "attachments": [
                    {"type": kind, "payload": {"url": "https://x.example/a.png", "title": "Hi"}},
                    {"type": "image", "payload": {"url": "https://x.example/b.png"}},
                ],
            }
        )
    )
    (event,) = parse_body(raw).events
    foreign, image = event.attachments
    assert foreign.as_dict() == {
        "type": "fallback",
        "url": "https://x.example/a.png",
        "title": "Hi",
        "original_type": kind,
    }
    assert image.as_dict() == {"type": "image", "url": "https://x.example/b.png", "title": ""}


def test_quick_reply_payload():
    raw = envelope(item(message={"mid": "m_1", "text": "Yes", "quick_reply": {"payload": "YES"}}))
    (event,) = parse_body(raw).events
    assert (event.text, event.quick_reply_payload) == ("Yes", "YES")


def test_an_echo_is_addressed_to_the_customer():
    (echo,) = parse_sample("echo_from_page_inbox.json").events
    assert echo == PageEcho(
        page_id=PAGE_ID,
        psid=PSID,
        timestamp_ms=1764057600000,
        mid="m_E0001",
        text="Replied from the Page inbox",
        app_id="263902037430900",
        metadata=None,
    )


def test_postback_with_and_without_mid():
    (postback,) = parse_sample("postback.json").events
    assert postback == Postback(
        page_id=PAGE_ID,
        psid=PSID,
        timestamp_ms=1764057600000,
        title="Get Started",
        payload="GET_STARTED",
        mid="m_P0001",
    )
    assert postback.message_mid == "m_P0001"
    (old_style,) = parse_body(envelope(item(postback={"title": "Hi", "payload": "P"}))).events
    assert old_style.message_mid == f"postback:{PSID}:1764057600000"


def test_delivery_read_reaction_edit():
    (delivery,) = parse_sample("delivery.json").events
    assert delivery == Delivery(
        page_id=PAGE_ID,
        psid=PSID,
        timestamp_ms=1764057600000,
        mids=("m_OUT0001",),
        watermark_ms=1764057601000,
    )
    (read,) = parse_sample("read.json").events
    assert read == Read(
        page_id=PAGE_ID, psid=PSID, timestamp_ms=1764057600000, watermark_ms=1764057602000
    )
    (reaction,) = parse_sample("reaction.json").events
    assert reaction == Reaction(
        page_id=PAGE_ID,
        psid=PSID,
        timestamp_ms=1764057600000,
        mid="m_OUT0001",
        action="react",
        reaction="love",
        emoji="❤",
    )
    (edit,) = parse_sample("message_edit.json").events
    assert edit == MessageEdit(
        page_id=PAGE_ID,
        psid=PSID,
        timestamp_ms=1764057600000,
        mid="m_AAAA0001",
        text="Hi, my order #1043 has not arrived.",
        num_edit=1,
    )


def test_batched_events_are_all_there_in_timestamp_order():
    body = json.loads((SAMPLES / "batched.json").read_bytes())
    body["entry"].reverse()  # Meta does not promise order after a failed delivery
    events = parse_body(json.dumps(body).encode()).events
    assert [event.mid for event in events] == ["m_B0001", "m_B0002", "m_B0003"]
    assert [event.psid for event in events] == [PSID, PSID, "7300000000000002"]


def test_standby_and_unknown_kinds():
    body = parse_body(envelope(item(message={"mid": "m_1", "text": "x"}), key="standby"))
    assert body.events == (
        Standby(
            page_id=PAGE_ID,
            timestamp_ms=1764057600000,
            item_kind="message",
            psid=PSID,
            mid="m_1",
            text="x",
        ),
    )
    (unknown,) = parse_body(envelope(item(optin={"ref": "x"}))).events
    assert unknown == UnknownEvent(page_id=PAGE_ID, timestamp_ms=1764057600000, item_kind="optin")


@pytest.mark.parametrize(
    "garbage",
    [
        "a string",
        None,
        [],
        {"message": {"mid": "m_1"}},
        item(message={"text": "no mid"}),
        item(message="not an object"),
        item(message={"mid": "m_1", "text": 5}),
        item(message={"mid": "m_1", "attachments": "nope"}),
        item(message={"mid": "x" * 201}),
        item(message={"mid": "m_\x001"}),
        {**item(message={"mid": "m_1"}), "timestamp": "yesterday"},
        {**item(message={"mid": "m_1"}), "timestamp": 10**20},
        {**item(message={"mid": "m_1"}), "sender": {"id": "9" * 65}},
        item(read={}),
        item(delivery={"mids": "m_1"}),
        item(delivery={}),
        item(reaction={"action": "react"}),
        item(message_edit={"mid": "m_1"}),
        item(postback={"title": "x", "mid": 7.5}),
    ],
)
def test_garbage_items_are_skipped_not_raised(garbage):
    body = parse_body(envelope(garbage, item(message={"mid": "m_ok", "text": "fine"})))
    assert [event.mid for event in body.events] == ["m_ok"]
    (skipped,) = body.skipped
    assert skipped.where == "entry[0].messaging[0]"
    assert skipped.page_id == PAGE_ID
    assert skipped.reason


def test_garbage_entries_are_skipped():
    raw = json.dumps(
        {"object": "page", "entry": ["x", {"time": 1}, {"id": PAGE_ID, "messaging": "x"}]}
    ).encode()
    body = parse_body(raw)
    assert body.events == ()
    assert [s.where for s in body.skipped] == ["entry[0]", "entry[1]", "entry[2].messaging"]
    assert body.page_ids == (PAGE_ID,)


def test_text_the_database_cannot_store_is_cleaned():
    raw = envelope(item(message={"mid": "m_1", "text": "a\u0000b\ud83dc"}))
    (event,) = parse_body(raw).events
    assert event.text == "ab?c"
    assert event.text.encode("utf-8")


def test_an_object_we_do_not_route_is_not_parsed():
    raw = {"object": "whatsapp_business_account", "entry": [{"id": "1", "messaging": [item()]}]}
    body = parse_body(json.dumps(raw).encode())
    assert not body.is_routed
    assert body.object == "whatsapp_business_account"
    assert body.events == ()


def test_instagram_messages_are_parsed_like_messenger_ones_with_the_account_id():
    account_id = "17841400000000001"
    message = {
        "sender": {"id": "6600000000000001"},
        "recipient": {"id": account_id},
        "timestamp": 1764057600000,
        "message": {"mid": "aWdfZAG1", "text": "Do you ship to Lyon?"},
    }
    raw = {"object": "instagram", "entry": [{"id": account_id, "time": 1, "messaging": [message]}]}
    body = parse_body(json.dumps(raw).encode())
    assert body.is_instagram and body.is_routed and not body.is_page
    assert body.page_ids == (account_id,)
    (event,) = body.events
    assert isinstance(event, CustomerMessage)
    assert (event.page_id, event.psid, event.text) == (
        account_id,
        "6600000000000001",
        message["message"]["text"],
    )


def test_an_instagram_read_names_the_message_seen_and_counts_from_its_time():
    seen = {
        "sender": {"id": "6600000000000001"},
        "recipient": {"id": "17841400000000001"},
        "timestamp": 1764057600500,
        "read": {"mid": "aWdfZAG1"},
    }
    raw = {"object": "instagram", "entry": [{"id": "17841400000000001", "messaging": [seen]}]}
    (event,) = parse_body(json.dumps(raw).encode()).events
    assert isinstance(event, Read)
    assert event.watermark_ms == 1764057600500


def feed(value: dict, *, field: str = "feed") -> bytes:
    body = {
        "object": "page",
        "entry": [
            {"id": PAGE_ID, "time": 1764057600, "changes": [{"field": field, "value": value}]}
        ],
    }
    return json.dumps(body).encode()


COMMENT = {
    "from": {"id": "1000000000000007", "name": "Ana Silva"},
    "post": {"id": f"{PAGE_ID}_42", "permalink_url": "https://www.facebook.com/acme/posts/42"},
    "message": "Is this in stock?",
    "post_id": f"{PAGE_ID}_42",
    "comment_id": "42_7001",
    "created_time": 1764057600,
    "item": "comment",
    "parent_id": f"{PAGE_ID}_42",
    "verb": "add",
}


def test_a_comment_added_to_a_page_post_is_an_event():
    (event,) = parse_body(feed(COMMENT)).events
    assert isinstance(event, CommentAdded)
    assert event.comment_id == "42_7001"
    assert event.post_id == f"{PAGE_ID}_42"
    assert (event.commenter_id, event.commenter_name) == ("1000000000000007", "Ana Silva")
    assert event.text == "Is this in stock?"
    assert event.post_url == "https://www.facebook.com/acme/posts/42"
    # Feed changes count in seconds.
    assert event.timestamp_ms == 1764057600000


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({**COMMENT, "verb": "edited"}, "feed comment edited not handled"),
        ({**COMMENT, "item": "reaction"}, "feed reaction add not handled"),
        ({**COMMENT, "from": {"id": PAGE_ID, "name": "Acme"}}, "the Page's own comment"),
        ({**COMMENT, "comment_id": None}, "no valid comment_id"),
        ({**COMMENT, "created_time": "yesterday"}, "no valid created_time"),
    ],
)
def test_other_feed_changes_are_skipped_with_a_reason(change, reason):
    body = parse_body(feed(change))
    assert body.events == ()
    (skipped,) = body.skipped
    assert reason in skipped.reason
    assert skipped.where == "entry[0].changes[0]"


def test_changes_of_another_field_are_skipped():
    body = parse_body(feed(COMMENT, field="mention"))
    assert body.events == ()
    assert "'mention' changes are not handled" in body.skipped[0].reason


def test_standby_items_name_the_customer_and_what_was_said():
    echo = {
        "sender": {"id": PAGE_ID},
        "recipient": {"id": PSID},
        "timestamp": 1764057600001,
        "message": {"mid": "m_2", "is_echo": True, "app_id": 1, "text": "From the bot"},
    }
    tapped = item(postback={"title": "Talk to a human", "payload": "HUMAN"})
    tapped["timestamp"] = 1764057600002
    photo = item(message={"mid": "m_3", "attachments": [{"type": "image", "payload": {}}]})
    photo["timestamp"] = 1764057600003
    events = parse_body(envelope(echo, tapped, photo, item(read={"watermark": 1}), key="standby"))
    read, reply, button, image = events.events  # in timestamp order
    assert (reply.psid, reply.mid, reply.text, reply.is_echo) == (PSID, "m_2", "From the bot", True)
    assert (button.psid, button.text, button.mid) == (PSID, "Talk to a human", None)
    assert button.message_mid == f"standby:{PSID}:1764057600002:postback"
    assert (image.mid, image.text) == ("m_3", "[1 attachment]")
    assert (read.item_kind, read.psid, read.mid) == ("read", PSID, None)


# --- referrals (m.me links, ads) and handovers (conversation routing) --------------------

AD_REFERRAL = {
    "ref": "summer",
    "ad_id": "6045246247433",
    "source": "ADS",
    "type": "OPEN_THREAD",
    "ads_context_data": {
        "ad_title": "Summer sale",
        "photo_url": "https://scontent.example/ad.jpg",
        "post_id": "100000000000001_42",
        "product_id": 7,
    },
}


def test_a_messaging_referral_from_an_ad_and_from_an_m_me_link():
    ad, link = parse_body(
        envelope(
            item(referral=AD_REFERRAL),
            item(referral={"ref": "spring-flyer", "source": "SHORTLINK", "type": "OPEN_THREAD"}),
        )
    ).events
    assert ad == Referral(
        page_id=PAGE_ID,
        timestamp_ms=1764057600000,
        psid=PSID,
        referral=ReferralInfo(
            source="ADS",
            type="OPEN_THREAD",
            ref="summer",
            ad_id="6045246247433",
            ad_title="Summer sale",
            photo_url="https://scontent.example/ad.jpg",
            post_id="100000000000001_42",
            product_id="7",
        ),
    )
    assert ad.referral.from_ad
    assert link.referral.as_dict() == {
        "source": "SHORTLINK",
        "type": "OPEN_THREAD",
        "ref": "spring-flyer",
    }
    assert not link.referral.from_ad


def test_the_referral_on_a_first_message_and_on_a_postback():
    message, postback = parse_body(
        envelope(
            item(message={"mid": "m_1", "text": "Is it in blue?", "referral": AD_REFERRAL}),
            item(
                postback={
                    "title": "Get Started",
                    "payload": "START",
                    "referral": {"ref": "qr-code", "source": "SHORTLINK", "type": "OPEN_THREAD"},
                }
            ),
        )
    ).events
    assert isinstance(message, CustomerMessage) and message.referral.ad_id == "6045246247433"
    assert isinstance(postback, Postback) and postback.referral.ref == "qr-code"


def test_a_referral_without_source_is_skipped_and_odd_fields_are_cleaned():
    body = parse_body(
        envelope(
            item(referral={"ref": "x"}),
            item(
                referral={
                    "source": "ads",
                    "ref": "a\x00b" + "c" * 400,
                    "ads_context_data": {"photo_url": "javascript:alert(1)", "ad_title": 5},
                }
            ),
        )
    )
    [skipped] = body.skipped
    assert skipped.reason == "referral has no source"
    [event] = body.events
    assert event.referral.source == "ADS"
    assert event.referral.ref == "ab" + "c" * 298
    assert event.referral.photo_url == ""
    assert event.referral.ad_title == "5"


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        (
            "pass_thread_control",
            {"new_owner_app_id": "100000000000777", "previous_owner_app_id": None, "metadata": "m"},
            {"action": "pass", "new_owner_app_id": "100000000000777", "metadata": "m"},
        ),
        (
            "take_thread_control",
            {"previous_owner_app_id": "100000000000777", "new_owner_app_id": 100000000000888},
            {
                "action": "take",
                "new_owner_app_id": "100000000000888",
                "previous_owner_app_id": "100000000000777",
            },
        ),
        (
            "request_thread_control",
            {"requested_owner_app_id": "263902037430900", "metadata": "please"},
            {
                "action": "request",
                "requested_owner_app_id": "263902037430900",
                "metadata": "please",
            },
        ),
    ],
)
def test_handover_events(key, value, expected):
    [event] = parse_body(envelope(item(**{key: value}))).events
    defaults = {
        "new_owner_app_id": "",
        "previous_owner_app_id": "",
        "requested_owner_app_id": "",
        "metadata": "",
    }
    assert event == Handover(
        page_id=PAGE_ID, timestamp_ms=1764057600000, psid=PSID, **{**defaults, **expected}
    )


def test_a_handover_that_is_not_an_object_is_skipped():
    body = parse_body(envelope(item(pass_thread_control="yes")))
    assert [s.reason for s in body.skipped] == ["pass_thread_control is not an object"]


# --- the customer feedback survey's answer ---------------------------------------


def test_a_feedback_answer_gives_the_csat_score_and_the_comment():
    body = parse_sample("messaging_feedback.json")
    assert body.skipped == ()
    assert body.events == (
        MessagingFeedback(
            page_id=PAGE_ID,
            psid=PSID,
            timestamp_ms=1764057600000,
            question_id="csat",
            score=4,
            comment="Quick and kind, thank you",
        ),
    )


def test_a_feedback_answer_without_a_comment():
    answer = {"q1": {"type": "csat", "payload": "5"}}
    body = parse_body(
        envelope(item(messaging_feedback={"feedback_screens": [{"questions": answer}]}))
    )
    [event] = body.events
    assert (event.question_id, event.score, event.comment) == ("q1", 5, "")


@pytest.mark.parametrize(
    ("feedback", "reason"),
    [
        ({}, "messaging_feedback has no feedback_screens list"),
        ({"feedback_screens": [{"questions": {}}]}, "messaging_feedback has no csat answer"),
        (
            {"feedback_screens": [{"questions": {"q": {"type": "nps", "payload": "9"}}}]},
            "messaging_feedback has no csat answer",
        ),
        (
            {"feedback_screens": [{"questions": {"q": {"type": "csat", "payload": "6"}}}]},
            "messaging_feedback csat payload is not 1 to 5",
        ),
        (
            {"feedback_screens": [{"questions": {"q": {"type": "csat", "payload": 4}}}]},
            "messaging_feedback csat payload is not 1 to 5",
        ),
    ],
)
def test_a_feedback_answer_that_is_not_one_is_skipped_with_its_reason(feedback, reason):
    body = parse_body(envelope(item(messaging_feedback=feedback)))
    assert body.events == ()
    [skipped] = body.skipped
    assert skipped.reason == reason
