"""The nginx configuration of deploy/ in front of a real daphne.

nginx refuses an oversized body before it is sent (daphne would read it all
first), upgrades the desktop's websocket, serves static files itself, and
passes the client's own address, which daphne honours with --proxy-headers.
"""

import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client
from websockets.sync.client import connect

from routing.models import DesktopConnection
from tests.factories import make_agent, make_page, make_workgroup
from tests.processes import free_port, nginx_binary, start_daphne, start_nginx

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not nginx_binary(), reason="needs nginx (.ci/ensure-test-services)"),
]


@pytest.fixture(scope="module")
def proxied(django_db_setup, tmp_path_factory):
    """The base URL of nginx in front of one daphne started with --proxy-headers.

    One pair for the module: each test's rows are in the same test database.
    """
    daphne_port, nginx_port = free_port(), free_port()
    log = tmp_path_factory.mktemp("daphne") / "daphne.log"
    server = start_daphne(daphne_port, log, ["--proxy-headers"])
    # Readable by nginx's workers, which run as nobody under root.
    runtime = Path(tempfile.mkdtemp(prefix="connect-nginx-"))
    runtime.chmod(0o755)
    static = runtime / "static"
    static.mkdir()
    (static / "probe.txt").write_text("served by nginx")
    proxy = start_nginx(nginx_port, [daphne_port], static, runtime)
    try:
        yield f"http://127.0.0.1:{nginx_port}", nginx_port
    finally:
        for process in (proxy, server):
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        subprocess.run(["rm", "-rf", str(runtime)], check=False)


def test_an_oversized_body_is_refused_before_it_is_sent(proxied):
    _, port = proxied
    declared = settings.FACEBOOK_WEBHOOK_MAX_BYTES + 1
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        # Only the headers: the answer must come without a byte of the body.
        raw.sendall(
            b"POST /facebook/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\n" + f"Content-Length: {declared}\r\n\r\n".encode()
        )
        answer = raw.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413"), answer


def test_a_body_within_the_limit_reaches_the_app(proxied):
    base, _ = proxied
    answer = httpx.post(f"{base}/facebook/webhook", content=b"{}", timeout=10)
    # The application's answer (an unsigned body), not nginx's.
    assert answer.status_code == 403 and "signature" in answer.text.lower()


def test_the_desktop_websocket_upgrades_through_nginx(proxied):
    base, port = proxied
    agent = make_agent(workgroups=[make_workgroup("Facebook DM")], online=False)
    browser = Client()
    browser.force_login(agent.user)
    headers = {
        "Cookie": f"sessionid={browser.cookies['sessionid'].value}",
        "Origin": base,
    }
    with connect(f"ws://127.0.0.1:{port}/ws/desktop/", additional_headers=headers) as desktop:
        assert desktop.response is not None and desktop.response.status_code == 101
        deadline = 50
        while not DesktopConnection.objects.filter(agent=agent).exists() and deadline:
            desktop.ping().wait(0.1)
            deadline -= 1
        assert DesktopConnection.objects.filter(agent=agent).exists()
    # The server forgets the tab after the socket closed. Waited for: the next
    # test's flush of the database would otherwise race that write (on
    # PostgreSQL, a deadlock between the flush and the agent's lock).
    deadline = 100
    while DesktopConnection.objects.filter(agent=agent).exists() and deadline:
        time.sleep(0.05)
        deadline -= 1
    assert not DesktopConnection.objects.filter(agent=agent).exists()


def test_the_client_address_reaches_the_app_and_a_claimed_one_does_not(proxied):
    base, _ = proxied
    make_page(make_workgroup("Facebook DM"))
    # The client speaks from 127.0.0.2; nginx reaches daphne from 127.0.0.1.
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=base, transport=transport, timeout=10) as client:
        login = client.get("/accounts/login/")
        token = client.cookies["csrftoken"]
        assert login.status_code == 200
        refused = client.post(
            "/accounts/login/",
            data={"username": "nobody", "password": "wrong", "csrfmiddlewaretoken": token},
            headers={"X-Forwarded-For": "203.0.113.9"},
        )
    assert refused.status_code == 200 and "Log in" in refused.text
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["127.0.0.2"]


def test_static_files_are_served_by_nginx(proxied):
    base, _ = proxied
    answer = httpx.get(f"{base}/static/probe.txt", timeout=10)
    assert answer.status_code == 200 and answer.text == "served by nginx"


def test_a_send_with_files_may_carry_up_to_26_mb_and_no_more(proxied):
    base, port = proxied
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.sendall(
            b"POST /interactions/1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: multipart/form-data; boundary=x\r\n"
            + f"Content-Length: {27 * 1024 * 1024}\r\n\r\n".encode()
        )
        answer = raw.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413"), answer
    # Over the 1 MiB of other forms, within the Send's limit: the application answers.
    reached = httpx.post(
        f"{base}/interactions/1/messages",
        files={"files": ("scan.png", b"\0" * (2 * 1024 * 1024))},
        timeout=20,
    )
    assert reached.status_code != 413
