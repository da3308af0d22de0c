import os
import sys

from django.core.asgi import get_asgi_application

# A server process's threads mostly wait for the database (routers, request
# threads) beside one busy event loop. A thread whose query has come back
# waits for the GIL up to the switch interval (5 ms by default) at every
# round trip; a router's body takes ~35 of them.
sys.setswitchinterval(float(os.environ.get("CONNECT_SWITCH_INTERVAL", "0.0005")))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "connect.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path  # noqa: E402

from connect import process_exit  # noqa: E402
from connect.board_consumer import BoardConsumer  # noqa: E402
from connect.consumers import DesktopConsumer  # noqa: E402
from connect.socket_stack import socket_stack  # noqa: E402
from connect.timers import StartTimersOnFirstUse  # noqa: E402
from facebook.webhook_asgi import WebhookFastPath  # noqa: E402

application = StartTimersOnFirstUse(
    ProtocolTypeRouter(
        {
            # Meta's webhook POSTs skip Django's request machinery (facebook.webhook_asgi).
            "http": WebhookFastPath(django_asgi_app),
            "websocket": AllowedHostsOriginValidator(
                socket_stack(
                    URLRouter(
                        [
                            path("ws/desktop/", DesktopConsumer.as_asgi()),
                            path("ws/board/", BoardConsumer.as_asgi()),
                        ]
                    )
                )
            ),
        }
    )
)

# Under daphne, a stopping server ends within seconds (connect.process_exit).
process_exit.install()
