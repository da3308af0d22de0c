import pytest


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run after-commit work (offers, announcements) as a committed request would."""
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        yield callbacks


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Browser tests run last: Playwright's sync API keeps an event loop running in
    the main thread until the session ends, and an async test after it could not run."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
