"""The baseline for `make bench`: a bare FastAPI app with one health route and nothing else.

No middleware, no settings, no AWS client: served by the same runner as our services
(``python -m svc_common.serve hello_app:create_app``) and routed by the same edge, its numbers are what
the framework, the server and the proxy cost on their own. Our services' health route is
measured against it in the same run, so the ratio is the cost of our shared middleware.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

# The bench sets HEALTH_PATH like it does for a real service; the default keeps the app usable alone.
HEALTH_PATH = os.environ.get("HEALTH_PATH", "/hello/health")

app = FastAPI(title="hello", docs_url=None, redoc_url=None, openapi_url=None)


@app.get(HEALTH_PATH)
async def health() -> dict[str, str]:
    return {"status": "ok"}


def create_app() -> FastAPI:
    """The factory svc_common.serve calls (like the services'); the in-process bench uses ``app``."""
    return app
