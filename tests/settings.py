"""Settings for the test suite: the production settings with test secrets filled in.

DATABASE_URL and REDIS_URL pass through, so the same suite runs on SQLite with
the in-memory layer and on PostgreSQL with Redis.
"""

import os

TEST_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "test-secret-key",
    "FACEBOOK_APP_SECRET": "test-app-secret",
    "FACEBOOK_APP_ID": "100000000000777",
    "FACEBOOK_VERIFY_TOKEN": "test-verify-token",
    # A second key that only decrypts: rotation is exercised.
    "PAGE_TOKEN_KEYS": "dGVzdC1wYWdlLXRva2VuLWtleS0wMDAwMDAwMDAwMDA=,"
    "b2xkLXRlc3QtcGFnZS10b2tlbi1rZXktMDAwMDAwMDA=",
    "FACEBOOK_SIMULATOR": "1",
    # DEBUG is off, as in production, yet the simulator runs: a test server.
    "FACEBOOK_SIMULATOR_ALLOW_PRODUCTION": "1",
    # The test client and the browser tests' servers speak plain HTTP. These
    # pass through to those servers (tests/browser/conftest.py keeps os.environ
    # but for a few prefixes).
    "SECURE_SSL_REDIRECT": "0",
    "SESSION_COOKIE_SECURE": "0",
    "CSRF_COOKIE_SECURE": "0",
    "FACEBOOK_SEND_TIMEOUT": "2",
    "CONNECT_TIMERS": "0",
    # No Page health checks from the servers' timer loops: a test asks for them (test_health).
    "FACEBOOK_HEALTH_CHECK_SECONDS": "0",
    # The test client is no server: the request that stores a body routes it.
    "FACEBOOK_WEBHOOK_ROUTING": "inline",
    # Nothing listens there: a test that sends for real points this at its fake.
    "FACEBOOK_GRAPH_URL": "http://127.0.0.1:9/fake-graph",
    # The fake CDN of the live server and the browser tests' servers (plain http, loopback).
    "FACEBOOK_ATTACHMENT_ALLOWED_HOSTS": "localhost,127.0.0.1",
}
for _name, _value in TEST_ENV.items():
    os.environ.setdefault(_name, _value)

# Parallel test workers (pytest-xdist) each get a database of their own
# (pytest-django names them) and a Redis database of their own: group names
# like "workgroup.1" exist in every worker's data.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker.startswith("gw") and os.environ.get("REDIS_URL"):
    from urllib.parse import urlsplit, urlunsplit

    _url = urlsplit(os.environ["REDIS_URL"])
    _db = _url.path.strip("/")
    _index = (int(_db) if _db.isdigit() else 0) + int(_worker[2:])
    os.environ["REDIS_URL"] = urlunsplit(_url._replace(path=f"/{_index}"))

from connect.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Login throttling (django-axes) stays on: tests log in with force_login, or
# through the login form. Its backend needs the request, so a test calling
# client.login() passes one: client.login(request=HttpRequest(), username=…, password=…).

# Rendered by the thread that commits, where a test can count and see it; not
# in the environment, so the browser tests' servers render as servers do.
LIVE_UPDATES = "inline"
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]

# Threads (database_sync_to_async, the sender) must not keep connections open
# past their work, or PostgreSQL refuses to drop the test database.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405

# The same PostgreSQL backend, with a test's flush made of DELETEs (tests/postgresql/base.py).
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":  # noqa: F405
    DATABASES["default"]["ENGINE"] = "tests.postgresql"  # noqa: F405
