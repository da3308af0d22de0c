"""Redis restarts or loses its data under an open desktop: the tab notices and hears again.

A real daphne process on its own Redis; the Redis server is stopped and
started again (losing every group membership). The open socket must be
closed within seconds (1011, or 4012 from the layer watch), never left open
and deaf; a new socket then hears the next offer.
"""

import asyncio
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from django.test import Client
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from facebook.fake import webhooks
from tests.facebook.bodies import APP_SECRET, envelope, from_customer, new_mid, text
from tests.factories import make_agent, make_page, make_workgroup
from tests.processes import free_port, start_daphne

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server"),
]

ROOT = Path(__file__).resolve().parents[2]


class RedisServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while (
            subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True
            ).stdout.strip()
            != b"PONG"
        ):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)


async def desktop(port: int, cookie: str):
    return await connect(
        f"ws://127.0.0.1:{port}/ws/desktop/",
        additional_headers={"Cookie": cookie, "Origin": f"http://127.0.0.1:{port}"},
    )


async def frame_with(socket, needle: str, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        frame = await asyncio.wait_for(socket.recv(), max(deadline - time.monotonic(), 0.01))
        if needle in frame:
            return frame


@pytest.mark.parametrize(
    "how, codes",
    [
        # The layer's blocking reads break: the socket ends with an error (1011).
        ("restart", {1011, 4012}),
        # Nothing breaks, the memberships are simply gone: only the watch sees it.
        ("flush", {4012}),
    ],
)
def test_redis_losing_its_data_closes_open_desktops_and_new_ones_hear_again(how, codes, tmp_path):
    workgroup = make_workgroup("Facebook DM")
    make_page(workgroup)
    agent = make_agent(workgroups=[workgroup], online=False)
    browser = Client()
    browser.force_login(agent.user)
    cookie = f"sessionid={browser.cookies['sessionid'].value}"
    redis = RedisServer(free_port())
    redis.start()
    port = free_port()
    server = start_daphne(
        port,
        tmp_path / "daphne.log",
        REDIS_URL=f"redis://127.0.0.1:{redis.port}/0",
        FACEBOOK_GRAPH_URL="http://127.0.0.1:9/fake-graph",
    )

    async def scenario() -> int | None:
        before = await desktop(port, cookie)
        await asyncio.sleep(1)
        if how == "restart":
            redis.stop()
            redis.start()  # empty: every group membership is gone
        else:
            subprocess.run(["redis-cli", "-p", str(redis.port), "flushall"], check=True)
        try:
            while True:
                await asyncio.wait_for(before.recv(), 15)
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else None
        # The browser reconnects: the new socket hears the next offer.
        after = await desktop(port, cookie)
        await asyncio.sleep(1)
        body = envelope(from_customer("message", text("Back again?", mid=new_mid())))
        answer = await webhooks.post_async(
            f"http://127.0.0.1:{port}/facebook/webhook", body, secret=APP_SECRET
        )
        assert answer.status_code == 200
        await frame_with(after, 'data-state="alerting"')
        await after.close()
        return code

    try:
        code = asyncio.run(scenario())
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()  # never left behind, routing in the next test's database
            server.wait()
        redis.stop()
    assert code in codes, (tmp_path / "daphne.log").read_text()
