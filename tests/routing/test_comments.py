"""Page comments as interactions: stored once, answered by one private reply within
7 days (a clock the test sets), linked to the Messenger conversation that follows."""

from datetime import timedelta

import pytest
from django.utils import timezone

from routing import channel_selectors, services
from routing.models import (
    Channel,
    Interaction,
    Message,
    MessageDirection,
    MessageStatus,
    PageComment,
)
from routing.outbound_files import KeptFile
from routing.rules import private_reply_window
from routing.services import RoutingError
from tests.factories import PAGE_ID, customer_writes, make_agent, make_workgroup

pytestmark = pytest.mark.django_db

COMMENT_ID = f"{PAGE_ID}_42_7001"


def comment_arrives(workgroup, *, at=None, comment_id: str = COMMENT_ID):
    return services.receive_page_comment(
        workgroup_id=workgroup.pk,
        page_id=PAGE_ID,
        commenter_id="1000000000000007",
        commenter_name="Ana  Silva",
        comment_id=comment_id,
        post_id=f"{PAGE_ID}_42",
        post_url="https://www.facebook.com/acme/posts/42",
        text="Is it in stock?",
        commented_at=at or timezone.now(),
    )


@pytest.fixture
def answered_by():
    """An agent connected to a fresh comment interaction."""

    def build(*, at=None):
        workgroup = make_workgroup()
        agent = make_agent(workgroups=[workgroup])
        received = comment_arrives(workgroup, at=at)
        services.pickup(interaction_id=received.interaction.pk, agent=agent)
        return agent, received.interaction

    return build


def test_a_comment_opens_a_comment_interaction_once(routing_events):
    workgroup = make_workgroup()
    received = comment_arrives(workgroup)

    interaction = received.interaction
    assert received.created_interaction
    assert interaction.customer.channel == Channel.COMMENT
    assert (interaction.customer.first_name, interaction.customer.last_name) == ("Ana", "Silva")
    [comment] = interaction.comments.all()
    assert (comment.post_id, comment.text) == (f"{PAGE_ID}_42", "Is it in stock?")
    assert Message.objects.get(mid=COMMENT_ID).interaction == interaction

    again = comment_arrives(workgroup)  # Meta redelivers
    assert again.duplicate
    assert Message.objects.count() == 1


def test_a_comment_waits_for_its_private_reply_on_the_first_response_clock(answered_by):
    commented_at = timezone.now() - timedelta(seconds=30)
    agent, interaction = answered_by(at=commented_at)
    assert Interaction.objects.get(pk=interaction.pk).customer_waiting_since == commented_at

    services.store_reply(interaction_id=interaction.pk, agent=agent, text="Yes, in stock!")

    assert Interaction.objects.get(pk=interaction.pk).customer_waiting_since is None


def test_the_private_reply_window_is_7_days_from_the_comment():
    commented_at = timezone.now() - timedelta(days=3)
    closes = commented_at + timedelta(days=7)

    open_ = private_reply_window(
        commented_at=commented_at, answered=False, now=closes - timedelta(seconds=1)
    )
    assert (open_.open, open_.messaging_type, open_.closes_at) == (True, "RESPONSE", closes)
    closed = private_reply_window(commented_at=commented_at, answered=False, now=closes)
    assert not closed.open
    assert "7 days after the comment" in closed.reason
    answered = private_reply_window(commented_at=commented_at, answered=True, now=commented_at)
    assert not answered.open
    assert "one private reply, and this one has been" in answered.reason


def test_one_private_reply_is_stored_and_a_second_refused(answered_by, sender_commands):
    agent, interaction = answered_by()

    reply = services.store_reply(interaction_id=interaction.pk, agent=agent, text="Yes!")

    assert (reply.reply_to_mid, reply.status) == (COMMENT_ID, MessageStatus.SENDING)
    assert not channel_selectors.reply_window_for(interaction).open
    with pytest.raises(RoutingError, match="one private reply"):
        services.store_reply(interaction_id=interaction.pk, agent=agent, text="And more")


def test_a_failed_private_reply_can_be_resent_or_deleted_to_write_another(
    answered_by, sender_commands
):
    agent, interaction = answered_by()
    reply = services.store_reply(interaction_id=interaction.pk, agent=agent, text="Yes!")
    services.record_send_failed(message_id=reply.pk, code="1", reason="Temporary")

    # Resend sends the one reply again: it is not a second one.
    assert services.resend(message_id=reply.pk, agent=agent).status == MessageStatus.SENDING
    services.record_send_failed(message_id=reply.pk, code="1", reason="Temporary")
    services.delete_unsent(message_id=reply.pk, agent=agent)
    assert channel_selectors.reply_window_for(interaction).open


def test_a_private_reply_is_one_text_message(answered_by):
    agent, interaction = answered_by()
    photo = KeptFile(
        kind="image", name="a.png", path="out/a.png", content_type="image/png", size=1, sha256="0"
    )
    for text in ("", "Here it is"):
        with pytest.raises(RoutingError, match="A private reply is one text message"):
            services.store_replies(
                interaction_id=interaction.pk, agent=agent, text=text, files=[photo]
            )
    assert not Message.objects.filter(direction=MessageDirection.OUTBOUND).exists()


def test_no_private_reply_after_7_days(answered_by):
    agent, interaction = answered_by(at=timezone.now() - timedelta(days=7, seconds=1))
    with pytest.raises(RoutingError, match="7 days after the comment"):
        services.store_reply(interaction_id=interaction.pk, agent=agent, text="Sorry!")
    assert not Message.objects.filter(direction=MessageDirection.OUTBOUND).exists()


def test_the_messenger_conversation_after_a_private_reply_follows_the_comment(
    answered_by, sender_commands
):
    agent, interaction = answered_by()
    reply = services.store_reply(interaction_id=interaction.pk, agent=agent, text="Yes!")
    services.record_private_reply_sent(message_id=reply.pk, mid="m_reply", psid="7300000000000077")

    dm = customer_writes(interaction.workgroup, psid="7300000000000077").interaction

    assert dm.follows_id == interaction.pk
    assert dm.customer.channel == Channel.MESSENGER
    assert [c.comment_id for c in channel_selectors.comments_shown(dm)] == [COMMENT_ID]
    # Someone else's first message follows nothing.
    other = customer_writes(interaction.workgroup, psid="7300000000000099").interaction
    assert Interaction.objects.get(pk=other.pk).follows_id is None
    assert channel_selectors.comments_shown(other) == []
    # A later conversation of the same person is their own: the comment was continued once.
    services.pickup(interaction_id=dm.pk, agent=agent)
    services.disconnect(interaction_id=dm.pk, agent=agent)
    later = customer_writes(interaction.workgroup, psid="7300000000000077").interaction
    assert later.pk != dm.pk
    assert Interaction.objects.get(pk=later.pk).follows_id is None


def test_an_old_private_reply_is_not_continued(answered_by, sender_commands):
    agent, interaction = answered_by()
    reply = services.store_reply(interaction_id=interaction.pk, agent=agent, text="Yes!")
    services.record_private_reply_sent(message_id=reply.pk, mid="m_reply", psid="7300000000000077")
    PageComment.objects.update(replied_at=timezone.now() - timedelta(days=8))

    dm = customer_writes(interaction.workgroup, psid="7300000000000077").interaction

    assert Interaction.objects.get(pk=dm.pk).follows_id is None
