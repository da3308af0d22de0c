from django.apps import AppConfig


class FacebookConfig(AppConfig):
    name = "facebook"
    verbose_name = "Facebook Messenger"

    def ready(self) -> None:
        # The sender listens for replies that routing has stored.
        # Disconnected conversations go back to the Page's primary app.
        from facebook import (
            sender,  # noqa: F401
            thread_control,  # noqa: F401
        )
        from facebook.selectors import human_agent_allowed
        from routing import rules

        # The HUMAN_AGENT tag is offered only where Meta approved the feature.
        rules.allow_human_agent_when(human_agent_allowed)
