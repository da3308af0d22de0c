"""Connect's benchmark: real daphne servers under bounded load, figures in one table.

    .venv/bin/python bench/run.py            # both configurations, under 5 minutes
    .venv/bin/python bench/run.py --quick    # a smoke run, under 1 minute
    .venv/bin/python bench/run.py --only sqlite
    .venv/bin/python bench/run.py --project /tmp/connect-before   # another checkout

Each configuration runs in a child process of its own (Django can point at
one database per process): it prepares a fresh database, starts the servers,
measures, stops them, and hands its rows back as JSON. bench/README.md says
what each figure means.
"""

import argparse
import asyncio
import dataclasses
import fcntl
import json
import math
import os
import platform
import shlex
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
GHOSTS = "ghost desktops: offers would ring nowhere"
# The phases, in the order they run; `--phases` picks some (the live one is 2–4).
PHASES = ("ingest", "render", "sockets", "live")


@dataclass(frozen=True)
class Sizes:
    ingest_connections: int
    ingest_seconds: float
    ingest_bodies: int
    agents: int
    rate: float
    seconds: float
    pick_every: int
    floor_seconds: float
    agent_floor_seconds: float
    floor_wait: float
    sockets: int
    burst: int
    socket_agents: int
    sockets_cap: float
    render_requests: int
    list_size: int
    conversation: int
    settle_cap: float
    presence_cap: float
    phases: tuple[str, ...] = PHASES
    quick: bool = False

    @property
    def capacity(self) -> int:
        """Room for every new customer of the end-to-end phase, and one more each."""
        return math.ceil(self.rate * self.seconds / self.agents) + 1


FULL = Sizes(
    ingest_connections=8,
    ingest_seconds=2,
    ingest_bodies=500,
    agents=200,
    rate=100,
    seconds=30,
    pick_every=10,
    floor_seconds=0.5,
    agent_floor_seconds=2,
    floor_wait=8,
    sockets=5000,
    burst=1000,
    socket_agents=25,
    # Long enough to open them all at the connect rate of this machine (about
    # 200/s): the row is about holding them, and says the rate.
    sockets_cap=40,
    render_requests=10,
    list_size=50,
    conversation=2000,
    settle_cap=10,
    presence_cap=15,
)
QUICK = Sizes(
    ingest_connections=8,
    ingest_seconds=0.75,
    ingest_bodies=150,
    agents=20,
    rate=20,
    seconds=5,
    pick_every=5,
    floor_seconds=0.5,
    agent_floor_seconds=0.5,
    floor_wait=3,
    sockets=500,
    burst=200,
    socket_agents=10,
    sockets_cap=10,
    render_requests=3,
    list_size=50,
    conversation=2000,
    settle_cap=5,
    presence_cap=5,
    quick=True,
)


STARTED = time.monotonic()


def say(config: str, text: str) -> None:
    print(f"  [{config} {time.monotonic() - STARTED:5.1f} s] {text}", file=sys.stderr, flush=True)


# --- one configuration, in its own process -------------------------------------------------


