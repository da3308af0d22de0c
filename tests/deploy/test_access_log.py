"""daphne as `make run` starts it keeps no query string in its output.

The webhook handshake carries the verify token in its query string; daphne's
access log would print it to stdout with every request.
"""

import shlex
import subprocess

import httpx
import pytest

from tests.processes import ROOT, free_port, start_daphne

pytestmark = pytest.mark.django_db(transaction=True)


def make_run_daphne_args() -> list[str]:
    """The DAPHNE_ARGS `make run` gives daphne, read from the Makefile itself."""
    printed = subprocess.run(
        ["make", "-s", "--no-print-directory", "--eval", "daphne-args: ; @echo $(DAPHNE_ARGS)"]
        + ["daphne-args"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    return shlex.split(printed.stdout)


def test_the_handshake_token_never_reaches_the_servers_output(tmp_path):
    log = tmp_path / "daphne.log"
    port = free_port()
    server = start_daphne(port, log, make_run_daphne_args())
    try:
        answer = httpx.get(
            f"http://127.0.0.1:{port}/facebook/webhook",
            params={
                "hub.mode": "subscribe",
                "hub.verify_token": "test-verify-token",
                "hub.challenge": "4242",
            },
        )
        assert answer.status_code == 200 and answer.text == "4242"
    finally:
        server.terminate()
        server.wait(timeout=20)
    output = log.read_text()
    assert "test-verify-token" not in output and "hub.challenge" not in output, output
