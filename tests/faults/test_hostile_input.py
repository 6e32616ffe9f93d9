"""Fault: malformed and hostile input at the edge.

Oversized bodies (over the edge's and over the services' limits, with and without a length),
invalid JSON, wrong types, unknown fields, absurd numbers, deep nesting, path traversal, header
injection, malformed HTTP and very long query strings. Each gets a 4xx (or, for an injected
request id, is neutralised), no process dies, and no table gains or loses an item.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import manifests
import pytest
from bench import stack as bench_stack

from tests.faults.support import REQUEST_TIMEOUT, private_stack, raw_http, report, status_of

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

MB = 1024 * 1024


@pytest.fixture(scope="module")
def s() -> Iterator[bench_stack.Stack]:
    with private_stack("hostile") as started:
        yield started


def _counts(s: bench_stack.Stack) -> dict[str, int]:
    return {m.name: s.item_count(m.name) for m in manifests.load_all()}


def _pids(s: bench_stack.Stack) -> dict[str, int]:
    return {name: s.pid(name) for name in ["moto", "edge", *(m.name for m in manifests.load_all())]}


def _is_error_body(r: httpx.Response) -> bool:
    try:
        body = r.json()
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("detail"), str | list)


def _json_cases(s: bench_stack.Stack, product_id: str) -> list[tuple[str, str, str, dict, bytes]]:
    """(case, method, path, headers, body) sent through the edge with httpx."""
    ck = {"X-Api-Key": s.api_key("catalog"), "Content-Type": "application/json"}
    ok = {"X-Api-Key": s.api_key("orders"), "Content-Type": "application/json"}
    good_product = {"sku": "HOSTILE-NEW", "name": "n", "price": "1.00", "currency": "EUR", "stock": 1}
    order = {"customer_id": "hostile", "items": [{"product_id": product_id, "quantity": 1}]}

    def body(data: object) -> bytes:
        return json.dumps(data).encode()

    padded = {**good_product, "description": "x" * (2 * MB)}
    return [
        ("body over the edge limit (2 MiB)", "POST", "/catalog/products", ck, body(padded)),
        (
            "body over the service limit (200 KiB)",
            "POST",
            "/catalog/products",
            ck,
            body({**good_product, "description": "x" * (200 * 1024)}),
        ),
        ("invalid JSON", "POST", "/catalog/products", ck, b'{"sku": "A", "name": '),
        ("not JSON at all", "POST", "/orders", {**ok, "Idempotency-Key": "hostile-1"}, b"\xff\xfe<xml/>"),
        (
            "wrong types",
            "POST",
            "/catalog/products",
            ck,
            body({"sku": 123, "name": [], "price": 19.99, "currency": "eur", "stock": "ten"}),
        ),
        ("unknown field", "POST", "/catalog/products", ck, body({**good_product, "is_admin": True})),
        ("absurd number", "POST", "/catalog/products", ck, body({**good_product, "stock": 10**30})),
        ("negative stock", "POST", "/catalog/products", ck, body({**good_product, "stock": -5})),
        (
            "deep nesting (under the size limit)",
            "POST",
            "/catalog/products",
            ck,
            b"[" * 20_000 + b"]" * 20_000,
        ),
        (
            "negative quantity",
            "POST",
            "/orders",
            {**ok, "Idempotency-Key": "hostile-2"},
            body({**order, "items": [{"product_id": product_id, "quantity": -1}]}),
        ),
        (
            "quantity as string",
            "POST",
            "/orders",
            {**ok, "Idempotency-Key": "hostile-3"},
            body({**order, "items": [{"product_id": product_id, "quantity": "1"}]}),
        ),
        (
            "order without items",
            "POST",
            "/orders",
            {**ok, "Idempotency-Key": "hostile-4"},
            body({**order, "items": []}),
        ),
        (
            "hostile Idempotency-Key",
            "POST",
            "/orders",
            {**ok, "Idempotency-Key": "../../" + "k" * 300},
            body(order),
        ),
        ("order without API key", "POST", "/orders", {"Idempotency-Key": "hostile-5"}, body(order)),
        ("wrong API key", "POST", "/catalog/products", {**ck, "X-Api-Key": "x" * 40}, body(good_product)),
        ("catalog key on orders", "POST", "/orders", {**ck, "Idempotency-Key": "hostile-6"}, body(order)),
        ("text/plain body", "POST", "/catalog/products", {**ck, "Content-Type": "text/plain"}, b"sku=A"),
        ("limit out of range", "GET", "/catalog/products?limit=1000000", {}, b""),
        ("limit not a number", "GET", "/catalog/products?limit=1;DROP%20TABLE", {}, b""),
        ("forged cursor", "GET", "/catalog/products?cursor=eyJpZCI6IjEnIE9SIDE9MSJ9", {}, b""),
        ("delete without If-Match or key", "DELETE", f"/catalog/products/{product_id}", {}, b""),
        ("patch without If-Match", "PATCH", f"/catalog/products/{product_id}", ck, body({"stock": 0})),
        ("unsupported method", "TRACE", "/catalog/products", {}, b""),
        (
            "reservation with a client key instead of the service token",
            "POST",
            f"/catalog/products/{product_id}/reservations",
            ck,
            body({"order_id": "hostile", "quantity": 1}),
        ),
    ]


def _raw_cases(path_prefix: str) -> list[tuple[str, bytes]]:
    """(case, exact bytes) for what an HTTP library refuses to send."""
    host = b"Host: 127.0.0.1\r\n"
    return [
        ("path traversal ../", b"GET " + path_prefix.encode() + b"/../../../etc/passwd HTTP/1.1\r\n" + host),
        ("path traversal %2e%2e", b"GET /%2e%2e/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\n" + host),
        ("path traversal ..%2f", b"GET /catalog/products/..%2f..%2f..%2fetc%2fpasswd HTTP/1.1\r\n" + host),
        ("path traversal to the repository", b"GET /../../scripts/localstack.py HTTP/1.1\r\n" + host),
        ("NUL in the path", b"GET /catalog/products/%00 HTTP/1.1\r\n" + host),
        (
            "bare CR in a header (injection)",
            b"GET /catalog/health HTTP/1.1\r\n" + host + b"X-Request-Id: a\rSet-Cookie: x=1\r\n",
        ),
        ("NUL in a header", b"GET /catalog/health HTTP/1.1\r\n" + host + b"X-Request-Id: a\x00b\r\n"),
        ("space in a header name", b"GET /catalog/health HTTP/1.1\r\n" + host + b"X Api Key: x\r\n"),
        (
            "non-numeric Content-Length",
            b"POST /catalog/products HTTP/1.1\r\n" + host + b"Content-Length: abc\r\n",
        ),
        (
            "negative Content-Length",
            b"POST /catalog/products HTTP/1.1\r\n" + host + b"Content-Length: -1\r\n",
        ),
        (
            "two different Content-Lengths",
            b"POST /catalog/products HTTP/1.1\r\n" + host + b"Content-Length: 2\r\nContent-Length: 5\r\n",
        ),
        ("no Host header", b"GET /catalog/health HTTP/1.1\r\n"),
        (
            "long query string (16 KiB)",
            b"GET /catalog/products?limit=5&cursor=" + b"A" * 16_000 + b" HTTP/1.1\r\n" + host,
        ),
        (
            "very long query string (100 KiB)",
            b"GET /catalog/products?limit=5&cursor=" + b"A" * 100_000 + b" HTTP/1.1\r\n" + host,
        ),
        (
            "query string over the edge's header limit (2 MiB)",
            b"GET /catalog/products?cursor=" + b"A" * 2 * MB + b" HTTP/1.1\r\n" + host,
        ),
        (
            "many query parameters",
            b"GET /catalog/products?"
            + b"&".join(b"limit=%d" % i for i in range(20_000))
            + b" HTTP/1.1\r\n"
            + host,
        ),
        ("garbage request line", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 HTTP/1.1\r\n"),
    ]


def _answer_problems(case: str, r: httpx.Response, body: bytes) -> list[str]:
    """What is wrong with the edge's answer to one hostile JSON request (nothing: [])."""
    problems = []
    if not 400 <= r.status_code < 500:
        problems.append(f"{case}: HTTP {r.status_code} {r.text[:120]}")
    if "root:" in r.text or "Traceback" in r.text:
        problems.append(f"{case}: the answer leaks internals")
    # What a service refuses comes in its one error shape: JSON with a "detail".
    if "edge limit" not in case and not _is_error_body(r):
        problems.append(f"{case}: not a JSON error body: {r.headers.get('content-type')} {r.text[:80]}")
    # A rejected body is never echoed back (it may hold a secret a client sent by mistake).
    if body and len(body) > 64 and body[:64].decode(errors="ignore") in r.text:
        problems.append(f"{case}: the answer echoes the request body")
    return problems


