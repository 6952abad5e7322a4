"""A browser page whose every request off the test server is aborted, and remembered."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, Page, Route


class Offline:
    """A page whose every request off the test server is aborted, and remembered."""

    def __init__(self, browser: BrowserContext, base_url: str) -> None:
        self.outside: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        self.page: Page = browser.new_page()
        server = urlsplit(base_url).netloc
        self.page.route("**/*", self._only(server))
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url} {r.failure}"))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _only(self, server: str) -> Callable[[Route], None]:
        def route(route: Route) -> None:
            if urlsplit(route.request.url).netloc == server:
                route.continue_()
            else:
                self.outside.append(route.request.url)
                route.abort()

        return route
