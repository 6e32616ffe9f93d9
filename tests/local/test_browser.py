"""The static site in a real browser (Debian's headless Chromium driven by Playwright).

A local stack of its own (free ports, not the defaults) serves the page; the test enters the API
key, places an order, sees the stock go down, sees a clear error for a wrong key, and checks that
the page runs under the edge's Content-Security-Policy without a single violation. Each service's
interactive docs page (Swagger UI, served by the service itself) lists its operations under the same
policy, with nothing loaded from another origin.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import manifests
import pytest
import seed_demo
from orders.models import MAX_QUANTITY
from tooling.edge_config import security_headers

from tests.local.stack import LocalStack
from tests.support.tools import output_dir, unavailable

pytestmark = [pytest.mark.slow, pytest.mark.tool("chromium")]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    s = LocalStack.on_free_ports(tmp_path_factory.mktemp("browser-stack"))
    result = s.run("up", "--no-smoke")
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        yield s
    finally:
        _, leftovers = s.down_and_leftovers()
        assert not leftovers, f"still running after down: {leftovers}"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        unavailable(
            f"{CHROMIUM} not found: install the Debian package chromium (scripts/install_system_deps.sh)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright Python package is not installed (make venv)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _stock(page, product_id: str) -> int:
    return int(page.locator(f'tr[data-product-id="{product_id}"] td.stock').inner_text())


def test_place_an_order_and_see_the_stock_go_down(stack: LocalStack, browser) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        page.goto(f"{stack.edge_url}/", wait_until="networkidle")
        rows = page.locator("#products tbody tr")
        expect(rows.first).to_be_visible()
        assert rows.count() >= 3, "the demo products are listed"
        expect(page.locator("#key-state")).to_have_text(re.compile("no key"))

        # The demo product with the least stock (rejection needs a quantity above it).
        sku = min(seed_demo.DEMO_PRODUCTS, key=lambda p: p["stock"])["sku"]
        row = page.locator("#products tbody tr", has=page.locator("td", has_text=sku))
        product_id = row.get_attribute("data-product-id")
        before = _stock(page, product_id)

        # Without a key the page says what to do and sends nothing.
        page.fill("#order-customer", "browser-test")
        page.click("#order-submit")
        expect(page.locator("#message")).to_contain_text("Enter the API key")

        # A wrong key is answered 401 and shown clearly.
        page.fill("#api-key", "not-the-right-key-0123456789")
        page.click("#key-form button[type=submit]")
        page.select_option("#order-product", product_id)
        page.fill("#order-quantity", "2")
        page.click("#order-submit")
        expect(page.locator("#message.error")).to_contain_text("Error 401")
        assert _stock(page, product_id) == before

        page.fill("#api-key", stack.values()["ORDERS_API_KEY"])
        page.click("#key-form button[type=submit]")
        expect(page.locator("#key-state")).to_have_text(re.compile("key set"))
        assert page.input_value("#api-key") == "", "the key does not stay visible in the field"
        # The order is stored, but the answer is lost on the way back, as a 503, a 500 and no answer
        # at all (network error), one after the other: each is an unknown outcome, so the page keeps
        # the order's Idempotency-Key, and clicking again gets the same order, not a second one.
        keys: list[str] = []
        lost = [503, 500, None]  # None: the connection fails

        def lose_answers(route) -> None:
            keys.append(route.request.headers["idempotency-key"])
            response = route.fetch()
            if len(keys) > len(lost):
                route.fulfill(response=response)
            elif lost[len(keys) - 1] is None:
                route.abort("failed")
            else:
                status = lost[len(keys) - 1]
                route.fulfill(status=status, json={"detail": f"injected: answer lost ({status})"})

        page.route("**/orders", lose_answers)
        for status in lost:
            page.click("#order-submit")
            seen = f"answer lost ({status})" if status else "Network error"
            expect(page.locator("#message.error")).to_contain_text(seen)
            expect(page.locator("#message.error")).to_contain_text("Place order again to retry")
        page.click("#order-submit")
        expect(page.locator("#message.ok")).to_contain_text("placed")
        page.unroute("**/orders")
        assert len(keys) == len(lost) + 1
        assert len(set(keys)) == 1, "every retry of the same order reuses its Idempotency-Key"
        expect(page.locator(f'tr[data-product-id="{product_id}"] td.stock')).to_have_text(str(before - 2))
        expect(page.locator("#orders li")).to_have_count(1)

        # Limits come from the API's schema: too many units is refused by the page, nothing is sent.
        assert page.get_attribute("#order-quantity", "max") == str(MAX_QUANTITY)
        page.fill("#order-quantity", str(MAX_QUANTITY + 1))
        page.click("#order-submit")
        expect(page.locator("#message.error")).to_contain_text(f"at most {MAX_QUANTITY}")
        assert _stock(page, product_id) == before - 2

        # More than in stock: the order is rejected, the reason names the product, nothing reserved.
        page.fill("#order-quantity", str(before - 2 + 1))
        page.click("#order-submit")
        expect(page.locator("#message.error")).to_contain_text("rejected")
        name = row.locator("td").first.inner_text()
        expect(page.locator("#message.error")).to_contain_text(name)
        expect(page.locator("#message.error")).not_to_contain_text(product_id)
        expect(page.locator("#orders li")).to_have_count(2)
        assert _stock(page, product_id) == before - 2

        # A reload keeps the tab's orders (and reads their status with the key).
        page.reload(wait_until="networkidle")
        expect(page.locator("#orders li")).to_have_count(2)
        expect(page.locator("#orders li").first).to_contain_text(name)

        output = output_dir("screenshots")
        page.screenshot(path=str(output / "storefront-order.png"), full_page=True)

        # Cancelling the confirmed order gives the stock back (a rejected one has nothing to cancel).
        expect(page.locator("#orders li button")).to_have_count(1)
        page.locator("#orders li button").click()
        expect(page.locator("#message.ok")).to_contain_text("cancelled")
        expect(page.locator(f'tr[data-product-id="{product_id}"] td.stock')).to_have_text(str(before))
    finally:
        context.close()
    # The only console errors allowed are the deliberate failed requests (401, 409/422);
    # a Content-Security-Policy violation or a script error fails the test.
    unexpected = [p for p in problems if "Failed to load resource" not in p]
    assert not unexpected, unexpected


@pytest.mark.parametrize("service", [m.name for m in manifests.load_all()])
def test_docs_page_lists_the_operations_under_the_csp(stack: LocalStack, browser, service: str) -> None:
    from playwright.sync_api import expect

    m = manifests.get(service)
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    messages: list[str] = []
    requests: list[str] = []
    page.on("console", lambda msg: messages.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda e: messages.append(f"pageerror: {e}"))
    page.on("request", lambda r: requests.append(r.url))
    try:
        response = page.goto(f"{stack.edge_url}{m.path_prefix}/docs", wait_until="networkidle")
        # The same policy as every page of the site (web/security-headers.json, also CloudFront's).
        csp = security_headers()["Content-Security-Policy"]
        assert "script-src 'self';" in csp
        assert response is not None
        assert response.headers["content-security-policy"] == csp
        operations = page.locator(".opblock")
        expect(operations.first).to_be_visible()
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        assert f"{m.path_prefix}/health" in [p.replace("\u200b", "") for p in paths], paths
        assert operations.count() >= 3, paths
        page.screenshot(path=str(output_dir("screenshots") / f"{service}-docs.png"), full_page=True)
    finally:
        context.close()
    violations = [msg for msg in messages if "Content Security Policy" in msg or msg.startswith("pageerror")]
    assert not violations, violations
    errors = [msg for msg in messages if msg.startswith("error")]
    assert not errors, errors
    foreign = [u for u in requests if not u.startswith(stack.edge_url)]
    assert not foreign, f"the docs page loaded from another origin: {foreign}"
