"""Alert timeouts, and the opening of a closed workgroup, with two real server
processes and no request arriving.

Two processes run the timers against this test's database, as in production:
either two `manage.py run_timers` processes, or two daphne servers with their
timer loops on (`CONNECT_TIMERS=1`; a daphne process starts its loop with its
first request, here one `/healthz` each, before any offer exists). Nothing else
reaches them. Every offer must ring out exactly once (one `alert_timeout` event
row each, however the two processes interleave), its agent must become Not
answering, and it must be offered to the next agent.
"""

import os
import subprocess
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from django.utils import timezone

from routing import services
from routing.models import (
    Agent,
    AgentStatus,
    DesktopConnection,
    Holiday,
    Interaction,
    InteractionEvent,
    Message,
    Workgroup,
    WrapUpCode,
)
from routing.models import InteractionState as S
from tests.factories import customer_writes, make_agent, make_workgroup
from tests.processes import free_port, shared_database_url

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
TICK_SECONDS = "0.2"


class TimerProcesses:
    """Two processes that run the routing timers against this test's database."""

    def __init__(self, kind: str, log_dir: Path) -> None:
        self.kind = kind
        self.log_dir = log_dir
        self.processes: list[tuple[subprocess.Popen, Path]] = []
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DATABASE_URL": shared_database_url(),
            "CONNECT_TIMERS": "1",
        }

    def start(self) -> None:
        for n in range(2):
            log = self.log_dir / f"{self.kind}-{n}.log"
            if self.kind == "run_timers":
                command = ["manage.py", "run_timers", "--tick", TICK_SECONDS]
            else:
                port = free_port()
                command = ["-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
                command.append("connect.asgi:application")
            process = subprocess.Popen(
                [sys.executable, *command],
                cwd=ROOT,
                env=self.env,
                stdout=log.open("w"),
                stderr=subprocess.STDOUT,
            )
            self.processes.append((process, log))
            if self.kind == "daphne":
                # The one request this server gets: it starts its timer loop.
                self._wait_healthy(f"http://127.0.0.1:{port}", process, log)

    def _wait_healthy(self, url: str, process: subprocess.Popen, log: Path) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert process.poll() is None, f"daphne exited:\n{log.read_text()}"
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"daphne did not answer:\n{log.read_text()}")

    def wait_until_ticking(self) -> None:
        """Until a timer has run: a stale desktop tab is swept by the next tick."""
        agent = make_agent(online=False)
        DesktopConnection.objects.create(agent=agent, channel_name="stale-tab")
        DesktopConnection.objects.filter(agent=agent).update(last_seen="2000-01-01T00:00:00Z")
        deadline = time.monotonic() + 30
        while DesktopConnection.objects.filter(agent=agent).exists():
            assert time.monotonic() < deadline, self.logs()
            self.assert_running()
            time.sleep(0.1)
        agent.user.delete()
        # The other process has had as long to start as this one; give it a few ticks.
        time.sleep(1)

    def assert_running(self) -> None:
        for process, log in self.processes:
            assert process.poll() is None, f"a timer process exited:\n{log.read_text()}"

    def logs(self) -> str:
        return "\n".join(log.read_text() for _, log in self.processes)

    def stop(self) -> None:
        for process, _ in self.processes:
            process.terminate()
        for process, _ in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(params=["run_timers", "daphne"])
def timer_processes(request, transactional_db, tmp_path):
    # Stopped before the test database is flushed (this fixture needs it).
    processes = TimerProcesses(request.param, tmp_path)
    try:
        processes.start()
        processes.wait_until_ticking()
        yield processes
    finally:
        processes.stop()


def wait_for(condition, *, seconds: float, processes: TimerProcesses) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting; server logs:\n{processes.logs()}"
        processes.assert_running()
        time.sleep(0.1)


