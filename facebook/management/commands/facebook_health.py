"""Check every Page with Meta: subscription, token, last event; one line per Page (README).

`--backfill SINCE` (an ISO time) also stores the messages the webhook missed since then.
"""

from django.core.management.base import BaseCommand, CommandError

from facebook import health
from facebook.models import FacebookPage


class Command(BaseCommand):
    help = (
        "Check every Facebook Page's webhook subscription (subscribing again when fields are "
        "missing), its token and its last event; print one line per Page."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--backfill",
            metavar="SINCE",
            help="also store the messages missed since this ISO time (e.g. 2026-12-06T08:00:00Z)",
        )
        parser.add_argument("--page", help="only this Page id")

    def handle(self, *args, **options) -> None:
        since = None
        if options["backfill"]:
            try:
                since = health.parse_since(options["backfill"].replace("Z", "+00:00"))
            except ValueError:
                raise CommandError(
                    f"--backfill wants an ISO time such as 2026-12-06T08:00:00Z, "
                    f"not {options['backfill']!r}"
                ) from None
        found = FacebookPage.objects.order_by("name", "pk")
        if options["page"]:
            found = found.filter(page_id=options["page"])
        checked = 0
        for page in found:
            report = health.check_page(page, backfill_since=since)
            self.stdout.write(report.line())
            checked += 1
        if not checked:
            self.stdout.write("No Facebook Page is set up.")