def _raw_answer_problems(case: str, raw: bytes, code: int) -> list[str]:
    """What is wrong with the edge's answer to one malformed HTTP request (nothing: [])."""
    problems = []
    if not 400 <= code < 500:
        problems.append(f"{case}: answered {raw[:120]!r}")
    head, _, body_bytes = raw.partition(b"\r\n\r\n")
    if b"root:" in body_bytes or b"import " in body_bytes:
        problems.append(f"{case}: served a file outside the site: {body_bytes[:80]!r}")
    if b"\r\nset-cookie:" in head.lower():
        problems.append(f"{case}: an injected header came back")
    return problems


def test_hostile_input_gets_4xx_changes_nothing_and_kills_nothing(s: bench_stack.Stack) -> None:
    product_id = s.create_products(1, stock=10, tag="HOSTILE")[0]
    before_counts, before_pids = _counts(s), _pids(s)
    results: dict[str, int] = {}
    problems: list[str] = []

    with httpx.Client(base_url=s.edge, timeout=REQUEST_TIMEOUT) as client:
        for case, method, path, headers, body in _json_cases(s, product_id):
            try:
                # One connection per case: the unread rest of a refused body must not be taken
                # for the next request on a reused connection.
                r = client.request(
                    method, path, headers={**headers, "Connection": "close"}, content=body or None
                )
            except httpx.HTTPError as exc:
                problems.append(f"{case}: {type(exc).__name__} (the edge must answer, not drop)")
                continue
            results[case] = r.status_code
            problems += _answer_problems(case, r, body)

        # A request id carrying an encoded header break is replaced, never reflected.
        injected = "abc%0d%0aSet-Cookie:%20pwned=1"
        r = client.get("/catalog/health", headers={"X-Request-Id": injected})
        results["encoded CRLF in X-Request-Id"] = r.status_code
        if (
            "set-cookie" in r.headers
            or injected in r.headers.get("x-request-id", "")
            or "%0d" in str(r.headers)
        ):
            problems.append(f"encoded CRLF in X-Request-Id: reflected {dict(r.headers)}")

    edge_port = s.settings.edge_port
    for case, payload in _raw_cases("/catalog"):
        raw = raw_http(edge_port, payload + b"Connection: close\r\n\r\n")
        code = status_of(raw)
        results[case] = code
        problems += _raw_answer_problems(case, raw, code)

    # Obsolete line folding is merged into one header value by the edge; the service then refuses
    # the malformed request id and makes its own, so nothing is injected or reflected.
    folded = b"GET /catalog/health HTTP/1.1\r\nHost: x\r\nX-Request-Id: a\r\n Set-Cookie: x=1\r\n"
    raw = raw_http(edge_port, folded + b"Connection: close\r\n\r\n")
    head = raw.partition(b"\r\n\r\n")[0].lower()
    results["obsolete line folding (injection)"] = status_of(raw)
    echoed = [ln.split(b":", 1)[1].strip() for ln in head.split(b"\r\n") if ln.startswith(b"x-request-id:")]
    if b"\r\nset-cookie:" in head or any(v == b"a" or b"set-cookie" in v for v in echoed):
        problems.append(f"obsolete line folding: injected or reflected: {head[:300]!r}")

    # Everything still runs, nothing was written.
    after_pids = _pids(s)
    for m in manifests.load_all():
        assert httpx.get(f"{s.edge}{m.health_path}", timeout=REQUEST_TIMEOUT).status_code == 200
        assert httpx.get(f"{s.edge}{m.ready_path}", timeout=REQUEST_TIMEOUT).status_code == 200
    after_counts = _counts(s)
    report(
        "hostile_input",
        {"status_by_case": results, "items_before": before_counts, "items_after": after_counts},
    )
    assert not problems, "\n".join(problems)
    assert after_pids == before_pids, "a process restarted or died"
    assert after_counts == before_counts, "hostile input changed a table"
    assert len(results) >= 35
