"""Shared-secret header checks (X-Api-Key for clients, X-Service-Token between services).

Values are compared in constant time (hmac.compare_digest) and never logged or echoed.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from fastapi import HTTPException, Request, Security
from fastapi.security import APIKeyHeader
from pydantic import SecretStr

API_KEY_HEADER = "X-Api-Key"
# A header name, not a secret.
SERVICE_TOKEN_HEADER = "X-Service-Token"  # noqa: S105 # nosec B105


def secret_matches(given: str | None, expected: SecretStr | str | None) -> bool:
    """Constant-time comparison; False when either side is missing or empty."""
    if expected is None or not given:
        return False
    want = expected.get_secret_value() if isinstance(expected, SecretStr) else expected
    if not want:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), want.encode("utf-8"))


def header_secret_dependency(header: str, setting: str, scheme_name: str, description: str) -> Callable:
    """A FastAPI dependency requiring ``header`` to equal settings.<setting> (401 otherwise).

    Declared as an OpenAPI apiKey security scheme so clients and fuzzers know about it.
    """
    scheme = APIKeyHeader(name=header, scheme_name=scheme_name, description=description, auto_error=False)

    def dependency(request: Request, given: str | None = Security(scheme)) -> None:
        expected = getattr(request.app.state.settings, setting)
        if not secret_matches(given, expected):
            raise HTTPException(
                status_code=401,
                detail=f"missing or invalid {header} header",
                headers={"WWW-Authenticate": scheme_name},
            )

    dependency.__name__ = f"require_{setting}"
    return dependency


require_api_key = header_secret_dependency(
    API_KEY_HEADER, "api_key", "ApiKey", "Client key required for mutating calls."
)
