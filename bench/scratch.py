"""A scratch database for the cost scripts (`routing_cost.py`, `list_render_cost.py`).

Import it before Django is set up: it sets the environment. The test settings
on DATABASE_URL, nothing routed when a body is stored (the script calls
`facebook.ingest.route_due`), profile fetches failing fast, and no live
rendering (no server, no sockets).
"""

import json
import os
import uuid

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ["FACEBOOK_WEBHOOK_ROUTING"] = "background"  # nothing routes on store
os.environ["FACEBOOK_GRAPH_URL"] = "http://127.0.0.1:9/fake-graph"  # profile fetches fail fast


def set_up() -> None:
    """Django set up, the database migrated, live rendering off."""
    import django

    django.setup()
    from django.core.management import call_command

    from routing.events import routing_event

    call_command("migrate", verbosity=0)
    routing_event.disconnect(dispatch_uid="connect.live.deliver")


def new_page(workgroup) -> str:
    """A Page of its own for `workgroup`; its id."""
    from facebook.models import FacebookPage

    page_id = str(900_000_000_000_000 + uuid.uuid4().int % 10**12)
    FacebookPage.objects.create(
        page_id=page_id, name=page_id[-8:], access_token="t", workgroup=workgroup
    )
    return page_id


def new_psid() -> str:
    return f"79{uuid.uuid4().int % 10**12:012d}"


def store_message(page_id: str, psid: str) -> None:
    """A customer's message, stored as the webhook stores it, for `route_due` to route."""
    from facebook import ingest, parsing
    from facebook.fake import webhooks

    mid = f"m_cost_{uuid.uuid4().hex}"
    item = webhooks.customer_message(page_id=page_id, psid=psid, mid=mid, text="Hello")
    ingest.store(parsing.parse_body(json.dumps(webhooks.envelope(item, page_id=page_id)).encode()))
