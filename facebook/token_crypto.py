"""Page access tokens encrypted at rest (Fernet, from the `cryptography` package).

PAGE_TOKEN_KEYS lists Fernet keys: the first encrypts, every one decrypts, so a
key is rotated by putting a new one first, running
`manage.py rotate_page_tokens`, then dropping the old one.
"""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


class TokenUnreadable(Exception):
    """A stored token that no configured key decrypts."""


def _keys() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.PAGE_TOKEN_KEYS])


def encrypt(token: str) -> str:
    return _keys().encrypt(token.encode()).decode("ascii")


def decrypt(stored: str) -> str:
    try:
        return _keys().decrypt(stored.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as exc:
        raise TokenUnreadable(
            "A stored Page token cannot be decrypted with PAGE_TOKEN_KEYS "
            "(a key missing, or a token stored before encryption)."
        ) from exc


def is_encrypted(stored: str) -> bool:
    try:
        decrypt(stored)
    except TokenUnreadable:
        return False
    return True


def rotate(stored: str) -> str:
    """The same token, encrypted with the first key."""
    return _keys().rotate(stored.encode("ascii")).decode("ascii")


class EncryptedTokenField(models.TextField):
    """Plain text in Python, Fernet ciphertext in the column."""

    def from_db_value(self, value, expression, connection):
        return None if value is None or value == "" else decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return value if value is None or value == "" else encrypt(value)
