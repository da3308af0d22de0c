"""Delete routed webhook bodies and attachment copies older than RETENTION_DAYS."""

from django.core.management.base import BaseCommand, CommandParser

from facebook import retention


class Command(BaseCommand):
    help = "Delete routed webhook bodies and attachment copies older than RETENTION_DAYS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=retention.BATCH)

    def handle(self, *args, batch: int, **options) -> None:
        purged = retention.purge(batch=batch)
        self.stdout.write(
            f"Deleted {purged.webhook_bodies} webhook bodies and "
            f"{purged.attachment_copies} attachment copies."
        )
