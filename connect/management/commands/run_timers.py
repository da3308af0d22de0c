import asyncio
import contextlib

from django.core.management.base import BaseCommand

from connect.timers import TICK_SECONDS, run_timer_loop


class Command(BaseCommand):
    help = "Run the routing timers (alert timeouts, stuck sends) in their own process."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--tick", type=float, default=TICK_SECONDS)

    def handle(self, *args, tick: float, **options) -> None:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run_timer_loop(tick))
