"""/docs and /redoc in a real headless Chromium with the network cut off: they must still render.

The browser is Debian's `chromium` (the Makefile's test target installs it), driven by Playwright;
Playwright's own browser download is never used. Every request that is not to the test server is
aborted and recorded, and the test asserts there was none: the pages need nothing from outside.
The pages' Content-Security-Policy lets them load from the server only, so the browser refuses
anything else before a request exists (ReDoc's vendor logo). Set ABPARTS_DOCS_SCREENSHOT to a
path to keep the screenshot (the README's docs/images/docs.png).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import BrowserContext

from tests.browser.offline import Offline

pytestmark = pytest.mark.db


def test_docs_list_the_operations_with_the_network_cut_off(
    browser: BrowserContext, base_url: str, client: TestClient, tmp_path: Path
) -> None:
    offline = Offline(browser, base_url)
    page = offline.page
    page.goto(f"{base_url}/docs")
    page.locator(".opblock").first.wait_for(timeout=30_000)
    document = client.get("/openapi.json").json()
    operations = sum(len(ops) for ops in document["paths"].values())
    assert page.locator(".opblock").count() == operations
    post_transactions = page.locator(".opblock-post .opblock-summary-path[data-path='/transactions']")
    assert post_transactions.count() == 1
    shot = tmp_path / "docs.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    if keep := os.environ.get("ABPARTS_DOCS_SCREENSHOT"):
        shutil.copyfile(shot, keep)
    # Opened, the operation shows the problem codes it can answer.
    post_transactions.click()
    page.locator(".opblock.is-open").get_by_text("insufficient_stock").first.wait_for(timeout=10_000)
    assert offline.outside == [], "requests the docs page tried to send off the machine"
    assert offline.failed == []


def test_redoc_renders_with_the_network_cut_off(
    browser: BrowserContext, base_url: str, tmp_path: Path
) -> None:
    offline = Offline(browser, base_url)
    page = offline.page
    page.goto(f"{base_url}/redoc")
    page.locator("h2", has_text="Record a movement").first.wait_for(timeout=30_000)
    assert page.locator("h1").first.inner_text().startswith("ABParts Ledger")
    page.screenshot(path=str(tmp_path / "redoc.png"))
    assert offline.outside == [], "requests the ReDoc page tried to send off the machine"
    # ReDoc's bundle always asks for its vendor's logo; the page's Content-Security-Policy makes the
    # browser refuse it before any request is made (so `outside` stays empty). Nothing else may fail.
    assert [f for f in offline.failed if not f.endswith(" csp")] == []
