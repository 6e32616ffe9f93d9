"""Interactive API docs (Swagger UI) served by the service itself, under a strict CSP.

The edge (Caddy locally, CloudFront in AWS) sends ``web/security-headers.json``'s
Content-Security-Policy with every response: ``script-src 'self'; style-src 'self'``, no CDN, no
inline script. FastAPI's stock docs page loads Swagger UI from a CDN and starts it with an inline
script, so under that policy it is blank. Here:

- Swagger UI's files come from the pinned package ``fastapi-offline`` (its ``static/`` folder:
  ``swagger-ui-bundle.js``, ``swagger-ui.css``, ``favicon.png``), served at ``<prefix>/docs/assets/``;
- the start-up code is a served file, ``<prefix>/docs/init.js`` (``static/swagger-init.js``); it
  reads the OpenAPI URL from the page's ``data-openapi-url`` attribute;
- the page itself is static HTML with no inline script or style.
"""

from __future__ import annotations

import html
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
INIT_JS = Path(__file__).parent / "static" / "swagger-init.js"
# The Swagger UI files the page loads (all in ASSETS_DIR).
ASSET_FILES = ("swagger-ui.css", "swagger-ui-bundle.js", "favicon.png")


def docs_page(title: str, prefix: str, openapi_url: str) -> str:
    """The docs page: only same-origin files, no inline script or style."""
    assets = f"{prefix}/docs/assets"
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)} - API docs</title>\n"
        f'<link rel="stylesheet" href="{assets}/swagger-ui.css">\n'
        f'<link rel="icon" type="image/png" href="{assets}/favicon.png">\n'
        "</head>\n<body>\n"
        f'<div id="swagger-ui" data-openapi-url="{html.escape(openapi_url)}"></div>\n'
        f'<script src="{assets}/swagger-ui-bundle.js"></script>\n'
        f'<script src="{prefix}/docs/init.js"></script>\n'
        "</body>\n</html>\n"
    )


def install_docs(app: FastAPI, prefix: str, title: str) -> None:
    """Serve ``<prefix>/docs`` (Swagger UI) from this process; nothing is fetched from elsewhere."""
    missing = [name for name in ASSET_FILES if not (ASSETS_DIR / name).is_file()]
    if missing or not INIT_JS.is_file():
        raise RuntimeError(f"Swagger UI files missing ({missing or INIT_JS}); reinstall fastapi-offline")
    page = docs_page(title, prefix, f"{prefix}/openapi.json")

    @app.get(f"{prefix}/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get(f"{prefix}/docs/init.js", include_in_schema=False)
    async def docs_init() -> FileResponse:
        return FileResponse(INIT_JS, media_type="text/javascript")

    app.mount(f"{prefix}/docs/assets", StaticFiles(directory=ASSETS_DIR), name="docs-assets")
