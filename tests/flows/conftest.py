"""Flows across the rooms, in-process: Meta's webhook → routing → the desktop, and an
agent's reply → the sender → the fake Graph API → its echo → the webhook again.

They use the Facebook tests' fixtures: the fake Graph API over real HTTP, a
conversation to reply in, and background work that ends with each test.
"""

from tests.facebook.conftest import (  # noqa: F401 (fixtures)
    conversation,
    facebook_background,
    fake_graph_api,
    sender_pool,
)
