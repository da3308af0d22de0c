"""A database that does not answer in time: the agent gets a 503 in words, nothing changed.

The lock is real: SQLite's write lock taken by another connection (with a
short busy timeout), or a PostgreSQL row lock with a short lock timeout.
"""

import sqlite3
import threading

import pytest
from django.db import IntegrityError, connection, connections

from connect.unavailable import BUSY, DatabaseUnavailableMiddleware
from routing.models import Agent, AgentStatus
from tests.factories import make_agent, make_workgroup

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def agent_client(client):
    agent = make_agent("agent1", workgroups=[make_workgroup("Facebook DM")])
    client.force_login(agent.user)
    return agent, client


def away(client):
    return client.post("/desktop/status", {"status": AgentStatus.AWAY}, HTTP_HX_REQUEST="true")


def assert_busy_and_unchanged(response, agent: Agent) -> None:
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/plain")
    assert response["Retry-After"] == "2"
    assert response.content.decode() == BUSY
    agent.refresh_from_db()
    assert agent.status == AgentStatus.AVAILABLE


def test_sqlite_locked_past_its_busy_timeout_answers_503_in_words(agent_client):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's write lock")
    agent, client = agent_client
    options = connection.settings_dict["OPTIONS"]
    saved = options["timeout"]
    other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    try:
        options["timeout"] = 0.2
        connection.close()  # the next request connects with the short timeout
        other.execute("BEGIN IMMEDIATE")
        response = away(client)
        other.execute("ROLLBACK")
        assert_busy_and_unchanged(response, agent)
    finally:
        options["timeout"] = saved
        connection.close()
        other.close()
    # The lock gone, the same request works.
    assert away(client).status_code == 200


def test_postgresql_lock_not_granted_in_time_answers_503_in_words(agent_client):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's lock timeout")
    agent, client = agent_client
    locked, release = threading.Event(), threading.Event()

    def hold_the_agent_row() -> None:
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute("BEGIN")
                cursor.execute(
                    f"SELECT 1 FROM {Agent._meta.db_table} WHERE id = %s FOR UPDATE", [agent.pk]
                )
                locked.set()
                release.wait(10)
                cursor.execute("ROLLBACK")
        finally:
            other.close()

    holder = threading.Thread(target=hold_the_agent_row)
    holder.start()
    try:
        assert locked.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        response = away(client)
    finally:
        release.set()
        holder.join(10)
        # The setting stays with the session it was made on, which the request gave
        # back to the pool: a RESET here could reach another one. The pool's sessions
        # are closed instead, so no later test gets a 200 ms lock timeout.
        connection.close()
        connection.close_pool()
    assert_busy_and_unchanged(response, agent)
    assert away(client).status_code == 200


def test_other_errors_are_not_dressed_up_as_busy(agent_client):
    """Only the database not answering is a 503; a bug stays a 500 (and is logged)."""
    middleware = DatabaseUnavailableMiddleware(lambda request: None)
    _, client = agent_client
    request = client.get("/healthz").wsgi_request
    assert middleware.process_exception(request, IntegrityError("duplicate")) is None
    assert middleware.process_exception(request, ValueError("bug")) is None
