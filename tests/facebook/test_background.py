"""The background pools: jobs run off the caller's thread, and a paused pool holds them."""

import threading

from facebook.background import BackgroundPool


def test_a_paused_pool_holds_its_jobs_until_resumed():
    pool = BackgroundPool("test-paused", max_workers=2)
    ran = threading.Event()
    pool.pause()
    try:
        pool.submit(ran.set)
        assert pool.paused and pool.busy
        assert not pool.wait_for_idle(timeout=0.2)
        assert not ran.is_set()
    finally:
        pool.resume()
    assert pool.wait_for_idle(timeout=5)
    assert ran.is_set() and not pool.paused and not pool.busy


def test_a_failing_job_is_logged_and_the_pool_goes_on(caplog):
    pool = BackgroundPool("test-failing", max_workers=1)
    done = threading.Event()

    def broken():
        raise RuntimeError("a broken job")

    pool.submit(broken)
    pool.submit(done.set)

    assert pool.wait_for_idle(timeout=5)
    assert done.is_set()
    assert "a broken job" in caplog.text
