"""Product routes (thin: validation by the models, storage by the repository)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Response, status
from svc_common.errors import PreconditionFailedError, PreconditionRequiredError, responses
from svc_common.security import require_api_key

from catalog.api.deps import repository
from catalog.core.config import PATH_PREFIX
from catalog.models import Product, ProductCreate, ProductPage, ProductPatch
from catalog.repository import CatalogRepository

router = APIRouter(prefix=f"{PATH_PREFIX}/products", tags=["products"])
Repo = Annotated[CatalogRepository, Depends(repository)]
ProductId = Annotated[str, Path(min_length=1, max_length=64, description="Product id.")]
# One member of an If-Match list (RFC 9110 section 13.1.1): "*", an entity tag, optionally weak.
# A bare version number (3) is also taken as the tag "3": a convenience for hand-written calls.
_TAG = re.compile(r'^(W/)?"([^"]*)"$|^(\d{1,18})$')


def _if_match_versions(header: str) -> set[int] | None:
    """None for ``*`` (any current version), else the versions it names with a strong tag.

    Weak tags never match (If-Match uses the strong comparison), nor do tags that are not
    our versions: both leave the set without them, and an empty set is a 412.
    """
    versions: set[int] = set()
    for member in (m.strip() for m in header.split(",")):
        if member == "*":
            return None
        tag = _TAG.match(member)
        if tag is None or tag.group(1):
            continue
        value = tag.group(2) if tag.group(3) is None else tag.group(3)
        if value.isdigit() and len(value) <= 18:
            versions.add(int(value))
    return versions


def _etag(product: dict) -> dict[str, str]:
    return {"ETag": f'"{product["version"]}"'}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Product,
    summary="Create a product (409 when the sku is taken)",
    dependencies=[Depends(require_api_key)],
    responses=responses(400, 401, 409, 413, 422, 503),
)
def create_product(body: ProductCreate, repo: Repo, response: Response) -> dict:
    product = repo.create_product(body.model_dump())
    response.headers.update(_etag(product))
    response.headers["Location"] = f"{router.prefix}/{product['id']}"
    return product


@router.get(
    "",
    response_model=ProductPage,
    summary="List products, oldest first, one page at a time",
    responses=responses(400, 422, 503),
)
def list_products(
    repo: Repo,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size.")] = 20,
    cursor: Annotated[
        str | None, Query(min_length=1, max_length=512, description="next_cursor of the previous page.")
    ] = None,
) -> dict:
    items, next_cursor = repo.list_products(limit, cursor)
    return {"items": items, "next_cursor": next_cursor}


@router.get(
    "/{product_id}",
    response_model=Product,
    summary="Get a product (its ETag is the version)",
    responses=responses(404, 422, 503),
)
def get_product(product_id: ProductId, repo: Repo, response: Response) -> dict:
    product = repo.get_product(product_id)
    response.headers.update(_etag(product))
    return product


@router.patch(
    "/{product_id}",
    response_model=Product,
    summary="Change a product; If-Match must carry its current version",
    dependencies=[Depends(require_api_key)],
    responses=responses(400, 401, 404, 409, 412, 413, 422, 428, 503),
)
def patch_product(
    product_id: ProductId,
    body: ProductPatch,
    repo: Repo,
    response: Response,
    if_match: Annotated[
        str | None,
        Header(
            max_length=64,
            description='The product\'s ETag, e.g. "3" (a bare 3 is accepted too), or * for any version. '
            'Strong comparison: a weak tag (W/"3") never matches. Required (428 without).',
        ),
    ] = None,
) -> dict:
    if if_match is None or not if_match.strip():
        raise PreconditionRequiredError("If-Match header with the product's current version is required")
    versions = _if_match_versions(if_match)
    if versions is not None and len(versions) != 1:
        current = repo.get_product(product_id)  # 404 first when the product does not exist
        if current["version"] not in versions:
            raise PreconditionFailedError(
                f'If-Match {if_match!r} does not match the current ETag "{current["version"]}" '
                '(strong comparison: send the ETag, e.g. "3", or *)'
            )
        versions = {current["version"]}
    expected = None if versions is None else versions.pop()
    product = repo.update_product(product_id, expected, body.changes())
    response.headers.update(_etag(product))
    return product


@router.delete(
    "/{product_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a product (its sku becomes free)",
    dependencies=[Depends(require_api_key)],
    responses=responses(401, 404, 422, 503),
)
def delete_product(product_id: ProductId, repo: Repo) -> Response:
    repo.delete_product(product_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
