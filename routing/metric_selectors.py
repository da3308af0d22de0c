"""Counts of stored rows that operators scrape (`connect.metrics`): plain reads, no changes.

The live interactions per workgroup and state are `routing.board.live_counts`,
the same figures the supervisors' board shows.
"""

from django.db.models import Count

from routing.models import Agent, DesktopConnection, InteractionEvent, Message, MessageDirection


def verb_counts(verbs: list[str]) -> dict[str, int]:
    """How many interaction events of each of `verbs` are stored (absent: none)."""
    return dict(
        InteractionEvent.objects.filter(verb__in=verbs)
        .order_by()
        .values("verb")
        .annotate(n=Count("pk"))
        .values_list("verb", "n")
    )


def outbound_outcomes() -> dict[tuple[str, str], int]:
    """Replies per (status, Graph API error code)."""
    return {
        (row["status"], row["error_code"]): row["n"]
        for row in Message.objects.filter(direction=MessageDirection.OUTBOUND)
        .order_by()
        .values("status", "error_code")
        .annotate(n=Count("pk"))
    }


def desktop_connection_count() -> int:
    """Open desktop websockets (agent tabs), in all server processes."""
    return DesktopConnection.objects.count()


def agent_status_counts() -> dict[str, int]:
    """Agents per status (absent: none)."""
    return dict(
        Agent.objects.order_by().values("status").annotate(n=Count("pk")).values_list("status", "n")
    )
