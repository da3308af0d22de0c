"""Who gets what: every URL the project serves × every kind of login, and the sockets.

The roles: nobody logged in; the agent who owns the interaction (the control:
it must get in, or the matrix proves nothing); another agent of the same
workgroup; an agent of another workgroup; a supervisor (staff in the
Supervisors group, no agent); staff without any permission. Every URL name
the resolver knows must be in ROUTES or in NOT_IN_THE_MATRIX, so a new view
fails here until someone says who may use it. Beyond the status, a refused
request changes nothing and never shows the owner's conversation.
"""

import asyncio
from dataclasses import dataclass
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from connect.asgi import application
from facebook import sender
from routing import services
from routing.models import AgentStatus, Interaction, Message, MessageDirection, MessageStatus
from tests.factories import customer_writes, make_agent, make_page, make_workgroup
from tests.supervisors import make_supervisor

SECRET = "Secret order 4711"
ROLES = ["anonymous", "owner", "peer", "outsider", "supervisor", "staff"]
LOGIN = "login"  # a redirect to the login page
ADMIN = "admin"  # a redirect to admin (a login that is no agent, on the desktop)
ADMIN_LOGIN = "admin-login"


@dataclass
class Floor:
    workgroup: object
    other_workgroup: object
    interaction: Interaction  # the owner's, connected, with SECRET in it
    queued: Interaction  # waiting in the workgroup's queue
    past: Interaction  # an earlier, ended interaction of the same customer
    failed: Message  # a reply of the owner's that Messenger refused
    kept: Message  # a customer's image with a kept copy
    own_response: int  # a stored response of the owner's own
    users: dict

    def snapshot(self) -> tuple:
        """What a refused request must leave as it was."""
        rows = Interaction.objects.order_by("pk").values_list(
            "pk", "state", "agent_id", "workgroup_id", "recording"
        )
        messages = Message.objects.order_by("pk").values_list("pk", "status", "deleted_at")
        statuses = get_user_model().objects.order_by("pk").values_list("pk", "agent__status")
        return list(rows), list(messages), list(statuses)


def build_floor(media_root: Path) -> Floor:
    workgroup = make_workgroup("Facebook DM", capacity_per_agent=4)
    other = make_workgroup("Elsewhere")
    make_page(workgroup)
    # Away: the ACD offers nothing behind the test's back (with transaction=True it would).
    owner = make_agent("owner", workgroups=[workgroup], status=AgentStatus.AWAY)
    peer = make_agent("peer", workgroups=[workgroup], status=AgentStatus.AWAY)
    outsider = make_agent("outsider", workgroups=[other], status=AgentStatus.AWAY)
    supervisor = make_supervisor("sam")
    staff = get_user_model().objects.create_user("staffer", password="x", is_staff=True)

    psid = "7300000000000077"
    earlier = customer_writes(workgroup, psid=psid, text="An older question").interaction
    services.pickup(interaction_id=earlier.pk, agent=owner)
    services.disconnect(interaction_id=earlier.pk, agent=owner)
    interaction = customer_writes(workgroup, psid=psid, text=SECRET).interaction
    services.pickup(interaction_id=interaction.pk, agent=owner)
    queued = customer_writes(workgroup, psid="7300000000000078", text="Waiting").interaction

    failed = services.store_reply(interaction_id=interaction.pk, agent=owner, text="On its way")
    # Committed (transaction=True), the sender tries it against nothing and fails it itself.
    assert sender.wait_for_idle(timeout=15)
    failed.refresh_from_db()
    if failed.status == MessageStatus.SENDING:
        services.record_send_failed(message_id=failed.pk, code="2", reason="Temporary problem")

    folder = media_root / "attachments"
    folder.mkdir(parents=True)
    (folder / "kept.png").write_bytes(b"\x89PNG secret picture")
    kept = Message.objects.create(
        interaction=interaction,
        direction=MessageDirection.INBOUND,
        status=MessageStatus.RECEIVED,
        sent_at=timezone.now(),
        mid="m_kept_copy",
        attachments=[
            {
                "type": "image",
                "url": "https://cdn.example/x",
                "copy": {
                    "path": "attachments/kept.png",
                    "content_type": "image/png",
                    "size": 19,
                },
            }
        ],
    )
    own = services.save_my_response(
        user=owner.user,
        name="Parcel",
        shortcut="parcel",
        labels="",
        category="Mine",
        text="Your parcel is on its way.",
    )
    own.file.save("parcel-map.pdf", ContentFile(b"%PDF-1.4 map"), save=True)
    return Floor(
        workgroup=workgroup,
        other_workgroup=other,
        interaction=interaction,
        queued=queued,
        past=earlier,
        failed=failed,
        kept=kept,
        own_response=own.pk,
        users={
            "owner": owner.user,
            "peer": peer.user,
            "outsider": outsider.user,
            "supervisor": supervisor,
            "staff": staff,
        },
    )


