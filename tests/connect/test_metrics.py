"""`/metrics`: the exact Prometheus text for known data, and who may read it."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from connect import metrics
from facebook.models import WebhookDelivery
from routing import services
from routing.models import Interaction, Message, MessageDirection, MessageStatus
from tests.factories import customer_writes, make_agent, make_workgroup, refresh
from tests.supervisors import logged_in, make_supervisor

pytestmark = pytest.mark.django_db


@pytest.fixture
def floor():
    now = timezone.now()
    make_workgroup("Billing")
    make_workgroup('Quote "Q" \\ back')
    workgroup = make_workgroup("Facebook DM")
    ann = make_agent("ann", workgroups=[workgroup])

    def writes(n: int) -> Interaction:
        return customer_writes(workgroup, psid=f"73000000000000{n:02d}").interaction

    first = writes(1)
    services.offer_waiting(workgroup_id=workgroup.pk)  # offered to ann…
    Interaction.objects.filter(pk=first.pk).update(alert_deadline=now - timedelta(seconds=1))
    services.alert_timeout(interaction_id=first.pk)  # …who lets it ring out
    make_agent("bob", workgroups=[workgroup])
    services.offer_waiting(workgroup_id=workgroup.pk)  # then offered to bob
    connected = services.pickup(interaction_id=writes(2).pk, agent=refresh_agent(ann))
    held = services.pickup(interaction_id=writes(3).pk, agent=ann)
    services.hold(interaction_id=held.pk, agent=ann)
    for n, waited in ((4, 90), (5, 30)):
        Interaction.objects.filter(pk=writes(n).pk).update(
            queued_at=now - timedelta(seconds=waited)
        )

    WebhookDelivery.objects.create(body="{}", verdict="processed", event_count=3)
    WebhookDelivery.objects.create(body="{}", verdict="processed", event_count=1)
    WebhookDelivery.objects.create(body="{}", verdict="unknown_page", event_count=1)
    for status, code in [
        (MessageStatus.SENT, ""),
        (MessageStatus.SENT, ""),
        (MessageStatus.FAILED, "551"),
        (MessageStatus.FAILED, "190"),
        (MessageStatus.TIMED_OUT, "timeout"),
    ]:
        Message.objects.create(
            interaction=connected,
            direction=MessageDirection.OUTBOUND,
            status=status,
            error_code=code,
            sent_at=now,
            text="…",
        )
    return now


def refresh_agent(agent):
    agent.refresh_from_db()
    return agent


# As prometheus_client writes the text format: values as floats ("2.0"), label names sorted.
EXPECTED = """\
# HELP connect_queue_depth Interactions waiting in the workgroup's queue.
# TYPE connect_queue_depth gauge
connect_queue_depth{workgroup="Billing"} 0.0
connect_queue_depth{workgroup="Facebook DM"} 2.0
connect_queue_depth{workgroup="Quote \\"Q\\" \\\\ back"} 0.0
# HELP connect_queue_longest_wait_seconds How long the oldest waiting interaction has waited \
(0 when none waits).
# TYPE connect_queue_longest_wait_seconds gauge
connect_queue_longest_wait_seconds{workgroup="Billing"} 0.0
connect_queue_longest_wait_seconds{workgroup="Facebook DM"} 90.0
connect_queue_longest_wait_seconds{workgroup="Quote \\"Q\\" \\\\ back"} 0.0
# HELP connect_live_interactions Live interactions by workgroup and state.
# TYPE connect_live_interactions gauge
connect_live_interactions{state="queued",workgroup="Billing"} 0.0
connect_live_interactions{state="alerting",workgroup="Billing"} 0.0
connect_live_interactions{state="connected",workgroup="Billing"} 0.0
connect_live_interactions{state="held",workgroup="Billing"} 0.0
connect_live_interactions{state="queued",workgroup="Facebook DM"} 2.0
connect_live_interactions{state="alerting",workgroup="Facebook DM"} 1.0
connect_live_interactions{state="connected",workgroup="Facebook DM"} 1.0
connect_live_interactions{state="held",workgroup="Facebook DM"} 1.0
connect_live_interactions{state="queued",workgroup="Quote \\"Q\\" \\\\ back"} 0.0
connect_live_interactions{state="alerting",workgroup="Quote \\"Q\\" \\\\ back"} 0.0
connect_live_interactions{state="connected",workgroup="Quote \\"Q\\" \\\\ back"} 0.0
connect_live_interactions{state="held",workgroup="Quote \\"Q\\" \\\\ back"} 0.0
# HELP connect_offers_total Interactions the ACD offered to an agent.
# TYPE connect_offers_total counter
connect_offers_total 2.0
# HELP connect_pickups_total Pickups by agents.
# TYPE connect_pickups_total counter
connect_pickups_total 2.0
# HELP connect_alert_timeouts_total Offers that rang out unanswered (the agent went Not answering).
# TYPE connect_alert_timeouts_total counter
connect_alert_timeouts_total 1.0
# HELP connect_webhook_deliveries_total Webhook bodies Meta posted (signature checked), by verdict.
# TYPE connect_webhook_deliveries_total counter
connect_webhook_deliveries_total{verdict="pending"} 0.0
connect_webhook_deliveries_total{verdict="processed"} 2.0
connect_webhook_deliveries_total{verdict="not_page"} 0.0
connect_webhook_deliveries_total{verdict="unknown_page"} 1.0
connect_webhook_deliveries_total{verdict="partly_ignored"} 0.0
connect_webhook_deliveries_total{verdict="error"} 0.0
# HELP connect_webhook_events_total Messenger events in those bodies, by the body's verdict.
# TYPE connect_webhook_events_total counter
connect_webhook_events_total{verdict="pending"} 0.0
connect_webhook_events_total{verdict="processed"} 4.0
connect_webhook_events_total{verdict="not_page"} 0.0
connect_webhook_events_total{verdict="unknown_page"} 1.0
connect_webhook_events_total{verdict="partly_ignored"} 0.0
connect_webhook_events_total{verdict="error"} 0.0
# HELP connect_outbound_messages Replies by send outcome (status) and Graph API error code.
# TYPE connect_outbound_messages gauge
connect_outbound_messages{error_code="",status="delivered"} 0.0
connect_outbound_messages{error_code="",status="duplicate"} 0.0
connect_outbound_messages{error_code="",status="failed"} 0.0
connect_outbound_messages{error_code="190",status="failed"} 1.0
connect_outbound_messages{error_code="551",status="failed"} 1.0
connect_outbound_messages{error_code="",status="read"} 0.0
connect_outbound_messages{error_code="",status="sending"} 0.0
connect_outbound_messages{error_code="",status="sent"} 2.0
connect_outbound_messages{error_code="",status="timed_out"} 0.0
connect_outbound_messages{error_code="timeout",status="timed_out"} 1.0
# HELP connect_desktop_connections Open desktop websockets (agent tabs), in all server processes.
# TYPE connect_desktop_connections gauge
connect_desktop_connections 2.0
# HELP connect_agents Agents by status.
# TYPE connect_agents gauge
connect_agents{status="available"} 1.0
connect_agents{status="away"} 0.0
connect_agents{status="dnd"} 0.0
connect_agents{status="lunch"} 0.0
connect_agents{status="gone_home"} 0.0
connect_agents{status="not_answering"} 1.0
"""


def test_the_exact_exposition_for_known_data(floor):
    assert metrics.exposition(now=floor) == EXPECTED


def test_staff_read_it_over_http(floor):
    response = logged_in(make_supervisor()).get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert 'connect_queue_depth{workgroup="Facebook DM"} 2.0\n' in response.content.decode()


def test_nobody_else_without_the_token(monkeypatch):
    monkeypatch.delenv("METRICS_TOKEN", raising=False)
    agent = make_agent("agent1")
    for client in (Client(), logged_in(agent.user)):
        response = client.get("/metrics")
        assert response.status_code == 403
        assert "METRICS_TOKEN" in response.content.decode()
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


def test_the_scraper_reads_it_with_the_token(monkeypatch):
    monkeypatch.setenv("METRICS_TOKEN", "s3cret-scrape-token")
    ok = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")
    assert ok.status_code == 200 and ok.content.decode().startswith("# HELP connect_queue_depth")
    wrong = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer guess")
    assert wrong.status_code == 403
    assert Client().get("/metrics").status_code == 403
    assert Client().post("/metrics").status_code == 405


def test_counters_follow_the_rows(floor):
    # One more pickup and one more offer show up at the next scrape.
    before = metrics.exposition(now=floor)
    assert "connect_pickups_total 2.0\n" in before
    queued = Interaction.objects.filter(state="queued").order_by("pk").first()
    services.pickup(interaction_id=queued.pk, agent=refresh(queued).workgroup.members.last())
    assert "connect_pickups_total 3.0\n" in metrics.exposition(now=floor)
