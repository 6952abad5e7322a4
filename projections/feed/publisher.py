"""The feed's publisher: the log, in commit-safe order from its checkpoint, published to JetStream.

One step reads a batch after the `nats_feed` checkpoint (ledger.postgres.reader: never
past a transaction still writing), publishes its messages one after the other, awaiting
each PubAck, and only then advances the checkpoint. Awaiting each ack before the next
publish keeps the stream in log order even across a broker restart (a pipelined batch
could lose one message and store the next). A crash between the acks and the checkpoint
re-publishes the batch on restart; JetStream drops those copies, because each carries the
same Nats-Msg-Id within the stream's duplicate window. So the broker receives each event
at least once and the stream holds it exactly once.

Like a projection worker, the publisher holds a session advisory lock on its name (one
active across processes; others wait on standby) and starts a new session, with backoff,
whenever the database or the broker goes away (tenacity).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass

import nats
import nats.errors
import psycopg
from nats.js import JetStreamContext
from nats.js.api import StreamConfig
from nats.js.errors import NotFoundError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential

from ledger.postgres.connection import Connection
from ledger.postgres.reader import read_events
from projections.engine.runner import ADVANCE, checkpoint, ensure_checkpoints, lock_key
from projections.feed import FEED
from projections.feed.messages import PREFIX, messages

log = logging.getLogger(__name__)

# What ends a session and starts another after a pause: the database or the broker went away.
TRANSIENT = (psycopg.OperationalError, nats.errors.Error, OSError, asyncio.TimeoutError)


@dataclass(frozen=True)
class FeedConfig:
    """Where and how the feed publishes."""

    nats_url: str
    stream: str = "ABPARTS"
    duplicate_window: float = 300.0  # seconds
    batch_size: int = 1000
    poll_interval: float = 1.0
    ack_timeout: float = 5.0


def stream_config(config: FeedConfig) -> StreamConfig:
    """The stream every feed message goes to: every subject under `abparts.`, kept on disk."""
    return StreamConfig(
        name=config.stream, subjects=[f"{PREFIX}.>"], duplicate_window=config.duplicate_window
    )


async def ensure_stream(js: JetStreamContext, config: FeedConfig) -> None:
    """Create the stream, or bring an existing one to this configuration."""
    try:
        await js.stream_info(config.stream)
    except NotFoundError:
        await js.add_stream(stream_config(config))
        return
    await js.update_stream(stream_config(config))


async def publish_batch(conn: Connection, js: JetStreamContext, config: FeedConfig) -> int:
    """Publish the next batch and advance the checkpoint after its acks; return how many events."""
    events = read_events(conn, checkpoint(conn, FEED.name), config.batch_size)
    if not events:
        return 0
    for message in messages(conn, events):
        await js.publish(
            message.subject,
            message.body,
            timeout=config.ack_timeout,
            headers={"Nats-Msg-Id": message.message_id, "Abparts-Position": str(message.position)},
        )
    last = events[-1].checkpoint
    conn.execute(
        ADVANCE,
        {"name": FEED.name, "xid": last.transaction_id, "position": last.position, "count": len(events)},
    )
    return len(events)


class FeedPublisher:
    """Keeps the stream up to date with the log until stopped (run it in a thread of its own)."""

    def __init__(self, url: str, config: FeedConfig, stop: threading.Event) -> None:
        self.url = url
        self.config = config
        self.wake = threading.Event()
        self.active = threading.Event()
        self._stop = stop

    def run(self) -> None:
        """Publish until the stop event is set, starting a new session whenever one fails."""
        asyncio.run(self._run())

    async def _run(self) -> None:
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(TRANSIENT),
            wait=wait_exponential(multiplier=0.1, max=2),
            stop=lambda _: self._stop.is_set(),
            sleep=self._pause,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            await retrying(self._session)
        except TRANSIENT:
            if not self._stop.is_set():
                raise

    async def _session(self) -> None:
        self.active.clear()
        with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
            ensure_checkpoints(conn, (FEED,))
            if not await self._take_lock(conn):
                return
            # No reconnecting inside the client: a lost broker ends the session, and the next one
            # resumes from the checkpoint, the one place that says what the broker has acknowledged.
            nc = await nats.connect(
                self.config.nats_url,
                allow_reconnect=False,
                connect_timeout=2,
                error_cb=self._log_error,
            )
            try:
                js = nc.jetstream(timeout=self.config.ack_timeout)
                await ensure_stream(js, self.config)
                self.active.set()
                log.info("feed: publishing to %s, stream %s", self.config.nats_url, self.config.stream)
                await self._publish_until_stopped(conn, js)
            finally:
                self.active.clear()
                await nc.close()

    async def _publish_until_stopped(self, conn: Connection, js: JetStreamContext) -> None:
        while not self._stop.is_set():
            self.wake.clear()  # a wake-up from now on may announce events this step misses
            sent = await publish_batch(conn, js, self.config)
            if sent == 0:
                await asyncio.to_thread(self.wake.wait, self.config.poll_interval)

    async def _take_lock(self, conn: Connection) -> bool:
        while not self._stop.is_set():
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", [lock_key(FEED.name)]).fetchone()
            if row is not None and row[0]:
                return True
            await self._pause(self.config.poll_interval)  # standby: another publisher is active
        return False

    async def _pause(self, seconds: float) -> None:
        await asyncio.to_thread(self._stop.wait, seconds)

    async def _log_error(self, error: Exception) -> None:
        log.warning("feed: broker connection: %s", error)

    def _log_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning("feed: database or broker unavailable (%s); retrying", error)
