"""A consumer of the feed for the tests: every message of the stream, read back through JetStream."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import nats
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

STREAM = "ABPARTS"
TIMEOUT = 30.0  # seconds for one JetStream request or fetch, however loaded the machine


@dataclass(frozen=True)
class Received:
    """One message as a consumer sees it."""

    sequence: int
    subject: str
    message_id: str
    record: dict[str, Any]

    @property
    def organization(self) -> str:
        return self.subject.split(".")[1]


async def _read(url: str, subject: str, start: int) -> list[Received]:
    nc = await nats.connect(url, allow_reconnect=False)
    try:
        js = nc.jetstream(timeout=TIMEOUT)
        try:
            last = (await js.stream_info(STREAM)).state.last_seq
        except NotFoundError:
            return []  # the publisher has not created it yet
        if last < start:
            return []
        config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start)
        sub = await js.pull_subscribe(subject, stream=STREAM, config=config)
        received: list[Received] = []
        # The consumer's own count of what is left on the subject ends the read, not a quiet
        # spell: on a loaded machine a fetch can time out with messages still to come.
        while ((await sub.consumer_info()).num_pending or 0) > 0:
            batch = await sub.fetch(1000, timeout=TIMEOUT)
            for msg in batch:
                await msg.ack()
                if msg.metadata.sequence.stream > last:
                    continue  # published after the read began
                headers = msg.headers or {}
                received.append(
                    Received(
                        msg.metadata.sequence.stream,
                        msg.subject,
                        headers.get("Nats-Msg-Id", ""),
                        json.loads(msg.data),
                    )
                )
            if batch and batch[-1].metadata.sequence.stream >= last:
                break
        await sub.unsubscribe()
        return received
    finally:
        await nc.close()


def read_stream(url: str, subject: str = "abparts.>", start: int = 1) -> list[Received]:
    """Every message of the stream on `subject`, from stream sequence `start`, in stream order."""
    return asyncio.run(_read(url, subject, start))


def last_position(url: str) -> int:
    """The log position of the stream's last message (0 when the stream is empty or missing)."""

    async def last() -> int:
        nc = await nats.connect(url, allow_reconnect=False)
        try:
            js = nc.jetstream(timeout=TIMEOUT)
            try:
                sequence = (await js.stream_info(STREAM)).state.last_seq
            except NotFoundError:
                return 0
            if sequence == 0:
                return 0
            message = await js.get_msg(STREAM, sequence)
            return int(json.loads(message.data or b"{}")["position"])
        finally:
            await nc.close()

    return asyncio.run(last())
