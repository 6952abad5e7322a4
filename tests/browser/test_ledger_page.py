"""The ledger page (/ui) in Debian's headless Chromium against the running app, with the network cut off.

Signed in through the page's own form, it must show the movements just made with their names, filter
by part number, page through the log with the hashes `abparts export` writes, chart exactly what
GET /inventory/as-of answers at each position, and never show a customer another organization's
rows. A screenshot of each view is kept in ABPARTS_UI_SCREENSHOTS (a directory) or the test's tmp
dir; `ABPARTS_UI_SCREENSHOTS=docs/images make test PYTEST_ARGS=tests/browser` refreshes the
README's docs/images/ledger-page.png.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import BrowserContext, expect

from api.cli.export import export
from api.runtime import check_runs
from ledger.postgres.connection import Connection as Conn
from projections.registry import ALL
from tests.browser.ledger_page import WAIT, World, closed, fits_a_phone, opened, table
from tests.browser.offline import Offline
from tests.fixtures.api import Tenants
from tests.fixtures.shop import post

pytestmark = pytest.mark.db


@pytest.fixture
def world(client: TestClient, tenants: Tenants, db: Conn) -> World:
    made = World(client, tenants, db)
    made.settled()
    return made


@pytest.fixture
def shots(tmp_path: Path) -> Iterator[Path]:
    """Where screenshots go: the test's tmp dir, copied to ABPARTS_UI_SCREENSHOTS when set."""
    yield tmp_path
    if keep := os.environ.get("ABPARTS_UI_SCREENSHOTS"):
        Path(keep).mkdir(parents=True, exist_ok=True)
        for shot in tmp_path.glob("*.png"):
            shutil.copyfile(shot, Path(keep) / shot.name)


def test_sign_in_then_stock_shows_the_movements_with_names(
    browser: BrowserContext, base_url: str, world: World, client: TestClient, shots: Path
) -> None:
    n = world.names
    refused = Offline(browser, base_url)
    refused.page.goto(f"{base_url}/ui")
    refused.page.get_by_label("Username").fill(world.shop.admin.username)
    refused.page.get_by_label("Password").fill("not the password")
    refused.page.get_by_label("Password").press("Enter")
    expect(refused.page.locator("#status.error")).to_contain_text("wrong username or password", timeout=WAIT)
    assert refused.page.get_by_role("button", name="Sign in").is_visible()
    closed(refused)
    offline = opened(browser, base_url, world.shop.admin.username)
    page = offline.page
    page.locator("#stock-table tbody tr").first.wait_for(timeout=WAIT)
    rows = table(page, "#stock-table")
    # Organization, warehouse, part number, part, current stock, minimum recommended, unit.
    assert sorted(r[:5] for r in rows) == sorted(
        [
            [n["org"], n["a"], n["part_number"], "Oil filter", "6.000"],
            [n["org"], n["b"], n["part_number"], "Oil filter", "3.000"],
            [n["org"], n["a"], n["second_number"], "Hydraulic oil", "7.500"],
        ]
    )
    # The minimum recommendation beside the stock, as GET /inventory has it.
    listed = client.get("/inventory", headers=world.shop.admin.headers).json()["items"]
    assert sorted((r[1], r[2], r[5]) for r in rows) == sorted(
        (i["warehouse_name"], i["part_number"], i["minimum_stock_recommendation"]) for i in listed
    )
    # Every control has a label; the views are links a keyboard reaches.
    unlabelled = page.eval_on_selector_all(
        "input:not([type=hidden]), select", "els => els.filter(e => e.labels.length === 0).map(e => e.id)"
    )
    assert unlabelled == []
    page.screenshot(path=str(shots / "ledger-page.png"), full_page=True)
    fits_a_phone(page, shots / "stock-phone.png")
    closed(offline)


def test_filter_by_part_number_with_the_keyboard(
    browser: BrowserContext, base_url: str, world: World
) -> None:
    n = world.names
    offline = opened(browser, base_url, world.shop.admin.username)
    page = offline.page
    page.locator("#stock-table tbody tr").first.wait_for(timeout=WAIT)
    page.get_by_label("Part number or name").fill(n["second_number"].lower())
    page.keyboard.press("Enter")
    expect(page.locator("#stock-table tbody tr")).to_have_count(1, timeout=WAIT)
    assert table(page, "#stock-table")[0][2:5] == [n["second_number"], "Hydraulic oil", "7.500"]
    page.get_by_label("Part number or name").fill("")
    page.get_by_label("Below minimum only").check()
    page.get_by_role("button", name="Show").first.click()
    # 0 is at or below each minimum of 0 only when stock is 0: nothing here is.
    expect(page.locator("#stock-table tbody tr.empty")).to_have_count(1, timeout=WAIT)
    closed(offline)


