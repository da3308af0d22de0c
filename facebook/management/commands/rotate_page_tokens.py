"""Re-encrypt every stored Page token with the first of PAGE_TOKEN_KEYS (README)."""

from django.core.management.base import BaseCommand

from facebook import pages


class Command(BaseCommand):
    help = "Re-encrypt the Page access tokens with the first key of PAGE_TOKEN_KEYS."

    def handle(self, *args, **options) -> None:
        count = pages.rotate_tokens()
        self.stdout.write(f"{count} Page token(s) encrypted with the first key.")