def test_each_offer_rings_out_once_and_goes_to_the_next_agent(timer_processes):
    # Every offer rings for a minute: the first round's are cut to 2 s once all six are seen.
    workgroup = make_workgroup(capacity_per_agent=10, alert_timeout_seconds=60)
    # Ann and Bob are full with the six offers, so a returned offer can only
    # go to Cat, who opens her desktop once they ring.
    ann = make_agent("ann", workgroups=[workgroup], capacity=3)
    bob = make_agent("bob", workgroups=[workgroup], capacity=3)
    cat = make_agent("cat", workgroups=[workgroup], online=False)
    offers = [
        customer_writes(workgroup, psid=f"78000000000000{n:02d}").interaction for n in range(6)
    ]

    def all_offered() -> bool:
        ringing = Interaction.objects.filter(pk__in=[i.pk for i in offers], state=S.ALERTING)
        return ringing.count() == len(offers)

    # The timer processes run offer passes too: an offer may be theirs, committed a
    # moment after this test's own pass skipped the row they held.
    wait_for(all_offered, seconds=10, processes=timer_processes)
    first_round = dict(
        Interaction.objects.filter(pk__in=[i.pk for i in offers]).values_list("pk", "agent_id")
    )
    assert Counter(first_round.values()) == Counter({ann.pk: 3, bob.pk: 3})
    assert set(Interaction.objects.values_list("state", flat=True)) == {S.ALERTING}
    # Only the first round rings out here, 2 s from now: on a busy machine the six
    # took longer than that to arrive, and the first had rung out before the last came.
    Interaction.objects.filter(pk__in=first_round).update(
        alert_deadline=timezone.now() + timedelta(seconds=2)
    )
    DesktopConnection.objects.create(agent=cat, channel_name="cat-tab")

    def all_with_cat() -> bool:
        return Interaction.objects.filter(agent=cat, state=S.ALERTING).count() == len(offers)

    wait_for(all_with_cat, seconds=30, processes=timer_processes)
    # Several more ticks of both processes: nothing fires twice.
    time.sleep(1.5)

    timeouts = list(
        InteractionEvent.objects.filter(verb="alert_timeout").values_list(
            "interaction_id", "detail", "from_state", "to_state", "actor_id"
        )
    )
    assert Counter(pk for pk, *_ in timeouts) == Counter({i.pk: 1 for i in offers})
    for pk, detail, from_state, to_state, actor_id in timeouts:
        assert (detail, from_state, to_state, actor_id) == (
            {"agent_id": first_round[pk]},
            S.ALERTING,
            S.QUEUED,
            None,
        )
    for interaction in offers:
        assert list(interaction.events.order_by("pk").values_list("verb", "detail__agent_id")) == [
            ("create", None),
            ("offer", first_round[interaction.pk]),
            ("alert_timeout", first_round[interaction.pk]),
            ("offer", cat.pk),
        ]
    statuses = dict(
        Agent.objects.filter(pk__in=[ann.pk, bob.pk, cat.pk]).values_list("pk", "status")
    )
    assert statuses == {
        ann.pk: AgentStatus.NOT_ANSWERING,
        bob.pk: AgentStatus.NOT_ANSWERING,
        cat.pk: AgentStatus.AVAILABLE,
    }
    assert "Traceback" not in timer_processes.logs()


def test_each_inactivity_step_happens_once(timer_processes):
    """Both processes warn, return and disconnect; each interaction is warned once and
    returned (no reply) or disconnected (a silent customer) once."""
    workgroup = make_workgroup(
        capacity_per_agent=10,
        agent_reply_timeout_seconds=600,
        agent_reply_warning_seconds=30,
        customer_silence_timeout_seconds=600,
        customer_silence_warning_seconds=30,
    )
    code = WrapUpCode.objects.create(workgroup=workgroup, label="No response")
    Workgroup.objects.filter(pk=workgroup.pk).update(customer_silence_wrap_up_code=code)
    # Ann works all six and replies to three; Bob opens his desktop afterwards, so
    # what goes back to the queue can only be offered to him.
    ann = make_agent("ann", workgroups=[workgroup])
    bob = make_agent("bob", workgroups=[workgroup], online=False)
    unanswered, silent = [], []
    for n in range(6):
        chat = customer_writes(workgroup, psid=f"78100000000000{n:02d}").interaction
        services.pickup(interaction_id=chat.pk, agent=ann)
        if n < 3:
            unanswered.append(chat)
        else:
            services.store_reply(interaction_id=chat.pk, agent=ann, text="Anything else?")
            silent.append(chat)
    DesktopConnection.objects.create(agent=bob, channel_name="bob-tab")
    # The clock moves: every due time is a second and a half away (within the warning).
    soon = timezone.now() + timedelta(seconds=1.5)
    Interaction.objects.filter(pk__in=[c.pk for c in unanswered]).update(reply_due_at=soon)
    Interaction.objects.filter(pk__in=[c.pk for c in silent]).update(silence_due_at=soon)

    def all_acted_on() -> bool:
        returned = InteractionEvent.objects.filter(verb="inactivity_return").count()
        ended = Interaction.objects.filter(
            pk__in=[c.pk for c in silent], state=S.DISCONNECTED
        ).count()
        return returned >= len(unanswered) and ended == len(silent)

    wait_for(all_acted_on, seconds=30, processes=timer_processes)
    time.sleep(1.5)  # several more ticks of both processes: nothing happens twice

    for chat in unanswered:
        verbs = list(chat.events.order_by("pk").values_list("verb", flat=True))
        assert verbs[:5] == ["create", "offer", "pickup", "no_reply_warning", "inactivity_return"]
        assert verbs.count("inactivity_return") == 1 and verbs.count("no_reply_warning") == 1
        chat.refresh_from_db()
        assert chat.lapsed_agent_id == ann.pk
        assert (chat.state, chat.agent_id) == (S.ALERTING, bob.pk)  # offered to Bob
    for chat in silent:
        verbs = list(chat.events.order_by("pk").values_list("verb", flat=True))
        assert verbs[-2:] == ["customer_silence_warning", "disconnect"]
        assert verbs.count("disconnect") == 1
        chat.refresh_from_db()
        assert (chat.state, chat.wrap_up_code_id) == (S.DISCONNECTED, code.pk)
    assert Agent.objects.get(pk=ann.pk).status == AgentStatus.NOT_ANSWERING


