"""connect/settings.py read afresh under a given environment, as a server starting would."""

import runpy
from pathlib import Path

from tests.settings import TEST_ENV

ROOT = Path(__file__).resolve().parents[1]
SETTINGS_FILE = ROOT / "connect" / "settings.py"

# What a real deployment gives (README, "Running for real"); nothing of the test suite's.
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "kq8#vZ2!pW4rT6yU9iO1aS3dF5gH7jK0lZxCvBnM-production-only",
    "FACEBOOK_APP_SECRET": "production-app-secret",
    "FACEBOOK_VERIFY_TOKEN": "production-verify-token",
    "PAGE_TOKEN_KEYS": "cHJvZHVjdGlvbi1wYWdlLXRva2VuLWtleS0wMDAwMDA=",
    "ALLOWED_HOSTS": "connect.example.com",
}

# Every variable the tests here set or clear.
_CLEARED = {
    *TEST_ENV,
    *PRODUCTION_ENV,
    "FACEBOOK_SIMULATOR_WEBHOOK_URL",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
    "SESSION_COOKIE_AGE",
    "AXES_FAILURE_LIMIT",
    "AXES_COOLOFF_MINUTES",
    "AXES_LOCKOUT_PARAMETERS",
}


def production_settings(monkeypatch, **env: str) -> dict:
    """The settings module's names, as loaded with PRODUCTION_ENV and `env` on top."""
    for name in _CLEARED:
        monkeypatch.delenv(name, raising=False)
    for name, value in {**PRODUCTION_ENV, **env}.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))
