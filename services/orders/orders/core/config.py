"""orders settings (environment) and the service's own API facts."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from svc_common.settings import ServiceSettings

# The public path prefix of this service's API; tests check it equals path_prefix in service.yaml.
PATH_PREFIX = "/orders"
API_VERSION = "1.0.0"


class Settings(ServiceSettings):
    """Environment of the orders service (see the runtime contract)."""

    # Base URL of catalog without its path prefix (dependency env from the manifest).
    catalog_url: str = Field(min_length=8, max_length=2048)
    # Token orders presents to catalog's reservations API (catalog's SERVICE_TOKEN).
    catalog_service_token: SecretStr = Field(min_length=16)
    catalog_connect_timeout: float = Field(default=1.0, gt=0, le=30)
    catalog_read_timeout: float = Field(default=3.0, gt=0, le=60)
    # Attempts per idempotent catalog call (reserve an order's lines, release; keyed by the order id).
    catalog_max_attempts: int = Field(default=3, ge=1, le=10)
    # How long an idempotency claim protects an in-flight creation; a crashed or failed attempt
    # stops blocking retries after this. An attempt still running when its lease has run out can
    # be fenced by a retry or the reconciler: it then cannot store its order (409, retry).
    idempotency_lease_seconds: float = Field(default=30.0, ge=2, le=600)
    # How long a request waits for a concurrent request with the same key before answering 409.
    idempotency_wait_seconds: float = Field(default=5.0, ge=0, le=60)

    # How long a completed claim (and so an Idempotency-Key's replay) is kept: its expires_at, the
    # table's DynamoDB TTL attribute. A key used again after that places a new order.
    idempotency_retention_seconds: int = Field(default=86_400, ge=60, le=30 * 86_400)
    # The reconciler (orders/reconciler.py): on in every replica, one works at a time (a lease).
    reconciler_enabled: bool = True
    reconcile_interval_seconds: float = Field(default=5.0, ge=0.2, le=300)

    @field_validator("catalog_url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("CATALOG_URL must start with http:// or https://")
        return v.rstrip("/")
