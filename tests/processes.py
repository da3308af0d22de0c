"""Other processes against this test's database: its URL, and a free port."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from django.db import connection


def shared_database_url() -> str:
    """This test's database, for other processes."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        if db["NAME"] in ("", ":memory:") or "mode=memory" in str(db["NAME"]):
            pytest.skip("an in-memory SQLite database cannot be shared with other processes")
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{db['NAME']}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


ROOT = Path(__file__).resolve().parents[1]


def start_daphne(port: int, log: Path, **settings: str) -> subprocess.Popen:
    """A real daphne process on this test's database, answering /healthz.

    It runs as a server does (the router and the live renderer in threads of
    their own); `settings` are environment variables added to the test settings.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FACEBOOK_", "DJANGO_", "PYTEST_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=shared_database_url(),
        FACEBOOK_APP_SECRET="test-app-secret",
        FACEBOOK_VERIFY_TOKEN="test-verify-token",
        FACEBOOK_WEBHOOK_ROUTING="background",
        LIVE_UPDATES="background",
    )
    env.update(settings)
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
        + ["connect.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
