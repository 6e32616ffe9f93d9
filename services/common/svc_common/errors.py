"""Error model and exception handlers shared by every service.

Every error body is ``{"detail": <string or list of field errors>}``. Validation failures are
422 with one entry per problem (where, what, which rule); request bodies are never echoed back.
Storage (DynamoDB) or dependency trouble is 503 with Retry-After; nothing is a 500 on purpose.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

LOGGER = logging.getLogger("svc_common.errors")


class FieldError(BaseModel):
    model_config = ConfigDict(extra="forbid")
    loc: list[str | int]
    msg: str
    type: str


class ErrorResponse(BaseModel):
    """Body of every 4xx/5xx response."""

    model_config = ConfigDict(extra="forbid")
    detail: str | list[FieldError]


class ApiError(Exception):
    """A domain error with its HTTP status (raised by repositories and services, not only routes)."""

    status = 400

    def __init__(self, detail: str, status: int | None = None, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.headers = headers
        if status is not None:
            self.status = status


class BadRequestError(ApiError):
    status = 400


class NotFoundError(ApiError):
    status = 404


class ConflictError(ApiError):
    status = 409


class PreconditionFailedError(ApiError):
    status = 412


class UnprocessableEntityError(ApiError):
    status = 422


class PreconditionRequiredError(ApiError):
    status = 428


class StoreUnavailableError(Exception):
    """The table cannot be reached or answered with a server-side error (maps to HTTP 503)."""


class DependencyUnavailableError(Exception):
    """A service this one depends on cannot be reached in time (maps to 503 + Retry-After)."""


def _response(status: int, detail: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": detail}, headers=headers)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [p if isinstance(p, int) else str(p) for p in err.get("loc", ())]
        out.append(
            {"loc": loc, "msg": str(err.get("msg", "invalid value")), "type": str(err.get("type", ""))}
        )
    return out


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(app: FastAPI, request: Request) -> list[str]:
    """Every method some route fully matches for this path (asked of the routes, nested routers too)."""
    scope = dict(request.scope)
    return [
        method
        for method in _METHODS
        if any(route.matches({**scope, "method": method})[0] == Match.FULL for route in app.router.routes)
    ]


def install_error_handlers(app: FastAPI, retry_after_seconds: int) -> None:
    retry = {"Retry-After": str(retry_after_seconds)}

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _response(422, _field_errors(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette lists only the first matching route's methods; list every method of the path.
            headers["Allow"] = ", ".join(_allowed_methods(app, request))
        return _response(exc.status_code, exc.detail, headers)

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> JSONResponse:
        return _response(exc.status, exc.detail, exc.headers)

    @app.exception_handler(StoreUnavailableError)
    @app.exception_handler(BotoCoreError)
    @app.exception_handler(ClientError)
    async def _store(request: Request, exc: Exception) -> JSONResponse:
        LOGGER.warning("storage unavailable", extra={"error": type(exc).__name__, "reason": str(exc)[:300]})
        return _response(503, "storage temporarily unavailable, retry later", retry)

    @app.exception_handler(DependencyUnavailableError)
    async def _dependency(request: Request, exc: DependencyUnavailableError) -> JSONResponse:
        LOGGER.warning("dependency unavailable", extra={"reason": str(exc)[:300]})
        return _response(503, str(exc) or "a dependency is unavailable, retry later", retry)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        LOGGER.error("unhandled error", exc_info=exc)
        return _response(500, "internal error")


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries (all with ErrorResponse bodies) for the given status codes."""
    text = {
        400: "Malformed request (e.g. a body that is not JSON, an invalid cursor).",
        401: "Missing or invalid credentials header.",
        404: "Not found.",
        409: "ConflictError with the current state.",
        412: "If-Match does not match the current version.",
        413: "Request body too large.",
        415: "Unsupported media type.",
        422: "Invalid input: the body says which field and why.",
        428: "If-Match header required.",
        503: "Storage or a dependency is unavailable; retry after Retry-After seconds.",
    }
    return {c: {"model": ErrorResponse, "description": text.get(c, "Error.")} for c in codes}
