"""The app's route table: every router's routes on the app itself, the hot ones first, none shadowed.

Routes are matched one after another. They are the app's own (not behind include_router, which
FastAPI matches twice per request), GET /health and the stock routes come first, and no route
is reached by a request meant for a later one.
"""

from __future__ import annotations

import re

from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Match

from api.http.app import HOT, ROUTERS, create_app
from api.http.stock.fast_path import FastTransactions
from tests.fixtures.api import api_settings


def _app_routes() -> list[BaseRoute]:
    return list(create_app(api_settings(), "postgresql://x@127.0.0.1/x").router.routes)


def _same(mine: BaseRoute, route: BaseRoute) -> bool:
    # The router's route itself, or (POST /transactions) the app's copy serving it by the fast path.
    fast = isinstance(getattr(mine, "app", None), FastTransactions)
    return mine is route or (fast and getattr(mine, "endpoint", None) is getattr(route, "endpoint", 0))


def test_every_routers_route_is_the_apps_own_and_the_hot_ones_come_first() -> None:
    routes = _app_routes()
    ours = [route for module in ROUTERS for route in module.router.routes]
    assert all(any(_same(mine, route) for mine in routes) for route in ours)
    hot = [route for module in HOT for route in module.router.routes]
    assert all(_same(mine, route) for mine, route in zip(routes[: len(hot)], hot, strict=True))
    assert getattr(routes[0], "path", None) == "/health"
    assert sum(isinstance(getattr(r, "app", None), FastTransactions) for r in routes) == 1


def test_no_route_is_shadowed_by_an_earlier_one() -> None:
    routes = _app_routes()
    for route in routes:
        if not isinstance(route, APIRoute):
            continue
        path = re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000001", route.path)
        for method in route.methods or ():
            scope = {"type": "http", "path": path, "method": method, "root_path": ""}
            first = next(r for r in routes if r.matches(scope)[0] == Match.FULL)
            assert first is route, f"{method} {route.path} is answered by {getattr(first, 'path', first)}"
