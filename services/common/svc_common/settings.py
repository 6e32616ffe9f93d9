"""Settings every service shares, read from the environment (the runtime contract in the brief)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_REGION = "eu-west-1"


class ServiceSettings(BaseSettings):
    """Environment variables common to all services. Services subclass this to add their own.

    The one place a service's code reads its environment. What the process runner needs before
    any app exists (PORT, HOST, LOG_LEVEL, SHUTDOWN_GRACE_SECONDS, ...) is svc_common.serve's
    ServeSettings, and the container health check (svc_common.healthcheck, its own process)
    reads PORT and HEALTH_PATH.
    """

    model_config = SettingsConfigDict(extra="ignore", frozen=True, case_sensitive=False)

    service_name: str = Field(min_length=1, max_length=64)
    environment: str = Field(default="local", min_length=1, max_length=32)
    table_name: str = Field(min_length=3, max_length=255)
    # The release running (REVISION: the image tag = the commit; set by the task definition).
    revision: str = Field(default="unknown", min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.-]+$")
    # Clients send this in X-Api-Key for mutating calls.
    api_key: SecretStr = Field(min_length=16)
    # Largest request body accepted, in bytes (413 above it).
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=10 * 1024 * 1024)
    # A request body that stalls this long before it is complete is answered 408 (slow clients).
    body_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # DynamoDB client behaviour: short timeouts and few retries so an unreachable endpoint
    # turns into a quick 503 instead of a hung request.
    dynamodb_connect_timeout: float = Field(default=1.0, gt=0, le=30)
    dynamodb_read_timeout: float = Field(default=2.0, gt=0, le=60)
    # Same variable name botocore uses; total attempts including the first.
    aws_max_attempts: int = Field(default=3, ge=1, le=10)
    # Threads that run the (synchronous) route handlers; the DynamoDB client keeps at least as many
    # connections (plus a few for background work), so a request never queues for a connection.
    request_threads: int = Field(default=40, ge=4, le=400)
    # Seconds clients are told to wait (Retry-After) when a dependency is unavailable.
    retry_after_seconds: int = Field(default=2, ge=1, le=120)
    # CloudWatch namespace of the EMF metrics in the log lines (infra: monitoring's metrics_namespace).
    metrics_namespace: str = Field(default="storefront", min_length=1, max_length=255)
    # AWS_REGION (set by ECS), else AWS_DEFAULT_REGION, else the project's default region.
    aws_region: str = Field(
        default=DEFAULT_REGION,
        validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION"),
        pattern=r"^[a-z]{2}(-[a-z]+)+-\d$",
    )
