"""Read paths for the desktop: plain queries, no changes."""

from django.db.models import Count, Q, QuerySet

from routing.models import (
    Agent,
    Interaction,
    InteractionState,
    Message,
    StoredResponse,
    Workgroup,
)

S = InteractionState


def agent_for_user(user) -> Agent | None:
    if not user.is_authenticated:
        return None
    return Agent.objects.filter(user=user).select_related("user").first()


def my_interactions(agent: Agent) -> QuerySet[Interaction]:
    """What the agent's My Interactions list shows: offered, live, and not yet dismissed."""
    return (
        Interaction.objects.filter(agent=agent, dismissed_at__isnull=True)
        .exclude(state=S.QUEUED)
        .select_related("customer", "workgroup")
        .order_by("created_at", "pk")
    )


def workgroup_queue(agent: Agent) -> QuerySet[Interaction]:
    """Interactions waiting in the agent's workgroups, in arrival order."""
    return (
        Interaction.objects.filter(state=S.QUEUED, workgroup__members=agent)
        .select_related("customer", "workgroup")
        .order_by("queued_at", "pk")
    )


def visible_interaction(agent: Agent, interaction_id: int) -> Interaction | None:
    """The interaction if this agent may see it: theirs, or waiting in their workgroup."""
    interaction = (
        Interaction.objects.select_related("customer", "workgroup", "agent__user")
        .filter(pk=interaction_id)
        .first()
    )
    if interaction is None:
        return None
    if interaction.agent_id == agent.pk and interaction.state != S.QUEUED:
        return interaction
    if interaction.state == S.QUEUED and interaction.workgroup.members.filter(pk=agent.pk).exists():
        return interaction
    return None


def transcript(interaction: Interaction) -> QuerySet[Message]:
    return interaction.messages.filter(deleted_at__isnull=True).order_by("sent_at", "pk")


def transfer_targets(agent: Agent) -> QuerySet[Agent]:
    return Agent.objects.exclude(pk=agent.pk).select_related("user").order_by("user__username")


def transfer_workgroups() -> QuerySet[Workgroup]:
    """Workgroups with how many interactions wait in each."""
    return Workgroup.objects.annotate(
        waiting=Count("interactions", filter=Q(interactions__state=S.QUEUED))
    ).order_by("name")


def stored_responses(user=None) -> QuerySet[StoredResponse]:
    """Shared responses, and the user's own when a user is given."""
    owners = Q(category__library__owner__isnull=True)
    if user is not None:
        owners |= Q(category__library__owner=user)
    return (
        StoredResponse.objects.filter(owners)
        .select_related("category__library")
        .order_by("category__library__name", "category__name", "name")
    )
