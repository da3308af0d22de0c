"""The project's settings, unchanged, with the bench's URLs in front of the project's.

BENCH_BASE_SETTINGS names the project's settings module (default
`connect.settings`); `benchsite.urls` includes that module's ROOT_URLCONF.
"""

import importlib
import os

_base = importlib.import_module(os.environ.get("BENCH_BASE_SETTINGS", "connect.settings"))
globals().update({name: value for name, value in vars(_base).items() if name.isupper()})

BENCH_PROJECT_URLCONF = _base.ROOT_URLCONF
ROOT_URLCONF = "benchsite.urls"
