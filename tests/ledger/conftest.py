"""Fixtures for ledger tests against PostgreSQL: a ledger, a small world, a way to run commands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
import pytest

from ledger.commands import StockCommand
from ledger.policy import Policy
from ledger.postgres.service import PostgresLedger
from ledger.recorded import CommandMetadata
from ledger.results import CommandResult
from tests.fixtures.world import World

Conn = psycopg.Connection[tuple[Any, ...]]


@dataclass
class Site:
    """One customer organization with an admin, two warehouses, two parts."""

    world: World
    org: UUID
    user: UUID
    a: UUID
    b: UUID
    part: UUID
    bulk: UUID


def make_site(world: World) -> Site:
    org = world.organization("customer")
    return Site(
        world=world,
        org=org,
        user=world.user(org),
        a=world.warehouse(org),
        b=world.warehouse(org),
        part=world.part("consumable"),
        bulk=world.part("bulk_material", unit="litres", price="12.50"),
    )


@pytest.fixture
def site(world: World) -> Site:
    return make_site(world)


def run(
    conn: Conn, command: StockCommand, site: Site, policy: Policy | None = None, key: str | None = None
) -> CommandResult:
    """Execute `command` as the site's admin."""
    ledger = PostgresLedger(policy or Policy())
    return ledger.execute(conn, command, CommandMetadata(performed_by_user_id=site.user, idempotency_key=key))
