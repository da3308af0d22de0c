"""What drawing an agent's My Interactions costs, alone, as a live push draws it.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scratch \
        .venv/bin/python bench/list_render_cost.py [ROWS]

Point DATABASE_URL at a scratch database (it is migrated, and rows are
added to it). One agent is offered ROWS customers (16 by default, the bench's
capacity per agent), through the router as a server routes them. Prints the
milliseconds of: the list from rows already read, every row as it was (the
next offer's push redraws them); the same with one row changed; the same with
nothing kept (every row drawn); and the list with its query.
"""

import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REPEAT = 200


def main(count: int) -> None:
    from bench import scratch

    scratch.set_up()
    from django.contrib.auth import get_user_model
    from django.db import connection

    from connect import fragments, rows
    from facebook import ingest
    from routing import selectors
    from routing.models import Agent, AgentStatus, DesktopConnection, Workgroup

    tag = uuid.uuid4().hex[:8]
    workgroup = Workgroup.objects.create(
        name=f"List cost {tag}", capacity_per_agent=count, alert_timeout_seconds=3600
    )
    page_id = scratch.new_page(workgroup)
    user = get_user_model().objects.create(username=f"list{tag}")
    agent = Agent.objects.create(user=user, status=AgentStatus.AVAILABLE)
    workgroup.members.add(agent)
    DesktopConnection.objects.create(agent=agent, channel_name=f"list.{tag}")
    for _ in range(count):
        scratch.store_message(page_id, scratch.new_psid())
    ingest.route_due()
    agent.refresh_from_db()
    listed = list(selectors.my_interactions(agent))

    def each(label: str, draw, before=None) -> None:
        draw()
        took = 0.0
        for _ in range(REPEAT):
            if before is not None:
                before()
            started = time.perf_counter()
            draw()
            took += time.perf_counter() - started
        print(f"{label:48s} {took * 1000 / REPEAT:7.2f} ms")

    def one_row_changed() -> None:
        listed[0].unread = (getattr(listed[0], "unread", 0) or 0) + 1

    print(f"{connection.vendor} · one agent's list of {len(listed)} rows · mean of {REPEAT}")
    each(
        "from rows read, every row as it was", lambda: fragments.my_interactions(agent, rows=listed)
    )
    each(
        "from rows read, one row changed",
        lambda: fragments.my_interactions(agent, rows=listed),
        before=one_row_changed,
    )
    each(
        "from rows read, nothing kept (every row drawn)",
        lambda: fragments.my_interactions(agent, rows=listed),
        before=rows.forget_drawn_rows,
    )
    each("with its query, every row as it was", lambda: fragments.my_interactions(agent))


if __name__ == "__main__":
    numbers = [argument for argument in sys.argv[1:] if argument.isdigit()]
    main(int(numbers[0]) if numbers else 16)
