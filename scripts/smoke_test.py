"""Smoke test of a deployed (or local) storefront, run by the pipeline after every deploy.

Checks, each by name (services and paths come from the manifests):
  <service>-health, <service>-ready    through --base-url (CloudFront, or the local edge); with
                      --revision, health must also name that revision (the image tag the task
                      definition runs): retried until the new tasks are the ones answering
  alb-<service>-health, alb-<service>-ready   through --alb-url, when given: only where the load
                      balancer can be reached (locally; in AWS it is internal, so the pipeline
                      (scripts/ci/smoke_env.py) never passes it and checks through CloudFront only)
  static-page         the site's index is served with every header in web/security-headers.json
  api-auth-required   a mutating call without X-Api-Key is refused (401/403) and changes nothing
  api-bad-input       an invalid order is answered 4xx with a JSON body
  api-round-trip      create a product, place an order, read it, see stock go down, cancel it,
                      see stock come back, delete the product (cleans up even when it fails)
  waf-blocks-sqli     with --waf-probe: an SQL-injection probe is blocked with 403

API keys come from the environment: CATALOG_API_KEY and ORDERS_API_KEY (the same names
scripts/sync_secrets.py reads). Failing checks are retried until --timeout while a deploy
settles; once every health answer names --revision (the new tasks serve), the others get only
--settle s (60) more: a new revision that serves but fails is reported (and rolled back) minutes
sooner. Writes a JSON report (--report) and JUnit XML (--junit); under GitHub Actions prints
``::error`` annotations. Never prints a key.

Exit codes: 0 every check passed, 1 a check failed (each failed check is named), 2 usage error.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import manifests
import sync_secrets

HEADERS_FILE = manifests.REPO_ROOT / "web" / "security-headers.json"
SQLI_PROBE = "1' OR '1'='1' --"
USER_AGENT = "storefront-smoke-test"


class CheckError(Exception):
    """A check's one-line reason for failing."""


@dataclass
class Result:
    name: str
    passed: bool = False
    attempts: int = 0
    seconds: float = 0.0
    detail: str = ""


@dataclass
class Context:
    base_url: str
    alb_url: str | None
    keys: dict[str, str]
    client: httpx.Client
    created: list[tuple[str, str]] = field(default_factory=list)  # cleanup: (kind, id)


Check = Callable[[Context], str]


def _short(response: httpx.Response) -> str:
    body = response.text.replace("\n", " ")
    return f"HTTP {response.status_code} {body[:200]}"


def _url(base: str, path: str) -> str:
    return base.rstrip("/") + path


def _expect(response: httpx.Response, *codes: int) -> httpx.Response:
    if response.status_code not in codes:
        wanted = "/".join(map(str, codes))
        request = response.request
        raise CheckError(f"{request.method} {request.url.path}: expected {wanted}, got {_short(response)}")
    return response


def _json(response: httpx.Response) -> dict:
    try:
        data = response.json()
    except ValueError:
        raise CheckError(f"{response.request.url.path}: response is not JSON ({_short(response)})") from None
    if not isinstance(data, dict):
        raise CheckError(f"{response.request.url.path}: expected a JSON object")
    return data


def security_headers() -> dict[str, str]:
    data = json.loads(HEADERS_FILE.read_text())
    return {k: v for k, v in data.items() if not k.startswith("_")}


# ---------------------------------------------------------------------------------------------
# Checks


def check_get_200(base: str, path: str) -> Check:
    def check(ctx: Context) -> str:
        _expect(ctx.client.get(_url(base, path)), 200)
        return f"GET {path} -> 200"

    return check


def check_health(base: str, path: str, revision: str | None) -> Check:
    def check(ctx: Context) -> str:
        response = _expect(ctx.client.get(_url(base, path)), 200)
        if revision is None:
            return f"GET {path} -> 200"
        serving = _json(response).get("revision")
        if serving != revision:
            raise CheckError(f"GET {path}: revision {serving!r} serves, waiting for {revision!r}")
        return f"GET {path} -> 200, revision {revision}"

    return check


