"""Change feed benchmark: the publisher's rate into NATS JetStream against the set-based fold.

    .venv/bin/python -m bench.feed [--events N | --quick]

A fresh database gets a synthetic log of N events (bench/dataset.py, default 100,000;
--quick: 10,000), not measured. Then, on the same log: the set-based fold of every read
table (bench/fold.py, the floor of what any projection costs), and the feed publishing the
whole log from its checkpoint to a nats-server of the benchmark's own (JetStream on a
temporary store), batch by batch as `abparts publish` does, each message acknowledged
before the next. Prints events/s of both and the ratio; writes bench/results/feed-<ts>.json.

No target: the figure says how far behind a busy log the feed can fall, for the README.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nats
import psycopg

from bench import dataset
from bench.common import RESULTS, now, ratio, say, table, write_results
from bench.database import create_database, describe, drop_database, server_url
from bench.fold import fold
from projections.engine.runner import ensure_checkpoints
from projections.feed import FEED
from projections.feed.publisher import FeedConfig, ensure_stream, publish_batch

DEFAULT_EVENTS = 100_000
QUICK_EVENTS = 10_000
BATCH = 1000


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line (unknown arguments are ignored: `python -m bench` passes everyone the same)."""
    parser = argparse.ArgumentParser(prog="python -m bench.feed", description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS, help="log size N (default 100,000)")
    parser.add_argument("--quick", action="store_true", help=f"N = {QUICK_EVENTS:,}")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for the JSON results")
    args, _ = parser.parse_known_args(argv)
    args.size = QUICK_EVENTS if args.quick else args.events
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the figures; write the JSON."""
    args = parse(argv)
    started = now()
    url = server_url()
    say(f"feed benchmark: {args.size:,} events on {describe(url)}")
    database = create_database(url)
    try:
        with psycopg.connect(database, autocommit=True) as conn:
            dataset.create_reference(conn)
            dataset.generate(conn, args.size)
            fold_seconds = fold(conn).total
        with nats_server() as nats_url:
            published, messages, publish_seconds = asyncio.run(_publish_all(database, nats_url))
    finally:
        drop_database(url, database)
    report: dict[str, Any] = {
        "events": published,
        "messages": messages,
        "fold_seconds": fold_seconds,
        "publish_seconds": publish_seconds,
        "fold_events_per_second": published / fold_seconds,
        "publish_events_per_second": published / publish_seconds,
        "publish_over_fold": publish_seconds / fold_seconds,
        "targets": [],
    }
    rows = [
        ("set-based fold", f"{fold_seconds:.2f}", f"{published / fold_seconds:,.0f}", "1.00x"),
        (
            "feed publish",
            f"{publish_seconds:.2f}",
            f"{published / publish_seconds:,.0f}",
            ratio(publish_seconds, fold_seconds),
        ),
    ]
    print(table(("phase", "seconds", "events/s", "time vs fold"), rows))
    print(f"{messages:,} messages for {published:,} events (a transfer between customers goes to both)")
    print(f"\nresults: {write_results('feed', started, args.out, report)}")
    return 0


async def _publish_all(database: str, nats_url: str) -> tuple[int, int, float]:
    """Publish the whole log from the start as the publisher does: (events, messages, seconds)."""
    config = FeedConfig(nats_url=nats_url, batch_size=BATCH)
    nc = await nats.connect(nats_url, allow_reconnect=False)
    try:
        js = nc.jetstream(timeout=config.ack_timeout)
        await ensure_stream(js, config)
        with psycopg.connect(database, autocommit=True) as conn:
            ensure_checkpoints(conn, (FEED,))
            started = time.perf_counter()
            events = 0
            while sent := await publish_batch(conn, js, config):
                events += sent
            seconds = time.perf_counter() - started
        messages = int((await js.stream_info(config.stream)).state.messages)
    finally:
        await nc.close()
    return events, messages, seconds


@contextmanager
def nats_server() -> Iterator[str]:
    """A nats-server with JetStream on a free loopback port and a temporary store; its URL."""
    binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
    store = tempfile.mkdtemp(prefix="abparts-bench-nats-")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    args = [binary, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", store]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"nats://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait(10)
        shutil.rmtree(store, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
