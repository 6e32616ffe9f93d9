"""Per-request context shared by logging and outgoing calls (the request id)."""

from __future__ import annotations

import os
import re
from contextvars import ContextVar

REQUEST_ID_HEADER = "X-Request-Id"
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


def accept_request_id(value: str | None) -> str:
    """The caller's request id when it is well formed, else a new one."""
    if value and _VALID_ID.match(value):
        return value
    return os.urandom(16).hex()  # 32 hex digits, like uuid4().hex, without building a UUID


def current_request_id() -> str | None:
    return request_id_var.get()