def run_configuration(
    config: Configuration, sizes: Sizes, out: Path, project: Path, *, traps: bool
) -> None:
    server_setup.use_project(project)
    say(config.name, f"fresh database, migrate ({project})")
    servers = server_setup.prepare(config)
    # This process points at the servers' database with their very settings, and
    # imports the project from the checkout under measure (`bench` stays this one's).
    os.environ.update(servers.env)
    if project != ROOT and str(ROOT) in sys.path:
        sys.path.remove(str(ROOT))
    sys.path[:0] = server_setup.python_path()
    server_setup.raise_open_files()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    from bench import phases

    load_at_start = os.getloadavg()[0]
    notes: list[str] = []
    rows: list[list[str]] = []
    try:
        call_command("migrate", interactive=False, verbosity=0)
        seeded = phases.seed_bench(
            live_agents=sizes.agents,
            capacity=sizes.capacity,
            socket_agents=sizes.socket_agents,
            list_size=sizes.list_size,
            conversation=sizes.conversation,
        )
        keys = phases.log_in(
            seeded.live_agents
            + seeded.socket_agents
            + [seeded.list_agent, seeded.conversation_agent]
        )
        connections.close_all()
        database = settings.DATABASES["default"]
        section = "Set-up"
        rows.append(
            [
                section,
                "database · connections kept (CONN_MAX_AGE, or the pool's sizes)",
                f"{connections['default'].vendor} · {_kept_connections(database)}",
            ]
        )
        rows.append(
            [
                section,
                "agents' sockets on · live webhooks and floor posts on · ingest webhooks to"
                " · fake Graph API (Meta's side) on",
                "process 1 · "
                + (
                    "process 2 (crossing Redis) · "
                    + ("nginx, to both processes" if server_setup.nginx_binary() else "process 2")
                    if config.processes > 1
                    else "process 1 · process 1"
                )
                + " · a process of its own (no router, no timers)",
            ]
        )
        say(config.name, f"starting {config.processes} daphne process(es) on {servers.urls}")
        servers.start()
        measured, measure_notes = asyncio.run(_measure(config, servers, seeded, keys, sizes))
        rows += measured
        notes += measure_notes
        say(config.name, "stopping the servers")
        servers.stop()
        say(config.name, "servers stopped")
        if traps:
            rows += _traps(config, sizes.quick)
    finally:
        servers.stop()
        connections.close_all()
        server_setup.discard(config)
        say(config.name, "database dropped")
    rows.insert(
        0,
        [
            "Set-up",
            "machine load average (1 min) at start · at end",
            f"{load_at_start:.1f} · {os.getloadavg()[0]:.1f}",
        ],
    )
    rows.append(
        [
            "Health",
            "servers stopped after SIGTERM in · needed SIGKILL after 5 s",
            f"{servers.stop_seconds:.1f} s · {servers.killed_on_stop} of {config.processes}",
        ]
    )
    killed = servers.killed_instances()
    rows.append(
        [
            "Health",
            "socket consumers daphne killed (not done 10 s after their socket closed)",
            f"{killed} {'✓' if not killed else '✗'}",
        ]
    )
    running, stopping = servers.log_errors()
    rows.append(
        [
            "Health",
            "server log: ERROR lines and tracebacks · more once asked to stop",
            f"{len(running)} {'✓' if not running else '✗'} · {len(stopping)}",
        ]
    )
    for when, problems in (("while the bench ran", running), ("while stopping", stopping)):
        if problems:
            notes.append(
                f"{config.title}: the servers logged {len(problems)} error line(s) {when}"
                f" ({', '.join(str(log) for log in servers.logs)}), e.g."
            )
            notes += [f"    {line}" for line in _distinct(problems)[:6]]
    out.write_text(json.dumps({"rows": rows, "notes": notes}))


def _distinct(lines: list[str]) -> list[str]:
    """The ERROR lines without their time stamp, each once (tracebacks are in the logs)."""
    seen: dict[str, None] = {}
    for line in lines:
        if " ERROR " in line:
            seen.setdefault(line.split(" ERROR ", 1)[-1][:200], None)
    return list(seen)


