"""Which app controls a conversation, and how the customer came to it: the services,
and the standard reply window of a conversation that began from an ad."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from routing import services
from routing.events import EventType
from routing.models import Customer, InteractionEvent, Message
from routing.rules import reply_window
from routing.services.conversation_routing import AWAITING_MESSAGE, UNKNOWN_APP
from tests.factories import PAGE_ID, customer_writes, make_agent

pytestmark = pytest.mark.django_db(transaction=True)

PSID = "7300000000000001"
BOT = "100000000000888"
LAST = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def customer() -> Customer:
    return Customer.objects.get(page_id=PAGE_ID, psid=PSID)


# --- the ad-sourced window (routing.rules) ---------------------------------------------


def customer_from_ad(*, first_ad_message: datetime | None, last: datetime) -> Customer:
    return Customer(page_id="1", psid="2", last_message_at=last, ad_window_from=first_ad_message)


@pytest.mark.parametrize(
    ("elapsed", "messaging_type", "tag"),
    [
        (timedelta(hours=23), "RESPONSE", ""),
        # Past the usual 24 hours, still a standard message: Meta's ad rule.
        (timedelta(days=3), "RESPONSE", ""),
        (timedelta(days=6, hours=23, minutes=59), "RESPONSE", ""),
    ],
)
def test_a_conversation_from_an_ad_answers_without_a_tag_for_seven_days(
    elapsed, messaging_type, tag
):
    window = reply_window(customer_from_ad(first_ad_message=LAST, last=LAST), now=LAST + elapsed)
    assert (window.open, window.messaging_type, window.tag) == (True, messaging_type, tag)
    assert window.closes_at == LAST + timedelta(days=7)


def test_the_ad_window_closes_seven_days_after_the_first_message_from_the_ad():
    window = reply_window(
        customer_from_ad(first_ad_message=LAST, last=LAST), now=LAST + timedelta(days=7)
    )
    assert not window.open


def test_later_messages_keep_their_own_24_hours_after_the_ad_window():
    # First message from the ad on day 0, the last one on day 6: RESPONSE to day 7
    # (the ad), then each message's own 24 hours would have ended at day 7 too; a
    # message on day 6.5 gives RESPONSE until day 7.5.
    last = LAST + timedelta(days=6, hours=12)
    window = reply_window(
        customer_from_ad(first_ad_message=LAST, last=last), now=LAST + timedelta(days=7, hours=6)
    )
    assert (window.messaging_type, window.closes_at) == ("RESPONSE", last + timedelta(hours=24))


def test_without_an_ad_the_standard_window_stays_24_hours():
    window = reply_window(
        customer_from_ad(first_ad_message=None, last=LAST), now=LAST + timedelta(days=3)
    )
    assert (window.messaging_type, window.tag) == ("MESSAGE_TAG", "HUMAN_AGENT")


# --- referrals ---------------------------------------------------------------------------

AD = {"source": "ADS", "type": "OPEN_THREAD", "ad_id": "6045246247433", "ad_title": "Summer sale"}
LINK = {"source": "SHORTLINK", "type": "OPEN_THREAD", "ref": "spring-flyer"}


def test_a_first_message_from_an_ad_keeps_the_ad_and_opens_the_longer_window(workgroup):
    at = timezone.now()
    customer_writes(workgroup, psid=PSID, sent_at=at)

    services.record_referral(page_id=PAGE_ID, psid=PSID, referral=AD, at=at, with_message=True)

    stored = customer()
    assert stored.referral == {**AD, "at": at.isoformat()}
    assert stored.ad_window_from == at
    assert reply_window(stored, now=at + timedelta(days=2)).messaging_type == "RESPONSE"


def test_an_ad_click_alone_waits_for_the_customers_next_message(workgroup):
    customer_writes(workgroup, psid=PSID, sent_at=timezone.now() - timedelta(days=1))
    clicked = timezone.now()
    services.record_referral(
        page_id=PAGE_ID, psid=PSID, referral=AD, at=clicked, with_message=False
    )
    assert customer().ad_window_from is None
    assert customer().referral[AWAITING_MESSAGE] is True

    written = clicked + timedelta(seconds=30)
    services.note_customer_message(page_id=PAGE_ID, psid=PSID, at=written)
    services.note_customer_message(page_id=PAGE_ID, psid=PSID, at=written + timedelta(hours=1))

    # The first message after the click counts, not a later one.
    assert customer().ad_window_from == written
    assert AWAITING_MESSAGE not in customer().referral


def test_an_m_me_link_is_kept_without_changing_the_window(workgroup):
    at = timezone.now()
    customer_writes(workgroup, psid=PSID, sent_at=at)
    services.record_referral(page_id=PAGE_ID, psid=PSID, referral=LINK, at=at, with_message=True)
    services.note_customer_message(page_id=PAGE_ID, psid=PSID, at=at)
    assert customer().referral["ref"] == "spring-flyer"
    assert customer().ad_window_from is None


def test_an_older_referral_delivered_late_does_not_replace_a_newer_one(workgroup):
    at = timezone.now()
    customer_writes(workgroup, psid=PSID, sent_at=at)
    services.record_referral(page_id=PAGE_ID, psid=PSID, referral=LINK, at=at, with_message=True)
    services.record_referral(
        page_id=PAGE_ID, psid=PSID, referral=AD, at=at - timedelta(hours=1), with_message=True
    )
    assert customer().referral["source"] == "SHORTLINK"
    assert customer().ad_window_from is None


def test_a_referral_that_opens_a_new_thread_waits_for_the_first_message(workgroup):
    clicked = timezone.now()
    services.record_referral(
        page_id=PAGE_ID, psid=PSID, referral=AD, at=clicked, with_message=False
    )
    assert customer().referral["ad_id"] == "6045246247433"

    written = clicked + timedelta(seconds=5)
    received = customer_writes(workgroup, psid=PSID, sent_at=written)
    services.note_customer_message(page_id=PAGE_ID, psid=PSID, at=written)

    assert received.interaction.customer_id == customer().pk
    assert customer().ad_window_from == written


def test_a_referral_shows_on_open_desktops(workgroup, routing_events):
    interaction = customer_writes(workgroup, psid=PSID).interaction
    routing_events.clear()
    services.record_referral(
        page_id=PAGE_ID, psid=PSID, referral=LINK, at=timezone.now(), with_message=False
    )
    assert [(e.type, e.interaction_id) for e in routing_events] == [
        (EventType.INTERACTION_CHANGED, interaction.pk)
    ]


# --- thread control ----------------------------------------------------------------------


def test_another_app_taking_the_conversation_is_kept_shown_and_written_down(
    workgroup, routing_events
):
    interaction = customer_writes(workgroup, psid=PSID).interaction
    routing_events.clear()
    at = timezone.now()

    services.record_thread_owner(
        page_id=PAGE_ID,
        psid=PSID,
        owner_app_id=BOT,
        action="take",
        at=at,
        words="App 100000000000888 took the conversation.",
        mid="handover:1",
    )

    assert (customer().thread_owner_app_id, customer().thread_owner_since) == (BOT, at)
    line = Message.objects.get(mid="handover:1")
    assert line.interaction_id == interaction.pk
    assert line.text == "App 100000000000888 took the conversation."
    assert line.attachments == [{"type": "standby", "url": None, "title": "", "kind": "handover"}]
    event = InteractionEvent.objects.get(verb="thread_control")
    assert event.detail == {"action": "take", "owner_app_id": BOT}
    assert [e.type for e in routing_events] == [
        EventType.MESSAGE_CHANGED,
        EventType.INTERACTION_CHANGED,
    ]


def test_a_redelivered_handover_changes_nothing(workgroup, routing_events):
    customer_writes(workgroup, psid=PSID)
    at = timezone.now()
    arguments = {
        "page_id": PAGE_ID,
        "psid": PSID,
        "owner_app_id": BOT,
        "action": "take",
        "at": at,
        "words": "taken",
        "mid": "handover:2",
    }
    services.record_thread_owner(**arguments)
    routing_events.clear()
    services.record_thread_owner(**arguments)
    assert Message.objects.filter(mid="handover:2").count() == 1
    assert InteractionEvent.objects.filter(verb="thread_control").count() == 1
    assert routing_events == []


def test_an_older_handover_never_undoes_a_newer_one(workgroup):
    customer_writes(workgroup, psid=PSID)
    now = timezone.now()
    services.record_thread_owner(page_id=PAGE_ID, psid=PSID, owner_app_id="", action="pass", at=now)
    services.record_thread_owner(
        page_id=PAGE_ID, psid=PSID, owner_app_id=BOT, action="take", at=now - timedelta(minutes=1)
    )
    assert customer().thread_owner_app_id == ""


def test_an_unnamed_other_app_is_noted_only_while_no_owner_is_known(workgroup):
    """A standby copy or a 2018300 refusal says another app has it, not which."""
    customer_writes(workgroup, psid=PSID)
    unnamed = dict(page_id=PAGE_ID, psid=PSID, owner_app_id=UNKNOWN_APP, only_while_ours=True)

    services.record_thread_owner(**unnamed, action="standby", at=timezone.now())
    assert customer().thread_owner_app_id == UNKNOWN_APP

    services.record_thread_owner(
        page_id=PAGE_ID, psid=PSID, owner_app_id=BOT, action="take", at=timezone.now()
    )
    services.record_thread_owner(**unnamed, action="refused", at=timezone.now())
    assert customer().thread_owner_app_id == BOT
    assert InteractionEvent.objects.filter(verb="thread_control").count() == 2


def test_a_request_leaves_the_owner_as_it_is(workgroup):
    customer_writes(workgroup, psid=PSID)
    services.record_thread_owner(
        page_id=PAGE_ID,
        psid=PSID,
        owner_app_id=None,
        action="request",
        at=timezone.now(),
        words="The bot asks for the conversation.",
    )
    assert customer().thread_owner_app_id == ""
    assert Message.objects.filter(text="The bot asks for the conversation.").exists()


def test_only_the_owner_of_a_live_interaction_may_take_the_conversation(workgroup):
    interaction = customer_writes(workgroup, psid=PSID).interaction
    ann = make_agent("ann", workgroups=[workgroup])
    bob = make_agent("bob", workgroups=[workgroup])
    with pytest.raises(services.NotYours):  # still queued: nobody's
        services.check_may_take_thread(interaction_id=interaction.pk, agent_id=ann.pk)
    services.pickup(interaction_id=interaction.pk, agent=ann)
    with pytest.raises(services.NotYours):
        services.check_may_take_thread(interaction_id=interaction.pk, agent_id=bob.pk)
    assert (
        services.check_may_take_thread(interaction_id=interaction.pk, agent_id=ann.pk).pk
        == interaction.pk
    )
    services.disconnect(interaction_id=interaction.pk, agent=ann)
    with pytest.raises(services.TransitionRefused):
        services.check_may_take_thread(interaction_id=interaction.pk, agent_id=ann.pk)


def test_a_conversation_handed_to_us_opens_an_interaction_only_when_none_is_live(
    workgroup, routing_events
):
    talked_to_the_bot = timezone.now() - timedelta(minutes=5)
    services.note_standby_message(page_id=PAGE_ID, psid=PSID, at=talked_to_the_bot)
    assert customer().last_message_at == talked_to_the_bot

    handed = {
        "page_id": PAGE_ID,
        "psid": PSID,
        "owner_app_id": "",
        "action": "pass",
        "at": timezone.now(),
        "words": "Passed to this desktop.",
        "open_in_workgroup_id": workgroup.pk,
    }
    services.record_thread_owner(**handed, mid="handover:a")
    services.record_thread_owner(**handed, mid="handover:b")

    [interaction] = customer().interactions.all()
    assert interaction.state == "queued"
    assert interaction.messages.count() == 2  # both lines, in the one live interaction
    assert reply_window(customer()).messaging_type == "RESPONSE"


def test_an_older_standby_message_does_not_move_the_window_back(workgroup):
    now = timezone.now()
    services.note_standby_message(page_id=PAGE_ID, psid=PSID, at=now)
    services.note_standby_message(page_id=PAGE_ID, psid=PSID, at=now - timedelta(hours=1))
    assert customer().last_message_at == now
