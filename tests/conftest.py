import pytest


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run after-commit work (offers, announcements) as a committed request would."""
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        yield callbacks
