"""orders API models (requests are strict, bounded and reject unknown fields).

Money amounts are JSON strings with two decimals (e.g. ``"19.99"``), like catalog's prices.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from svc_common.fields import integer, patterned

# catalog reserves all of an order's lines in one DynamoDB transaction (at most 100 actions, 2 per
# line): at most 50 lines (tests/contract checks this against catalog's published limit).
MAX_ITEMS = 50
MAX_QUANTITY = 200  # per item; 50 x 200 stays within catalog's per-reservation bound

CustomerId = patterned(
    r"^[A-Za-z0-9][A-Za-z0-9_-]*$", "letters, digits, '_' or '-'", 64, "Customer the order belongs to."
)
ProductId = patterned(
    r"^[A-Za-z0-9][A-Za-z0-9_-]*$", "letters, digits, '_' or '-'", 64, "catalog product id."
)
Quantity = integer(1, MAX_QUANTITY, "Units of the product.")
Money = Annotated[
    str, Field(pattern=r"^[0-9]+\.[0-9]{2}$", description='Decimal amount as a string, e.g. "19.99".')
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class OrderItemIn(_Request):
    product_id: ProductId
    quantity: Quantity


class OrderCreate(_Request):
    """An order. Lines with the same product_id are merged (their quantities are added)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "customer_id": "customer-42",
                    "items": [{"product_id": "8c4f4209-8a9d-408d-b271-7dcc638671f4", "quantity": 2}],
                }
            ]
        }
    )

    customer_id: CustomerId
    items: list[OrderItemIn] = Field(
        min_length=1,
        max_length=MAX_ITEMS,
        description=f"At most {MAX_ITEMS} lines (more is 422): every line is reserved in catalog in one "
        "all-or-nothing transaction, which holds at most that many.",
    )

    def merged_items(self) -> list[tuple[str, int]]:
        """(product_id, quantity) with duplicates merged, in first-seen order."""
        merged: dict[str, int] = {}
        for item in self.items:
            merged[item.product_id] = merged.get(item.product_id, 0) + item.quantity
        return list(merged.items())


class OrderItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: str
    quantity: int
    unit_price: Money | None = Field(description="catalog price when the order was placed; null if unknown.")
    line_total: Money | None


class Order(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    customer_id: str
    status: Literal["confirmed", "rejected", "cancelling", "cancelled"] = Field(
        description="confirmed: stock reserved; rejected: nothing reserved (see rejection_reason); "
        "cancelling: a cancel was accepted and its stock is being given back (it becomes cancelled "
        "without any further call); cancelled: stock given back."
    )
    items: list[OrderItem]
    currency: str | None
    total: Money | None
    rejection_reason: str | None
    created_at: datetime
    updated_at: datetime


class OrderPage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[Order]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null when there is none (a last page may be empty)."
    )
