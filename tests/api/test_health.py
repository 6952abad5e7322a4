"""The service starts on a migrated database and answers /health."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.runtime.settings import Settings

pytestmark = pytest.mark.db


def test_health_answers_ok_when_database_is_up(db_url: str) -> None:
    app = create_app(Settings(run_projectors=False), db_url)
    with TestClient(app) as client:
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