def test_the_ledger_pages_with_the_hashes_of_the_export(
    browser: BrowserContext, base_url: str, world: World, db: Conn, shots: Path
) -> None:
    shop = world.shop
    for _ in range(55):  # more than a page of 50
        world.command(shop.admin, "creation", to_warehouse_id=shop.b, quantity="1")
    world.settled()
    offline = opened(browser, base_url, shop.admin.username, "ledger")
    page = offline.page
    seen: list[tuple[int, str]] = []
    for number in range(1, 10):
        expect(page.locator("#ledger-page")).to_have_text(f"Page {number}", timeout=WAIT)
        page.locator("#ledger-table tbody tr").first.wait_for(timeout=WAIT)
        rows = page.locator("#ledger-table tbody tr[data-position]")
        seen += [
            (
                int(rows.nth(i).get_attribute("data-position") or 0),
                rows.nth(i).get_attribute("data-hash") or "",
            )
            for i in range(rows.count())
        ]
        if number == 1:
            page.get_by_role("button", name=f"Hash and payload of position {seen[0][0]}").click()
            expect(page.locator(f"#event-{seen[0][0]}")).to_contain_text(seen[0][1])
            page.screenshot(path=str(shots / "ledger.png"), full_page=False)
        if page.locator("#ledger-next").is_disabled():
            break
        page.locator("#ledger-next").click()
    out = io.StringIO()
    export(db, out, "jsonl")
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    mine = {str(shop.a), str(shop.b)}
    streams = {
        r["stream_id"]
        for r in records
        if r["stream_version"] == 1
        and {r["payload"].get("from_warehouse_id"), r["payload"].get("to_warehouse_id")} & mine
    }
    fits_a_phone(page, shots / "ledger-phone.png")
    expected = [(r["position"], r["hash"]) for r in records if r["stream_id"] in streams]
    assert len(expected) == 59 and seen == expected
    # The names the page shows beside an event are the export's names.
    first = page.locator("#ledger-table tbody tr").first
    assert first.get_attribute("data-position") is not None
    closed(offline)


def test_the_ledger_filters_from_the_form(browser: BrowserContext, base_url: str, world: World) -> None:
    n = world.names
    offline = opened(browser, base_url, world.shop.admin.username, "ledger")
    page = offline.page
    expect(page.locator("#ledger-table tbody tr[data-position]")).to_have_count(4, timeout=WAIT)
    page.get_by_label("Event type").select_option("StockConsumed")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#ledger-table tbody tr[data-position]")).to_have_count(1, timeout=WAIT)
    assert table(page, "#ledger-table")[0][2:4] == [
        "StockConsumed",
        f"1 pieces {n['part_number']} Oil filter from Service van",
    ]
    assert "event_type=StockConsumed" in page.url  # the filters are in the address: a view to link to
    page.get_by_role("button", name="Clear").click()
    expect(page.locator("#ledger-table tbody tr[data-position]")).to_have_count(4, timeout=WAIT)
    filters = page.get_by_role("form", name="Ledger filters")
    filters.get_by_label("Part", exact=True).select_option(label=f"{n['second_number']} Hydraulic oil")
    page.get_by_label("Performed by").select_option(label=world.shop.admin.username)
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#ledger-table tbody tr[data-position]")).to_have_count(1, timeout=WAIT)
    assert (
        table(page, "#ledger-table")[0][3] == f"7.5 litres {n['second_number']} Hydraulic oil to North depot"
    )
    closed(offline)


def test_a_movements_stream_on_one_view(
    browser: BrowserContext, base_url: str, world: World, client: TestClient
) -> None:
    shop = world.shop
    moved = world.command(
        shop.user, "transfer", from_warehouse_id=shop.a, to_warehouse_id=shop.b, quantity="1"
    )
    movement = moved["transactions"][0]["id"]
    reversed_ = post(client, shop.admin, f"/transactions/{movement}/reverse", {})
    assert reversed_.status_code == 201, reversed_.text
    offline = opened(browser, base_url, shop.admin.username, f"ledger?stream_id=movement-{movement}")
    page = offline.page
    expect(page.locator("#ledger-stream-note")).to_contain_text(
        "StockTransferred → MovementReversed", timeout=WAIT
    )
    assert [r[2] for r in table(page, "#ledger-table")] == ["StockTransferred", "MovementReversed"]
    # The compensating movement is a stream of its own, one click away.
    page.get_by_role("link", name="the compensating movement").click()
    expect(page.locator("#ledger-table tbody tr[data-position]")).to_have_count(1, timeout=WAIT)
    assert table(page, "#ledger-table")[0][2] == "StockTransferred"
    closed(offline)


