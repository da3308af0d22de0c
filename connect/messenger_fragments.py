"""Desktop pieces about the Messenger side: the banner for a Page whose token Meta
refused, and the bubble answering a Retry that came too late.

The banner is rendered into the page by the `token_banner` template tag and
pushed live (`hx-swap-oob`) when a Page's token is marked invalid or replaced.
"""

from django.template.loader import render_to_string

from facebook.pages import pages_with_invalid_token
from routing import selectors
from routing.models import Agent, Message, Workgroup
from routing.rules import ACCEPTED_BY_META


def token_banner(agent: Agent, *, oob: bool = False) -> str:
    """The banners of every workgroup the agent is in (the page, a resync)."""
    workgroup_ids = list(Workgroup.objects.filter(members=agent).values_list("pk", flat=True))
    invalid = pages_with_invalid_token(workgroup_ids)
    banners = [(w, [page for page in invalid if page.workgroup_id == w]) for w in workgroup_ids]
    return render_to_string("desktop/_token_banner.html", {"banners": banners, "oob": oob})


def workgroup_token_banner(workgroup_id: int, *, oob: bool = True) -> str:
    """One workgroup's banner, the same for all its members (a live push)."""
    return render_to_string(
        "desktop/_token_banner.html#workgroup_banner",
        {
            "workgroup_id": workgroup_id,
            "pages": pages_with_invalid_token([workgroup_id]),
            "oob": oob,
        },
    )


def settled_bubble(agent: Agent, message_id: int) -> str:
    """The bubble of a message Messenger confirmed meanwhile, for a stale Retry; else ""."""
    from connect.fragments import bubble  # fragments imports this module

    message = Message.objects.filter(pk=message_id, status__in=ACCEPTED_BY_META).first()
    if message is None or selectors.visible_interaction(agent, message.interaction_id) is None:
        return ""
    return bubble(message, oob=False)
