"""Prometheus metrics of one app: request latency by route, commands and events, errors, projection lag.

The registry belongs to the app (built in create_app), not to the module, so
two apps in one process (as in the tests) never mix their figures. Projection
positions and lags are read from the database when scraped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from psycopg_pool import ConnectionPool

from projections.engine.projection import Projection
from projections.engine.status import status

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """The app's metrics and their registry."""

    def __init__(self, pool: ConnectionPool, projections: tuple[Projection, ...]) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "abparts_http_request_duration_seconds",
            "HTTP request latency by route",
            ["method", "route", "status"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.commands = Counter(
            "abparts_commands_total", "Stock commands accepted, by type", ["command"], registry=self.registry
        )
        self.events = Counter(
            "abparts_events_appended_total",
            "Events appended, by type",
            ["event_type"],
            registry=self.registry,
        )
        self.errors = Counter(
            "abparts_errors_total", "Error responses, by code", ["code", "status"], registry=self.registry
        )
        self.registry.register(ProjectionCollector(pool, projections))
        # Each counter's child by its label, found once: labels() took about 3 us, twice a command.
        self._command_counts: dict[str, Any] = {}
        self._event_counts: dict[str, Any] = {}

    def recorded(self, command: str, event_types: Iterable[str]) -> None:
        """Count an appended command and its events."""
        _child(self.commands, self._command_counts, command).inc()
        for event_type in event_types:
            _child(self.events, self._event_counts, event_type).inc()

    def exposition(self) -> bytes:
        """The metrics in Prometheus text format."""
        return generate_latest(self.registry)


def _child(counter: Counter, children: dict[str, Any], label: str) -> Any:
    child = children.get(label)
    if child is None:
        child = children[label] = counter.labels(label)
    return child


class ProjectionCollector(Collector):
    """Each projection's position and lag (the change feed's too, when set), read at scrape time."""

    def __init__(self, pool: ConnectionPool, projections: tuple[Projection, ...]) -> None:
        self.pool = pool
        self.projections = projections

    def collect(self) -> Iterator[GaugeMetricFamily]:
        position = GaugeMetricFamily(
            "abparts_projection_position", "Log position applied", labels=["projection"]
        )
        lag = GaugeMetricFamily(
            "abparts_projection_lag_events", "Events not yet applied", labels=["projection"]
        )
        seconds = GaugeMetricFamily(
            "abparts_projection_lag_seconds", "Age of the oldest event not yet applied", labels=["projection"]
        )
        with self.pool.connection() as conn:
            for row in status(conn, self.projections):
                position.add_metric([row.name], row.position)
                lag.add_metric([row.name], row.lag_events)
                seconds.add_metric([row.name], row.lag_seconds)
        yield from (position, lag, seconds)
