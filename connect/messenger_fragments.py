"""Desktop pieces about the Messenger side: the banner for a Page whose token Meta
refused, whose webhook subscription is gone, or that Meta warned or blocked; and
the bubble answering a Retry that came too late.

The banner is rendered into the page by the `token_banner` template tag and
pushed live (`hx-swap-oob`) when a Page's token is marked invalid or replaced.
"""

from django.template.loader import render_to_string

from facebook.pages import pages_needing_attention
from routing import selectors
from routing.models import Agent


def token_banner(agent: Agent, *, oob: bool = False) -> str:
    """The banners of every workgroup the agent is in (the page, a resync)."""
    workgroup_ids = selectors.agent_workgroup_ids(agent.pk)
    invalid = pages_needing_attention(workgroup_ids)
    banners = [(w, [page for page in invalid if page.workgroup_id == w]) for w in workgroup_ids]
    return render_to_string("desktop/_token_banner.html", {"banners": banners, "oob": oob})


def workgroup_token_banner(workgroup_id: int, *, oob: bool = True) -> str:
    """One workgroup's banner, the same for all its members (a live push)."""
    return render_to_string(
        "desktop/_token_banner.html#workgroup_banner",
        {
            "workgroup_id": workgroup_id,
            "pages": pages_needing_attention([workgroup_id]),
            "oob": oob,
        },
    )
