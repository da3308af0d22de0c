"""Connect's benchmark: real daphne servers under bounded load, figures in a table.

    .venv/bin/python bench/run.py            # both configurations, about 3 minutes
    .venv/bin/python bench/run.py --quick    # a smoke run of about 30 s
    .venv/bin/python bench/run.py --only sqlite

Each configuration runs in a child process of its own (Django can point at
one database per process): it prepares a fresh database, starts the servers,
measures, stops them, and hands its rows back as JSON. bench/README.md says
what each figure means.
"""

import argparse
import asyncio
import fcntl
import io
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import servers as server_setup  # noqa: E402
from bench.servers import CONFIGURATIONS, Configuration  # noqa: E402

LOCK = Path("/tmp/h-bench.lock")


@dataclass(frozen=True)
class Sizes:
    webhooks: int
    webhook_clients: int
    webhook_cap: float
    sequential_webhooks: int
    sequential_cap: float
    agents: int
    rounds_alone: int
    alone_cap: float
    rounds_loaded: int
    customers_at_once: int
    loaded_cap: float
    burst: int
    trap_calls: int
    sqlite_writes: int


FULL = Sizes(
    webhooks=400,
    webhook_clients=8,
    webhook_cap=15,
    sequential_webhooks=60,
    sequential_cap=6,
    agents=6,
    rounds_alone=60,
    alone_cap=15,
    rounds_loaded=200,
    customers_at_once=4,
    loaded_cap=12,
    burst=300,
    trap_calls=300,
    sqlite_writes=150,
)
QUICK = Sizes(
    webhooks=60,
    webhook_clients=8,
    webhook_cap=4,
    sequential_webhooks=20,
    sequential_cap=2,
    agents=3,
    rounds_alone=8,
    alone_cap=3,
    rounds_loaded=30,
    customers_at_once=2,
    loaded_cap=3,
    burst=60,
    trap_calls=100,
    sqlite_writes=40,
)


STARTED = time.monotonic()


def say(config: str, text: str) -> None:
    print(f"  [{config} {time.monotonic() - STARTED:5.1f} s] {text}", file=sys.stderr, flush=True)


# --- one configuration, in its own process -------------------------------------------------


def run_configuration(config: Configuration, sizes: Sizes, out: Path) -> None:
    say(config.name, "fresh database: migrate + seed_demo")
    servers = server_setup.prepare(config)
    # This process points at the servers' database with their very settings.
    os.environ.update(servers.env)
    if server_setup.EXTRA_PYTHONPATH:
        sys.path[:0] = server_setup.EXTRA_PYTHONPATH.split(os.pathsep)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", interactive=False, verbosity=0)
    call_command("seed_demo", "--force", stdout=io.StringIO())

    from bench import phases

    usernames = phases.seed_bench(sizes.agents)
    database = settings.DATABASES["default"]
    section = "Set-up"
    rows: list[list[str]] = [
        [section, "machine load average (1 min) at the start", f"{os.getloadavg()[0]:.1f}"],
        [
            section,
            "database · CONN_MAX_AGE · health checks",
            f"{connections['default'].vendor} · {database.get('CONN_MAX_AGE')} · "
            f"{'on' if database.get('CONN_HEALTH_CHECKS') else 'off'}",
        ],
    ]
    notes: list[str] = []
    try:
        say(config.name, f"starting {config.processes} daphne process(es) on {servers.urls}")
        servers.start()
        rows += asyncio.run(_measure(config, servers, usernames, sizes))
        servers.stop()
        rows += _traps(config, sizes)
    finally:
        servers.stop()
        connections.close_all()
        server_setup.discard(config)
    problems = servers.log_errors()
    if problems:
        notes.append(f"{config.title}: the servers logged {len(problems)} error line(s), e.g.")
        notes += [f"    {line}" for line in problems[:5]]
    out.write_text(json.dumps({"rows": rows, "notes": notes}))


class CpuMeter:
    """How busy the server processes were over a phase, in cores (1.0 = one core all along)."""

    def __init__(self, servers) -> None:
        self.servers = servers
        self.started = time.perf_counter()
        self.used = servers.cpu_seconds()

    def read(self) -> str:
        wall = time.perf_counter() - self.started
        now = self.servers.cpu_seconds()
        return " + ".join(f"{(b - a) / wall:.2f}" for a, b in zip(self.used, now, strict=True))