async def _measure(
    config: Configuration, servers, seeded, keys, sizes: Sizes
) -> tuple[list[list[str]], list[str]]:
    """The phases, in an order that keeps each one's leftovers out of the next:
    ingest, render, sockets, then the agents' desktops for end to end and the floors."""
    from bench import phases
    from bench.clients import Sightings
    from bench.stats import ms, percentile, spread

    rows: list[list[str]] = []
    notes: list[str] = []

    def row(section: str, label: str, value: str) -> None:
        rows.append([section, label, value])

    def p50_99(values) -> str:
        return spread(values, (50, 99))

    def p50_99_max(values) -> str:
        return spread(values, (50, 99, 100))

    def check(good: int, total: int) -> str:
        return f"{good}/{total} {'✓' if good == total else '✗'}"

    async def settle(cap: float = sizes.settle_cap) -> None:
        waited = await phases.settle(servers, cap=cap)
        say(config.name, f"servers idle after {waited:.1f} s" + (" (cap)" if waited >= cap else ""))

    if "ingest" in sizes.phases:
        # --- 1. ingest ---------------------------------------------------------------------
        say(
            config.name,
            f"ingest: {sizes.ingest_connections} connections, {sizes.ingest_seconds:g} s",
        )
        ingest = await phases.ingest(
            servers,
            connections=sizes.ingest_connections,
            seconds=sizes.ingest_seconds,
            bodies=sizes.ingest_bodies,
            settle_cap=sizes.settle_cap,
        )
        section = (
            f"1. Ingest · signed single-event POSTs · {sizes.ingest_connections} keep-alive "
            f"connections over every process · {sizes.ingest_seconds:g} s each "
            f"(webhook: at most {sizes.ingest_bodies} POSTs)"
        )
        hook, empty, after = ingest.webhook, ingest.empty, ingest.empty_after
        row(
            section,
            "POST /facebook/webhook: req/s · p50 / p99 to the 200",
            f"{hook.rate:.0f} req/s · {p50_99(hook.latencies)}",
        )
        empty_rate = (empty.rate + after.rate) / 2
        row(
            section,
            "POST /bench/empty (same bodies, stack, client): req/s, mean of before · after",
            f"{empty_rate:.0f} req/s ({empty.rate:.0f} · {after.rate:.0f})",
        )
        row(
            section,
            "POST /bench/empty p50 / p99, before · after",
            f"{p50_99(empty.latencies)} · {p50_99(after.latencies)}",
        )
        row(section, "ingest ÷ empty", f"{hook.rate / empty_rate:.2f}" if empty_rate else "–")
        row(
            section,
            "webhook POSTs (new customers · follow-ups · redelivered) · answers",
            f"{hook.sent} ({ingest.new_customers} · "
            f"{hook.sent - ingest.new_customers - ingest.redeliveries} · {ingest.redeliveries})"
            f" · {_statuses(hook.statuses)}",
        )
        row(
            section,
            "bodies answered 200 stored once (one WebhookDelivery per POST)",
            check(ingest.bodies_stored_once, ingest.bodies_answered),
        )
        routed = ingest.verdicts.get("pending", 0) == 0 and ingest.routed_after is not None
        row(
            section,
            "all routed, after the last 200 · verdicts",
            (f"{ingest.routed_after:.1f} s ✓" if routed else "not within 60 s ✗")
            + " · "
            + ", ".join(f"{n}× {v}" for v, n in sorted(ingest.verdicts.items())),
        )
        row(
            section,
            "bodies routed per second (first POST → last routed) · servers' CPU meanwhile",
            (
                f"{hook.sent / (hook.seconds + ingest.routed_after):.0f}/s · {ingest.drain_busy}"
                if routed
                else "–"
            ),
        )
        row(
            section,
            "mids stored exactly once",
            check(ingest.mids_once, ingest.mids_posted)
            + (
                f" ({ingest.mids_missing} missing, {ingest.mids_twice} twice)"
                if ingest.mids_once != ingest.mids_posted
                else ""
            ),
        )
        row(
            section,
            "CPU, webhook · empty windows: servers (cores per process) · bench client",
            f"{hook.servers_busy} · {hook.bench_busy} | {empty.servers_busy} · {empty.bench_busy}",
        )

    if "render" in sizes.phases:
        # --- 6. render -----------------------------------------------------------------------
        await settle()
        say(config.name, f"render: {sizes.render_requests} GETs of each page")
        sessions = phases.sessions_for(
            servers.desktop_url, keys, [seeded.list_agent, seeded.conversation_agent]
        )
        rendered = await phases.render(
            sessions[seeded.list_agent],
            sessions[seeded.conversation_agent],
            seeded.conversation_id,
            requests=sizes.render_requests,
        )
        for session in sessions.values():
            session.close()
        section = (
            f"6. Render · GET round trip from the client, p50 of {sizes.render_requests} "
            "(after one warm-up) · page size"
        )
        for name, label in (
            ("list", f"GET / with {seeded.list_size} interactions in My Interactions"),
            ("page", f"GET /?interaction=<id>, a {seeded.conversation_size}-message conversation"),
            ("partial", "GET /interactions/<id>/ (the htmx partial a row click loads), same"),
        ):
            timings = rendered.timings.get(name, [])
            row(
                section,
                label,
                f"{spread(timings, (50,))} · {rendered.sizes.get(name, 0) / 1024:.0f} KB"
                if timings
                else "no answer",
            )
        if rendered.failures:
            row(section, "failed", _statuses(rendered.failures))

    if "sockets" in sizes.phases:
        # --- 5. sockets -----------------------------------------------------------------------
        await settle()
        say(config.name, f"sockets: a burst of {sizes.burst}, then up to {sizes.sockets} idle")
        sessions = phases.sessions_for(servers.desktop_url, keys, seeded.socket_agents)
        held = await phases.sockets(
            servers,
            list(sessions.values()),
            total=sizes.sockets,
            burst=sizes.burst,
            cap=sizes.sockets_cap,
            presence=sizes.presence_cap,
        )
        for session in sessions.values():
            session.close()
        section = "5. Sockets · desktop sockets on process 1, from a few agents with many tabs each"
        row(
            section,
            f"burst of {held.burst} connects at once: accepted · handshake p50 / max",
            f"{check(held.burst_opened, held.burst)} · {spread(held.burst_handshakes, (50, 100))}",
        )
        row(
            section,
            "burst: refused",
            _statuses(held.burst_failures) or "none",
        )
        row(
            section,
            f"idle sockets held at once ({held.agents} agents; time cap {sizes.sockets_cap:g} s)",
            f"{check(held.opened, held.wanted)} (burst {held.burst_seconds:.1f} s + the rest "
            f"{held.fill_seconds:.1f} s, {held.fill_rate:.0f} connects/s)"
            + (f" · refused after the burst: {_statuses(held.failures)}" if held.failures else ""),
        )
        row(
            section,
            "server RSS before → after · per socket held",
            f"{held.rss_before / 2**20:.0f} → {held.rss_after / 2**20:.0f} MB · "
            f"{held.per_socket / 1024:.0f} KB",
        )
        row(
            section,
            "all registered as open desktops, after the last connect",
            _seconds(held.registered_after, sizes.presence_cap),
        )
        row(
            section,
            "dropped by the server while idle",
            f"{held.dropped} {'✓' if not held.dropped else '✗'}",
        )
        row(
            section,
            "all closed and unregistered after · presence rows left",
            f"{_seconds(held.unregistered_after, sizes.presence_cap)} · "
            f"{held.left} " + ("✓" if held.left <= 0 else f"✗ ({GHOSTS})"),
        )
        row(section, "server CPU (cores per process), whole phase", held.servers_busy)

    if "live" in sizes.phases:
        # --- 2 and 4. end to end ------------------------------------------------------------
        await settle()
        say(config.name, f"{sizes.agents} agents open their desktops on process 1")
        baseline = await asyncio.to_thread(phases.desktop_count)
        sessions = phases.sessions_for(servers.desktop_url, keys, seeded.live_agents)
        sightings = Sightings()
        live_sockets, failures, _ = await phases.open_sockets(
            servers.desktop_url, list(sessions.values()), sightings, at_once=20
        )
        registered = await phases.wait_until(
            phases.desktop_count,
            lambda n: n >= baseline + len(live_sockets),
            sizes.presence_cap,
            0.25,
        )
        if failures or registered is None:
            notes.append(
                f"{config.title}: {len(live_sockets)}/{len(sessions)} agents' desktops opened"
                + (f" ({_statuses(failures)})" if failures else "")
                + ("" if registered is not None else "; not all registered")
            )
        # --- 3. the framework's floor ---------------------------------------------------------
        await settle()
        from connect.audience import agent_group, workgroup_group

        floor_section = section = (
            "3. Framework floor · POST /bench/floor → one group_send of a constant fragment, "
            f"{sizes.rate:g}/s, to the end-to-end phase's sockets"
        )
        ids = await asyncio.to_thread(phases.agent_ids, seeded.live_agents)
        floors = {}
        for name, groups, per_group, seconds in (
            ("agents", [agent_group(i) for i in ids], 1, sizes.agent_floor_seconds),
            (
                "workgroup",
                [workgroup_group(seeded.live_workgroup_id)],
                len(live_sockets),
                sizes.floor_seconds,
            ),
        ):
            say(config.name, f"floor: to {name} groups, {sizes.rate:g}/s for {seconds:g} s")
            floors[name] = floor = await phases.floor(
                servers,
                sightings,
                groups,
                per_group,
                rate=sizes.rate,
                seconds=seconds,
                wait=sizes.floor_wait,
            )
            label = (
                f"to each agent's group in turn (1 socket: the end-to-end shape), {seconds:g} s"
                if name == "agents"
                else f"to the workgroup's group ({len(live_sockets)} sockets), {seconds:g} s"
            )
            if not floor.available:
                row(section, label, f"n/a: {floor.why}")
                continue
            expected = floor.statuses.get(200, 0) * floor.sockets
            row(section, label + ": POST → frame p50 / p99 / max", p50_99_max(floor.latencies))
            row(
                section,
                f"  {name}: frames seen within {sizes.floor_wait:g} s · delivered per second",
                f"{check(expected - floor.missing, expected)} · {floor.delivered_rate:.0f}/s",
            )
            row(
                section,
                f"  {name}: CPU servers (cores per process) · bench client",
                f"{floor.servers_busy} · {floor.bench_busy}",
            )
        await settle()
        say(config.name, f"end to end: {sizes.rate:g} new customers/s for {sizes.seconds:g} s")
        e2e = await phases.end_to_end(
            servers,
            sessions,
            sightings,
            {socket.owner: socket for socket in live_sockets},
            rate=sizes.rate,
            seconds=sizes.seconds,
            pick_every=sizes.pick_every,
        )
        new_customers = round(sizes.rate * sizes.seconds)
        section = (
            f"2. End to end · {sizes.agents} agents, one desktop socket each, on process 1 · "
            f"new customers {sizes.rate:g}/s for {sizes.seconds:g} s"
        )
        row(
            section,
            "capacity per agent (nobody frees room)",
            f"{sizes.capacity} ({sizes.agents} × {sizes.capacity} ≥ {new_customers} new customers)",
        )
        answered = e2e.statuses(e2e.new)
        row(
            section,
            "new customers posted · answers",
            f"{len(e2e.new)} in {e2e.posting_seconds:.1f} s · {_statuses(answered)}",
        )
        row(section, "webhook POST → 200 p50 / p99", p50_99([i.seconds for i in e2e.new]))
        row(
            section,
            "webhook POST → alerting row on the offered agent's socket p50 / p99 / max",
            p50_99_max(e2e.alert),
        )
        lost = sum(e2e.alert_lost.values())
        row(
            section,
            f"new customers lost (200, no alerting row within {phases.LOST_AFTER:g} s)",
            f"{lost}/{answered.get(200, 0)} {'✓' if not lost else '✗'}"
            + (f" ({_statuses(e2e.alert_lost)})" if lost else ""),
        )
        followed = e2e.statuses(e2e.follow_ups)
        row(
            section,
            f"picked up over HTTP (every {sizes.pick_every}th offer seen) · follow-ups posted",
            f"{len(e2e.pickups)} · {len(e2e.follow_ups)} ({_statuses(followed) or 'none'})",
        )
        row(
            section,
            "follow-up POST → customer bubble on the owner's socket p50 / p99 / max",
            p50_99_max(e2e.bubble),
        )
        lost = sum(e2e.bubble_lost.values())
        row(
            section,
            f"follow-ups lost (200, not on the owner's socket within {phases.LOST_AFTER:g} s)",
            f"{lost}/{followed.get(200, 0)} {'✓' if not lost else '✗'}"
            + (f" ({_statuses(e2e.bubble_lost)})" if lost else ""),
        )
        for name, stages, parts in (
            ("alerting row", e2e.alert_stages, ("routed", "offered", "shown")),
            ("follow-up bubble", e2e.bubble_stages, ("routed", "shown")),
        ):
            words = {
                "routed": "POST → message row",
                "offered": "→ offer event",
                "shown": "→ on the socket",
            }
            for pct in (50, 99):
                row(
                    section,
                    f"  {name}, where the time went, p{pct}: " + " ".join(words[p] for p in parts),
                    " · ".join(ms(percentile(getattr(stages, p), pct)) for p in parts) + " ms",
                )
        row(
            section,
            "seen first on another agent's socket",
            f"{e2e.wrong_socket} {'✓' if not e2e.wrong_socket else '✗'}",
        )
        if e2e.failures:
            row(section, "agent actions refused or failed", _statuses(e2e.failures))
        row(
            section,
            "frames pushed to the agents' sockets",
            f"{e2e.frames} ({e2e.frame_bytes / 1e6:.1f} MB)",
        )
        row(
            section,
            "CPU: servers (cores per process) · bench client · fake Graph API (Meta's side)",
            f"{e2e.servers_busy} · {e2e.bench_busy} · {e2e.meta_busy}",
        )
        if e2e.pg_peak_backends is not None:
            row(section, "PostgreSQL connections, peak open", str(e2e.pg_peak_backends))
        if e2e.statements and e2e.new:
            row(
                section,
                "SQL statements our servers ran ÷ new customers posted",
                f"{sum(e2e.statements.values()) / len(e2e.new):.1f}",
            )
            for part, number in e2e.statements.most_common():
                row(section, f"  of which {part}", f"{number / len(e2e.new):.1f}")
            row(
                section,
                "  not ours, apart: the fake Graph API (Meta's side)",
                f"{e2e.meta_statements / len(e2e.new):.1f}",
            )

        section = "4. Agent actions · during the end-to-end load above"
        row(section, "pickups · replies sent", f"{len(e2e.pickups)} · {len(e2e.sends)}")
        row(section, "Pickup POST → answer p50 / p99", p50_99(e2e.pickups))
        row(section, "Send POST → answer p50 / p99", p50_99(e2e.send_answer))
        row(
            section,
            "Send → the fake Graph API records the request p50 / p99",
            p50_99(e2e.send_graph)
            + (f" ({e2e.send_graph_missing} never)" if e2e.send_graph_missing else ""),
        )
        row(
            section,
            "Send → bubble data-status=sent on the socket p50 / p99",
            p50_99(e2e.send_sent)
            + (
                f" ({e2e.send_sent_missing} not within {phases.LOST_AFTER:g} s)"
                if e2e.send_sent_missing
                else ""
            ),
        )

        if all(f.available for f in floors.values()):
            alert, bubble = _p99(e2e.alert), _p99(e2e.bubble)
            section = floor_section
            for name, label in (
                (
                    "workgroup",
                    "end-to-end p99 ÷ workgroup floor p99: alerting row · follow-up bubble",
                ),
                ("agents", "end-to-end p99 ÷ per-agent floor p99: alerting row · follow-up bubble"),
            ):
                base = _p99(floors[name].latencies)
                row(
                    section,
                    label,
                    f"{_ratio(alert, base)} · {_ratio(bubble, base)} (floor p99 {ms(base)} ms)",
                )

        dropped = sum(1 for s in live_sockets if s.dropped)
        row(
            "Health",
            "agents' desktops the server closed during phases 2–3",
            f"{dropped} {'✓' if not dropped else '✗'}",
        )
        say(config.name, "agents close their desktops")
        await asyncio.to_thread(phases.end_live_interactions, seeded.live_workgroup_id)
        await phases.close_all(live_sockets)
        for session in sessions.values():
            session.close()
        await phases.wait_until(
            phases.desktop_count, lambda n: n <= baseline, sizes.presence_cap, 0.25
        )
        left = await asyncio.to_thread(phases.desktop_count)
        row(
            "Health",
            f"presence rows left {sizes.presence_cap:g} s after every bench socket closed",
            f"{left} " + ("✓" if not left else f"✗ ({GHOSTS})"),
        )
    await asyncio.to_thread(phases.close_db)
    return rows, notes


