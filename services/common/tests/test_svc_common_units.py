"""svc_common building blocks: JSON logs, cursors, secret comparison, patterned fields, DynamoDB client."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest
from fastapi import FastAPI, Request
from pydantic import BaseModel, SecretStr, ValidationError
from svc_common import cursor as cursors
from svc_common.context import accept_request_id, request_id_var
from svc_common.dynamo import make_client
from svc_common.errors import BadRequestError, install_error_handlers
from svc_common.fields import patterned
from svc_common.logs import JsonFormatter
from svc_common.middleware import RequestContextMiddleware
from svc_common.security import secret_matches
from svc_common.serve import ALL_INTERFACES, ServeError, ServeSettings, server_options
from svc_common.settings import ServiceSettings


def test_json_formatter_writes_one_object_with_extras_and_request_id() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter({"service": "demo"}))
    logger = logging.getLogger("test.json")
    logger.handlers[:] = [handler]
    logger.propagate = False
    token = request_id_var.set("rid-1")
    try:
        logger.warning("hello %s", "world", extra={"status": 503, "_aws": {"x": 1}, "_private": 1})
    finally:
        request_id_var.reset(token)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    doc = json.loads(lines[0])
    assert doc["message"] == "hello world"
    assert doc["level"] == "WARNING"
    assert doc["service"] == "demo"
    assert doc["request_id"] == "rid-1"
    assert doc["status"] == 503
    assert doc["_aws"] == {"x": 1}
    assert "_private" not in doc
    assert doc["time"].endswith("Z")


def test_cursor_round_trip_and_rejections() -> None:
    import re

    schema = {"id": re.compile(r"[a-z]+")}
    assert cursors.decode(cursors.encode({"id": "abc"}), schema) == {"id": "abc"}
    for bad in ("!!", cursors.encode({"id": "ABC"}), cursors.encode({"id": "a", "x": "b"}), "e30", "A" * 600):
        with pytest.raises(BadRequestError):
            cursors.decode(bad, schema)


def test_secret_matching_is_exact() -> None:
    assert secret_matches("abc", SecretStr("abc"))
    assert not secret_matches("abd", SecretStr("abc"))
    assert not secret_matches("", SecretStr("abc"))
    assert not secret_matches(None, SecretStr("abc"))
    assert not secret_matches("abc", SecretStr(""))
    assert not secret_matches("ä\udcff", "abc")  # odd input is a mismatch, never an exception


def test_patterned_fields_follow_json_schema_semantics() -> None:
    class M(BaseModel):
        code: patterned(r"^[A-Z]{3}$", "three letters", 4)  # type: ignore[valid-type]

    assert M(code="EUR").code == "EUR"
    assert M(code="EUR\n").code == "EUR"  # what `$` admits in JSON Schema is accepted, then normalised
    for bad in ("eur", "EURO", "", "\ud800AB"):
        with pytest.raises(ValidationError):
            M(code=bad)
    assert M.model_json_schema()["properties"]["code"]["pattern"] == r"^[A-Z]{3}$"


def test_request_ids_are_accepted_only_when_well_formed() -> None:
    assert accept_request_id("abc-123") == "abc-123"
    assert len(accept_request_id("x" * 200)) == 32
    assert len(accept_request_id(None)) == 32
    assert accept_request_id("a b") != "a b"


def test_dynamodb_client_has_short_timeouts_and_bounded_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    settings = ServiceSettings(
        service_name="demo", table_name="demo-table", api_key=SecretStr("k" * 16), aws_max_attempts=2
    )
    client = make_client(settings)
    config = client.meta.config
    assert (config.connect_timeout, config.read_timeout) == (1.0, 2.0)
    assert config.retries["total_max_attempts"] == 2
    assert client.meta.endpoint_url == "http://127.0.0.1:9"
    assert client.meta.region_name == "eu-west-1"


def test_settings_reject_a_short_api_key() -> None:
    with pytest.raises(ValidationError):
        ServiceSettings(service_name="demo", table_name="demo-table", api_key=SecretStr("short"))


def _run_app_with_body(chunks: list[bytes], then_stall: bool, body_timeout: float) -> tuple[int, dict]:
    """Drive a service app through the middleware with a body that arrives in ``chunks``."""
    inner = FastAPI()

    @inner.post("/demo/echo")
    async def echo(request: Request) -> dict:
        return {"bytes": len(await request.body())}

    install_error_handlers(inner, 2)
    app = RequestContextMiddleware(inner, service="demo", environment="test", body_timeout=body_timeout)
    sent: list[dict] = []

    async def run() -> None:
        queue = [
            {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1 or then_stall}
            for i, c in enumerate(chunks)
        ]

        async def receive() -> dict:
            if queue:
                return queue.pop(0)
            await asyncio.sleep(3600)  # a client that never sends the rest
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/demo/echo",
            "raw_path": b"/demo/echo",
            "root_path": "",
            "query_string": b"",
            # A declared length the client never completes (the server waits for the rest).
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"16")],
            "http_version": "1.1",
            "scheme": "http",
            "server": ("127.0.0.1", 80),
            "client": ("127.0.0.1", 1),
        }
        await asyncio.wait_for(app(scope, receive, send), 10)

    asyncio.run(run())
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, json.loads(body)


def test_a_stalled_request_body_is_a_json_408() -> None:
    status, body = _run_app_with_body([b"{", b'"a"'], then_stall=True, body_timeout=0.3)
    assert status == 408, body
    assert body == {"detail": "request body incomplete: no data for 0.3 seconds"}
    status, body = _run_app_with_body([b"{", b"}"], then_stall=False, body_timeout=0.3)
    assert (status, body) == (200, {"bytes": 2})


def test_the_settings_are_the_services_one_reader_of_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from svc_common import logs
    from svc_common.app import create_service_app

    base = {"service_name": "demo", "table_name": "demo-table", "api_key": SecretStr("k" * 16)}
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "METRICS_NAMESPACE", "ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    assert (ServiceSettings(**base).aws_region, ServiceSettings(**base).metrics_namespace) == (
        "eu-west-1",
        "storefront",
    )
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-2")
    assert ServiceSettings(**base).aws_region == "us-east-2"
    monkeypatch.setenv("AWS_REGION", "eu-central-1")  # what ECS sets wins
    monkeypatch.setenv("METRICS_NAMESPACE", "shop")
    settings = ServiceSettings(**base, environment="dev")
    assert make_client(settings).meta.region_name == "eu-central-1"
    saved = dict(logs._FIELDS)  # other tests' apps set them too: leave them as they were
    try:
        app = create_service_app(
            settings=settings,
            prefix="/demo",
            title="demo",
            description="d",
            version="1",
            routers=[],
            ready_check=lambda: None,
        )
        middleware = next(m for m in app.user_middleware if m.cls is RequestContextMiddleware)
        assert middleware.kwargs["namespace"] == "shop"
        # App log lines name the service and environment of the settings.
        line = json.loads(JsonFormatter().format(logging.makeLogRecord({"msg": "m", "levelname": "INFO"})))
        assert (line["service"], line["environment"]) == ("demo", "dev")
    finally:
        logs._FIELDS.clear()
        logs._FIELDS.update(saved)


_SERVE_VARS = (
    "APP", "HOST", "PORT", "LOG_LEVEL", "FORWARDED_ALLOW_IPS", "SHUTDOWN_GRACE_SECONDS", "KEEP_ALIVE_SECONDS",
)  # fmt: skip


def _serve_env(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name in _SERVE_VARS:
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_serve_settings_are_read_once_into_the_uvicorn_options(monkeypatch: pytest.MonkeyPatch) -> None:
    _serve_env(
        monkeypatch, PORT=" 8123 ", HOST="", FORWARDED_ALLOW_IPS="10.0.0.0/8", SHUTDOWN_GRACE_SECONDS="6",
        KEEP_ALIVE_SECONDS="90.5", APP="pkg.main:create_app", LOG_LEVEL="DEBUG",
    )  # fmt: skip
    settings = ServeSettings.from_env()
    options = server_options(settings)
    assert (settings.app, settings.log_level) == ("pkg.main:create_app", "DEBUG")
    assert options["port"] == 8123
    assert options["host"] == ALL_INTERFACES  # an empty HOST means the default
    assert options["forwarded_allow_ips"] == "10.0.0.0/8"
    assert options["timeout_keep_alive"] == 90
    assert options["timeout_graceful_shutdown"] == 5.0
    _serve_env(monkeypatch, PORT="8123")
    defaults = server_options(ServeSettings.from_env())
    assert (defaults["forwarded_allow_ips"], defaults["timeout_keep_alive"]) == ("127.0.0.1", 75)
    assert defaults["timeout_graceful_shutdown"] == 24.0


def test_serve_settings_errors_name_bad_variables_never_values(monkeypatch: pytest.MonkeyPatch) -> None:
    _serve_env(monkeypatch, PORT="s3cr3t-port", SHUTDOWN_GRACE_SECONDS="0.5", KEEP_ALIVE_SECONDS="hidden")
    with pytest.raises(ServeError) as caught:
        ServeSettings.from_env()
    message = str(caught.value)
    assert message == (
        "PORT must be an integer between 1 and 65535; SHUTDOWN_GRACE_SECONDS must be >= 1.0; "
        "KEEP_ALIVE_SECONDS must be a number of seconds"
    )
    _serve_env(monkeypatch, PORT="  ")
    with pytest.raises(ServeError, match=r"^PORT is not set"):
        ServeSettings.from_env()
