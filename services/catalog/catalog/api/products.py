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
_IF_MATCH = re.compile(r'^\s*(?:W/)?"?(\d{1,18})"?\s*$')


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
            description='Current version of the product, e.g. 3 or "3" (the ETag). Required (428 without).',
        ),
    ] = None,
) -> dict:
    if if_match is None or not if_match.strip():
        raise PreconditionRequiredError("If-Match header with the product's current version is required")
    match = _IF_MATCH.match(if_match)
    if match is None:
        repo.get_product(product_id)  # 404 first when the product does not exist
        raise PreconditionFailedError(f'If-Match {if_match!r} does not name a version (send e.g. 3 or "3")')
    product = repo.update_product(product_id, int(match.group(1)), body.changes())
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
