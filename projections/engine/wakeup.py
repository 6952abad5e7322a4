"""LISTEN/NOTIFY as a wake-up hint for projector workers; polling remains the fallback.

The Notifier is poked after a command commits and sends one NOTIFY from its
own connection for any number of pokes in between (coalesced), so nothing is
added to the append's transaction. The Listener holds a LISTEN connection and
wakes the local workers, re-establishing the connection if it drops. A missed
notification costs at most one poll interval, never an event.

A NOTIFY carries its Notifier's `origin` as payload; a Listener given the same
origin skips it, since the process that appended has already woken its own
workers directly (otherwise every append would wake them twice).
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable

import psycopg
from tenacity import Retrying, retry_if_exception_type, wait_exponential

log = logging.getLogger(__name__)

CHANNEL = "ledger_events"
NOTIFY = "SELECT pg_notify(%s, %s)"


def new_origin() -> str:
    """A token naming this process's Notifier in its notifications."""
    return f"{os.getpid()}-{uuid.uuid4().hex[:12]}"


def _retrying(stop: threading.Event) -> Retrying:
    return Retrying(
        retry=retry_if_exception_type(psycopg.OperationalError),
        wait=wait_exponential(multiplier=0.1, max=5),
        stop=lambda _: stop.is_set(),
        sleep=lambda seconds: _pause(stop, seconds),
        reraise=True,
    )


def _pause(stop: threading.Event, seconds: float) -> None:
    stop.wait(seconds)


class Listener:
    """Calls `on_notify` whenever the log may have grown, until stopped."""

    def __init__(
        self, url: str, on_notify: Callable[[], None], stop: threading.Event, ignore: str | None = None
    ) -> None:
        self.url = url
        self.on_notify = on_notify
        self.ignore = ignore  # the origin of this process's own notifications
        self._stop = stop

    def run(self) -> None:
        """Listen until the stop event is set."""
        try:
            _retrying(self._stop)(self._listen)
        except psycopg.OperationalError:
            if not self._stop.is_set():
                raise

    def _listen(self) -> None:
        with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            self.on_notify()  # anything appended while we were not listening
            while not self._stop.is_set():
                for notify in conn.notifies(timeout=0.5, stop_after=1):
                    if notify.payload != self.ignore:  # a payload is a str, never None
                        self.on_notify()


class Notifier:
    """Sends a coalesced NOTIFY after commands commit; `poke()` never blocks the caller."""

    def __init__(
        self, url: str, stop: threading.Event, min_interval: float = 0.005, origin: str = ""
    ) -> None:
        self.url = url
        self.min_interval = min_interval
        self.origin = origin
        self._pending = threading.Event()
        self._stop = stop

    def poke(self) -> None:
        """Note that the log grew; a NOTIFY follows shortly."""
        if not self._pending.is_set():  # set() takes the event's lock and notifies: once is enough
            self._pending.set()

    def run(self) -> None:
        """Send notifications until the stop event is set."""
        try:
            _retrying(self._stop)(self._send)
        except psycopg.OperationalError:
            if not self._stop.is_set():
                raise

    def _send(self) -> None:
        with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
            while not self._stop.is_set():
                if not self._pending.wait(0.5):
                    continue
                self._pending.clear()
                conn.execute(NOTIFY, [CHANNEL, self.origin])
                self._stop.wait(self.min_interval)

    def stop(self) -> None:
        """Wake the sender so that it sees the stop event."""
        self._pending.set()
