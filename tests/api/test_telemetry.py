"""FastAPI's own OpenTelemetry: off unless ABPARTS_OPENTELEMETRY asks for it, for the app and the floor alike.

With it on and no exporter set up, FastAPI looked up the global providers on every request (a
tenth of a command's CPU, py-spy); the service's metrics are its own /metrics either way.
"""

from __future__ import annotations

import pytest

import bench.floor
from api.http.app import create_app
from api.runtime.settings import Settings
from tests.fixtures.api import api_settings


def _config(settings: Settings) -> dict[str, object]:
    app = create_app(settings, "postgresql://x@127.0.0.1/x")
    return {k: app._telemetry[k] for k in ("tracing", "metrics", "logs")}


def test_off_by_default_and_on_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _config(api_settings()) == {"tracing": False, "metrics": False, "logs": False}
    monkeypatch.setenv("ABPARTS_OPENTELEMETRY", "true")
    assert Settings().opentelemetry
    assert _config(api_settings()) == {"tracing": True, "metrics": True, "logs": True}


def test_the_floor_app_is_configured_as_the_service() -> None:
    floor = {k: bench.floor.app._telemetry[k] for k in ("tracing", "metrics", "logs")}
    assert floor == dict(Settings().telemetry())
