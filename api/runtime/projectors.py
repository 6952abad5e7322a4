"""Projector wiring, the one place for it: the workers of `abparts project`, and the API process's side.

`projector_hub` builds the workers from the settings for both; `run_in_foreground` is `abparts project`.
In the API process, a NOTIFY follows each append, and the workers run when it runs them.

The notifier always runs, so that workers in other processes (`abparts
project`) wake at once rather than at their next poll. With
`ABPARTS_RUN_PROJECTORS` (the default) the process also runs a worker per
projection and a LISTEN connection that wakes them on other processes' appends
(its own wake them directly, without the round trip through PostgreSQL).

With `ABPARTS_NATS_URL` set, the change feed's publisher runs beside the workers (one thread,
woken like them); `abparts publish` runs it alone.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Sequence

from api.runtime.settings import Settings
from projections.engine.projection import Projection
from projections.engine.wakeup import Listener, Notifier, new_origin
from projections.engine.worker import ProjectorHub
from projections.feed.publisher import FeedConfig, FeedPublisher
from projections.registry import ALL


def projector_hub(settings: Settings, url: str, projections: Sequence[Projection]) -> ProjectorHub:
    """The workers of every projection (two groups), tuned by the settings (not started)."""
    return ProjectorHub(
        url,
        projections,
        batch_size=settings.projector_batch_size,
        poll_interval=settings.projector_poll_interval,
        min_interval=settings.projector_min_interval,
        snapshot_interval=settings.snapshot_interval,
    )


def feed_publisher(settings: Settings, url: str, stop: threading.Event) -> FeedPublisher | None:
    """The change feed's publisher when `ABPARTS_NATS_URL` is set (not started), else None."""
    if settings.nats_url is None:
        return None
    config = FeedConfig(
        nats_url=settings.nats_url,
        stream=settings.feed_stream,
        duplicate_window=settings.feed_duplicate_window.total_seconds(),
        batch_size=settings.feed_batch_size,
        poll_interval=settings.projector_poll_interval,
    )
    return FeedPublisher(url, config, stop)


def run_in_foreground(settings: Settings, url: str, projections: Sequence[Projection]) -> None:
    """Run the workers (and the feed, if configured) until SIGTERM or Ctrl-C, then stop them cleanly."""
    hub = projector_hub(settings, url, projections)
    stop = hub.stop_event
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    hub.start()
    publisher = feed_publisher(settings, url, stop)
    names = [p.name for p in hub.projections]
    threads = []
    if publisher is not None:
        threads.append(threading.Thread(target=publisher.run, name="feed", daemon=True))
        names.append(f"the change feed to {settings.nats_url}")
    wake = _wake_all(hub, publisher)
    threads.append(threading.Thread(target=Listener(url, wake, stop).run, name="listener", daemon=True))
    for thread in threads:
        thread.start()
    print(f"projecting {', '.join(names)}; Ctrl-C to stop", flush=True)
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    hub.stop()
    wake()  # the publisher may be waiting for a wake-up
    for thread in threads:
        thread.join(10)


def _wake_all(hub: ProjectorHub, publisher: FeedPublisher | None) -> Callable[[], None]:
    """Wake the workers and the publisher."""

    def wake() -> None:
        hub.wake()
        if publisher is not None:
            publisher.wake.set()

    return wake


class InProcessProjectors:
    """The notifier, plus the workers and their listener when `run_projectors` is set."""

    def __init__(self, settings: Settings, url: str) -> None:
        self.stop_event = threading.Event()
        self.hub: ProjectorHub | None = None
        self.publisher: FeedPublisher | None = None
        origin = new_origin()
        # At most one NOTIFY per projector interval: a worker elsewhere would not step sooner anyway.
        self.notifier = Notifier(
            url, self.stop_event, min_interval=settings.projector_min_interval, origin=origin
        )
        self._threads = [threading.Thread(target=self.notifier.run, name="notifier", daemon=True)]
        if settings.run_projectors:
            self.hub = projector_hub(settings, url, ALL)
            self.publisher = feed_publisher(settings, url, self.hub.stop_event)
            if self.publisher is not None:
                self._threads.append(threading.Thread(target=self.publisher.run, name="feed", daemon=True))
            # Our own appends wake the workers directly (appended()); only other processes' NOTIFY count.
            wake = _wake_all(self.hub, self.publisher)
            listener = Listener(url, wake, self.hub.stop_event, ignore=origin)
            self._threads.append(threading.Thread(target=listener.run, name="listener", daemon=True))

    def start(self) -> None:
        """Start the notifier, and the workers and listener if any."""
        if self.hub is not None:
            self.hub.start()
        for thread in self._threads:
            thread.start()

    def appended(self) -> None:
        """Called after a command ended: wake local workers now, and others through NOTIFY."""
        if self.hub is not None:
            _wake_all(self.hub, self.publisher)()
        self.notifier.poke()

    def stop(self) -> None:
        """Stop everything, letting a batch in progress finish."""
        if self.hub is not None:
            self.hub.stop()
            _wake_all(self.hub, self.publisher)()
        self.stop_event.set()
        self.notifier.stop()
        for thread in self._threads:
            thread.join(5)