def check_static_page(ctx: Context) -> str:
    r = _expect(ctx.client.get(_url(ctx.base_url, "/")), 200)
    if "text/html" not in r.headers.get("content-type", ""):
        raise CheckError(f"/ is not HTML (content-type {r.headers.get('content-type')!r})")
    wrong = [
        f"{name} ({'missing' if r.headers.get(name) is None else 'differs'})"
        for name, value in security_headers().items()
        if r.headers.get(name) != value
    ]
    if wrong:
        raise CheckError("security headers wrong on /: " + ", ".join(wrong))
    return f"/ served as HTML with {len(security_headers())} security headers"


def _catalog() -> manifests.Manifest:
    return manifests.get("catalog")


def _orders() -> manifests.Manifest:
    return manifests.get("orders")


def check_auth_required(ctx: Context) -> str:
    path = f"{_catalog().path_prefix}/products"
    body = {"sku": f"smoke-noauth-{uuid.uuid4().hex[:12]}", "name": "x", "price": "1.00", "currency": "EUR"}
    r = ctx.client.post(_url(ctx.base_url, path), json=body)
    if r.status_code == 201:
        product_id = r.json().get("id")
        if product_id:
            ctx.created.append(("product", product_id))
        raise CheckError(f"POST {path} without X-Api-Key was accepted (HTTP 201)")
    _expect(r, 401, 403)
    return f"POST {path} without key -> {r.status_code}"


def check_bad_input(ctx: Context) -> str:
    path = _orders().path_prefix
    r = ctx.client.post(
        _url(ctx.base_url, path),
        json={"customer_id": "", "items": [{"product_id": "", "quantity": 0}]},
        headers={"X-Api-Key": ctx.keys["orders"], "Idempotency-Key": str(uuid.uuid4())},
    )
    if not 400 <= r.status_code < 500:
        raise CheckError(f"invalid order was answered {_short(r)}; expected 4xx")
    _json(r)
    return f"invalid order -> {r.status_code} with a JSON body"


def _stock(ctx: Context, product_id: str) -> int:
    r = _expect(ctx.client.get(_url(ctx.base_url, f"{_catalog().path_prefix}/products/{product_id}")), 200)
    return int(_json(r)["stock"])


def check_round_trip(ctx: Context) -> str:
    cat, orders = _catalog().path_prefix, _orders().path_prefix
    run = uuid.uuid4().hex[:12]
    request_id = f"smoke-{run}"
    r = _expect(
        ctx.client.post(
            _url(ctx.base_url, f"{cat}/products"),
            json={
                "sku": f"smoke-{run}",
                "name": f"Smoke test product {run}",
                "price": "1.50",
                "currency": "EUR",
                "stock": 5,
            },
            headers={"X-Api-Key": ctx.keys["catalog"], "X-Request-Id": request_id},
        ),
        201,
    )
    if r.headers.get("x-request-id") != request_id:
        raise CheckError("X-Request-Id was not returned through the edge")
    product_id = str(_json(r)["id"])
    ctx.created.append(("product", product_id))

    order_headers = {"X-Api-Key": ctx.keys["orders"], "Idempotency-Key": str(uuid.uuid4())}
    order_body = {"customer_id": f"smoke-{run}", "items": [{"product_id": product_id, "quantity": 2}]}
    r = _expect(ctx.client.post(_url(ctx.base_url, orders), json=order_body, headers=order_headers), 200, 201)
    order = _json(r)
    order_id = str(order["id"])
    ctx.created.append(("order", order_id))
    if order.get("status") != "confirmed":
        raise CheckError(
            f"order status is {order.get('status')!r} ({order.get('rejection_reason')}), expected confirmed"
        )
    replay = _expect(
        ctx.client.post(_url(ctx.base_url, orders), json=order_body, headers=order_headers), 200, 201
    )
    if str(_json(replay).get("id")) != order_id:
        raise CheckError("repeating POST with the same Idempotency-Key created a second order")

    order_url = _url(ctx.base_url, f"{orders}/{order_id}")
    _expect(ctx.client.get(order_url), 401)  # orders are private: no key, no read
    got = _json(_expect(ctx.client.get(order_url, headers={"X-Api-Key": ctx.keys["orders"]}), 200))
    if str(got.get("id")) != order_id:
        raise CheckError(f"GET {orders}/{{id}} returned another order")
    if (stock := _stock(ctx, product_id)) != 3:
        raise CheckError(f"stock after ordering 2 of 5 is {stock}, expected 3")

    _expect(
        ctx.client.post(
            _url(ctx.base_url, f"{orders}/{order_id}/cancel"), headers={"X-Api-Key": ctx.keys["orders"]}
        ),
        200,
    )
    ctx.created.remove(("order", order_id))
    if (stock := _stock(ctx, product_id)) != 5:
        raise CheckError(f"stock after cancelling is {stock}, expected 5")
    _expect(
        ctx.client.delete(
            _url(ctx.base_url, f"{cat}/products/{product_id}"), headers={"X-Api-Key": ctx.keys["catalog"]}
        ),
        200,
        204,
    )
    ctx.created.remove(("product", product_id))
    return (
        "product created, order placed (stock 5 -> 3), read (401 without key), cancelled (stock -> 5), "
        "product deleted"
    )