def test_each_preferred_agent_window_ends_once_and_the_customer_goes_to_the_queue(
    timer_processes,
):
    workgroup = make_workgroup(capacity_per_agent=10, preferred_agent_seconds=1)
    ann = make_agent("ann", workgroups=[workgroup])
    psids = [f"79100000000000{n:02d}" for n in range(4)]
    for psid in psids:
        first = customer_writes(workgroup, psid=psid).interaction
        services.pickup(interaction_id=first.pk, agent=ann)
        services.disconnect(interaction_id=first.pk, agent=ann)
    services.set_agent_status(agent=ann, status=AgentStatus.AWAY)
    bob = make_agent("bob", workgroups=[workgroup])
    # Returning customers wait for Ann, who is away: only the timers end their wait.
    returning = [customer_writes(workgroup, psid=psid).interaction for psid in psids]
    assert set(
        Interaction.objects.filter(pk__in=[i.pk for i in returning]).values_list("state")
    ) == {(S.QUEUED,)}

    def all_with_bob() -> bool:
        return Interaction.objects.filter(agent=bob, state=S.ALERTING).count() == len(returning)

    wait_for(all_with_bob, seconds=30, processes=timer_processes)
    time.sleep(1)  # more ticks of both processes: nothing fires twice

    for interaction in returning:
        assert list(interaction.events.order_by("pk").values_list("verb", "detail__agent_id")) == [
            ("create", None),
            ("preferred_agent_window_over", ann.pk),
            ("offer", bob.pk),
        ]


def test_what_waited_out_of_hours_is_offered_once_at_the_opening(timer_processes):
    workgroup = make_workgroup(capacity_per_agent=10, out_of_hours_message="Closed; {opens}.")
    today = date.today()
    for offset in (-1, 0, 1):  # whatever the time zones, now is a holiday
        Holiday.objects.create(workgroup=workgroup, date=today + timedelta(days=offset))
    ann = make_agent("ann", workgroups=[workgroup], capacity=3)
    bob = make_agent("bob", workgroups=[workgroup], capacity=3)
    waiting = [
        customer_writes(workgroup, psid=f"78100000000000{n:02d}").interaction for n in range(6)
    ]
    # Both processes tick a few times: closed, nothing is offered.
    time.sleep(1.5)
    assert set(Interaction.objects.values_list("state", flat=True)) == {S.QUEUED}

    Holiday.objects.filter(workgroup=workgroup).delete()  # the opening

    def all_offered() -> bool:
        return Interaction.objects.filter(state=S.ALERTING).count() == len(waiting)

    wait_for(all_offered, seconds=30, processes=timer_processes)
    time.sleep(1)  # more ticks of both processes: nothing is offered twice
    offers = Counter(
        InteractionEvent.objects.filter(verb="offer").values_list("interaction_id", flat=True)
    )
    assert offers == Counter({i.pk: 1 for i in waiting})
    assert Counter(Interaction.objects.values_list("agent_id", flat=True)) == Counter(
        {ann.pk: 3, bob.pk: 3}
    )
    replies = Counter(
        Message.objects.filter(automatic=True).values_list("interaction_id", flat=True)
    )
    assert replies == Counter({i.pk: 1 for i in waiting})
    assert "Traceback" not in timer_processes.logs()
