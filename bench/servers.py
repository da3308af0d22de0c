"""The bench's own databases and daphne processes, started as production runs them.

Each configuration gets a fresh database (migrate + seed_demo), its own
environment (DEBUG off, a secret key, the app secret, the simulator and the
fake Graph API of the first process, as tests/browser/conftest.py does) and
real `daphne` processes on free ports of 127.0.0.1. Everything started here
is stopped here; a daphne process also dies with the bench process that
started it (PR_SET_PDEATHSIG), so an interrupted run leaves nothing behind.
"""

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
APP_SECRET = "bench-app-secret"
APP_ID = "100000000000777"
# The demo Page (seed_demo) takes the webhook load; the bench's own Page and
# workgroup take the live-update rounds, so one phase's queue never rings the
# other phase's agents.
DEMO_PAGE_ID = "100000000000001"
LIVE_PAGE_ID = "100000000000002"
LIVE_WORKGROUP = "Bench live"
PASSWORD = "demo-pass"

SQLITE_PATH = Path("/tmp/h-bench.sqlite3")
PG_NAME = "connect_h_bench"
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
LOG_DIR = Path("/tmp/h-bench-logs")
# Experiments (bench/README.md): other settings, another ASGI application, extra modules.
DATABASE_QUERY = os.environ.get("BENCH_DATABASE_QUERY", "")
SETTINGS_MODULE = os.environ.get("BENCH_SETTINGS", "connect.settings")
APPLICATION = os.environ.get("BENCH_APPLICATION", "connect.asgi:application")
EXTRA_PYTHONPATH = os.environ.get("BENCH_PYTHONPATH", "")


@dataclass
class Configuration:
    name: str
    title: str
    processes: int
    postgres: bool

    @property
    def redis_url(self) -> str:
        return REDIS_URL if self.postgres else ""


CONFIGURATIONS = {
    "sqlite": Configuration("sqlite", "1 proc · SQLite + in-memory", 1, postgres=False),
    "postgres": Configuration("postgres", "2 procs · PostgreSQL + Redis", 2, postgres=True),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- PostgreSQL and Redis -----------------------------------------------------------


def postgres_problem() -> str:
    """Why the PostgreSQL + Redis configuration cannot run here; "" when it can."""
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=2) as connection:
            connection.execute("SELECT 1")
    except Exception as exc:
        return f"PostgreSQL does not answer at {_no_password(PG_ADMIN_URL)} ({type(exc).__name__})"
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:
        return f"Redis does not answer at {REDIS_URL} ({type(exc).__name__})"
    return ""


def _no_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def postgres_url(name: str) -> str:
    return urlunsplit(urlsplit(PG_ADMIN_URL)._replace(path=f"/{name}"))


def recreate_postgres(name: str) -> str:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        drop_postgres_in(connection, name)
        connection.execute(f'CREATE DATABASE "{name}"')
    return postgres_url(name)


def drop_postgres(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        drop_postgres_in(connection, name)


def drop_postgres_in(connection, name: str) -> None:
    connection.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name]
    )
    connection.execute(f'DROP DATABASE IF EXISTS "{name}"')


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


# --- the servers --------------------------------------------------------------------


@dataclass
class Servers:
    config: Configuration
    urls: list[str]
    env: dict
    database_url: str
    processes: list[subprocess.Popen] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    @property
    def desktop_url(self) -> str:
        """Where the agents log in and keep their sockets."""
        return self.urls[0]

    @property
    def webhook_url(self) -> str:
        """Where a live round's webhook lands: not the agents' process, when there are two."""
        return self.urls[-1] + "/facebook/webhook"

    def start(self) -> None:
        LOG_DIR.mkdir(exist_ok=True)
        for url in self.urls:
            port = urlsplit(url).port
            log = LOG_DIR / f"{self.config.name}-{port}.log"
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "daphne",
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    APPLICATION,
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log.open("w"),
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
            self.processes.append(process)
            self.logs.append(log)
        for url, process, log in zip(self.urls, self.processes, self.logs, strict=True):
            _wait_healthy(url, process, log)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self.processes.clear()

    def cpu_seconds(self) -> list[float]:
        """CPU time (user + system) each server process has used so far."""
        ticks = os.sysconf("SC_CLK_TCK")
        used = []
        for process in self.processes:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            used.append((int(fields[11]) + int(fields[12])) / ticks)
        return used

    def log_errors(self) -> list[str]:
        """Tracebacks and ERROR lines the servers logged (a bench run should have none)."""
        found = []
        for log in self.logs:
            if not log.exists():
                continue
            for line in log.read_text(errors="replace").splitlines():
                if " ERROR " in line or line.startswith("Traceback"):
                    found.append(f"{log.name}: {line.strip()}")
        return found


def _die_with_parent() -> None:
    # Linux: the child gets SIGTERM when the bench process dies, even by SIGKILL.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _wait_healthy(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"daphne exited early:\n{log.read_text()}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"daphne did not become healthy:\n{log.read_text()}")


def server_env(config: Configuration, urls: list[str], database_url: str) -> dict:
    """The production environment of tests/browser/conftest.py, with the bench's own secrets."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("DJANGO_", "PYTEST_", "FACEBOOK_", "REDIS_", "DATABASE_", "CONNECT_", "BENCH_")
        )
    }
    env.update(
        DJANGO_SETTINGS_MODULE=SETTINGS_MODULE,
        DEBUG="0",
        SECRET_KEY="bench-secret-key",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url,
        FACEBOOK_APP_SECRET=APP_SECRET,
        FACEBOOK_APP_ID=APP_ID,
        FACEBOOK_VERIFY_TOKEN="bench-verify-token",
        FACEBOOK_SIMULATOR="1",
        # A bench server is a test server: the simulator on with DEBUG off, plain HTTP.
        FACEBOOK_SIMULATOR_ALLOW_PRODUCTION="1",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        FACEBOOK_GRAPH_URL=urls[0] + "/fake-graph",
        MEDIA_ROOT="/tmp/h-bench-media",
    )
    if config.redis_url:
        env["REDIS_URL"] = config.redis_url
    if EXTRA_PYTHONPATH:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [EXTRA_PYTHONPATH, env.get("PYTHONPATH")]))
    return env


def prepare(config: Configuration) -> Servers:
    """A fresh, empty database for `config` and the servers' environment; nothing started."""
    if config.postgres:
        database_url = recreate_postgres(PG_NAME)
        flush_redis()
    else:
        remove_sqlite(SQLITE_PATH)
        database_url = f"sqlite:///{SQLITE_PATH}"
    if DATABASE_QUERY:
        # An experiment, e.g. BENCH_DATABASE_QUERY=conn_max_age=0 (django-environ options).
        database_url += "?" + DATABASE_QUERY
    urls = [f"http://127.0.0.1:{free_port()}" for _ in range(config.processes)]
    servers = Servers(
        config=config,
        urls=urls,
        env=server_env(config, urls, database_url),
        database_url=database_url,
    )
    return servers


def discard(config: Configuration) -> None:
    """Remove what `prepare` made, once the servers are stopped."""
    if config.postgres:
        drop_postgres(PG_NAME)
        flush_redis()
    else:
        remove_sqlite(SQLITE_PATH)