def check_waf_probe(ctx: Context) -> str:
    path = f"{_catalog().path_prefix}/products"
    r = ctx.client.get(_url(ctx.base_url, path), params={"sku": SQLI_PROBE})
    if r.status_code != 403:
        raise CheckError(f"SQL-injection probe on {path} was not blocked: HTTP {r.status_code}, expected 403")
    return "SQL-injection probe blocked with 403"


def cleanup(ctx: Context) -> list[str]:
    """Cancel orders and delete products a failed round trip left behind; returns problems."""
    problems = []
    for kind, ident in reversed(ctx.created):
        try:
            send, service = (ctx.client.post, "orders") if kind == "order" else (ctx.client.delete, "catalog")
            cancel = f"{_orders().path_prefix}/{ident}/cancel" if kind == "order" else None
            path = cancel or f"{_catalog().path_prefix}/products/{ident}"
            r = send(_url(ctx.base_url, path), headers={"X-Api-Key": ctx.keys[service]})
            if r.status_code >= 300 and r.status_code not in (404, 409):
                problems.append(f"{kind} {ident}: HTTP {r.status_code}")
        except httpx.HTTPError as exc:
            problems.append(f"{kind} {ident}: {type(exc).__name__}")
    ctx.created.clear()
    return problems


def build_checks(
    alb_url: str | None, waf_probe: bool, base_url: str, revision: str | None = None
) -> dict[str, Check]:
    checks: dict[str, Check] = {}
    for m in manifests.load_all():
        checks[f"{m.name}-health"] = check_health(base_url, m.health_path, revision)
        checks[f"{m.name}-ready"] = check_get_200(base_url, m.ready_path)
        if alb_url:
            checks[f"alb-{m.name}-health"] = check_health(alb_url, m.health_path, revision)
            checks[f"alb-{m.name}-ready"] = check_get_200(alb_url, m.ready_path)
    checks["static-page"] = check_static_page
    checks["api-auth-required"] = check_auth_required
    checks["api-bad-input"] = check_bad_input
    checks["api-round-trip"] = check_round_trip
    if waf_probe:
        checks["waf-blocks-sqli"] = check_waf_probe
    return checks


# ---------------------------------------------------------------------------------------------
# Running, reporting


def run_checks(
    checks: dict[str, Check], ctx: Context, timeout: float, interval: float, settle: float | None = None
) -> list[Result]:
    results = {name: Result(name) for name in checks}
    deadline = time.monotonic() + timeout
    health = [name for name in checks if name.endswith("-health")]
    while True:
        pending = [name for name, res in results.items() if not res.passed]
        for name in pending:
            res = results[name]
            res.attempts += 1
            started = time.monotonic()
            try:
                res.detail = checks[name](ctx)
                res.passed = True
            except CheckError as exc:
                res.detail = str(exc)
            except httpx.HTTPError as exc:
                res.detail = f"request failed: {type(exc).__name__}: {exc}"
            except (KeyError, TypeError, ValueError) as exc:
                res.detail = f"unexpected response shape: {type(exc).__name__}: {exc}"
            finally:
                res.seconds = round(res.seconds + time.monotonic() - started, 3)
                problems = cleanup(ctx)
                if problems:
                    res.detail += f" (cleanup left: {'; '.join(problems)})"
        if settle is not None and health and all(results[n].passed for n in health):
            deadline, settle = min(deadline, time.monotonic() + settle), None
        if all(r.passed for r in results.values()) or time.monotonic() + interval > deadline:
            break
        still = [n for n, r in results.items() if not r.passed]
        print(f"  waiting {interval:.0f}s, still failing: {', '.join(still)}", flush=True)
        time.sleep(interval)
    return list(results.values())


