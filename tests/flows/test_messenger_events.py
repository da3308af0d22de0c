"""Every Messenger event kind, from real-shaped bodies through the webhook, as the
desktop shows it; each one redelivered changes nothing."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from connect import fragments
from facebook.models import WebhookDelivery, WebhookVerdict
from routing.events import routing_event
from routing.models import (
    Customer,
    Interaction,
    InteractionEvent,
    Message,
    MessageDirection,
    MessageStatus,
)
from tests.facebook.bodies import (
    OUR_APP_ID,
    PSID,
    envelope,
    from_customer,
    last_delivery,
    new_mid,
    now_ms,
    post,
    text,
    to_customer,
)
from tests.factories import customer_writes, make_agent, make_page, make_workgroup

pytestmark = pytest.mark.django_db


@pytest.fixture
def page():
    return make_page(make_workgroup("Facebook DM"))


@pytest.fixture
def published():
    """The routing events announced after commit, in order."""
    seen = []

    def note(sender, event, **kwargs):
        seen.append(event)

    routing_event.connect(note, dispatch_uid="tests.published")
    yield seen
    routing_event.disconnect(dispatch_uid="tests.published")


@pytest.fixture
def deliver(client, django_capture_on_commit_callbacks):
    """Post a body through the webhook and run its after-commit work, as a real request."""

    def post_body(body) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            response = post(client, body)
        assert response.status_code == 200, response.content

    return post_body


def reply_from_agent(interaction: Interaction, *, mid: str = "m_OUT0001", **fields) -> Message:
    fields.setdefault("sent_at", timezone.now() - timedelta(seconds=30))
    return Message.objects.create(
        interaction=interaction,
        direction=MessageDirection.OUTBOUND,
        text=fields.pop("text", "Your parcel left the warehouse today."),
        status=fields.pop("status", MessageStatus.SENT),
        mid=mid,
        **fields,
    )


def bubble_html(message: Message) -> str:
    message.refresh_from_db()
    return fragments.bubble(message, oob=False)


# --- how each kind shows ---------------------------------------------------------------


def test_a_quick_reply_shows_as_a_chip_with_its_payload(page, deliver):
    deliver(envelope(from_customer("message", text("Yes", quick_reply={"payload": "CONFIRM"}))))

    html = bubble_html(Message.objects.get())
    assert "Quick reply" in html
    assert "Yes" in html
    assert 'title="Payload: CONFIRM"' in html
    assert "Attachment unavailable" not in html


def test_a_tapped_get_started_button_shows_as_a_chip(page, deliver):
    postback = {"title": "Get Started", "payload": "GET_STARTED", "mid": new_mid()}
    deliver(envelope(from_customer("postback", postback)))

    message = Message.objects.get()
    assert (message.direction, message.text) == (MessageDirection.INBOUND, "Get Started")
    html = bubble_html(message)
    assert "Tapped button" in html
    assert "Get Started" in html
    assert 'title="Payload: GET_STARTED"' in html


def test_a_reaction_shows_on_its_message_and_goes_on_unreact(page, deliver, published):
    interaction = customer_writes(page.workgroup, psid=PSID).interaction
    ours = reply_from_agent(interaction)
    reacted_at = now_ms()

    def reaction(action: str, at_ms: int) -> dict:
        value = {"reaction": "love", "emoji": "\u2764", "action": action, "mid": ours.mid}
        return envelope(from_customer("reaction", value, at_ms=at_ms))

    deliver(reaction("react", reacted_at))
    ours.refresh_from_db()
    assert ours.reaction == "\u2764"
    assert 'class="bubble-reaction"' in bubble_html(ours)
    assert [event.message_id for event in published] == [ours.pk]

    deliver(reaction("unreact", reacted_at + 1000))
    ours.refresh_from_db()
    assert ours.reaction == ""
    assert "bubble-reaction" not in bubble_html(ours)

    # The react redelivered late, after the unreact: the unreact stays.
    published.clear()
    deliver(reaction("react", reacted_at))
    ours.refresh_from_db()
    assert ours.reaction == ""
    assert published == []


def test_an_attachment_typed_reaction_is_kept_apart_and_reactions_still_work(page, deliver):
    posing = {"type": "reaction", "payload": {"url": "https://x.example/r.png"}}
    deliver(envelope(from_customer("message", text("Look", attachments=[posing]))))
    theirs = Message.objects.get()
    assert theirs.attachments == [
        {
            "type": "fallback",
            "url": "https://x.example/r.png",
            "title": "",
            "original_type": "reaction",
        }
    ]

    reacted_at = now_ms()
    for action, at_ms in (("react", reacted_at), ("unreact", reacted_at + 1000)):
        value = {"reaction": "love", "emoji": "\u2764", "action": action, "mid": theirs.mid}
        deliver(envelope(from_customer("reaction", value, at_ms=at_ms)))
    theirs.refresh_from_db()
    assert theirs.reaction == ""
    assert [entry["type"] for entry in theirs.attachments] == ["fallback", "reaction"]
    assert last_delivery().verdict == WebhookVerdict.PROCESSED


def test_a_reaction_without_emoji_uses_the_reaction_s_own(page, deliver):
    interaction = customer_writes(page.workgroup, psid=PSID).interaction
    ours = reply_from_agent(interaction)
    value = {"reaction": "like", "action": "react", "mid": ours.mid}
    deliver(envelope(from_customer("reaction", value)))
    ours.refresh_from_db()
    assert ours.reaction == "👍"


def test_a_reaction_on_an_unknown_message_is_noted(page, deliver):
    customer_writes(page.workgroup, psid=PSID)
    value = {"reaction": "love", "emoji": "\u2764", "action": "react", "mid": "m_NOPE"}
    deliver(envelope(from_customer("reaction", value)))
    assert "reaction on unknown message m_NOPE" in last_delivery().detail


def test_an_edit_is_marked_and_its_history_kept(page, deliver):
    mid = new_mid()
    deliver(envelope(from_customer("message", text("My order is #1042", mid=mid))))
    for number, words in ((1, "My order is #1043"), (2, "My order is #1044")):
        edit = {"mid": mid, "text": words, "num_edit": number}
        deliver(envelope(from_customer("message_edit", edit)))

    message = Message.objects.get(mid=mid)
    assert message.text == "My order is #1044"
    html = bubble_html(message)
    assert "<summary>Edited</summary>" in html
    assert html.index("My order is #1042") < html.index("My order is #1043")
    assert 'class="bubble-text">My order is #1044' in html


def test_reply_to_is_shown_as_a_quote(page, deliver):
    interaction = customer_writes(page.workgroup, psid=PSID).interaction
    ours = reply_from_agent(interaction, text="Is it the blue backpack?")

    answer = text("Yes, that one", reply_to={"mid": ours.mid})
    deliver(envelope(from_customer("message", answer)))

    message = Message.objects.get(mid=answer["mid"])
    assert message.reply_to_mid == ours.mid
    html = bubble_html(message)
    assert '<blockquote class="bubble-quote">' in html
    assert "Replying to the Page" in html
    assert "Is it the blue backpack?" in html


def test_a_reply_to_a_message_we_do_not_have_says_so(page, deliver):
    deliver(envelope(from_customer("message", text("This one", reply_to={"mid": "m_OLD"}))))
    assert "Replying to a message not shown here" in bubble_html(Message.objects.get())


def test_standby_messages_are_shown_and_never_offered(page, deliver, published):
    interaction = customer_writes(page.workgroup, psid=PSID).interaction
    before = timezone.now()
    bot_reply = to_customer({"mid": new_mid(), "app_id": 263902037430900, "text": "I am a bot"})
    customer_asks = from_customer("message", text("I want a human"))
    tapped = from_customer("postback", {"title": "Talk to a person", "payload": "HUMAN"})
    deliver(envelope(bot_reply, customer_asks, tapped, key="standby"))

    assert Interaction.objects.count() == 1
    standby = list(interaction.messages.filter(attachments__0__type="standby").order_by("pk"))
    assert [(m.direction, m.text) for m in standby] == [
        (MessageDirection.OUTBOUND, "I am a bot"),
        (MessageDirection.INBOUND, "I want a human"),
        (MessageDirection.INBOUND, "Talk to a person"),
    ]
    replied, asked, button = (bubble_html(m) for m in standby)
    assert 'class="bubble system"' in asked
    assert "Another app handled this message" in asked and "I want a human" in asked
    assert "Another app replied" in replied and "Page inbox" not in replied
    assert "Another app handled this button" in button
    assert {event.message_id for event in published} >= {m.pk for m in standby}
    # The customer did write: the reply window counts from it.
    assert Customer.objects.get().last_message_at >= before - timedelta(seconds=5)
    assert last_delivery().verdict == WebhookVerdict.PROCESSED


def test_standby_for_a_customer_without_interaction_is_kept_raw_only(page, deliver):
    deliver(envelope(from_customer("message", text("Hi bot")), key="standby"))
    assert not Message.objects.exists()
    assert not Interaction.objects.exists()
    delivery = last_delivery()
    assert "standby message: the customer has no interaction" in delivery.detail
    assert "Hi bot" in delivery.body


def test_other_standby_kinds_are_recorded_only(page, deliver):
    customer_writes(page.workgroup, psid=PSID)
    deliver(envelope(from_customer("read", {"watermark": now_ms()}), key="standby"))
    assert Message.objects.count() == 1
    assert "standby read recorded only" in last_delivery().detail


# --- order and Pages ---------------------------------------------------------------------


def test_the_transcript_follows_meta_s_timestamps_not_arrival(page, deliver):
    agent = make_agent(workgroups=[page.workgroup])
    written = now_ms()
    deliver(envelope(from_customer("message", text("second"), at_ms=written)))
    # Meta redelivers an earlier message after a failure.
    deliver(envelope(from_customer("message", text("first"), at_ms=written - 60_000)))

    interaction = Interaction.objects.get()
    assert [m.text for m in interaction.messages.all()] == ["first", "second"]
    html = fragments.transcript(agent, interaction)
    assert html.index("first") < html.index("second")
    # The reply window counts from the newest, whatever arrived last.
    assert interaction.customer.last_message_at == Message.objects.get(text="second").sent_at


def test_each_page_routes_to_its_own_workgroup(deliver):
    sales = make_workgroup("Sales DM")
    support = make_workgroup("Support DM")
    make_page(sales, page_id="100000000000011", name="Acme Sales")
    make_page(support, page_id="100000000000012", name="Acme Support")
    body = envelope(
        from_customer("message", text("Price?"), page_id="100000000000011"),
        page_id="100000000000011",
    )
    body["entry"] += [
        envelope(
            from_customer("message", text("Broken!"), page_id="100000000000012"),
            page_id="100000000000012",
        )["entry"][0],
        envelope(
            from_customer("message", text("Who?"), page_id="100000000000099"),
            page_id="100000000000099",
        )["entry"][0],
    ]
    deliver(body)

    routed = {
        m.text: m.interaction.workgroup for m in Message.objects.select_related("interaction")
    }
    assert routed == {"Price?": sales, "Broken!": support}
    # The same PSID on two Pages is two customers (PSIDs are per Page).
    assert Customer.objects.filter(psid=PSID).count() == 2
    delivery = last_delivery()
    assert delivery.verdict == WebhookVerdict.PARTLY_IGNORED
    assert "unknown Page 100000000000099" in delivery.detail


# --- a redelivery of any kind changes nothing --------------------------------------------


def _state() -> dict:
    return {
        "messages": list(
            Message.objects.order_by("pk").values(
                "pk",
                "text",
                "attachments",
                "status",
                "mid",
                "reaction",
                "reply_to_mid",
                "sent_at",
                "interaction_id",
                "direction",
            )
        ),
        "customers": list(Customer.objects.order_by("pk").values()),
        "interactions": list(Interaction.objects.order_by("pk").values()),
        "events": InteractionEvent.objects.count(),
    }


def _kinds() -> dict:
    """Body builders per event kind, given our sent reply's mid and the customer's first mid."""
    return {
        "text": lambda ours, theirs: envelope(from_customer("message", text("Still waiting"))),
        "image": lambda ours, theirs: envelope(
            from_customer(
                "message",
                {
                    "mid": new_mid(),
                    "attachments": [
                        {"type": "image", "payload": {"url": "http://127.0.0.1:9/photo.png"}}
                    ],
                },
            )
        ),
        "fallback": lambda ours, theirs: envelope(
            from_customer(
                "message",
                {
                    "mid": new_mid(),
                    "attachments": [
                        {"type": "fallback", "payload": None, "title": "Attachment Unavailable"}
                    ],
                },
            )
        ),
        "quick_reply": lambda ours, theirs: envelope(
            from_customer("message", text("Yes", quick_reply={"payload": "Y"}))
        ),
        "reply_to": lambda ours, theirs: envelope(
            from_customer("message", text("That one", reply_to={"mid": ours}))
        ),
        "postback": lambda ours, theirs: envelope(
            from_customer("postback", {"title": "Get Started", "payload": "GS", "mid": new_mid()})
        ),
        "postback_without_mid": lambda ours, theirs: envelope(
            from_customer("postback", {"title": "Get Started", "payload": "GS"})
        ),
        "echo_from_the_page_inbox": lambda ours, theirs: envelope(
            to_customer({"mid": new_mid(), "app_id": 263902037430900, "text": "From the inbox"})
        ),
        "echo_of_our_send": lambda ours, theirs: envelope(
            to_customer({"mid": ours, "app_id": int(OUR_APP_ID), "text": "Sent"})
        ),
        "delivery": lambda ours, theirs: envelope(
            from_customer("delivery", {"mids": [ours], "watermark": now_ms()})
        ),
        "read": lambda ours, theirs: envelope(from_customer("read", {"watermark": now_ms()})),
        "reaction": lambda ours, theirs: envelope(
            from_customer(
                "reaction", {"reaction": "love", "emoji": "❤", "action": "react", "mid": ours}
            )
        ),
        "unreact": lambda ours, theirs: envelope(
            from_customer("reaction", {"reaction": "love", "action": "unreact", "mid": ours})
        ),
        "message_edit": lambda ours, theirs: envelope(
            from_customer("message_edit", {"mid": theirs, "text": "Edited", "num_edit": 1})
        ),
        "standby_message": lambda ours, theirs: envelope(
            from_customer("message", text("To the bot")), key="standby"
        ),
        "standby_echo": lambda ours, theirs: envelope(
            to_customer({"mid": new_mid(), "app_id": 1, "text": "Bot answer"}), key="standby"
        ),
        "standby_postback": lambda ours, theirs: envelope(
            from_customer("postback", {"title": "Menu", "payload": "MENU"}), key="standby"
        ),
        "unknown_kind": lambda ours, theirs: envelope(from_customer("optin", {"ref": "ad"})),
    }


@pytest.mark.parametrize("kind", list(_kinds()))
def test_a_redelivered_event_changes_nothing(page, deliver, published, kind):
    make_agent(workgroups=[page.workgroup])
    first = customer_writes(page.workgroup, psid=PSID, sent_at=timezone.now() - timedelta(1))
    ours = reply_from_agent(first.interaction, sent_at=timezone.now() - timedelta(minutes=5))
    if kind == "unreact":
        ours.reaction = "❤"
        ours.attachments = [
            {
                "type": "reaction",
                "url": None,
                "title": "",
                "action": "react",
                "reaction": "love",
                "emoji": "❤",
                "at": (timezone.now() - timedelta(1)).isoformat(),
            }
        ]
        ours.save()
    body = _kinds()[kind](ours.mid, first.message.mid)

    deliver(body)
    after_first = _state()
    published.clear()
    deliver(body)  # Meta redelivers the very same body

    assert _state() == after_first
    assert published == []
    assert WebhookDelivery.objects.count() == 2
    assert WebhookDelivery.objects.first().verdict == WebhookDelivery.objects.last().verdict


def test_the_first_delivery_of_each_kind_did_change_something(page, deliver, published):
    """The redelivery test above means something only if the first delivery counted."""
    unchanged = {"unknown_kind"}
    for kind, build in _kinds().items():
        WebhookDelivery.objects.all().delete()
        Message.objects.all().delete()
        Interaction.objects.all().delete()
        Customer.objects.all().delete()
        first = customer_writes(page.workgroup, psid=PSID, sent_at=timezone.now() - timedelta(1))
        ours = reply_from_agent(first.interaction, mid=new_mid("m_OUT"))
        if kind == "unreact":
            ours.reaction = "❤"
            ours.save()
        if kind == "echo_of_our_send":
            ours.status, ours.mid = MessageStatus.TIMED_OUT, None
            ours.save()
            body = _kinds()[kind](new_mid("m_ECHO"), first.message.mid)
            body["entry"][0]["messaging"][0]["message"]["metadata"] = str(ours.client_id)
        else:
            body = build(ours.mid, first.message.mid)
        before = _state()
        deliver(body)
        if kind in unchanged:
            assert _state() == before, kind
        else:
            assert _state() != before, kind


def test_meta_needs_no_session_and_gets_200_for_every_kind(page):
    # The webhook is called without cookies or CSRF token, as Meta does.
    customer_writes(page.workgroup, psid=PSID)
    for build in _kinds().values():
        response = post(Client(enforce_csrf_checks=True), build("m_OUT0001", "m_X"))
        assert response.status_code == 200
