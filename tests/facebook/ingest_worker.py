"""A second process that routes stored webhook bodies, for tests/facebook/test_ingest.py.

`python -m tests.facebook.ingest_worker LOG [GO] [--hang]` routes what is due
against the database named by DATABASE_URL and appends each customer message
it hands to routing to LOG as "<pid> <mid>". With GO, it waits for that file
first (so two workers start together); with --hang it writes "inside" to LOG
after the first message, inside the routing transaction, and waits to be killed;
with --slow each message takes a few milliseconds more.
"""

import os
import sys
import time
from pathlib import Path

import django


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    django.setup()
    from facebook import inbound, ingest
    from facebook.models import WebhookDelivery, WebhookVerdict
    from facebook.parsing import CustomerMessage

    log = Path(argv[0])
    go = Path(argv[1]) if len(argv) > 1 and not argv[1].startswith("--") else None
    hang = "--hang" in argv
    slow = "--slow" in argv
    route_message = inbound.HANDLERS[CustomerMessage]

    def logged(page, event):
        note = route_message(page, event)
        with log.open("a") as out:
            out.write(f"{os.getpid()} {event.mid}\n")
            if hang:
                out.write("inside\n")
        if hang:
            time.sleep(120)
        if slow:
            time.sleep(0.005)
        return note

    inbound.HANDLERS[CustomerMessage] = logged
    if go is not None:
        while not go.exists():
            time.sleep(0.01)
    # As a server's router, kicked again and again: a body behind a lane or a
    # barrier another process holds is taken on a later pass.
    while (
        ingest.route_due(batch_size=5)
        or WebhookDelivery.objects.filter(verdict=WebhookVerdict.PENDING).exists()
    ):
        time.sleep(0.01)


if __name__ == "__main__":
    main(sys.argv[1:])
