"""ASGI middleware: request id, one JSON access-log line per request with CloudWatch EMF metrics.

Each request produces exactly one JSON line on stdout (a liveness probe answered OK: none). The
line is both the access log (method, path, route, status, latency_ms, request_id) and a CloudWatch
Embedded Metric Format document:
CloudWatch Logs turns its ``_aws`` block into the metrics ``Requests``, ``Latency``, ``Errors4xx``
and ``Errors5xx`` in the namespace given (the settings' METRICS_NAMESPACE, default ``storefront``),
with the dimension sets (Service, Environment) and (Service, Environment, Route).
Headers, query strings and bodies are never logged (they may carry keys and tokens).
It also refuses a body over ``max_body_bytes`` with the services' JSON 413, before reading it when
Content-Length says so, else as soon as the streamed body passes the limit; and a body that
stalls (no bytes for ``body_timeout`` seconds before it is complete) with a JSON 408, so a client
that never finishes its request cannot hold a connection.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from svc_common.access_line import METRIC_NAMES, AccessLine
from svc_common.context import REQUEST_ID_HEADER, accept_request_id, new_request_id, request_id_var
from svc_common.logs import write_access_line

__all__ = ["METRIC_NAMES", "BodyTimeoutError", "BodyTooLargeError", "RequestContextMiddleware"]
_REQUEST_ID_KEY = REQUEST_ID_HEADER.lower().encode()
# Looked up once: per request they are then one global load each, no attribute lookup.
_perf_counter_ns, _time_ns = time.perf_counter_ns, time.time_ns
_set_request_id, _reset_request_id = request_id_var.set, request_id_var.reset


class BodyTooLargeError(HTTPException):
    """The request body passed the service's limit (``MAX_BODY_BYTES``): 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"request body too large: at most {limit} bytes")


class BodyTimeoutError(HTTPException):
    """The request body stalled before it was complete (``BODY_TIMEOUT_SECONDS``): 408."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            status_code=408,
            detail=f"request body incomplete: no data for {seconds:g} seconds",
            headers={"Connection": "close"},
        )


def _guarded(receive: Receive, limit: int | None, timeout: float | None) -> Receive:
    """``receive`` for a request that has a body: raises BodyTooLargeError as soon as the body
    passes ``limit`` bytes, and BodyTimeoutError when no data comes for ``timeout`` seconds before
    the body is complete (afterwards receive() only waits for a disconnect: no timeout). The app's
    error handlers turn either into the services' JSON error shape."""
    received = 0
    body_done = False

    async def receive_guarded() -> Message:
        nonlocal received, body_done
        if body_done or timeout is None:
            message = await receive()
        else:
            try:
                message = await asyncio.wait_for(receive(), timeout)
            except TimeoutError:
                raise BodyTimeoutError(timeout) from None
        if message["type"] == "http.request":
            body_done = not message.get("more_body", False)
            received += len(message.get("body", b""))
            if limit is not None and received > limit:
                raise BodyTooLargeError(limit)
        return message

    return receive_guarded


def RequestContextMiddleware(  # noqa: N802 # the middleware "class" Starlette's add_middleware takes
    app: ASGIApp,
    service: str,
    environment: str,
    max_body_bytes: int | None = None,
    probe_paths: frozenset[str] = frozenset(),
    body_timeout: float | None = None,
    namespace: str = "storefront",
) -> ASGIApp:
    """Sets/propagates X-Request-Id and writes the access-log + metrics line for each request.

    A factory, not a class: the ASGI app it returns is a plain function whose settings are closure
    variables, so every request saves the instance call (``__call__`` through the type slot) and
    the attribute lookups (callgrind; design.md, Observability). Liveness probes (load balancer,
    container health check: GET of a ``probe_paths`` path) answered OK are not logged: they are
    noise, and the Requests metric then counts every call but health checks. A failing probe is
    logged like any request.
    """
    render = AccessLine(service, environment, namespace).render  # the constant parts encoded once
    limit = max_body_bytes

    async def request_context(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        incoming = None
        declared = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
            elif name == b"content-length":
                declared = value
            elif name == b"transfer-encoding":
                chunked = True
        request_id = new_request_id() if incoming is None else accept_request_id(incoming)
        token = _set_request_id(request_id)
        start = _perf_counter_ns()
        status = 500

        def send_wrapper(message: Message) -> Awaitable[None]:
            # A plain function returning send's awaitable: no coroutine of its own per message.
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # A new list: the app's own (a Response's raw_headers) is left as it was.
                message["headers"] = [*message.get("headers", ()), (_REQUEST_ID_KEY, request_id.encode())]
            return send(message)

        try:
            if declared is not None and _too_much(declared, limit):
                # Refused before a byte of the body is read, in the same JSON shape as every error.
                too_large = JSONResponse(
                    status_code=413, content={"detail": BodyTooLargeError(limit or 0).detail}
                )
                await too_large(scope, receive, send_wrapper)
            elif chunked or (declared is not None and declared != b"0"):
                # The server stops a body at its Content-Length, so only a chunked body is counted
                # against the limit; any body can stall, so both get the stall timeout.
                guarded = _guarded(receive, limit if chunked else None, body_timeout)
                await app(scope, guarded, send_wrapper)
            else:
                # Neither Content-Length nor Transfer-Encoding: no body (RFC 9112, 6.3).
                await app(scope, receive, send_wrapper)
        finally:
            method, path = scope["method"], scope["path"]
            if status >= 400 or method != "GET" or path not in probe_paths:
                # Milliseconds to the nearest 0.01 (half up), in hundredths: integer nanoseconds,
                # no float to round (the line writes them as json.dumps writes centis / 100).
                centis = (_perf_counter_ns() - start + 5_000) // 10_000
                route = getattr(scope.get("route"), "path", None)  # unmatched: None
                now_ms = _time_ns() // 1_000_000
                write_access_line(render(method, path, route, status, centis, request_id, now_ms))
            _reset_request_id(token)

    return request_context


def _too_much(declared: bytes, limit: int | None) -> bool:
    """Content-Length says more than the limit (a malformed one: the server rejects it itself)."""
    if limit is None:
        return False
    try:
        return int(declared) > limit
    except ValueError:
        return False
