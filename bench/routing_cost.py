"""What routing one stored webhook body costs, alone on a quiet database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scratch \
        .venv/bin/python bench/routing_cost.py 200 [--nobody-free]

Point DATABASE_URL at a scratch database (it is migrated, and rows are
added to it). One workgroup of 200 available agents with a desktop each, one
Page; N new customers' bodies are stored and routed by `facebook.ingest.route_due`
(batches of 20, as the server's router), then a follow-up from each. Live
rendering is left out (no server, no sockets); the after-commit offers are
in. Prints per body: milliseconds, SQL statements, and the statements by kind.
With `--nobody-free` the agents are Away, as in a busy hour when every one is
full: each customer joins a queue that grows to N, and each batch's offer pass
finds nobody to ring.
"""

import sys
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(count: int, *, nobody_free: bool = False) -> None:
    from bench import scratch

    # No sockets here: what routing costs, not rendering.
    scratch.set_up()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from facebook import ingest
    from routing.models import Agent, AgentStatus, DesktopConnection, Workgroup

    tag = uuid.uuid4().hex[:8]
    workgroup = Workgroup.objects.create(
        name=f"Routing cost {tag}", capacity_per_agent=20, alert_timeout_seconds=3600
    )
    page_id = scratch.new_page(workgroup)
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"cost{tag}{n}") for n in range(200)
    )
    status = AgentStatus.AWAY if nobody_free else AgentStatus.AVAILABLE
    agents = Agent.objects.bulk_create(Agent(user=u, status=status) for u in users)
    workgroup.members.add(*agents)
    DesktopConnection.objects.bulk_create(
        DesktopConnection(agent=a, channel_name=f"cost.{tag}.{a.pk}") for a in agents
    )
    psids = [scratch.new_psid() for _ in range(count)]

    def route(label: str) -> None:
        for psid in psids:
            scratch.store_message(page_id, psid)
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            routed = ingest.route_due()
            seconds = time.perf_counter() - started
        kinds = Counter(query["sql"].split()[0] for query in queries.captured_queries)
        print(
            f"{label:14s} {routed} bodies · {seconds * 1000 / routed:6.2f} ms "
            f"and {len(queries) / routed:5.1f} statements per body · "
            + ", ".join(f"{kind} {n / routed:.1f}" for kind, n in kinds.most_common())
        )

    print(
        f"{connection.vendor} · {count} bodies a run, batches of {ingest.BATCH_SIZE}"
        + (" · nobody free: every customer queued" if nobody_free else "")
    )
    route("new customers")
    route("follow-ups")


if __name__ == "__main__":
    numbers = [argument for argument in sys.argv[1:] if argument.isdigit()]
    main(int(numbers[0]) if numbers else 200, nobody_free="--nobody-free" in sys.argv[1:])
