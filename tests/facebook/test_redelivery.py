"""Meta delivers every event three times, interleaved and out of order, from 8 clients.

Each message must be stored and shown once, in the customer's timestamp order,
whatever order the copies arrive in and however the routers interleave.
"""

import random
import threading

import pytest
from django.test import Client

from facebook.models import WebhookDelivery, WebhookVerdict
from routing import transcript_selectors
from routing.models import Customer, Message
from tests.facebook.bodies import envelope, from_customer, now_ms, raw, sign, text
from tests.factories import make_page, make_workgroup

pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMERS = 6
MESSAGES_EACH = 8
COPIES = 3
CLIENTS = 8


def test_every_event_three_times_out_of_order_is_stored_and_shown_once_in_order():
    make_page(make_workgroup("Facebook DM"))
    start = now_ms() - 60_000
    bodies = []
    for c in range(CUSTOMERS):
        for m in range(MESSAGES_EACH):
            item = from_customer(
                "message",
                text(f"c{c} m{m}", mid=f"m_redeliver_{c}_{m}"),
                psid=f"78{c:014d}",
                at_ms=start + m * 1000 + c,
            )
            bodies.append(raw(envelope(item)))
    deliveries = bodies * COPIES
    random.Random(7).shuffle(deliveries)
    answers: list[int] = []

    def client(share: list[bytes]) -> None:
        http = Client()
        for body in share:
            response = http.post(
                "/facebook/webhook",
                data=body,
                content_type="application/json",
                HTTP_X_HUB_SIGNATURE_256=sign(body),
            )
            answers.append(response.status_code)

    threads = [
        threading.Thread(target=client, args=(deliveries[n::CLIENTS],)) for n in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert answers == [200] * len(deliveries)
    assert WebhookDelivery.objects.count() == len(deliveries)
    assert set(WebhookDelivery.objects.values_list("verdict", flat=True)) == {
        WebhookVerdict.PROCESSED
    }

    assert Message.objects.count() == CUSTOMERS * MESSAGES_EACH  # once each
    for customer in Customer.objects.all():
        interaction = customer.interactions.get()
        shown = [message.text for message in transcript_selectors.transcript(interaction)]
        c = int(customer.psid[2:])
        assert shown == [f"c{c} m{m}" for m in range(MESSAGES_EACH)]
