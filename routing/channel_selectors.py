"""Reads that depend on the channel an interaction came through (Messenger,
Instagram, a Page comment): its reply window, and the comments it shows."""

from datetime import datetime

from routing.models import Channel, Interaction, Message, MessageDirection, PageComment
from routing.rules import ReplyWindow, private_reply_window, reply_window


def reply_target(interaction: Interaction) -> PageComment | None:
    """The comment a private reply from this interaction answers: its newest."""
    return interaction.comments.order_by("-commented_at", "-id").first()


def comment_answered(comment: PageComment) -> bool:
    """A private reply to it is stored (sending, sent, or waiting for Retry/Resend)."""
    return Message.objects.filter(
        interaction_id=comment.interaction_id,
        direction=MessageDirection.OUTBOUND,
        reply_to_mid=comment.comment_id,
        deleted_at__isnull=True,
    ).exists()


def reply_window_for(interaction: Interaction, *, now: datetime | None = None) -> ReplyWindow:
    """Whether the agent may reply now, and how: Meta's rule for the interaction's channel."""
    if interaction.customer.channel != Channel.COMMENT:
        return reply_window(interaction.customer, now=now)
    comment = reply_target(interaction)
    return private_reply_window(
        commented_at=comment.commented_at if comment else None,
        answered=comment is not None and comment_answered(comment),
        now=now,
    )


def comments_shown(interaction: Interaction) -> list[PageComment]:
    """The comments to show above the transcript: the interaction's own, or the
    comment whose private reply this Messenger conversation answers."""
    if interaction.customer.channel == Channel.COMMENT:
        return list(interaction.comments.all())
    if interaction.follows_id is None:
        return []
    return list(PageComment.objects.filter(interaction_id=interaction.follows_id))
