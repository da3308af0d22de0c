"""Test data built through the real models (and, for state, the real services)."""

import itertools
from datetime import datetime

from django.contrib.auth import get_user_model
from django.utils import timezone

from facebook.models import FacebookPage
from routing import services
from routing.models import Agent, AgentStatus, DesktopConnection, Interaction, Workgroup

_seq = itertools.count(1)

PAGE_ID = "100000000000001"


def make_workgroup(name: str | None = None, **fields) -> Workgroup:
    return Workgroup.objects.create(name=name or f"Workgroup {next(_seq)}", **fields)


def make_agent(
    username: str | None = None,
    *,
    workgroups: list[Workgroup] = (),
    status: str = AgentStatus.AVAILABLE,
    online: bool = True,
    **fields,
) -> Agent:
    user = get_user_model().objects.create_user(
        username=username or f"agent{next(_seq)}", password="demo-pass"
    )
    agent = Agent.objects.create(user=user, status=status, **fields)
    for workgroup in workgroups:
        workgroup.members.add(agent)
    if online:
        DesktopConnection.objects.create(agent=agent, channel_name=f"test.{user.username}")
    return agent


def make_page(workgroup: Workgroup, page_id: str = PAGE_ID, **fields) -> FacebookPage:
    fields.setdefault("name", "Acme Support")
    fields.setdefault("access_token", "demo-page-token")
    return FacebookPage.objects.create(page_id=page_id, workgroup=workgroup, **fields)


def customer_writes(
    workgroup: Workgroup,
    *,
    psid: str = "7300000000000001",
    text: str = "Hello",
    mid: str | None = None,
    sent_at: datetime | None = None,
    page_id: str = PAGE_ID,
) -> services.Received:
    return services.receive_customer_message(
        workgroup_id=workgroup.pk,
        page_id=page_id,
        psid=psid,
        mid=mid or f"m_test_{next(_seq)}",
        text=text,
        sent_at=sent_at or timezone.now(),
    )


def refresh(interaction: Interaction) -> Interaction:
    interaction.refresh_from_db()
    return interaction
