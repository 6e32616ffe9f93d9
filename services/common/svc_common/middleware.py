"""ASGI middleware: request id, one JSON access-log line per request with CloudWatch EMF metrics.

Each request produces exactly one JSON line on stdout (a liveness probe answered OK: none). The
line is both the access log (method, path, route, status, latency_ms, request_id) and a CloudWatch
Embedded Metric Format document:
CloudWatch Logs turns its ``_aws`` block into the metrics ``Requests``, ``Latency``, ``Errors4xx``
and ``Errors5xx`` in the namespace METRICS_NAMESPACE (default ``storefront``), with the dimension
sets (Service, Environment) and (Service, Environment, Route).
Headers, query strings and bodies are never logged (they may carry keys and tokens).
It also refuses a body over ``max_body_bytes`` with the services' JSON 413, before reading it when
Content-Length says so, else as soon as the streamed body passes the limit; and a body that
stalls (no bytes for ``body_timeout`` seconds before it is complete) with a JSON 408, so a client
that never finishes its request cannot hold a connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from typing import Any

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from svc_common.context import REQUEST_ID_HEADER, accept_request_id, request_id_var
from svc_common.logs import ACCESS_LOGGER as ACCESS_LOGGER_NAME
from svc_common.logs import iso_time

ACCESS_LOGGER = logging.getLogger(ACCESS_LOGGER_NAME)
_REQUEST_ID_KEY = REQUEST_ID_HEADER.lower().encode()
_dumps = json.JSONEncoder(separators=(",", ":")).encode
METRIC_NAMES = ("Requests", "Latency", "Errors4xx", "Errors5xx")


class BodyTimeoutError(HTTPException):
    """The request body stalled before it was complete (``BODY_TIMEOUT_SECONDS``): 408."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            status_code=408,
            detail=f"request body incomplete: no data for {seconds:g} seconds",
            headers={"Connection": "close"},
        )


class BodyTooLargeError(HTTPException):
    """The request body passed the service's limit (``MAX_BODY_BYTES``): 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"request body too large: at most {limit} bytes")


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    # Unmatched paths are grouped so that random URLs cannot create unbounded metric dimensions.
    return f"{scope.get('method', '')} {path}" if path else "unmatched"


class RequestContextMiddleware:
    """Sets/propagates X-Request-Id and writes the access-log + metrics line for each request."""

    def __init__(
        self,
        app: ASGIApp,
        service: str,
        environment: str,
        max_body_bytes: int | None = None,
        probe_paths: frozenset[str] = frozenset(),
        body_timeout: float | None = None,
    ) -> None:
        self.app = app
        self.body_timeout = body_timeout
        # Liveness probes (load balancer, container health check: GET) answered OK are not logged:
        # they are noise, and the Requests metric then counts every call but health checks. A
        # failing probe is logged like any request.
        self.probe_paths = probe_paths
        self.service = service
        self.environment = environment
        self.max_body_bytes = max_body_bytes
        self.namespace = os.environ.get("METRICS_NAMESPACE", "storefront")
        declaration = {
            "CloudWatchMetrics": [
                {
                    "Namespace": self.namespace,
                    "Dimensions": [["Service", "Environment"], ["Service", "Environment", "Route"]],
                    "Metrics": [
                        {"Name": name, "Unit": "Milliseconds" if name == "Latency" else "Count"}
                        for name in METRIC_NAMES
                    ],
                }
            ]
        }
        self._metrics_declaration = _dumps(declaration)[1:-1]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        declared = None
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
            elif name == b"content-length":
                declared = value
        request_id = accept_request_id(incoming)
        token = request_id_var.set(request_id)
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (_REQUEST_ID_KEY, request_id.encode())]
            await send(message)

        limit = self.max_body_bytes
        received = 0
        body_done = False

        async def receive_limited() -> Message:
            # A body sent without Content-Length (chunked) is cut off as soon as it passes the limit;
            # the app's error handlers turn the exception into the same JSON 413 (or 408 when the
            # body stalls; once it is complete, receive() only waits for a disconnect: no timeout).
            nonlocal received, body_done
            if body_done or self.body_timeout is None:
                message = await receive()
            else:
                try:
                    message = await asyncio.wait_for(receive(), self.body_timeout)
                except TimeoutError:
                    raise BodyTimeoutError(self.body_timeout) from None
            if message["type"] == "http.request":
                body_done = not message.get("more_body", False)
                received += len(message.get("body", b""))
                if limit is not None and received > limit:
                    raise BodyTooLargeError(limit)
            return message

        try:
            if self._declares_too_much(declared):
                # Refused before a byte of the body is read, in the same JSON shape as every error.
                too_large = JSONResponse(
                    status_code=413, content={"detail": BodyTooLargeError(limit or 0).detail}
                )
                await too_large(scope, receive, send_wrapper)
            else:
                await self.app(scope, receive_limited, send_wrapper)
        finally:
            if status >= 400 or scope["method"] != "GET" or scope["path"] not in self.probe_paths:
                latency_ms = round((time.perf_counter() - start) * 1000, 2)
                self._log(scope, status, latency_ms, request_id)
            request_id_var.reset(token)

    def _declares_too_much(self, declared: bytes | None) -> bool:
        if self.max_body_bytes is None or declared is None:
            return False
        try:
            return int(declared) > self.max_body_bytes
        except ValueError:
            return False  # the server rejects a malformed Content-Length itself

    def _log(self, scope: Scope, status: int, latency_ms: float, request_id: str) -> None:
        now = time.time()
        route = _route_of(scope)
        doc: dict[str, Any] = {
            "time": iso_time(now),
            "level": "INFO",
            "logger": ACCESS_LOGGER_NAME,
            "message": "request",
            "service": self.service,
            "environment": self.environment,
            "request_id": request_id,
            "type": "access",
            "method": scope.get("method", ""),
            "path": scope.get("path", ""),
            "route": route,
            "status": status,
            "latency_ms": latency_ms,
            "Service": self.service,
            "Environment": self.environment,
            "Route": route,
            "Requests": 1,
            "Latency": latency_ms,
            "Errors4xx": 1 if 400 <= status < 500 else 0,
            "Errors5xx": 1 if status >= 500 else 0,
        }
        # The EMF declaration never changes: it was serialised once, only the timestamp is new.
        line = f'{_dumps(doc)[:-1]},"_aws":{{"Timestamp":{int(now * 1000)},{self._metrics_declaration}}}}}'
        ACCESS_LOGGER.info(line)
