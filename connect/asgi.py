import os

from django.core.asgi import get_asgi_application

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