def test_the_chart_points_are_the_as_of_answers(
    browser: BrowserContext, base_url: str, world: World, client: TestClient, shots: Path
) -> None:
    shop = world.shop
    world.command(shop.user, "consumption", from_warehouse_id=shop.b, quantity="1")
    world.settled()
    offline = opened(
        browser, base_url, shop.admin.username, f"history?warehouse_id={shop.b}&part_id={shop.part}"
    )
    page = offline.page
    page.locator("#history-table tbody tr").first.wait_for(timeout=WAIT, state="attached")
    points = json.loads(page.locator("#history-chart").get_attribute("data-points") or "[]")
    assert [p["type"] for p in points] == ["StockTransferred", "StockConsumed", "StockConsumed"]
    for point in points:
        answer = client.get(
            "/inventory/as-of",
            params={"position": point["position"], "warehouse_id": str(shop.b), "part_id": str(shop.part)},
            headers=shop.admin.headers,
        ).json()
        assert point["stock"] == answer["items"][0]["current_stock"]
    assert [p["stock"] for p in points] == ["4.000", "3.000", "2.000"]
    assert page.locator("#history-chart canvas").count() == 1
    assert page.locator("#usage-chart canvas").count() == 1
    usage = table(page, "#usage-table")
    assert [(u[1], u[3], u[4]) for u in usage] == [(world.names["serial"], "1", "1.000")]
    page.screenshot(path=str(shots / "history.png"), full_page=True)
    fits_a_phone(page, shots / "history-phone.png")
    assert page.locator("#history-chart canvas").bounding_box()["width"] <= 390  # type: ignore[index]
    closed(offline)


def test_a_customer_user_sees_only_its_organization(
    browser: BrowserContext, base_url: str, world: World
) -> None:
    n = world.names
    offline = opened(browser, base_url, world.shop.user.username)
    page = offline.page
    page.locator("#stock-table tbody tr").first.wait_for(timeout=WAIT)
    rows = table(page, "#stock-table")
    assert len(rows) == 3 and {r[0] for r in rows} == {n["org"]}
    assert n["other_a"] not in page.locator("#stock-table").inner_text()
    choices = page.locator("#stock-organization option").all_inner_texts()
    assert n["other_org"] not in choices
    # The log's views are for admins: not offered, and refused when asked for.
    assert page.get_by_role("link", name="The ledger").is_hidden()
    page.goto(f"{base_url}/ui#ledger")
    expect(page.locator("#status")).to_contain_text("admins and super_admins only", timeout=WAIT)
    assert page.locator("#ledger-table tbody tr").count() == 0
    # Signed out, nothing of what was shown stays in the page.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=WAIT)
    assert page.locator("#stock-table tbody tr").count() == 0
    assert page.locator("#stock-organization option").all_inner_texts() == ["All"]
    closed(offline)
    other = opened(browser, base_url, world.other.admin.username, "ledger")
    page = other.page
    page.locator("#ledger-table tbody tr").first.wait_for(timeout=WAIT)
    assert n["a"] not in page.locator("#ledger-table").inner_text()
    assert len(table(page, "#ledger-table")) == 1  # its own stock-in only
    closed(other)


def test_health_shows_projections_seal_and_checks(
    browser: BrowserContext, base_url: str, world: World, tenants: Tenants, db: Conn, shots: Path
) -> None:
    from datetime import UTC, datetime

    check_runs.record(db, "verify", datetime.now(UTC), True, "7 projections, 99 events: OK", {"ok": True})
    check_runs.record(
        db, "audit", datetime.now(UTC), False, "checked 99 events: FAILED: 1 problems", {"ok": False}
    )
    offline = opened(browser, base_url, "root", "health")
    page = offline.page
    expect(page.locator("#health-table tbody tr")).to_have_count(len(ALL), timeout=WAIT)
    assert [r for r in page.locator("#health-table tbody th").all_inner_texts()] == [p.name for p in ALL]
    verify = page.get_by_role("article", name="Last verify")
    expect(verify).to_contain_text("passed")
    expect(verify).to_contain_text("7 projections, 99 events: OK")
    expect(page.get_by_role("article", name="Last audit")).to_contain_text("FAILED")
    page.screenshot(path=str(shots / "health.png"), full_page=True)
    closed(offline)
