from django.apps import AppConfig


class FacebookConfig(AppConfig):
    name = "facebook"
    verbose_name = "Facebook Messenger"

    def ready(self) -> None:
        # The sender listens for replies that routing has stored.
        from facebook import sender  # noqa: F401