async def _measure(config: Configuration, servers, usernames, sizes: Sizes) -> list[list[str]]:
    from bench import phases
    from bench.clients import Sightings, open_desktop
    from bench.stats import spread

    rows: list[list[str]] = []

    def row(section: str, label: str, value: str) -> None:
        rows.append([section, label, value])

    # The agents log in and open their desktops on the first process; their
    # workgroup hears nothing of the webhook load, so they sit idle through it.
    say(config.name, f"{len(usernames)} agents log in and open their desktops")
    sessions = await phases.log_in_all(servers.desktop_url, usernames)
    sightings = Sightings()
    sockets = [
        await open_desktop(servers.desktop_url, session, sightings) for session in sessions.values()
    ]
    if await phases.wait_until(phases.desktop_count, lambda n: n >= len(sockets), 20) is None:
        raise RuntimeError("the agents' desktops did not register")
    idle_since = time.perf_counter()

    say(config.name, f"webhook ingest: {sizes.webhooks} POSTs from {sizes.webhook_clients} clients")
    cpu = CpuMeter(servers)
    load = await phases.webhook_load(
        servers,
        requests=sizes.webhooks,
        concurrency=sizes.webhook_clients,
        time_cap=sizes.webhook_cap,
        seed=1,
    )
    section = f"Webhook ingest · {sizes.webhook_clients} clients · every process"
    row(
        section,
        "POSTs (new customers · follow-ups · redelivered)",
        f"{load.sent} ({load.new_customers} · "
        f"{load.sent - load.new_customers - load.redeliveries} · {load.redeliveries})",
    )
    row(section, "throughput", f"{load.rate:.0f} req/s")
    row(section, "latency p50 / p95 / p99", spread(load.latencies))
    row(section, "answers", _statuses(load.statuses))
    posted = load.stored_once + load.missing + load.duplicated
    check = "✓" if load.stored_once == posted else "✗"
    row(
        section,
        "mids stored exactly once",
        f"{load.stored_once}/{posted} {check}"
        + (f" ({load.missing} missing, {load.duplicated} twice)" if check == "✗" else ""),
    )
    row(section, "webhook bodies stored (WebhookDelivery)", f"{load.deliveries}/{load.sent}")
    if load.pg_sessions is not None:
        row(
            section,
            "PostgreSQL connections opened · peak open",
            f"{load.pg_sessions} ({load.pg_sessions / max(load.sent, 1):.2f}/POST)"
            f" · {load.pg_peak_backends}",
        )
    row(section, "server CPU busy (cores per process)", cpu.read())

    say(config.name, f"webhook ingest: {sizes.sequential_webhooks} POSTs from 1 client")
    cpu = CpuMeter(servers)
    single = await phases.webhook_load(
        servers,
        requests=sizes.sequential_webhooks,
        concurrency=1,
        time_cap=sizes.sequential_cap,
        seed=2,
    )
    section = "Webhook ingest · 1 client, one POST at a time"
    row(section, "throughput", f"{single.rate:.0f} req/s")
    row(section, "latency p50 / p95 / p99", spread(single.latencies))
    row(section, "answers", _statuses(single.statuses))
    row(section, "server CPU busy (cores per process)", cpu.read())

    idle = time.perf_counter() - idle_since
    dropped = await phases.reopen_dropped(sockets, sessions, sightings)
    section = "Idle desktops"
    row(
        section,
        "agents' desktops the server closed while idle through the ingest",
        f"{sum(dropped.values())}/{len(sockets)} in {idle:.0f} s"
        + (" (close codes " + ", ".join(f"{n}× {c}" for c, n in dropped.items()) + ")")
        * bool(dropped),
    )

    where = "the other process" if config.processes > 1 else "the agents' process"
    for rounds, at_once, cap in (
        (sizes.rounds_alone, 1, sizes.alone_cap),
        (sizes.rounds_loaded, sizes.customers_at_once, sizes.loaded_cap),
    ):
        say(config.name, f"live rounds: up to {rounds} customers, {at_once} at once, {cap:g} s")
        frames, frame_bytes = sightings.frames, sightings.frame_bytes
        cpu = CpuMeter(servers)
        live = await phases.live_rounds(
            servers, sessions, sightings, rounds=rounds, concurrency=at_once, time_cap=cap
        )
        section = (
            f"Live rounds · {'one customer' if at_once == 1 else f'{at_once} customers'} at a time"
            f" · {len(sessions)} agents' desktops open"
        )
        row(section, "rounds done (time cap)", _rounds(live, rounds, cap))
        row(section, "webhook posted to", where)
        row(section, "webhook POST p50 / p95 / p99", spread(live.webhook))
        row(section, "POST → alerting row on the offered agent's socket", spread(live.alert))
        row(section, "Pickup (htmx POST) p50 / p95", phases.summary(live.pickup))
        row(section, "Send reply (htmx POST) p50 / p95", phases.summary(live.send))
        row(section, "Send → bubble data-status=sent on the socket", phases.summary(live.sent))
        row(section, "Disconnect (htmx POST) p50 / p95", phases.summary(live.disconnect))
        row(
            section,
            "frames pushed to the agents' sockets",
            f"{sightings.frames - frames} ({(sightings.frame_bytes - frame_bytes) / 1e6:.1f} MB)",
        )
        row(section, "server CPU busy (cores per process)", cpu.read())
        dropped = await phases.reopen_dropped(sockets, sessions, sightings)
        row(section, "desktops the server closed meanwhile", str(sum(dropped.values())))

    for socket in sockets:
        await socket.close()
    await phases.wait_until(phases.desktop_count, lambda n: n == 0, 5)
    left = await asyncio.to_thread(phases.desktop_count)
    row(
        section,
        "desktops still registered 5 s after the agents closed all",
        f"{left} {'✓' if not left else '✗ (ghost presence: offers would ring nowhere)'}",
    )

    say(config.name, f"websocket burst: {sizes.burst} desktops at once")
    cpu = CpuMeter(servers)
    burst = await phases.socket_burst(servers, sessions, count=sizes.burst)
    section = f"Websocket burst · {sizes.burst} desktop connects at once · every process"
    check = "✓" if burst.opened == burst.attempted and not burst.dropped else "✗"
    row(section, "accepted", f"{burst.opened}/{burst.attempted} {check}")
    if burst.failures:
        row(
            section,
            "refused",
            "; ".join(f"{n}× {why}" for why, n in burst.failures.items())
            + f" · after {spread(burst.refused_after, (50, 100))}",
        )
    row(section, "handshake p50 / p95 / max", spread(burst.handshakes, (50, 95, 100)))
    row(
        section,
        "all registered as open desktops after",
        _seconds(burst.registered_after) if burst.opened else "–",
    )
    row(section, "dropped within 1 s of opening", str(burst.dropped))
    row(section, "all closed and unregistered after", _seconds(burst.unregistered_after))
    if burst.pg_peak_backends is not None:
        row(section, "PostgreSQL connections, peak open", str(burst.pg_peak_backends))
    row(section, "server CPU busy (cores per process)", cpu.read())
    for session in sessions.values():
        await session.close()
    return rows