@pytest.fixture
def floor(settings, tmp_path) -> Floor:
    settings.MEDIA_ROOT = tmp_path / "media"
    return build_floor(settings.MEDIA_ROOT)


@pytest.fixture(scope="class")
def shared_floor(django_db_setup, django_db_blocker, tmp_path_factory) -> Floor:
    """One floor for all the cases of the matrix, undone after them; each case runs
    in a savepoint inside its transaction, so what a case writes is gone before the next.
    (Built for each of the 400 cases, it took a fifth of the PostgreSQL pass's time.)"""
    media_root = tmp_path_factory.mktemp("media")
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=media_root),
        transaction.atomic(),
    ):
        yield build_floor(media_root)
        transaction.set_rollback(True)


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # formatted with the floor: {i} interaction, {q} queued, …
    expect: dict  # role → status, or LOGIN / ADMIN / ADMIN_LOGIN
    data: tuple = ()
    # Roles that may see the owner's conversation in the answer.
    may_see: frozenset = frozenset({"owner"})


def agents_only(owner, peer, outsider=None, **extra) -> dict:
    """Login required; a login that is no agent gets 404 ("This account is not an agent.")."""
    return {
        "anonymous": LOGIN,
        "owner": owner,
        "peer": peer,
        "outsider": peer if outsider is None else outsider,
        "supervisor": 404,
        "staff": 404,
        **extra,
    }


def supervisors_only(granted: int = 200) -> dict:
    """Login required; staff with the board's permissions, else 403 in words."""
    return {
        "anonymous": LOGIN,
        "owner": 403,
        "peer": 403,
        "outsider": 403,
        "supervisor": granted,
        "staff": 403,
    }


EVERYONE_404 = dict.fromkeys(ROLES, 404)

