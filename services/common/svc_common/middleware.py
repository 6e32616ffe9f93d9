"""ASGI middleware: request id, one JSON access-log line per request with CloudWatch EMF metrics.

Each request produces exactly one JSON line on stdout. The line is both the access log (method,
path, route, status, latency_ms, request_id) and a CloudWatch Embedded Metric Format document:
CloudWatch Logs turns its ``_aws`` block into the metrics ``Requests``, ``Latency``, ``Errors4xx``
and ``Errors5xx`` in the namespace METRICS_NAMESPACE (default ``storefront``), with the dimension
sets (Service, Environment) and (Service, Environment, Route).
Headers, query strings and bodies are never logged (they may carry keys and tokens).
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from svc_common.context import REQUEST_ID_HEADER, accept_request_id, request_id_var

ACCESS_LOGGER = logging.getLogger("access")
METRIC_NAMES = ("Requests", "Latency", "Errors4xx", "Errors5xx")


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    # Unmatched paths are grouped so that random URLs cannot create unbounded metric dimensions.
    return f"{scope.get('method', '')} {path}" if path else "unmatched"


class RequestContextMiddleware:
    """Sets/propagates X-Request-Id and writes the access-log + metrics line for each request."""

    def __init__(self, app: ASGIApp, service: str, environment: str) -> None:
        self.app = app
        self.service = service
        self.environment = environment
        self.namespace = os.environ.get("METRICS_NAMESPACE", "storefront")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = accept_request_id(incoming)
        token = request_id_var.set(request_id)
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            latency_ms = round((time.perf_counter() - start) * 1000, 2)
            self._log(scope, status, latency_ms, request_id)
            request_id_var.reset(token)

    def _log(self, scope: Scope, status: int, latency_ms: float, request_id: str) -> None:
        route = _route_of(scope)
        fields: dict[str, Any] = {
            "type": "access",
            "method": scope.get("method", ""),
            "path": scope.get("path", ""),
            "route": route,
            "status": status,
            "latency_ms": latency_ms,
            "request_id": request_id,
            "Service": self.service,
            "Environment": self.environment,
            "Route": route,
            "Requests": 1,
            "Latency": latency_ms,
            "Errors4xx": 1 if 400 <= status < 500 else 0,
            "Errors5xx": 1 if status >= 500 else 0,
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": self.namespace,
                        "Dimensions": [["Service", "Environment"], ["Service", "Environment", "Route"]],
                        "Metrics": [
                            {"Name": "Requests", "Unit": "Count"},
                            {"Name": "Latency", "Unit": "Milliseconds"},
                            {"Name": "Errors4xx", "Unit": "Count"},
                            {"Name": "Errors5xx", "Unit": "Count"},
                        ],
                    }
                ],
            },
        }
        ACCESS_LOGGER.info("request", extra=fields)
