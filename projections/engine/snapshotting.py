"""The snapshotter: balance snapshots taken beside the inventory's worker, never in its way.

About once a second, while the worker keeping the inventory projection holds its lock (a worker on
standby takes none), it runs projections.tools.snapshot_taking.advance on a connection and thread
of its own. Taking a snapshot sums an interval of the log (10,000 events by default: tens of
milliseconds idle, 0.2-0.9 s on a loaded 2-core machine); run in the worker's own loop, as it once
was, it stopped the inventory's batches for that long every few seconds under load (bench/http.py's
lag probe: p99 0.5-1 s). A lost connection is retried with backoff until the database is back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg

from projections.engine.reconnecting import run_reconnecting
from projections.engine.together import PROJECTORS
from projections.tools.snapshot_taking import advance

log = logging.getLogger(__name__)

# Seconds between two looks at the marks (a snapshot interval is thousands of events).
PERIOD = 1.0


class Snapshotter:
    """Advances the balance snapshots every `period` while `active()` is true, until stopped."""

    def __init__(
        self,
        url: str,
        interval: int,
        active: Callable[[], bool],
        stop: threading.Event,
        period: float = PERIOD,
    ) -> None:
        self.url = url
        self.interval = interval
        self.active = active
        self.period = period
        self._stop = stop

    def run(self) -> None:
        """Work until the stop event is set, reconnecting whenever the database goes away."""
        run_reconnecting(self._session, self._stop, self._pause, self._log_retry)

    def _log_retry(self, state: object) -> None:
        log.warning("snapshots: database unavailable; retrying")

    def _session(self) -> None:
        # A projector's session: its transactions hold back no batch (together.HORIZON).
        with psycopg.connect(
            self.url, autocommit=True, connect_timeout=5, application_name=PROJECTORS
        ) as conn:
            while not self._stop.wait(self.period):
                if self.active():
                    advance(conn, self.interval)

    def _pause(self, seconds: float) -> None:
        self._stop.wait(seconds)