ROUTES = {
    # --- the desktop ---
    "desktop": Route("GET", "/", agents_only(200, 200, supervisor=ADMIN, staff=ADMIN)),
    "resync": Route("GET", "/desktop/resync?interaction={i}", agents_only(200, 200)),
    "set-status": Route(
        "POST", "/desktop/status", agents_only(200, 200), (("status", "available"),)
    ),
    "list-order": Route(
        "POST", "/desktop/list-order", agents_only(200, 200), (("order", "time_left"),)
    ),
    "interaction": Route("GET", "/interactions/{i}/", agents_only(200, 404)),
    "transfer": Route(
        "POST", "/interactions/{i}/transfer", agents_only(200, 404), (("target", "workgroup:{w2}"),)
    ),
    "transfer-dialog": Route("GET", "/interactions/{i}/transfer-dialog", agents_only(200, 404)),
    "send-message": Route(
        "POST", "/interactions/{i}/messages", agents_only(200, 404), (("text", "Hello there"),)
    ),
    "add-note": Route(
        "POST", "/interactions/{i}/notes", agents_only(200, 404), (("text", "Internal only"),)
    ),
    "older-messages": Route(
        "GET", "/interactions/{i}/older?before=999999999", agents_only(200, 404)
    ),
    "ask-for-help": Route("POST", "/interactions/{i}/help", agents_only(200, 404)),
    # The owner gets in; Meta cannot be reached in this test, so the workspace says why (409).
    "take-thread-control": Route(
        "POST",
        "/interactions/{i}/take-thread-control",
        agents_only(409, 404),
        (("reason", "The customer asked for a person"),),
    ),
    "mark-read": Route("POST", "/interactions/{i}/read", agents_only(204, 404)),
    "past-interaction": Route(
        "GET", "/interactions/{i}/history/{p}", agents_only(200, 404), may_see=frozenset()
    ),
    "typing": Route("POST", "/interactions/{i}/typing", agents_only(204, 404), (("state", "on"),)),
    "mark-seen": Route("POST", "/interactions/{i}/seen", agents_only(204, 404)),
    "interaction-action": Route("POST", "/interactions/{i}/hold", agents_only(200, 404)),
    "message-action": Route("POST", "/messages/{f}/resend", agents_only(200, 404)),
    # Staff with routing.view_message (supervisors) read every message in admin anyway.
    "message-attachment": Route(
        "GET",
        "/messages/{k}/attachments/0",
        agents_only(200, 404, supervisor=200),
        may_see=frozenset({"owner", "supervisor"}),
    ),
    # --- stored responses, used on an interaction the agent may see (the queued one) ---
    "search": Route(
        "GET", "/search/?q=secret", agents_only(200, 200), may_see=frozenset({"owner"})
    ),
    "search-transcript": Route("GET", "/search/{i}/", agents_only(200, 404)),
    "search-older": Route("GET", "/search/{i}/older?before={f}", agents_only(200, 404)),
    "search-newer": Route("GET", "/search/{i}/newer?after={f}", agents_only(200, 404)),
    "response-picker": Route("GET", "/responses/?interaction={q}", agents_only(200, 200, 404)),
    "response-search": Route(
        "GET", "/responses/search?interaction={q}&q=parcel", agents_only(200, 200, 404)
    ),
    "response-suggest": Route(
        "GET", "/responses/suggest?interaction={q}&typed=par", agents_only(200, 200, 404)
    ),
    "response-new": Route("POST", "/responses/new", agents_only(200, 200), (("text", "Hi"),)),
    # The file of the owner's own response: theirs only.
    "response-file": Route("GET", "/responses/{r}/file", agents_only(200, 404, 404)),
    "response-save": Route(
        "POST",
        "/responses/mine",
        agents_only(200, 200),
        (("name", "Mine too"), ("shortcut", "mine"), ("category", "Mine"), ("text", "Hello")),
    ),
    # Another agent's own response: not theirs to star or delete.
    "response-favourite": Route(
        "POST",
        "/responses/{r}/favourite",
        agents_only(200, 404),
        (("interaction", "{q}"), ("on", "1")),
    ),
    "response-delete": Route(
        "POST", "/responses/{r}/delete", agents_only(200, 409, 404), (("interaction", "{q}"),)
    ),
    # --- supervisors ---
    "board": Route("GET", "/board/", supervisors_only()),
    "board-transfer-dialog": Route(
        "GET", "/board/interactions/{i}/transfer-dialog", supervisors_only()
    ),
    "board-transfer": Route(
        "POST",
        "/board/interactions/{i}/transfer",
        supervisors_only(),
        (("target", "workgroup:{w2}"),),
    ),
    # Monitoring shows the supervisor the conversation; coaching and taking over act on it.
    "board-monitor": Route(
        "GET",
        "/board/interactions/{i}/monitor",
        supervisors_only(),
        may_see=frozenset({"supervisor"}),
    ),
    "board-coach": Route(
        "POST", "/board/interactions/{i}/coach", supervisors_only(), (("text", "Be brief"),)
    ),
    "board-take-over": Route(
        "POST",
        "/board/interactions/{i}/take-over",
        supervisors_only(),
        (("reason", "VIP"),),
        may_see=frozenset({"supervisor"}),
    ),
    "board-disconnect": Route("POST", "/board/interactions/{i}/disconnect", supervisors_only()),
    "board-set-status": Route(
        "POST", "/board/agents/{a}/status", supervisors_only(), (("status", "available"),)
    ),
    "reports": Route("GET", "/reports/", supervisors_only()),
    "reports-workgroups-csv": Route("GET", "/reports/workgroups.csv", supervisors_only()),
    "reports-agents-csv": Route("GET", "/reports/agents.csv", supervisors_only()),
    "metrics": Route("GET", "/metrics", {**supervisors_only(), "anonymous": 403}),
    # --- operators and Meta ---
    "healthz": Route("GET", "/healthz", dict.fromkeys(ROLES, 200)),
    # The handshake without Meta's verify token.
    "facebook-webhook": Route("GET", "/facebook/webhook", dict.fromkeys(ROLES, 403)),
    # --- the demo's simulator and fake Graph API: nobody's, with FACEBOOK_SIMULATOR off ---
    "fake-graph-media": Route("GET", "/fake-graph/_media/kept.png", EVERYONE_404),
    "fake-graph-messages": Route("POST", "/fake-graph/v24.0/me/messages", EVERYONE_404),
    "fake-graph-message-attachments": Route(
        "POST", "/fake-graph/v24.0/me/message_attachments", EVERYONE_404
    ),
    "fake-graph-upload": Route("GET", "/fake-graph/_uploads/1", EVERYONE_404),
    "fake-graph-personas": Route("POST", "/fake-graph/v24.0/me/personas", EVERYONE_404),
    "fake-graph-take-thread-control": Route(
        "POST", "/fake-graph/v24.0/me/take_thread_control", EVERYONE_404
    ),
    "fake-graph-pass-thread-control": Route(
        "POST", "/fake-graph/v24.0/me/pass_thread_control", EVERYONE_404
    ),
    "fake-graph-profile": Route("GET", "/fake-graph/v24.0/7300000000000077", EVERYONE_404),
    "fake-graph-subscribed-apps": Route(
        "GET", "/fake-graph/v24.0/100000000000001/subscribed_apps", EVERYONE_404
    ),
    "fake-graph-conversations": Route(
        "GET", "/fake-graph/v24.0/100000000000001/conversations", EVERYONE_404
    ),
    "fake-graph-feature-review": Route(
        "GET", "/fake-graph/v24.0/me/messaging_feature_review", EVERYONE_404
    ),
    "simulator": Route("GET", "/simulator/", EVERYONE_404),
    "simulator-meta-page": Route(
        "POST", "/simulator/meta-page", EVERYONE_404, (("action", "outage_on"),)
    ),
    "simulator-send": Route("POST", "/simulator/send", EVERYONE_404),
    "simulator-conversation": Route("GET", "/simulator/conversation", EVERYONE_404),
    "simulator-bot": Route("POST", "/simulator/bot", EVERYONE_404, (("action", "take"),)),
    "simulator-feedback": Route("POST", "/simulator/feedback", EVERYONE_404),
    "simulator-fake-graph-mode": Route(
        "POST", "/simulator/fake-graph-mode", EVERYONE_404, (("mode", "timeout"),)
    ),
    # --- Django's own, as the project uses them ---
    "admin:index": Route(
        "GET",
        "/admin/",
        {
            "anonymous": ADMIN_LOGIN,
            "owner": ADMIN_LOGIN,
            "peer": ADMIN_LOGIN,
            "outsider": ADMIN_LOGIN,
            "supervisor": 200,
            "staff": 200,  # an admin index that offers nothing
        },
    ),
    "login": Route("GET", "/accounts/login/", dict.fromkeys(ROLES, 200)),
    "password_change": Route(
        "GET", "/accounts/password_change/", {**dict.fromkeys(ROLES, 200), "anonymous": LOGIN}
    ),
}

