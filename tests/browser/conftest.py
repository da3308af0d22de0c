"""Real server processes and Debian's Chromium for the browser tests.

The servers are separate daphne processes with their own database, exactly as
`make run` serves them. In the PostgreSQL + Redis pass two processes run, and
the webhook is posted to the one the agent is not connected to, so live events
must cross processes through Redis.
"""

import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from facebook.fake import webhooks

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
APP_SECRET = "browser-app-secret"
PAGE_ID = "100000000000001"
ARTIFACTS = ROOT / "test-artifacts"

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _browser_database_url(tmp_dir: Path) -> str:
    given = os.environ.get("DATABASE_URL", "")
    if not given.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{tmp_dir / 'browser.sqlite3'}"
    import psycopg

    parts = urlsplit(given)
    # Beside the suite's own database, named after it, so parallel runs on
    # different databases never share one.
    # A parallel worker (pytest-xdist) has servers, and so a database, of its own.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    name = parts.path.strip("/") + "_browser" + (f"_{worker}" if worker else "")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name]
        )
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def _browser_redis_url() -> str:
    given = os.environ.get("REDIS_URL", "")
    if not given:
        return ""
    # Its own Redis database (the given one + 8): the test process's groups
    # must not mix with the servers'.
    parts = urlsplit(given)
    number = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(number + 8) % 16}"))


@dataclass
class Servers:
    urls: list[str]
    env: dict
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def desktop_url(self) -> str:
        return self.urls[0]

    @property
    def customer_url(self) -> str:
        """Where the simulator runs: its webhook POSTs land on the last process."""
        return self.urls[-1] + "/simulator/"

    @property
    def webhook_url(self) -> str:
        # With several processes, Meta's POST lands on another one than the agent's.
        return self.urls[-1] + "/facebook/webhook"

    def post_webhook(self, body: dict) -> httpx.Response:
        return webhooks.post(self.webhook_url, body, secret=APP_SECRET, timeout=10)

    def customer_writes(self, text: str, *, psid: str = "7300000000000001") -> str:
        mid = f"m_browser_{uuid.uuid4().hex}"
        response = self.post_webhook(
            webhooks.envelope(
                webhooks.customer_message(page_id=PAGE_ID, psid=psid, mid=mid, text=text),
                page_id=PAGE_ID,
            )
        )
        assert response.status_code == 200, response.text
        return mid

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout


def _wait_healthy(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server did not become healthy:\n{log.read_text()}")


@pytest.fixture(scope="session")
def servers(tmp_path_factory) -> Servers:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    tmp_dir = tmp_path_factory.mktemp("server")
    redis_url = _browser_redis_url()
    count = 2 if redis_url else 1
    ports = [free_port() for _ in range(count)]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "PYTEST_", "FACEBOOK_", "REDIS_", "DATABASE_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="connect.settings",
        DEBUG="0",
        SECRET_KEY="browser-secret-key",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=_browser_database_url(tmp_dir),
        FACEBOOK_APP_SECRET=APP_SECRET,
        FACEBOOK_APP_ID="100000000000777",
        FACEBOOK_VERIFY_TOKEN="browser-verify-token",
        FACEBOOK_SIMULATOR="1",
        # A test server: the simulator on with DEBUG off, plain HTTP.
        FACEBOOK_SIMULATOR_ALLOW_PRODUCTION="1",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        FACEBOOK_GRAPH_URL=urls[0] + "/fake-graph",
        # The fake CDN of the first server (plain http on loopback) serves attachment files.
        FACEBOOK_ATTACHMENT_ALLOWED_HOSTS="127.0.0.1,localhost",
        FACEBOOK_SEND_TIMEOUT="3",
        # The demo sends the feedback survey after a disconnect; Meta wants a privacy link.
        FACEBOOK_PRIVACY_URL="https://acme.example/privacy",
        # Where the fake Graph API is told the persona pictures are.
        PUBLIC_BASE_URL=urls[0],
        MEDIA_ROOT=str(tmp_dir / "media"),
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    result = Servers(urls=urls, env=env)
    result.manage("migrate", "--no-input", "-v", "0")
    result.manage("seed_demo", "--force")
    for port, url in zip(ports, urls, strict=True):
        log = tmp_dir / f"daphne-{port}.log"
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                "connect.asgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        result.processes.append(process)
        _wait_healthy(url, process, log)
    yield result
    for process in result.processes:
        process.terminate()
    for process in result.processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


# Per module: Playwright's sync API runs an event loop in the main thread while
# it lives, and an async test after it (same worker) could not start its own.
@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser):
    contexts = []

    def make(viewport=(1280, 720)):
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def log_in(page, servers: Servers, username: str) -> None:
    page.goto(servers.desktop_url + "/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("demo-pass")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(servers.desktop_url + "/")
    # The desktop counts as open (and gets offers) once its socket is live.
    page.locator('body[data-live="connected"]').wait_for()
