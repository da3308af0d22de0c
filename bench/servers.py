"""The bench's own databases and daphne processes, started as production runs them.

Each configuration gets a fresh database (migrate), its own environment (DEBUG
off, a secret key, the app secret, the simulator and the fake Graph API of the
first process, as tests/browser/conftest.py does) and real `daphne` processes
on free ports of 127.0.0.1, run from the project checkout under measure (this
one, or `--project DIR`) with the bench's settings module `benchsite.settings`
(the project's settings plus two bench endpoints, bench/server/benchsite).
Everything started here is stopped here; a daphne process also dies with the
bench process that started it (PR_SET_PDEATHSIG), so an interrupted run leaves
nothing behind.
"""

import ctypes
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
# Where `benchsite` (the bench's settings, URLs and endpoints) is importable from.
SITE_PATH = ROOT / "bench" / "server"
# The checkout whose servers and models are measured; `use_project` changes it.
PROJECT = ROOT
APP_SECRET = "bench-app-secret"
APP_ID = "100000000000777"
# The bench's Pages and workgroups (made through the ORM, as a supervisor
# would in admin): the ingest Page's workgroup has no agent with a desktop,
# so its customers wait in the queue; the live Page rings the bench agents.
INGEST_PAGE_ID = "100000000000011"
INGEST_WORKGROUP = "Bench ingest"
LIVE_PAGE_ID = "100000000000012"
LIVE_WORKGROUP = "Bench live"
SOCKETS_WORKGROUP = "Bench sockets"
RENDER_PAGE_ID = "100000000000013"
RENDER_WORKGROUP = "Bench render"

SQLITE_PATH = Path("/tmp/h-bench.sqlite3")
PG_NAME = "connect_h_bench"
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
LOG_DIR = Path("/tmp/h-bench-logs")
NGINX_DIR = Path("/tmp/h-bench-nginx")
# Experiments (bench/README.md): other settings, another ASGI application, extra modules.
DATABASE_QUERY = os.environ.get("BENCH_DATABASE_QUERY", "")
# The project's settings module; the servers run `benchsite.settings`, which extends it.
SETTINGS_MODULE = os.environ.get("BENCH_SETTINGS", "connect.settings")
# The project's application, counting its SQL statements (bench/server/benchsite/asgi.py).
APPLICATION = os.environ.get("BENCH_APPLICATION", "benchsite.asgi:application")
EXTRA_PYTHONPATH = os.environ.get("BENCH_PYTHONPATH", "")
# Sockets: the bench and its servers each hold thousands of them.
OPEN_FILES = 20000


def nginx_binary() -> str:
    """nginx, where Debian puts it; "" when it is not installed."""
    return shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin") or ""


def use_project(path: Path) -> None:
    """Measure the checkout at `path` (its servers, its models) instead of this one."""
    global PROJECT
    PROJECT = path.resolve()


def python_path() -> list[str]:
    """What the servers and the bench's own Django import from, in order."""
    extra = EXTRA_PYTHONPATH.split(os.pathsep) if EXTRA_PYTHONPATH else []
    return [*extra, str(SITE_PATH), str(PROJECT)]


