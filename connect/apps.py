from django.apps import AppConfig


class ConnectConfig(AppConfig):
    name = "connect"
    verbose_name = "Agent desktop"

    def ready(self) -> None:
        # Routing's after-commit announcements reach the browsers from here.
        from connect import db_connections, live, sessions  # noqa: F401