def write_junit(path: Path, results: list[Result], base_url: str) -> None:
    failures = sum(not r.passed for r in results)
    total = sum(r.seconds for r in results)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuites name="smoke" tests="{len(results)}" failures="{failures}" time="{total:.3f}">',
        f'<testsuite name="smoke {html.escape(base_url)}" tests="{len(results)}" failures="{failures}" '
        f'errors="0" skipped="0" time="{total:.3f}">',
    ]
    for r in results:
        attrs = f'classname="smoke" name="{html.escape(r.name)}" time="{r.seconds:.3f}"'
        if r.passed:
            lines.append(f"<testcase {attrs}/>")
        else:
            lines += [
                f"<testcase {attrs}>",
                f'<failure message="{html.escape(r.detail)}">{html.escape(r.detail)} '
                f"(after {r.attempts} attempt(s))</failure>",
                "</testcase>",
            ]
    lines += ["</testsuite>", "</testsuites>", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))


def _check_url(parser: argparse.ArgumentParser, name: str, value: str | None) -> None:
    if value is None:
        return
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        parser.error(f"{name} must be an http(s) URL, got {value!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="public URL (CloudFront; locally the edge)")
    parser.add_argument("--alb-url", help="load balancer URL, to check the services behind the CDN too")
    parser.add_argument(
        "--waf-probe", action="store_true", help="also check that the WAF blocks SQL injection"
    )
    parser.add_argument(
        "--revision", help="the revision (image tag / commit) every health answer must name (waits for it)"
    )
    parser.add_argument("--timeout", type=float, default=300, help="seconds to keep retrying (default 300)")
    parser.add_argument("--settle", type=float, default=60, help="with --revision: seconds once it serves")
    parser.add_argument("--interval", type=float, default=5, help="seconds between rounds (default 5)")
    parser.add_argument("--request-timeout", type=float, default=10, help="seconds per HTTP request")
    parser.add_argument("--report", type=Path, default=Path("smoke-report.json"), help="JSON report path")
    parser.add_argument("--junit", type=Path, default=Path("smoke-junit.xml"), help="JUnit XML path")
    args = parser.parse_args(argv)
    _check_url(parser, "--base-url", args.base_url)
    _check_url(parser, "--alb-url", args.alb_url)
    if args.timeout < 0 or args.interval <= 0:
        parser.error("--timeout must be >= 0 and --interval > 0")
    if args.revision is not None and not re.fullmatch(r"[A-Za-z0-9_.-]{1,128}", args.revision):
        parser.error("--revision must be 1-128 letters, digits, '_', '.' or '-'")

    keys, missing = {}, []
    for service in ("catalog", "orders"):
        variable = sync_secrets.variable_name(service, "API_KEY")
        value = os.environ.get(variable, "")
        if not value:
            missing.append(variable)
        keys[service] = value
    if missing:
        print(
            f"smoke_test: missing environment variable(s) {', '.join(missing)} (the API keys)",
            file=sys.stderr,
        )
        return 2

    checks = build_checks(args.alb_url, args.waf_probe, args.base_url, args.revision)
    print(
        f"smoke test of {args.base_url}: {len(checks)} checks, retrying up to {args.timeout:.0f}s", flush=True
    )
    started = time.time()
    with httpx.Client(
        timeout=args.request_timeout, follow_redirects=False, headers={"User-Agent": USER_AGENT}
    ) as client:
        ctx = Context(args.base_url, args.alb_url, keys, client)
        results = run_checks(checks, ctx, args.timeout, args.interval, args.settle if args.revision else None)

    failed = [r for r in results if not r.passed]
    for r in results:
        print(f"  {'PASS' if r.passed else 'FAIL'}  {r.name:<22} {r.detail}")
    report = {
        "base_url": args.base_url,
        "alb_url": args.alb_url,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": round(time.time() - started, 3),
        "passed": not failed,
        "failed": [r.name for r in failed],
        "checks": [asdict(r) for r in results],
    }
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=2) + "\n")
    write_junit(args.junit, results, args.base_url)
    if failed:
        if os.environ.get("GITHUB_ACTIONS") == "true":
            for r in failed:
                detail = r.detail.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
                print(f"::error title=smoke test: {r.name}::{detail}")
        print(f"smoke test FAILED: {', '.join(r.name for r in failed)}")
        return 1
    print(f"smoke test passed: {len(results)}/{len(results)} checks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
