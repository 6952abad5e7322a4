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
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import BrowserContext, Page, Route, sync_playwright

from tests.faults.harness import free_port

pytestmark = pytest.mark.db
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def base_url(app: FastAPI, client: TestClient) -> Iterator[str]:
    """The test app served over real HTTP on a free loopback port (its lifespan already runs)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the test server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """Chromium with a fresh profile of its own (Playwright takes it as user_data_dir)."""
    if shutil.which("chromium") is None and not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: `make test` installs Debian's chromium with apt-get (as root); "
            "install it with `apt-get install chromium` and run again"
        )
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        yield launched
        launched.close()


class Offline:
    """A page whose every request off the test server is aborted, and remembered."""

    def __init__(self, browser: BrowserContext, base_url: str) -> None:
        self.outside: list[str] = []
        self.failed: list[str] = []
        self.page: Page = browser.new_page()
        server = urlsplit(base_url).netloc
        self.page.route("**/*", self._only(server))
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url} {r.failure}"))

    def _only(self, server: str) -> Callable[[Route], None]:
        def route(route: Route) -> None:
            if urlsplit(route.request.url).netloc == server:
                route.continue_()
            else:
                self.outside.append(route.request.url)
                route.abort()

        return route


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
