"""A projector thread's session, run again with backoff whenever the database goes away, until stopped.

Shared by the projection workers (worker.py) and the snapshotter (snapshotting.py): a lost
connection (psycopg.OperationalError) is retried with exponential backoff (0.1 s doubling, at most
5 s) while the stop event is unset; once it is set, the last error ends the thread quietly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import psycopg
from tenacity import RetryCallState, Retrying, retry_if_exception_type, wait_exponential


def run_reconnecting(
    session: Callable[[], object],
    stop: threading.Event,
    pause: Callable[[float], None],
    before_sleep: Callable[[RetryCallState], None],
) -> None:
    """Run `session` until it returns, again after each lost connection, until `stop` is set."""
    retrying = Retrying(
        retry=retry_if_exception_type(psycopg.OperationalError),
        wait=wait_exponential(multiplier=0.1, max=5),
        stop=lambda _: stop.is_set(),
        sleep=pause,
        before_sleep=before_sleep,
        reraise=True,
    )
    try:
        retrying(session)
    except psycopg.OperationalError:
        if not stop.is_set():
            raise