# Django's admin and its auth views decide their own permissions (staff, model
# permissions, login); the matrix tries their front doors above.
NOT_IN_THE_MATRIX_NAMESPACES = {"admin"}
NOT_IN_THE_MATRIX = {
    "logout",  # POST only; logs out whoever asks
    "password_change_done",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
}


def url_names(patterns, namespace: str = "") -> set[str]:
    names = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= url_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            assert pattern.name or namespace, f"a URL without a name: {pattern.pattern}"
            names.add(f"{namespace}{pattern.name or pattern.pattern}")
    return names


def test_every_url_is_in_the_matrix():
    served = url_names(get_resolver().url_patterns)
    unclassified = {
        name
        for name in served - set(ROUTES) - NOT_IN_THE_MATRIX
        if name.split(":")[0] not in NOT_IN_THE_MATRIX_NAMESPACES
    }
    assert unclassified == set(), "say in ROUTES who may use these"
    assert set(ROUTES) - served == {"admin:index"} - served


def client_for(floor: Floor, role: str) -> Client:
    client = Client(HTTP_HX_REQUEST="true")
    if role != "anonymous":
        client.force_login(floor.users[role])
    return client


@pytest.mark.django_db
class TestEachURLForEachLogin:
    @pytest.mark.parametrize("role", ROLES)
    @pytest.mark.parametrize("name", list(ROUTES))
    def test_each_role_gets_the_answer_it_should(self, shared_floor, settings, name, role):
        floor = shared_floor
        settings.FACEBOOK_SIMULATOR = False
        route = ROUTES[name]
        values = {
            "i": floor.interaction.pk,
            "q": floor.queued.pk,
            "p": floor.past.pk,
            "f": floor.failed.pk,
            "k": floor.kept.pk,
            "r": floor.own_response,
            "a": floor.users["owner"].agent.pk,
            "w2": floor.other_workgroup.pk,
        }
        path = route.path.format(**values)
        data = {key: value.format(**values) for key, value in route.data}
        before = floor.snapshot()
        client = client_for(floor, role)

        response = client.get(path) if route.method == "GET" else client.post(path, data)

        expected = route.expect[role]
        if expected == LOGIN:
            assert response.status_code == 302
            assert response["Location"].startswith("/accounts/login/?next=")
        elif expected == ADMIN_LOGIN:
            assert response.status_code == 302
            assert response["Location"].startswith("/admin/login/?next=")
        elif expected == ADMIN:
            assert (response.status_code, response["Location"]) == (302, "/admin/")
        else:
            assert response.status_code == expected, response.content[:300]
        if response.status_code >= 300:
            assert floor.snapshot() == before, "a refused request changed something"
            if response.status_code >= 400 and name not in ("fake-graph-messages",):
                assert response.content.strip(), "a refusal says why"
        if role not in route.may_see:
            body = b"".join(response) if response.streaming else response.content
            assert SECRET.encode() not in body
            assert b"secret picture" not in body