def raise_open_files() -> int:
    """Raise this process's open-file limit as far as allowed; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = OPEN_FILES if hard == resource.RLIM_INFINITY else min(OPEN_FILES, hard)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        soft = wanted
    return soft


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
    # How far each log had grown when the bench asked the servers to stop.
    stopped_at: list[int] = field(default_factory=list)
    stop_seconds: float = 0.0
    killed_on_stop: int = 0
    # nginx in front of the processes (deploy/nginx.conf.template), as production
    # runs them: with more than one process, when nginx is installed.
    proxy: subprocess.Popen | None = None
    proxy_url: str = ""
    # The fake Graph API (Meta's side), in a process of its own.
    meta_url: str = ""
    meta: subprocess.Popen | None = None

    @property
    def desktop_url(self) -> str:
        """Where the agents log in and keep their sockets."""
        return self.urls[0]

    @property
    def webhook_base(self) -> str:
        """Where the ingest phase's webhooks land: nginx, spreading them over both
        processes, when it runs; else not the agents' process, when there are two."""
        return self.proxy_url or self.urls[-1]

    @property
    def live_base(self) -> str:
        """Where the live phases' webhooks and floor posts land (and the fake Graph API's
        echoes): the process the agents' sockets are not on, when there are two, so
        that every live update crosses the channel layer."""
        return self.urls[-1]

    def start(self) -> None:
        LOG_DIR.mkdir(exist_ok=True)
        for url in self.urls:
            process, log = _daphne(url, self.env, f"{self.config.name}-{urlsplit(url).port}")
            self.processes.append(process)
            self.logs.append(log)
        for url, process, log in zip(self.urls, self.processes, self.logs, strict=True):
            _wait_healthy(url, process, log)
        self._start_meta()
        if len(self.urls) > 1 and nginx_binary():
            self._start_proxy()

    def _start_meta(self) -> None:
        """The fake Graph API in a process of its own, as Meta's servers are not ours:
        no router or timers there, and its echoes go to the live webhooks' process."""
        env = {
            **self.env,
            "CONNECT_TIMERS": "0",
            "FACEBOOK_WEBHOOK_ROUTING": "inline",
            "FACEBOOK_SIMULATOR_WEBHOOK_URL": self.live_base + "/facebook/webhook",
        }
        self.meta, log = _daphne(self.meta_url, env, f"{self.config.name}-meta")
        self.logs.append(log)
        _wait_healthy(self.meta_url, self.meta, log)

    def _start_proxy(self) -> None:
        from connect import nginx  # the checkout's own configuration, once on the path

        NGINX_DIR.mkdir(exist_ok=True)
        NGINX_DIR.chmod(0o755)  # nginx's workers run as nobody under root
        port = free_port()
        config = NGINX_DIR / "nginx.conf"
        config.write_text(
            nginx.render(
                listen=f"127.0.0.1:{port}",
                upstreams=[urlsplit(url).netloc for url in self.urls],
                static_root=PROJECT / "static",
                runtime_dir=NGINX_DIR,
                max_body_bytes=1024 * 1024,
            )
        )
        log = NGINX_DIR / "error.log"
        self.proxy = subprocess.Popen(
            [nginx_binary(), "-c", str(config), "-e", str(log), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            preexec_fn=_server_child,
        )
        self.proxy_url = f"http://127.0.0.1:{port}"
        _wait_healthy(self.proxy_url, self.proxy, log)

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL for a process still running `grace` seconds later."""
        if self.processes and not self.stopped_at:
            self.stopped_at = [log.stat().st_size if log.exists() else 0 for log in self.logs]
        asked = time.monotonic()
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, asked + grace - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
                self.killed_on_stop += 1
        if self.processes:
            self.stop_seconds = time.monotonic() - asked
        self.processes.clear()
        if self.meta is not None:
            _terminate(self.meta, grace)
            self.meta = None
        if self.proxy is not None:
            _terminate(self.proxy, 5)
            self.proxy = None

    def cpu_seconds(self) -> list[float]:
        """CPU time (user + system) each server process has used so far."""
        return [_cpu_seconds(process) for process in self.processes]

    def meta_cpu_seconds(self) -> float:
        """CPU time the fake Graph API's process (Meta's side) has used so far."""
        return _cpu_seconds(self.meta) if self.meta is not None else 0.0

    def statement_counts(self, *, meta: bool = False) -> Counter[str]:
        """SQL statements the server processes (`meta`: Meta's side) have run so far,
        by part (benchsite.statements); empty when a server does not count them."""
        counts: Counter[str] = Counter()
        for url in [self.meta_url] if meta else self.urls:
            try:
                answer = httpx.get(url + "/bench/statements", timeout=5)
            except httpx.HTTPError:
                return Counter()
            if answer.status_code != 200:
                return Counter()
            counts.update(answer.json())
        return counts

    def rss_bytes(self, index: int = 0) -> int:
        """Resident memory of one server process, from /proc."""
        for line in Path(f"/proc/{self.processes[index].pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def log_errors(self) -> tuple[list[str], list[str]]:
        """Tracebacks and ERROR lines the servers logged: while the bench ran, and
        once it had asked them to stop (work still queued in them when they ended)."""
        running, stopping = [], []
        for number, log in enumerate(self.logs):
            if not log.exists():
                continue
            text = log.read_bytes()
            mark = self.stopped_at[number] if number < len(self.stopped_at) else len(text)
            for part, found in ((text[:mark], running), (text[mark:], stopping)):
                for line in part.decode(errors="replace").splitlines():
                    if " ERROR " in line or line.startswith("Traceback"):
                        found.append(f"{log.name}: {line.strip()}")
        return running, stopping

    def killed_instances(self) -> int:
        """Application instances daphne cancelled because they did not finish within its
        application_close_timeout after their socket closed (their `disconnect` cut short)."""
        count = 0
        for number, log in enumerate(self.logs):
            if log.exists():
                text = log.read_bytes()
                mark = self.stopped_at[number] if number < len(self.stopped_at) else len(text)
                count += text[:mark].count(b"took too long to shut down and was killed")
        return count


def _server_child() -> None:
    # Linux: the child gets SIGTERM when the bench process dies, even by SIGKILL.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    raise_open_files()


def _terminate(process: subprocess.Popen, grace: float) -> None:
    """SIGTERM, then SIGKILL if it still runs `grace` seconds later."""
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def _cpu_seconds(process: subprocess.Popen) -> float:
    fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _daphne(url: str, env: dict, name: str) -> tuple[subprocess.Popen, Path]:
    """A daphne process serving the project on `url`'s port, as production runs it."""
    log = LOG_DIR / f"{name}.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "--verbosity",
            "0",
            # As in production (README): a burst waits its turn at the gate,
            # and a burst of closes its turn to be unregistered.
            "--websocket_connect_timeout",
            "30",
            "--application-close-timeout",
            "30",
            "-b",
            "127.0.0.1",
            "-p",
            str(urlsplit(url).port),
            APPLICATION,
        ],
        cwd=PROJECT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        preexec_fn=_server_child,
    )
    return process, log


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


