"""HTTP client for catalog (timeouts, bounded retries on idempotent calls, request id forwarding).

Calls: POST /catalog/reservations (every line of an order, with their prices, all or nothing)
and POST /catalog/reservations/{order_id}/release (every product of an order): one call each,
whatever the number of lines. Both are retried:
they are idempotent by design, catalog keys a reservation by the order id, so a repeated call never
takes or gives back stock twice. Anything else about catalog failing is CatalogUnavailableError.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr
from svc_common.context import REQUEST_ID_HEADER, current_request_id
from svc_common.errors import DependencyUnavailableError
from svc_common.security import SERVICE_TOKEN_HEADER

LOGGER = logging.getLogger("orders.catalog")
CATALOG_PREFIX = "/catalog"  # catalog's own API paths (its public contract)


class CatalogUnavailableError(DependencyUnavailableError):
    """catalog did not answer usefully within the timeouts and retries.

    ``reached`` is False only when no attempt got as far as sending the request (every attempt
    failed to connect): then catalog cannot have acted on it.
    """

    def __init__(self, message: str, reached: bool = True) -> None:
        super().__init__(message)
        self.reached = reached


# Failures that happen before any byte of the request is sent (httpx raises them while opening
# the connection or waiting for one from the pool).
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class CatalogProduct:
    id: str
    price: Decimal
    currency: str


@dataclass(frozen=True)
class Refusal:
    """catalog refused a reservation (not found, insufficient stock, ...): the order is rejected."""

    status: int
    reason: str


class CatalogClient:
    def __init__(
        self,
        base_url: str,
        token: SecretStr,
        connect_timeout: float,
        read_timeout: float,
        max_attempts: int,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._token = token
        self.max_attempts = max_attempts
        timeout = httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=read_timeout, pool=connect_timeout
        )
        self.http = httpx.Client(
            base_url=base_url,
            timeout=timeout,
            transport=transport or httpx.HTTPTransport(retries=0),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
            follow_redirects=False,
        )

    def close(self) -> None:
        self.http.close()

    def _headers(self, service: bool) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        request_id = current_request_id()
        if request_id:
            headers[REQUEST_ID_HEADER] = request_id
        if service:
            headers[SERVICE_TOKEN_HEADER] = self._token.get_secret_value()
        return headers

    def _call(self, method: str, path: str, *, json: Any = None, service: bool = False) -> httpx.Response:
        """Send an idempotent request, retrying connection errors, timeouts, 429 and 5xx."""
        last, reached = "no attempt", False
        for attempt in range(self.max_attempts):
            if attempt:
                time.sleep(min(0.1 * 2**attempt, 1.0) * (0.5 + random.random()))  # noqa: S311 # nosec B311
            try:
                response = self.http.request(method, path, json=json, headers=self._headers(service))
            except httpx.HTTPError as exc:
                last, reached = type(exc).__name__, reached or not isinstance(exc, _NOT_SENT)
                LOGGER.warning("catalog call failed", extra={"call": f"{method} {path}", "error": last})
                continue
            reached = True
            if response.status_code == 429 or response.status_code >= 500:
                last = f"HTTP {response.status_code}"
                LOGGER.warning("catalog call failed", extra={"call": f"{method} {path}", "error": last})
                continue
            return response
        raise CatalogUnavailableError(f"catalog is unavailable ({last}); retry later", reached=reached)

    def reserve_order(
        self, order_id: str, lines: list[tuple[str, int]]
    ) -> dict[str, CatalogProduct] | Refusal:
        """Reserve every (product_id, quantity) line for ``order_id``: the price of each product,
        or why catalog refused (then nothing was reserved: catalog reserves all lines or none)."""
        response = self._call(
            "POST",
            f"{CATALOG_PREFIX}/reservations",
            json={"order_id": order_id, "lines": [{"product_id": p, "quantity": q} for p, q in lines]},
            service=True,
        )
        if response.status_code in (200, 201):
            return {
                line["product_id"]: CatalogProduct(
                    id=line["product_id"], price=Decimal(line["unit_price"]), currency=line["currency"]
                )
                for line in response.json()["lines"]
            }
        if response.status_code in (409, 422):
            return Refusal(response.status_code, _detail(response))
        # 404: this catalog has no such route (an older version, mid-deploy): retry later. 401/403:
        # the service token is refused. Neither is a reason to reject the customer's order.
        LOGGER.error("catalog refused the service token or the call", extra={"status": response.status_code})
        raise CatalogUnavailableError(f"catalog answered HTTP {response.status_code} to a reservation")

    def release_order(self, order_id: str, product_ids: list[str]) -> None:
        """Give back everything the order holds on these products (idempotent, one call)."""
        if not product_ids:
            return
        response = self._call(
            "POST",
            f"{CATALOG_PREFIX}/reservations/{quote(order_id, safe='')}/release",
            json={"product_ids": product_ids},
            service=True,
        )
        if response.status_code != 204:
            LOGGER.error("catalog refused a release", extra={"status": response.status_code})
            raise CatalogUnavailableError(f"catalog answered HTTP {response.status_code} to a release")


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = None
    text = detail if isinstance(detail, str) else f"HTTP {response.status_code}"
    return text[:300]
