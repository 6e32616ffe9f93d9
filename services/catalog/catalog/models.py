"""catalog API models (requests are strict, bounded and reject unknown fields).

Money: ``price`` is a JSON string holding a decimal with at most 2 decimal places
(e.g. ``"19.99"``), in requests and responses alike, so no precision is lost in any client.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    WithJsonSchema,
    model_validator,
)
from svc_common.fields import integer, patterned, text

PRICE_PATTERN = r"^(0|[1-9][0-9]{0,7})(\.[0-9]{1,2})?$"
_PRICE_RE = re.compile(PRICE_PATTERN)
MAX_STOCK = 1_000_000_000
MAX_RESERVATION = 10_000
# An order's lines are reserved in one DynamoDB TransactWriteItems, which holds at most 100 actions
# (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html); each
# line takes 2 (the reservation item and the product's stock), so at most 50 lines.
TRANSACTION_MAX_ACTIONS = 100
ACTIONS_PER_LINE = 2
MAX_ORDER_LINES = TRANSACTION_MAX_ACTIONS // ACTIONS_PER_LINE


def _parse_price(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value.quantize(Decimal("0.01"))
    if not isinstance(value, str) or not _PRICE_RE.search(value):
        raise ValueError(
            'price must be a string with a decimal number >= 0 and at most 2 decimals, e.g. "19.99"'
        )
    return Decimal(value.strip()).quantize(Decimal("0.01"))


Price = Annotated[
    Decimal,
    PlainValidator(_parse_price),
    PlainSerializer(lambda d: f"{d:.2f}", return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": PRICE_PATTERN,
            "description": "Decimal amount as a string, >= 0, at most 2 decimal places.",
            "examples": ["19.99"],
        }
    ),
]
Sku = patterned(
    r"^[A-Za-z0-9][A-Za-z0-9._-]*$", "letters, digits, '.', '_' or '-'", 64, "Stock keeping unit; unique."
)
Currency = patterned(r"^[A-Z]{3}$", "three upper-case letters", 3, "ISO 4217 alphabetic currency code.")
Name = text(1, 200, "Product name.")
Description = text(0, 2000, "Free text (tab and line breaks allowed).", multiline=True)
ProductId = patterned(
    r"^[A-Za-z0-9][A-Za-z0-9_-]*$", "letters, digits, '_' or '-'", 64, "Id of the product to reserve."
)
OrderId = patterned(
    r"^[A-Za-z0-9][A-Za-z0-9_-]*$", "letters, digits, '_' or '-'", 64, "Id of the order holding the stock."
)
Stock = integer(0, MAX_STOCK, "Units available (not reserved).")
Quantity = integer(1, MAX_RESERVATION, "Units to reserve.")


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ProductCreate(_Request):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "sku": "MUG-BLUE-01",
                    "name": "Blue mug",
                    "description": "Stoneware, 350 ml",
                    "price": "12.50",
                    "currency": "EUR",
                    "stock": 100,
                }
            ]
        }
    )

    sku: Sku
    name: Name
    description: Description = ""
    price: Price
    currency: Currency
    stock: Stock = 0


class ProductPatch(_Request):
    """Fields to change; omitted (or null) fields keep their value."""

    sku: Sku | None = None
    name: Name | None = None
    description: Description | None = None
    price: Price | None = None
    currency: Currency | None = None
    stock: Stock | None = None

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class Product(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    sku: str
    name: str
    description: str
    price: Price
    currency: str
    stock: int
    version: int = Field(description="Increases on every change; send it back in If-Match to update.")
    created_at: datetime
    updated_at: datetime


class ProductPage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[Product]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null when there is none (a last page may be empty)."
    )


class ReservationCreate(_Request):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"order_id": "3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b", "quantity": 2}]}
    )

    order_id: OrderId
    quantity: Quantity


class Reservation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: str
    order_id: str
    quantity: int
    status: Literal["active", "released"]
    created_at: datetime
    updated_at: datetime


class ReservationLine(_Request):
    product_id: ProductId
    quantity: Quantity


class OrderReservationCreate(_Request):
    """Every line of an order, reserved all together or not at all."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "order_id": "3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b",
                    "lines": [{"product_id": "8c4f4209-8a9d-408d-b271-7dcc638671f4", "quantity": 2}],
                }
            ]
        }
    )

    order_id: OrderId
    lines: list[ReservationLine] = Field(
        min_length=1,
        max_length=MAX_ORDER_LINES,
        description=f"At most {MAX_ORDER_LINES} lines, each product once: all lines are reserved in one "
        f"DynamoDB transaction ({ACTIONS_PER_LINE} actions per line, at most {TRANSACTION_MAX_ACTIONS}).",
    )

    @model_validator(mode="after")
    def _products_once(self) -> OrderReservationCreate:
        ids = [line.product_id for line in self.lines]
        if len(set(ids)) != len(ids):
            raise ValueError("each product_id may appear in only one line (merge the quantities)")
        return self


class ReservedLine(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: str
    quantity: int
    unit_price: Price = Field(description="The product's price when the line was reserved.")
    currency: str


class OrderReservation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order_id: str
    lines: list[ReservedLine]


class OrderRelease(_Request):
    """The products whose reservations of the order to give back."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"product_ids": ["8c4f4209-8a9d-408d-b271-7dcc638671f4"]}]}
    )

    product_ids: list[ProductId] = Field(
        min_length=1,
        max_length=MAX_ORDER_LINES,
        description=f"At most {MAX_ORDER_LINES} distinct products (one DynamoDB transaction).",
    )

    @model_validator(mode="after")
    def _distinct(self) -> OrderRelease:
        if len(set(self.product_ids)) != len(self.product_ids):
            raise ValueError("each product_id may appear only once")
        return self