def server_env(config: Configuration, graph_url: str, database_url: str) -> dict:
    """The production environment of tests/browser/conftest.py, with the bench's own secrets."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("DJANGO_", "PYTEST_", "FACEBOOK_", "REDIS_", "DATABASE_", "CONNECT_", "BENCH_")
        )
    }
    env.update(
        DJANGO_SETTINGS_MODULE="benchsite.settings",
        BENCH_BASE_SETTINGS=SETTINGS_MODULE,
        DEBUG="0",
        SECRET_KEY="bench-secret-key",
        PAGE_TOKEN_KEYS="YmVuY2gtcGFnZS10b2tlbi1rZXktMDAwMDAwMDAwMDA=",
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
        FACEBOOK_GRAPH_URL=graph_url + "/fake-graph",
        MEDIA_ROOT="/tmp/h-bench-media",
    )
    if config.redis_url:
        env["REDIS_URL"] = config.redis_url
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [*python_path(), env.get("PYTHONPATH")]))
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
    meta_url = f"http://127.0.0.1:{free_port()}"
    servers = Servers(
        config=config,
        urls=urls,
        env=server_env(config, meta_url, database_url),
        database_url=database_url,
        meta_url=meta_url,
    )
    return servers


def discard(config: Configuration) -> None:
    """Remove what `prepare` made, once the servers are stopped."""
    if config.postgres:
        drop_postgres(PG_NAME)
        flush_redis()
    else:
        remove_sqlite(SQLITE_PATH)
