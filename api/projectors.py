"""The projector workers, wake-up listener and notifier as the API process runs them."""

from __future__ import annotations

import threading

from api.settings import Settings
from projections.registry import ALL
from projections.wakeup import Listener, Notifier
from projections.worker import ProjectorHub


class InProcessProjectors:
    """Workers for every projection plus LISTEN/NOTIFY, started and stopped with the app."""

    def __init__(self, settings: Settings, url: str) -> None:
        self.hub = ProjectorHub(
            url,
            ALL,
            batch_size=settings.projector_batch_size,
            poll_interval=settings.projector_poll_interval,
            snapshot_interval=settings.snapshot_interval,
        )
        stop = self.hub.stop_event
        self.notifier = Notifier(url, stop)
        self._threads = [
            threading.Thread(target=Listener(url, self.hub.wake, stop).run, name="listener", daemon=True),
            threading.Thread(target=self.notifier.run, name="notifier", daemon=True),
        ]

    def start(self) -> None:
        """Start the workers, the listener and the notifier."""
        self.hub.start()
        for thread in self._threads:
            thread.start()

    def appended(self) -> None:
        """Called after a command committed: wake local workers now, and others through NOTIFY."""
        self.hub.wake()
        self.notifier.poke()

    def stop(self) -> None:
        """Stop everything, letting a batch in progress finish."""
        self.hub.stop()
        self.notifier.stop()
        for thread in self._threads:
            thread.join(5)