def _traps(config: Configuration, sizes: Sizes) -> list[list[str]]:
    from bench import traps
    from bench.stats import us

    say(config.name, "known traps: micro-measurements")
    section = "Known traps · measured in the bench process on the same database"
    rows: list[list[str]] = []
    threads = traps.run_async(traps.thread_per_request(sizes.trap_calls * 3))
    rows.append(
        [
            section,
            "sync call in a fresh thread (each Django request) vs a kept thread",
            f"{us(threads['fresh_thread'])} vs {us(threads['kept_thread'])}",
        ]
    )
    cost = traps.connection_cost(max(20, sizes.trap_calls // 5))
    rows.append(
        [
            section,
            "connect + SELECT 1 vs SELECT 1 on an open connection",
            f"{us(cost['new_connection'])} vs {us(cost['open_connection'])}",
        ]
    )
    calls = traps.run_async(traps.consumer_db_calls(sizes.trap_calls))
    from django.conf import settings

    max_age = settings.DATABASES["default"].get("CONN_MAX_AGE")
    rows.append(
        [
            section,
            "small query via database_sync_to_async, CONN_MAX_AGE 0 · as configured",
            f"{us(calls['conn_max_age_0'])} · {us(calls['configured'])} ({max_age})",
        ]
    )
    rows.append(
        [section, "the same via sync_to_async on a connection kept open", us(calls["kept_open"])]
    )
    if not config.postgres:
        rows.append(
            [
                section,
                "SQLite journal mode of the servers' database",
                traps.journal_mode(server_setup.SQLITE_PATH),
            ]
        )
        for mode in ("DEFERRED", "IMMEDIATE"):
            outcome = traps.sqlite_read_then_write(
                mode, threads=4, transactions=sizes.sqlite_writes
            )
            rows.append(
                [
                    section,
                    f"SQLite read-then-write, 4 threads, {mode}",
                    f"{outcome['errors']}/{outcome['attempted']} 'database is locked' · "
                    f"{outcome['per_second']:.0f} tx/s",
                ]
            )
    return rows


def _statuses(statuses) -> str:
    return ", ".join(f"{n}× {status}" for status, n in sorted(statuses.items(), key=str))


def _rounds(live, wanted: int, cap: float) -> str:
    text = f"{live.rounds}/{wanted} in {live.seconds:.1f} s ({cap:g} s)"
    if live.failures:
        text += " · failed: " + "; ".join(f"{n}× {why}" for why, n in live.failures.items())
    return text


def _seconds(value: float | None) -> str:
    return "not within 15 s ✗" if value is None else f"{value:.2f} s"


# --- the parent: run each configuration, print the table ------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of about 30 s")
    parser.add_argument("--only", choices=sorted(CONFIGURATIONS), help="one configuration")
    parser.add_argument("--child", choices=sorted(CONFIGURATIONS), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL

    if args.child:
        run_configuration(CONFIGURATIONS[args.child], sizes, args.out)
        return 0

    lock = LOCK.open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("Another bench run holds /tmp/h-bench.lock; it uses the same databases.")
        return 1

    started = time.monotonic()
    names = [args.only] if args.only else list(CONFIGURATIONS)
    results: dict[str, dict] = {}
    skipped: dict[str, str] = {}
    failed = False
    for name in names:
        config = CONFIGURATIONS[name]
        if config.postgres and (problem := server_setup.postgres_problem()):
            skipped[name] = problem
            print(f"  [{name}] skipped: {problem}", file=sys.stderr)
            continue
        out = Path(f"/tmp/h-bench-{name}.json")
        out.unlink(missing_ok=True)
        command = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--out", out]
        if args.quick:
            command.append("--quick")
        done = subprocess.run([str(part) for part in command], cwd=ROOT)
        if done.returncode != 0 or not out.exists():
            print(f"  [{name}] failed (exit {done.returncode})", file=sys.stderr)
            failed = True
            continue
        results[name] = json.loads(out.read_text())
        out.unlink()

    print_table(names, results, skipped, time.monotonic() - started, args.quick)
    return 1 if failed else 0


def print_table(names, results, skipped, seconds: float, quick: bool) -> None:
    columns = [name for name in names if name in results or name in skipped]
    sections: dict[str, list[str]] = {}  # in order of first appearance, in any column
    values: dict[tuple[str, str, str], str] = {}
    for name in columns:
        for section, label, value in results.get(name, {}).get("rows", []):
            labels = sections.setdefault(section, [])
            if label not in labels:
                labels.append(label)
            values[(section, label, name)] = value
    label_width = max([len(label) for labels in sections.values() for label in labels] + [10])
    label_width += 4
    widths = {
        name: 2
        + max(
            [len(CONFIGURATIONS[name].title)]
            + [len(values.get((s, label, name), "")) for s in sections for label in sections[s]]
        )
        for name in columns
    }

    print()
    print(
        f"Connect benchmark · {'quick' if quick else 'default'} run · {os.cpu_count()} cores · "
        f"Python {platform.python_version()} · {seconds:.0f} s"
    )
    print(" " * label_width + "".join(CONFIGURATIONS[n].title.ljust(widths[n]) for n in columns))
    for section, labels in sections.items():
        print()
        print(section)
        for label in labels:
            cells = "".join(
                values.get((section, label, n), "–" if n in results else "").ljust(widths[n])
                for n in columns
            )
            print((f"  {label}".ljust(label_width) + cells).rstrip())
    for name, problem in skipped.items():
        print(f"\n{CONFIGURATIONS[name].title}: skipped, {problem}.")
    for name in columns:
        for note in results.get(name, {}).get("notes", []):
            print(note)
    print()


if __name__ == "__main__":
    sys.exit(main())
