"""The access line built with once-per-process work is exactly the JSON of all its fields.

svc_common.access_line encodes the constant parts once and only the request's values per
request; every field and metric of the line must still be there, with the very text
``json.dumps(doc, separators=(",", ":"))`` gives (hostile paths included), and the line must reach
the access logger's stream, also when a test or a tool replaced its handlers.
"""

from __future__ import annotations

import io
import json
import logging
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from svc_common import logs
from svc_common.access_line import METRIC_NAMES, AccessLine, latency_text, metrics_declaration
from svc_common.context import accept_request_id
from svc_common.errors import install_error_handlers
from svc_common.middleware import RequestContextMiddleware


def _reference(
    service: str, environment: str, namespace: str, method: str, path: str, route_path: str | None,
    status: int, latency_ms: float, request_id: str, now: float,
) -> str:  # fmt: skip
    """The line as the middleware built it before (a dict of every field, then json)."""
    route = f"{method} {route_path}" if route_path else "unmatched"
    doc = {
        "time": logs.iso_time(now),
        "level": "INFO",
        "logger": logs.ACCESS_LOGGER,
        "message": "request",
        "service": service,
        "environment": environment,
        "request_id": request_id,
        "type": "access",
        "method": method,
        "path": path,
        "route": route,
        "status": status,
        "latency_ms": latency_ms,
        "Service": service,
        "Environment": environment,
        "Route": route,
        "Requests": 1,
        "Latency": latency_ms,
        "Errors4xx": 1 if 400 <= status < 500 else 0,
        "Errors5xx": 1 if status >= 500 else 0,
        "_aws": {"Timestamp": int(now * 1000), **metrics_declaration(namespace)},
    }
    return json.dumps(doc, separators=(",", ":"))


CASES = [
    ("GET", "/catalog/products/abc", "/catalog/products/{product_id}", 200, 0.05),
    ("POST", "/orders", "/orders", 201, 12.5),
    ("DELETE", '/x/"quoted"/\\back/\u00e9t\u00e9/\u2603/\x01ctl\n', None, 404, 1234.56),
    ("PATCH", "/catalog/products/p", "/catalog/products/{product_id}", 412, 3.0),
    ("GET", "/orders/o", "/orders/{order_id}", 503, 999999.99),
    ("FOO", "/", None, 405, 0.0),
]


@pytest.mark.parametrize(("method", "path", "route_path", "status", "latency_ms"), CASES)
def test_the_line_is_the_json_of_every_field(
    method: str, path: str, route_path: str | None, status: int, latency_ms: float
) -> None:
    line = AccessLine("catalog", "dev", "storefront")
    for now in (1764900000.0, 1764900000.999, 1764900001.0004, time.time()):
        request_id = accept_request_id(None)
        centis, now_ms = round(latency_ms * 100), int(now * 1000)  # what the middleware measures
        got = line.render(method, path, route_path, status, centis, request_id, now_ms)
        assert got == _reference(
            "catalog", "dev", "storefront", method, path, route_path, status, latency_ms, request_id, now
        )
        assert got == line.render(method, path, route_path, status, centis, request_id, now_ms)  # cached


def test_the_parts_kept_per_route_and_status_are_bounded() -> None:
    """Clients choose methods and statuses follow them: what is kept per (method, route, status)
    must not grow without bound, and lines past the bound are still right."""
    from svc_common import access_line

    line = AccessLine("catalog", "dev", "storefront")
    for i in range(access_line._PARTS_KEPT + 50):
        method = f"M{i}"
        got = line.render(method, "/x", None, 405, 100, "rid", 1764900000500)
        if i % 1000 == 0 or i > access_line._PARTS_KEPT:
            assert got == _reference(
                "catalog", "dev", "storefront", method, "/x", None, 405, 1.0, "rid", 1764900000.5
            )
    assert len(line._parts) == access_line._PARTS_KEPT


def test_service_names_and_namespace_are_encoded_too() -> None:
    line = AccessLine('we"ird', "d\u00e9v", "ns/\u00e9")
    got = line.render("GET", "/p", "/p", 200, 150, "rid", 1764900000500)
    expected = _reference('we"ird', "d\u00e9v", "ns/\u00e9", "GET", "/p", "/p", 200, 1.5, "rid", 1764900000.5)
    assert got == expected
    doc = json.loads(got)
    assert [m["Name"] for m in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]] == list(METRIC_NAMES)


def test_latency_text_is_the_json_of_the_float_without_making_it() -> None:
    """The line writes latency_ms as hundredths turned into text: exactly json.dumps(centis / 100),
    for every latency under 2 s, around each power of ten, and past the exact range (repr)."""
    near = [p + d for p in (10**k for k in range(2, 18)) for d in (-1, 0, 1)]
    for centis in [*range(200_000), *near, 123456789012345, 999999999999999]:
        assert latency_text(centis) == json.dumps(centis / 100), centis


def test_latencies_kept_are_bounded_and_lines_past_the_bound_are_right() -> None:
    from svc_common import access_line

    line = AccessLine("catalog", "dev", "storefront")
    for centis in (5, access_line._LATENCY_KEPT - 1, access_line._LATENCY_KEPT, 10**9):
        got = line.render("GET", "/p", "/p", 200, centis, "rid", 1764900000500)
        assert json.loads(got)["latency_ms"] == centis / 100
        assert got == _reference(
            "catalog", "dev", "storefront", "GET", "/p", "/p", 200, centis / 100, "rid", 1764900000.5
        )
    assert sorted(line._latency) == [5, access_line._LATENCY_KEPT - 1]