# --- the sockets ---------------------------------------------------------------------


def _session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def _socket(path: str, cookie: bytes | None) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if cookie:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, path, headers=headers)


# socket × login → the close code at connect, or None when it opens.
SOCKETS = {
    ("/ws/desktop/", "anonymous"): 4401,
    ("/ws/desktop/", "staff"): 4403,
    ("/ws/desktop/", "supervisor"): 4403,
    ("/ws/desktop/", "peer"): None,
    ("/ws/board/", "anonymous"): 4401,
    ("/ws/board/", "peer"): 4403,
    ("/ws/board/", "staff"): 4403,
    ("/ws/board/", "supervisor"): None,
}


# One database for all the cases: each socket test with its own costs a flush.
@pytest.mark.django_db(transaction=True)
async def test_each_socket_opens_only_for_its_logins(floor):
    seen = {}
    for path, role in SOCKETS:
        cookie = None
        if role != "anonymous":
            cookie = await database_sync_to_async(_session_cookie)(floor.users[role])
        communicator = _socket(path, cookie)
        connected, code = await communicator.connect()
        seen[(path, role)] = None if connected else code
        if connected:
            await communicator.disconnect()

    assert seen == SOCKETS


async def _frames(communicator, seconds: float = 0.5) -> list[str]:
    """Every frame that arrives within `seconds` (a timed-out receive would end the app)."""
    frames = []
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        while not await communicator.receive_nothing(timeout=0.05, interval=0.01):
            frames.append(await communicator.receive_from())
    return frames


# The one event a desktop socket takes: "view" (which interaction the tab shows).
# Another agent's tab asking to view the owner's interaction hears nothing of it,
# nor does a tab sending something else; the owner's own tab does (the control).
LISTEN_IN = [
    ("peer", {"view": "{i}"}, False),
    ("outsider", {"view": "{i}"}, False),
    ("peer", {"view": "'{i}'"}, False),
    ("peer", {"view": True}, False),
    ("outsider", {"listen": "interaction.{i}"}, False),
    ("owner", {"view": "{i}"}, True),
]


@pytest.mark.django_db(transaction=True)
async def test_a_socket_event_never_lets_another_agent_listen_in(floor):
    interaction_id = floor.interaction.pk

    def filled(value):
        if value == "{i}":
            return interaction_id
        return value.format(i=interaction_id) if isinstance(value, str) else value

    heard = []
    for number, (role, event, _) in enumerate(LISTEN_IN):
        cookie = await database_sync_to_async(_session_cookie)(floor.users[role])
        communicator = _socket("/ws/desktop/", cookie)
        assert (await communicator.connect())[0]
        await communicator.send_json_to({key: filled(value) for key, value in event.items()})
        await _frames(communicator, 0.3)

        words = f"Card 4242 number {number}"
        await database_sync_to_async(customer_writes)(
            floor.workgroup, psid="7300000000000077", text=words
        )

        frames = await _frames(communicator, 0.7)
        heard.append((role, event, any(words in frame for frame in frames)))
        await communicator.disconnect()

    assert heard == LISTEN_IN
