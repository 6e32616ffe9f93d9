"""Create a few demo products through the catalog API (idempotent: existing SKUs are left alone).

    CATALOG_API_KEY=... python scripts/seed_demo.py --base-url http://127.0.0.1:8080

Used by ``make up``; safe to run any number of times. Exit 0 on success, 1 on an API failure,
2 on a usage error (e.g. the key is missing).
"""

from __future__ import annotations

import argparse
import os
import sys
from urllib.parse import urlsplit

import httpx
import manifests
import sync_secrets

DEMO_PRODUCTS = [
    {
        "sku": "demo-espresso-1kg",
        "name": "Espresso beans, 1 kg",
        "description": "Dark roast, whole beans.",
        "price": "18.50",
        "currency": "EUR",
        "stock": 25,
    },
    {
        "sku": "demo-mug-ceramic",
        "name": "Ceramic mug",
        "description": "350 ml, dishwasher safe.",
        "price": "9.90",
        "currency": "EUR",
        "stock": 40,
    },
    {
        "sku": "demo-grinder-hand",
        "name": "Hand grinder",
        "description": "Steel burrs, 40 settings.",
        "price": "64.00",
        "currency": "EUR",
        "stock": 8,
    },
    {
        "sku": "demo-filter-papers",
        "name": "Filter papers (100)",
        "description": "Size 02, unbleached.",
        "price": "4.20",
        "currency": "EUR",
        "stock": 120,
    },
]
MAX_PAGES = 100


def existing_skus(client: httpx.Client, base_url: str) -> set[str]:
    url = f"{base_url}{manifests.get('catalog').path_prefix}/products"
    skus: set[str] = set()
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        params: dict[str, str | int] = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        r = client.get(url, params=params)
        r.raise_for_status()
        page = r.json()
        skus.update(item["sku"] for item in page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return skus


def seed(client: httpx.Client, base_url: str, api_key: str) -> tuple[int, int]:
    """Create the demo products that are missing; returns (created, already present)."""
    have = existing_skus(client, base_url)
    url = f"{base_url}{manifests.get('catalog').path_prefix}/products"
    created = 0
    for product in DEMO_PRODUCTS:
        if product["sku"] in have:
            continue
        r = client.post(url, json=product, headers={"X-Api-Key": api_key})
        if r.status_code == 409:  # created concurrently by another run
            continue
        if r.status_code != 201:
            raise RuntimeError(f"creating {product['sku']} failed: HTTP {r.status_code} {r.text[:200]}")
        created += 1
    return created, len(DEMO_PRODUCTS) - created


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="edge URL, e.g. http://127.0.0.1:8080")
    args = parser.parse_args(argv)
    if urlsplit(args.base_url).scheme not in ("http", "https"):
        parser.error(f"--base-url must be an http(s) URL, got {args.base_url!r}")
    variable = sync_secrets.variable_name("catalog", "API_KEY")
    api_key = os.environ.get(variable, "")
    if not api_key:
        print(f"seed_demo: {variable} is not set", file=sys.stderr)
        return 2
    base_url = args.base_url.rstrip("/")
    try:
        with httpx.Client(timeout=10) as client:
            created, present = seed(client, base_url, api_key)
    except (httpx.HTTPError, RuntimeError, KeyError, ValueError) as exc:
        print(f"seed_demo: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"demo products: {created} created, {present} already present")
    return 0


if __name__ == "__main__":
    sys.exit(main())
