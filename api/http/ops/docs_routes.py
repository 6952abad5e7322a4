"""The interactive docs (/docs, /redoc) from packaged assets, and GET /problems/{code}.

FastAPI's own docs pages load Swagger UI and ReDoc from a public CDN, so they
are blank without internet; the assets here are the ones the `fastapi-offline`
package ships, served by the app itself. Every problem body's `type` is
`/problems/{code}`, which this module answers: HTML for a browser, JSON else.
"""

from __future__ import annotations

import html
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from api.http.ops.problem_codes import catalogue
from api.http.problems import not_found, type_uri

ASSETS = Path(fastapi_offline.__file__).parent / "static"
STATIC = "/docs-assets"
# The pages may load only from this server: ReDoc's bundle always shows a logo from its vendor's CDN
# (no option turns it off), and the browser, told so, does not even ask for it. Inline script and
# style stay allowed: FastAPI's pages start Swagger UI inline and ReDoc styles itself at run time.
ONLY_HERE = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
    "worker-src 'self' blob:; connect-src 'self'"
}
router = APIRouter(tags=["health"])


def install(app: FastAPI) -> None:
    """Serve /docs, /redoc and their assets (the app is built with docs_url=None, redoc_url=None)."""
    app.mount(STATIC, StaticFiles(directory=ASSETS), name="docs-assets")
    title = f"{app.title} {app.version}"
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        return _only_here(
            get_swagger_ui_html(
                openapi_url=openapi_url,
                title=title,
                swagger_js_url=f"{STATIC}/swagger-ui-bundle.js",
                swagger_css_url=f"{STATIC}/swagger-ui.css",
                swagger_favicon_url=f"{STATIC}/favicon.png",
                oauth2_redirect_url="/docs/oauth2-redirect",
            )
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        # No Google Fonts either: ReDoc falls back to the system's fonts.
        return _only_here(
            get_redoc_html(
                openapi_url=openapi_url,
                title=title,
                redoc_js_url=f"{STATIC}/redoc.standalone.js",
                redoc_favicon_url=f"{STATIC}/favicon.png",
                with_google_fonts=False,
            )
        )


def _only_here(page: HTMLResponse) -> HTMLResponse:
    page.headers.update(ONLY_HERE)
    return page


@router.get("/problems/{code}", summary="What a problem code means", response_model=None)
def describe_problem(code: str, request: Request) -> Response:
    """The meaning of a problem `code` (a problem body's `type` links here): HTML for a browser."""
    found = catalogue().get(code)
    if found is None:
        raise not_found(f"problem code {code!r}")
    body = {
        "type": type_uri(found.code),
        "code": found.code,
        "status": found.status,
        "title": found.code.replace("_", " ").capitalize(),
        "description": found.description,
    }
    if "text/html" not in request.headers.get("accept", ""):
        return JSONResponse(body)
    text = {k: html.escape(str(v)) for k, v in body.items()}
    page = (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{text['code']}</title></head>"
        f"<body><h1>{text['title']}</h1><p><code>{text['code']}</code>, HTTP {text['status']}</p>"
        f"<p>{text['description']}</p><p><a href=/docs>All operations</a></p></body></html>"
    )
    return HTMLResponse(page)
