"""Print the nginx.conf of deploy/ for this deployment (README, "Behind nginx")."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from connect import nginx


class Command(BaseCommand):
    help = "Print an nginx.conf that serves Connect from the given daphne processes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--listen", default="80", help="nginx's listen address (port or host:port)"
        )
        parser.add_argument(
            "--upstream",
            action="append",
            required=True,
            help="a daphne process's host:port (repeat for each)",
        )
        parser.add_argument(
            "--runtime-dir",
            default="/run/connect-nginx",
            help="where nginx keeps its pid file, logs and buffers",
        )

    def handle(self, *args, **options) -> None:
        self.stdout.write(
            nginx.render(
                listen=options["listen"],
                upstreams=options["upstream"],
                static_root=Path(settings.STATIC_ROOT),
                runtime_dir=options["runtime_dir"],
                max_body_bytes=settings.FACEBOOK_WEBHOOK_MAX_BYTES,
            ),
            ending="",
        )
