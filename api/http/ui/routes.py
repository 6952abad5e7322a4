"""The ledger page: GET /ui and its static files under /ui/static, served by the app (no CDN, no build).

The page is one HTML document with plain ES modules and the vendored uPlot (`static/vendor/`).
It signs in with POST /token and reads the JSON API with the bearer token, so it sees exactly what
the API lets that user see. Its Content-Security-Policy lets it load and connect to this server only.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
ASSETS = "/ui/static"
# Scripts from this server only (no inline script); uPlot sizes its elements through their style.
ONLY_HERE = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "Cache-Control": "no-cache",
}
router = APIRouter(tags=["ledger page"])


def install(app: FastAPI) -> None:
    """Serve the page's files under /ui/static."""
    app.mount(ASSETS, StaticFiles(directory=STATIC), name="ui-assets")


@router.get("/ui", include_in_schema=False)
def page() -> FileResponse:
    """The ledger page (it signs in by itself)."""
    return FileResponse(STATIC / "index.html", media_type="text/html", headers=ONLY_HERE)


@router.get("/ui/", include_in_schema=False)
def page_slash() -> RedirectResponse:
    """/ui/ is /ui."""
    return RedirectResponse("/ui", status_code=308)