def test_generated_request_ids_are_distinct_across_threads() -> None:
    """Ids come in blocks of 256: threads taking them at once (and refilling blocks at once) never
    get the same id."""
    from concurrent.futures import ThreadPoolExecutor

    def take(_: int) -> list[str]:
        return [accept_request_id(None) for _ in range(20_000)]

    with ThreadPoolExecutor(4) as pool:
        ids = [i for batch in pool.map(take, range(4)) for i in batch]
    assert len(set(ids)) == len(ids) == 80_000


def test_generated_request_ids_are_32_hex_digits_and_distinct() -> None:
    ids = [accept_request_id(None) for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert accept_request_id("caller-id.1:2") == "caller-id.1:2"
    assert len(accept_request_id("bad id\r\n")) == 32


def test_lines_reach_the_configured_stream_or_any_handler_put_in_its_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    access = logging.getLogger(logs.ACCESS_LOGGER)
    monkeypatch.setattr(access, "handlers", list(access.handlers))
    logs.configure_logging()
    stream = io.StringIO()
    access.handlers[0].setStream(stream)  # type: ignore[attr-defined]
    logs.write_access_line('{"a":1}')
    assert stream.getvalue() == '{"a":1}\n'
    # A handler of a test (capturing records): the line goes through logging, as a record.
    records: list[logging.LogRecord] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    access.handlers[:] = [Capture()]
    logs.write_access_line('{"b":2}')
    assert [r.getMessage() for r in records] == ['{"b":2}']
    assert stream.getvalue() == '{"a":1}\n'


def _body_app() -> Any:
    """A FastAPI app reading the whole body, behind the middleware with a 100-byte limit."""
    inner = FastAPI()
    install_error_handlers(inner, retry_after_seconds=1)

    @inner.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    return RequestContextMiddleware(inner, service="t", environment="test", max_body_bytes=100)


@pytest.mark.parametrize(
    ("size", "chunked", "status"), [(100, False, 200), (101, False, 413), (100, True, 200), (101, True, 413)]
)
def test_bodies_over_the_limit_are_refused_with_or_without_content_length(
    size: int, chunked: bool, status: int
) -> None:
    def pieces() -> Iterator[bytes]:
        yield b"x" * (size - 1)
        yield b"x"

    with TestClient(_body_app()) as client:
        r = client.post("/echo", content=pieces() if chunked else b"x" * size)
    assert r.request.headers.get("transfer-encoding") == ("chunked" if chunked else None)
    assert r.status_code == status, r.text
    if status == 200:
        assert r.json() == {"bytes": size}
    else:
        assert r.json() == {"detail": "request body too large: at most 100 bytes"}


def test_lines_on_a_descriptor_are_written_whole_and_after_text_the_stream_held(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """stdout has a file descriptor: the line is one os.write of its bytes, after whatever the
    stream still buffered (order kept), and a write the pipe takes only partly is completed."""
    access = logging.getLogger(logs.ACCESS_LOGGER)
    monkeypatch.setattr(access, "handlers", list(access.handlers))
    logs.configure_logging()
    read_fd, write_fd = os.pipe()
    stream = open(write_fd, "w", buffering=1 << 16, encoding="utf-8")  # noqa: SIM115 # closed below
    try:
        access.handlers[0].setStream(stream)  # type: ignore[attr-defined]
        stream.write("held in the buffer\n")  # e.g. a print() of a library, not yet flushed
        chunks: list[int] = []

        def short_write(fd: int, data: bytes) -> int:  # a pipe taking 7 bytes at a time
            assert access.handlers[0].lock._is_owned()  # type: ignore[attr-defined] # under stdout's lock
            chunks.append(len(data))
            return os.write(fd, bytes(data[:7]))

        monkeypatch.setattr(logs, "_write", short_write)
        logs.write_access_line('{"a":"\\u00e9"}')
        stream.flush()
        assert os.read(read_fd, 4096) == b'held in the buffer\n{"a":"\\u00e9"}\n'
        assert len(chunks) == 3  # 15 bytes in pieces of 7: nothing lost
    finally:
        stream.close()
        os.close(read_fd)


def test_latency_is_milliseconds_to_the_nearest_hundredth(monkeypatch: pytest.MonkeyPatch) -> None:
    """The middleware's latency_ms/Latency: elapsed milliseconds rounded to 0.01, as logged before."""
    from svc_common import middleware

    ticks = iter([100_000_000_000, 100_012_345_600])  # 12.3456 ms in nanoseconds
    monkeypatch.setattr(middleware, "_perf_counter_ns", lambda: next(ticks))
    lines: list[str] = []
    monkeypatch.setattr(middleware, "write_access_line", lines.append)
    inner = FastAPI()

    @inner.get("/x")
    async def x() -> dict[str, str]:
        return {}

    app = RequestContextMiddleware(inner, service="t", environment="test")
    with TestClient(app) as client:
        assert client.get("/x").status_code == 200
    doc = json.loads(lines[0])
    assert (doc["latency_ms"], doc["Latency"]) == (12.35, 12.35)
    assert json.dumps(doc["latency_ms"]) == "12.35"


def test_the_access_line_and_other_records_share_one_stdout_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The access line is one os.write beside stdout's buffer; a long record of the root handler
    (a traceback flushed in pieces) written meanwhile from another thread would split it. Both
    handlers hold the same lock while they write, so lines never interleave."""
    root, access = logging.getLogger(), logging.getLogger(logs.ACCESS_LOGGER)
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(access, "handlers", list(access.handlers))
    logs.configure_logging()
    (root_handler,), (access_handler,) = root.handlers, access.handlers
    assert access_handler.lock is root_handler.lock
    assert access_handler.lock is not None
