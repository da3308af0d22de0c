"""A send in flight when its server dies shows as timed out, with Retry, after the restart.

A real daphne process sends an agent's reply to a Graph API that takes the
connection and never answers; the process is SIGKILLed mid-send, so nothing
in it can record an outcome. The next process's timers must settle the
message as timed out (it may or may not have gone out), and the desktop
must show it with Retry: never a spinner forever, never a second send on
its own.
"""

import signal
import time

import httpx
import pytest
from django.test import Client

from routing import services
from routing.models import AgentStatus, Message, MessageStatus
from tests.connect.test_shutdown import SilentGraph
from tests.factories import customer_writes, make_agent, make_page, make_workgroup
from tests.processes import free_port, start_daphne

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.fault]


def browser_of(user, base_url: str) -> httpx.Client:
    """An httpx client with the user's session and CSRF token, as their browser has."""
    django_client = Client()
    django_client.force_login(user)
    browser = httpx.Client(base_url=base_url, timeout=10)
    browser.cookies.set("sessionid", django_client.cookies["sessionid"].value)
    assert browser.get("/").status_code == 200
    browser.headers.update({"X-CSRFToken": browser.cookies["csrftoken"], "HX-Request": "true"})
    return browser


def wait_for(check, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_a_send_cut_off_by_a_killed_server_times_out_with_retry_after_restart(tmp_path):
    workgroup = make_workgroup("Facebook DM")
    make_page(workgroup)
    agent = make_agent("agent1", workgroups=[workgroup], status=AgentStatus.AWAY)
    interaction = customer_writes(workgroup, text="Where is my parcel?").interaction
    services.pickup(interaction_id=interaction.pk, agent=agent)
    graph = SilentGraph()
    settings = {"FACEBOOK_GRAPH_URL": f"http://127.0.0.1:{graph.port}"}
    first_port, second_port = free_port(), free_port()
    first = start_daphne(first_port, tmp_path / "first.log", FACEBOOK_SEND_TIMEOUT="3", **settings)
    second = None
    try:
        browser = browser_of(agent.user, f"http://127.0.0.1:{first_port}")
        answer = browser.post(
            f"/interactions/{interaction.pk}/messages", data={"text": "It left today."}
        )
        browser.close()
        assert answer.status_code == 200
        message = Message.objects.get(text="It left today.")
        # The send is on the wire, unanswered: kill the process under it.
        wait_for(lambda: len(graph.held) >= 1, 10, "the send never reached the Graph API")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        message.refresh_from_db()
        assert message.status == MessageStatus.SENDING

        # Its deadline was set when it was stored; the next process's timers settle it.
        second = start_daphne(
            second_port,
            tmp_path / "second.log",
            CONNECT_TIMERS="1",
            FACEBOOK_SEND_TIMEOUT="1",
            **settings,
        )
        wait_for(
            lambda: Message.objects.get(pk=message.pk).status == MessageStatus.TIMED_OUT,
            45,
            (tmp_path / "second.log").read_text(),
        )
        browser = browser_of(agent.user, f"http://127.0.0.1:{second_port}")
        shown = browser.get(f"/interactions/{interaction.pk}/").text
        browser.close()
        bubble = shown.split(f'id="message-{message.pk}"', 1)[1].split('id="message-', 1)[0]
        assert 'data-status="timed_out"' in bubble
        assert ">Retry</button>" in bubble
        assert "It may not have been sent." in bubble
        assert 'aria-label="Sending"' not in bubble
        # Never sent again on its own.
        time.sleep(1)
        assert len(graph.held) == 1
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(10)
        graph.close()
