"""A stopping server ends within seconds, whatever its request threads wait on.

On SIGTERM or Ctrl-C daphne cancels every connection and waits for each to
finish before its event loop stops; then the interpreter joins every
non-daemon thread before the process ends. A sync view still running in its
thread can hold both up for as long as it likes: one waiting for a row lock
or SQLite's busy timeout keeps daphne waiting; one that calls back into the
stopped loop (a sync middleware's AsyncToSync) waits for ever, and so does the
interpreter's join (py-spy: the main thread in concurrent.futures'
`_python_exit`).

Nothing those threads hold can be lost by ending them: their clients get no
answer (their connections are gone), a transaction they hold rolls back when
the process ends, as after a crash, which the design survives (a stored
webhook is routed by the next process, a send in flight shows timed out with
Retry). So once the server is asked to stop, a watchdog gives it a few
seconds and then ends the process.
"""

import contextlib
import logging
import os
import signal
import sys
import threading
import time

logger = logging.getLogger(__name__)

GRACE_SECONDS = 2.0

_armed = threading.Event()


def install() -> None:
    """Arm the watchdog when this process's daphne begins to stop.

    Only under daphne: its Twisted reactor is installed before the application
    is imported. Elsewhere (tests importing the application, another server)
    this does nothing.
    """
    reactor = sys.modules.get("twisted.internet.reactor")
    if reactor is None:
        return
    reactor.callWhenRunning(_arm_on_stop_signals)
    # Stopped some other way than by a signal.
    reactor.addSystemEventTrigger("before", "shutdown", exit_within, GRACE_SECONDS)


def _arm_on_stop_signals() -> None:
    """Arm the watchdog in the signal handler itself, before Twisted's.

    Twisted's handler only schedules the stop on the event loop, which a loaded
    server reaches seconds later; the grace counts from the signal.
    """
    for number in (signal.SIGTERM, signal.SIGINT):
        twisted_handler = signal.getsignal(number)
        if not callable(twisted_handler):
            continue

        def handler(signum, frame, twisted_handler=twisted_handler) -> None:
            exit_within(GRACE_SECONDS)
            twisted_handler(signum, frame)

        signal.signal(number, handler)


def exit_within(seconds: float) -> None:
    """End this process `seconds` from now unless it has ended by itself."""
    if _armed.is_set():
        return
    _armed.set()
    logger.warning("asked to stop: ending within %.0f s", seconds)
    threading.Thread(target=_exit_after, args=(seconds,), name="exit-watchdog", daemon=True).start()


def _exit_after(seconds: float) -> None:
    time.sleep(seconds)
    busy = [
        thread.name
        for thread in threading.enumerate()
        if thread is not threading.current_thread() and not thread.daemon and thread.is_alive()
    ]
    logger.warning(
        "still stopping after %.0f s; ending the process (%d request thread(s) cut short)",
        seconds,
        max(len(busy) - 1, 0),  # the main thread is one of them
    )
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(0)
