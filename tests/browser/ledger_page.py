"""What the ledger page's browser tests share: a customer whose stock has moved, and the page's parts.

`World` builds it through the API (names a person would give, so screenshots read like the real
thing); the functions open a signed-in tab, read a table, check a phone's width and end a tab.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from playwright.sync_api import BrowserContext, Page, expect

from ledger.postgres.connection import Connection as Conn
from tests.browser.offline import Offline
from tests.fixtures.api import PASSWORD, Caller, Tenants
from tests.fixtures.shop import Shop, post, stock_in

WAIT = 30_000


class World:
    """A customer with stock moved (in to a, a transfer to b, a consumption there) and a second part."""

    def __init__(self, client: TestClient, tenants: Tenants, db: Conn) -> None:
        self.client = client
        self.shop = Shop(tenants, db)
        self.other = Shop(tenants, db)  # another customer, with stock of its own
        shop = self.shop
        # Names a person would give (the README's screenshot shows them); unique where they must be.
        tag = uuid.uuid4().hex[:4].upper()
        self.names = {
            "org": f"Kallio Marine {tag}",
            "a": "North depot",
            "b": "Service van",
            "part_number": f"F-{tag}",
            "second_number": f"HYD-{tag}",
            "other_org": f"Lahti Boatyard {tag}",
            "other_a": "Harbour store",
            "serial": f"AB-{tag}",
        }
        n = self.names
        renames = [
            ("UPDATE organizations SET name = %s WHERE id = %s", [n["org"], shop.org]),
            ("UPDATE organizations SET name = %s WHERE id = %s", [n["other_org"], self.other.org]),
            ("UPDATE warehouses SET name = %s WHERE id = %s", [n["a"], shop.a]),
            ("UPDATE warehouses SET name = %s WHERE id = %s", [n["b"], shop.b]),
            ("UPDATE warehouses SET name = %s WHERE id = %s", [n["other_a"], self.other.a]),
            (
                "UPDATE parts SET part_number = %s, name = 'Oil filter' WHERE id = %s",
                [n["part_number"], shop.part],
            ),
            ("UPDATE machines SET serial_number = %s WHERE id = %s", [n["serial"], shop.machine]),
        ]
        for sql, params in renames:
            db.execute(sql, params)
        row = db.execute(
            "INSERT INTO parts (part_number, name, unit_price, part_type, unit_of_measure)"
            " VALUES (%s, 'Hydraulic oil', 2, 'bulk_material', 'litres') RETURNING id",
            [n["second_number"]],
        ).fetchone()
        assert row is not None
        self.second = row[0]
        stock_in(client, shop, "10")
        self.command(shop.user, "transfer", from_warehouse_id=shop.a, to_warehouse_id=shop.b, quantity="4")
        use = {"machine_id": str(shop.machine), "part_id": str(shop.part), "warehouse_id": str(shop.b)}
        used = post(client, shop.user, "/part-usage", use | {"quantity": "1"})  # a consumption on the machine
        assert used.status_code == 201, used.text
        self.command(shop.admin, "creation", part=self.second, to_warehouse_id=shop.a, quantity="7.5")
        self.position = stock_in(client, self.other, "3")["position"]

    def command(self, caller: Caller, kind: str, part: Any = None, **body: Any) -> dict[str, Any]:
        payload = {"transaction_type": kind, "part_id": str(part or self.shop.part)}
        payload |= {k: str(v) for k, v in body.items()}
        response = post(self.client, caller, "/transactions", payload)
        assert response.status_code == 201, response.text
        answer: dict[str, Any] = response.json()
        self.position = answer["position"]
        return answer

    def settled(self) -> None:
        """Wait until the projections have read every movement made (the page reads them as they are)."""
        response = self.client.get(
            "/inventory", params={"min_position": self.position}, headers=self.shop.admin.headers
        )
        assert response.status_code == 200, response.text


def opened(browser: BrowserContext, base_url: str, username: str, view: str = "stock") -> Offline:
    """A fresh tab signed in through the page's own form, on `view`."""
    offline = Offline(browser, base_url)
    page = offline.page
    page.goto(f"{base_url}/ui#{view}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#who-name")).to_contain_text(username, timeout=WAIT)
    return offline


def table(page: Page, selector: str) -> list[list[str]]:
    """The text of each body row's cells."""
    rows = page.locator(f"{selector} tbody tr:not(.empty):not(.more)")
    return [
        [cell.strip() for cell in rows.nth(i).locator("td").all_inner_texts()] for i in range(rows.count())
    ]


def fits_a_phone(page: Page, shot: Path) -> None:
    """At 390 px wide the page does not scroll sideways (wide tables scroll in their own frame)."""
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(300)  # the charts redraw to the new width after 150 ms
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert hidden_but_shown(page) == []
    page.screenshot(path=str(shot), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def hidden_but_shown(page: Page) -> list[str]:
    """Elements the page hides (the `hidden` attribute) that a style shows all the same."""
    found: list[str] = page.evaluate(
        "[...document.querySelectorAll('[hidden]')].filter(e => getComputedStyle(e).display !== 'none')"
        ".map(e => e.id || e.tagName)"
    )
    return found


def closed(offline: Offline) -> None:
    """Nothing hidden shows, nothing was asked of another server, nothing failed, no script error."""
    assert hidden_but_shown(offline.page) == []
    assert offline.outside == [], "requests the page tried to send off the machine"
    assert offline.failed == []
    assert offline.errors == []
    offline.page.close()
