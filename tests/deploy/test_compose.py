"""docker-compose.yml and the Dockerfile, checked without a Docker daemon (none on CI).

The compose file is validated against the Compose Specification's JSON schema
(`compose_spec.json`, as shipped by docker-compose 1.29.2, Apache-2.0), and
each service's command and environment against what the service really
accepts: the `abparts` argument parser and the settings' fields.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml

from api.cli import build_parser
from api.runtime.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = Path(__file__).with_name("compose_spec.json")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_the_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text())
    errors = [str(e) for e in jsonschema_rs.Draft201909Validator(schema).iter_errors(compose)]
    assert errors == []


def test_services_start_in_order_each_waiting_on_the_one_before(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"db", "nats", "migrate", "api", "projector"}
    db = services["db"]
    assert db["image"] == "postgres:15"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert any(v.split(":")[0] in compose["volumes"] for v in db["volumes"])
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    for name in ("api", "projector"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert services["projector"]["depends_on"]["api"] == {"condition": "service_healthy"}
    assert "/health" in " ".join(services["api"]["healthcheck"]["test"])


def test_commands_and_settings_are_ones_the_service_accepts(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    parser = build_parser()
    known = {f"ABPARTS_{name.upper()}" for name in Settings.model_fields} | {"DATABASE_URL"}
    commands = {}
    for name, service in compose["services"].items():
        if name in ("db", "nats"):
            continue
        command = service["command"]
        argv = command if isinstance(command, list) else shlex.split(command)
        assert argv[0] == "abparts"
        commands[name] = parser.parse_args(argv[1:]).command
        assert set(service["environment"]) <= known, name
        assert service["environment"]["DATABASE_URL"].endswith("@db:5432/abparts")
    assert commands == {"migrate": "migrate", "api": "serve", "projector": "project"}
    # The API leaves the projections to the projector service.
    for variable, value in compose["services"]["api"]["environment"].items():
        monkeypatch.setenv(variable, value)
    assert Settings().run_projectors is False


def test_the_projector_publishes_the_change_feed_to_a_healthy_jetstream(compose: dict[str, Any]) -> None:
    services = compose["services"]
    nats = services["nats"]
    assert nats["image"].startswith("nats:")
    assert "-js" in nats["command"]
    assert any(v.split(":")[0] in compose["volumes"] for v in nats["volumes"])
    monitoring = nats["command"][nats["command"].index("-m") + 1]
    assert f"127.0.0.1:{monitoring}/healthz" in " ".join(nats["healthcheck"]["test"])
    projector = services["projector"]
    assert projector["depends_on"]["nats"] == {"condition": "service_healthy"}
    assert Settings(nats_url=projector["environment"]["ABPARTS_NATS_URL"]).nats_url == "nats://nats:4222"
    assert "ABPARTS_NATS_URL" not in services["api"]["environment"]  # one publisher: the projector's


def test_the_image_installs_the_project_with_its_migrations() -> None:
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    copied = {line.split()[1] for line in lines if line.startswith("COPY ")}
    assert {"alembic", "ledger", "projections", "api"} <= copied
    # A plain install carries the migrations (tests/deploy/test_packaging.py proves it migrates).
    assert any(line.startswith("RUN pip install") and " . " in line and " -e " not in line for line in lines)
