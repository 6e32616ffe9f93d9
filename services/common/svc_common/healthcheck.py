"""Container health check: ``python -m svc_common.healthcheck``.

Exits 0 iff ``GET http://127.0.0.1:$PORT$HEALTH_PATH`` answers 200 within 2 seconds, else 1 with a
one-line reason on stderr. Standard library only, so it works in any image that runs the service.

It reads PORT and HEALTH_PATH with os.environ, not through a pydantic-settings object like serve.py's
ServeSettings: it runs as a new process every few seconds in each container, and importing pydantic
there would cost CPU on every check.
"""

from __future__ import annotations

import http.client
import os
import sys

TIMEOUT_SECONDS = 2.0


def check(port: int, path: str, timeout: float = TIMEOUT_SECONDS) -> str | None:
    """None when healthy, else the reason it is not."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"User-Agent": "svc-healthcheck"})
        status = conn.getresponse().status
    except (OSError, http.client.HTTPException) as exc:
        return f"GET {path} on port {port} failed: {type(exc).__name__}: {exc}"
    finally:
        conn.close()
    return None if status == 200 else f"GET {path} on port {port} answered HTTP {status}"


def main() -> int:
    port_raw = os.environ.get("PORT", "")
    path = os.environ.get("HEALTH_PATH", "")
    if not port_raw.isdigit() or not 1 <= int(port_raw) <= 65535:
        print(f"healthcheck: PORT must be a port number, got {port_raw!r}", file=sys.stderr)
        return 1
    if not path.startswith("/"):
        print(f"healthcheck: HEALTH_PATH must be an absolute path, got {path!r}", file=sys.stderr)
        return 1
    reason = check(int(port_raw), path)
    if reason:
        print(f"healthcheck: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
