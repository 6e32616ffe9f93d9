"""Dependencies of catalog's routes."""

from __future__ import annotations

from fastapi import Request
from svc_common.security import SERVICE_TOKEN_HEADER, header_secret_dependency

from catalog.stock import StockRepository

require_service_token = header_secret_dependency(
    SERVICE_TOKEN_HEADER,
    "service_token",
    "ServiceToken",
    "Token other services present to use the reservations API.",
)


def repository(request: Request) -> StockRepository:
    return request.app.state.repository
