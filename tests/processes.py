"""Other processes against this test's database: its URL, and a free port."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from django.conf import settings
from django.db import connection

from connect import nginx


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


def _ctrl_c_as_in_a_terminal() -> None:
    """In the server's process before it starts: Ctrl-C (SIGINT) stops it.

    A shell without job control starts a background command with SIGINT
    ignored, and every process under it inherits that (`make test` run in the
    background, say): the server would not hear the Ctrl-C a test sends it.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_daphne(
    port: int, log: Path, daphne_args: Sequence[str] = (), **settings: str
) -> subprocess.Popen:
    """A real daphne process on this test's database, answering /healthz.

    It runs as a server does (the router and the live renderer in threads of
    their own); `daphne_args` go to daphne's command line, and `settings` are
    environment variables added to the test settings.
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
        [sys.executable, "-m", "daphne", *daphne_args, "-b", "127.0.0.1", "-p", str(port)]
        + ["connect.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        preexec_fn=_ctrl_c_as_in_a_terminal,
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


def nginx_binary() -> str | None:
    """nginx, where Debian puts it (/usr/sbin is not on every PATH)."""
    return shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")


def start_nginx(
    port: int, upstream_ports: Sequence[int], static_root: Path, runtime_dir: Path
) -> subprocess.Popen:
    """nginx on 127.0.0.1:`port` with deploy/'s configuration, in front of daphne processes.

    `runtime_dir` must be readable by nginx's workers (nobody, under root).
    """
    binary = nginx_binary()
    assert binary, "nginx is not installed (.ci/ensure-test-services installs it)"
    runtime_dir.mkdir(parents=True, exist_ok=True)
    config = runtime_dir / "nginx.conf"
    config.write_text(
        nginx.render(
            listen=f"127.0.0.1:{port}",
            upstreams=[f"127.0.0.1:{upstream}" for upstream in upstream_ports],
            static_root=static_root,
            runtime_dir=runtime_dir,
            max_body_bytes=settings.FACEBOOK_WEBHOOK_MAX_BYTES,
        )
    )
    error_log = runtime_dir / "error.log"
    process = subprocess.Popen(
        [binary, "-c", str(config), "-e", str(error_log), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 10
    while True:
        assert process.poll() is None, error_log.read_text() if error_log.exists() else ""
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process
        assert time.monotonic() < deadline, "nginx did not start listening"
        time.sleep(0.05)
