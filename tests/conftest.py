import pytest


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run after-commit work (offers, announcements) as a committed request would."""
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        yield callbacks


@pytest.fixture(autouse=True)
def fresh_live_frames():
    """Each test starts with no fragment noted as already sent and no configuration
    kept by routing (ids repeat across tests)."""
    from connect import live
    from routing import config_cache

    live.forget_last_sent()
    config_cache.forget()  # ids repeat across tests too
    yield


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Browser tests run last. In parallel (`-n 2 --dist loadgroup`) each file's
    run on one worker, in order, and each worker starts servers of its own."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
    for item in items:
        if item.get_closest_marker("browser") is not None:
            item.add_marker(pytest.mark.xdist_group(f"browser:{item.module.__name__}"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """Work a test's requests left to the background (a send, a persona, a download)
    ends before its fixtures: a thread still writing would stop the test database's
    flush, and leave rows to the next test."""
    from facebook import background
    from routing import batched_writes

    if not background.any_paused():  # a paused pool's test resumes it in its own fixture
        background.wait_for_all(timeout=15)
    # Tabs closed at the end of a test: their offers go back after the socket is let go.
    batched_writes.wait_until_all_idle(timeout=15)
    yield


@pytest.fixture(autouse=True, scope="session")
def empty_redis_database():
    """This worker's Redis database starts empty. Channels keeps a group's members
    for a day: members left by an earlier run's servers (ids repeat across runs)
    would count as this run's listeners."""
    from django.conf import settings

    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        client.flushdb()
        client.close()
    yield