def _traps(config: Configuration, quick: bool) -> list[list[str]]:
    """The old bench's micro-measurements of known traps (--traps), after the servers stop."""
    from bench import traps
    from bench.stats import us

    say(config.name, "known traps: micro-measurements")
    section = "7. Known traps · measured in the bench process on the same database (--traps)"
    trap_calls, sqlite_writes = (100, 40) if quick else (300, 150)
    rows: list[list[str]] = []
    threads = traps.run_async(traps.thread_per_request(trap_calls * 3))
    rows.append(
        [
            section,
            "sync call in a fresh thread (each Django request) vs a kept thread",
            f"{us(threads['fresh_thread'])} vs {us(threads['kept_thread'])}",
        ]
    )
    cost = traps.connection_cost(max(20, trap_calls // 5))
    rows.append(
        [
            section,
            "connect + SELECT 1 vs SELECT 1 on an open connection",
            f"{us(cost['new_connection'])} vs {us(cost['open_connection'])}",
        ]
    )
    calls = traps.run_async(traps.consumer_db_calls(trap_calls))
    from django.conf import settings

    kept = _kept_connections(settings.DATABASES["default"])
    rows.append(
        [
            section,
            "small query via database_sync_to_async, CONN_MAX_AGE 0 · as configured",
            f"{us(calls['conn_max_age_0'])} · {us(calls['configured'])} ({kept})",
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
            outcome = traps.sqlite_read_then_write(mode, threads=4, transactions=sqlite_writes)
            rows.append(
                [
                    section,
                    f"SQLite read-then-write, 4 threads, {mode}",
                    f"{outcome['errors']}/{outcome['attempted']} 'database is locked' · "
                    f"{outcome['per_second']:.0f} tx/s",
                ]
            )
    return rows


def _kept_connections(database: dict) -> str:
    pool = database.get("OPTIONS", {}).get("pool")
    if pool:
        sizes = pool if isinstance(pool, dict) else {}
        least = sizes.get("min_size", 4)  # psycopg_pool's defaults
        return f"pool of {least}–{sizes.get('max_size', least)}"
    return f"CONN_MAX_AGE {database.get('CONN_MAX_AGE')}"


def _p99(values) -> float:
    from bench.stats import percentile

    return percentile(values, 99)


def _ratio(value: float, floor: float) -> str:
    if math.isnan(value) or math.isnan(floor) or floor <= 0:
        return "–"
    return f"{value / floor:.1f}×"


def _statuses(statuses) -> str:
    return ", ".join(f"{n}× {status}" for status, n in sorted(statuses.items(), key=str))


def _seconds(value: float | None, limit: float) -> str:
    return f"not within {limit:g} s ✗" if value is None else f"{value:.2f} s"


# --- the parent: run each configuration, print the table ------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run, under a minute")
    parser.add_argument("--only", choices=sorted(CONFIGURATIONS), help="one configuration")
    parser.add_argument(
        "--project",
        type=Path,
        default=ROOT,
        help="the checkout to measure (its servers and models); default: this one",
    )
    parser.add_argument(
        "--rate",
        type=float,
        help="new customers (and floor POSTs) per second in phases 2–3, instead of 100 (20 quick)",
    )
    parser.add_argument(
        "--phases",
        help=f"a comma-separated subset of {','.join(PHASES)}, to look at one figure again",
    )
    parser.add_argument(
        "--traps",
        action="store_true",
        help="also the micro-measurements of known traps (about 10 s more per configuration)",
    )
    parser.add_argument("--child", choices=sorted(CONFIGURATIONS), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    if args.rate:
        sizes = dataclasses.replace(sizes, rate=args.rate)
    if args.phases:
        chosen = tuple(p.strip() for p in args.phases.split(",") if p.strip())
        if unknown := set(chosen) - set(PHASES):
            parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
        sizes = dataclasses.replace(sizes, phases=chosen)
    project = args.project.resolve()

    if args.child:
        run_configuration(CONFIGURATIONS[args.child], sizes, args.out, project, traps=args.traps)
        return 0

    if not (project / "connect" / "asgi.py").exists():
        print(f"{project} is not a checkout of the project (no connect/asgi.py).")
        return 1
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
        command = [sys.executable, Path(__file__).resolve(), "--child", name, "--out", out]
        command += ["--project", project]
        if args.quick:
            command.append("--quick")
        if args.traps:
            command.append("--traps")
        if args.rate:
            command += ["--rate", args.rate]
        if args.phases:
            command += ["--phases", args.phases]
        done = subprocess.run([str(part) for part in command], cwd=ROOT)
        if done.returncode != 0 or not out.exists():
            print(f"  [{name}] failed (exit {done.returncode})", file=sys.stderr)
            failed = True
            continue
        results[name] = json.loads(out.read_text())
        out.unlink()

    print_table(names, results, skipped, time.monotonic() - started, args.quick, project)
    return 1 if failed else 0


def describe(project: Path) -> str:
    """The checkout measured: its path and commit (read-only git plumbing)."""

    def git(*words: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["git", "-C", str(project), *words], capture_output=True, text=True, check=False
        )

    head = git("rev-parse", "--short", "HEAD")
    if head.returncode != 0:
        return f"{project} (not a git checkout)"
    dirty = git("diff-index", "--quiet", "HEAD", "--").returncode != 0
    return f"{project} at {head.stdout.strip()}" + (" + uncommitted changes" if dirty else "")


def print_table(names, results, skipped, seconds: float, quick: bool, project: Path) -> None:
    columns = [name for name in names if name in results or name in skipped]
    sections: dict[str, list[str]] = {}  # in order of first appearance, in any column
    values: dict[tuple[str, str, str], str] = {}
    for name in columns:
        for section, label, value in results.get(name, {}).get("rows", []):
            labels = sections.setdefault(section, [])
            if label not in labels:
                labels.append(label)
            values[(section, label, name)] = value
    # Sections in their number's order; set-up first, health last.
    order = sorted(
        sections,
        key=lambda s: (0, "") if s == "Set-up" else (9, "") if s == "Health" else (1, s),
    )
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

    command = " ".join(shlex.quote(part) for part in getattr(sys, "orig_argv", sys.argv))
    print()
    print(
        f"Connect benchmark · {'quick' if quick else 'default'} run · {os.cpu_count()} cores · "
        f"Python {platform.python_version()} · {seconds:.0f} s"
    )
    print(f"command: {command}")
    print(f"project: {describe(project)}")
    print(" " * label_width + "".join(CONFIGURATIONS[n].title.ljust(widths[n]) for n in columns))
    for section in order:
        print()
        print(section)
        for label in sections[section]:
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
