"""Idempotency keys are kept for a retention (ABPARTS_IDEMPOTENCY_RETENTION, 24 h), then forgotten.

Both records go: the HTTP answers (api_idempotency) and the ledger's own keys
(ledger_idempotency), so a key older than the retention is a new request again.
`abparts prune` prunes once; the API process prunes every
ABPARTS_IDEMPOTENCY_PRUNE_INTERVAL seconds on a connection of its own (not the
request pool). Several processes pruning at once only delete the same rows.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

import psycopg

from ledger.postgres.connection import Connection
from ledger.postgres.service import forget_idempotency_keys

log = logging.getLogger(__name__)
FORGET_ANSWERS = "DELETE FROM api_idempotency WHERE created_at < now() - %s"


@dataclass(frozen=True)
class Pruned:
    """How many keys one prune forgot."""

    answers: int
    commands: int


def prune(conn: Connection, retention: timedelta) -> Pruned:
    """Forget every Idempotency-Key claimed or stored more than `retention` ago."""
    answers = conn.execute(FORGET_ANSWERS, [retention]).rowcount
    return Pruned(answers, forget_idempotency_keys(conn, retention))


class IdempotencyPruner:
    """A daemon thread pruning expired keys at start and then every `interval` seconds."""

    def __init__(self, url: str, retention: timedelta, interval: float) -> None:
        self.url, self.retention, self.interval = url, retention, interval
        self.stop_event = threading.Event()
        self._thread = threading.Thread(target=self._run, name="idempotency-pruner", daemon=True)

    def start(self) -> None:
        """Start pruning."""
        self._thread.start()

    def stop(self) -> None:
        """Stop, letting a prune in progress finish."""
        self.stop_event.set()
        self._thread.join(10)

    def _run(self) -> None:
        while True:
            self.prune_once()
            if self.stop_event.wait(self.interval):
                return

    def prune_once(self) -> Pruned | None:
        """One prune; None (logged) if the database is away: the next one catches up."""
        try:
            with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
                pruned = prune(conn, self.retention)
        except psycopg.OperationalError as error:
            log.warning("database unavailable: idempotency keys not pruned: %s", error)
            return None
        if pruned.answers or pruned.commands:
            log.info(
                "idempotency keys pruned", extra={"answers": pruned.answers, "commands": pruned.commands}
            )
        return pruned
