"""Other processes against this test's database: its URL, and a free port."""

import socket
from urllib.parse import quote

import pytest
from django.db import connection


def shared_database_url() -> str:
    """This test's database, for other processes."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        if db["NAME"] in ("", ":memory:") or "mode=memory" in str(db["NAME"]):
            pytest.skip("an in-memory SQLite database cannot be shared with other processes")
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{db['NAME']}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
