"""Per-request context shared by logging and outgoing calls (the request id)."""

from __future__ import annotations

import itertools
import os
import re
from contextvars import ContextVar

REQUEST_ID_HEADER = "X-Request-Id"
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


def _new_sequence() -> None:
    """A random 64-bit prefix per process (drawn again in a forked child) and a counter."""
    global _prefix, _counter
    _prefix = os.urandom(8).hex()
    _counter = itertools.count(int.from_bytes(os.urandom(4), "big"))


_prefix = ""
_counter = itertools.count()
_new_sequence()
os.register_at_fork(after_in_child=_new_sequence)


def accept_request_id(value: str | None) -> str:
    """The caller's request id when it is well formed, else a new one."""
    if value and _VALID_ID.match(value):
        return value
    # 32 hex digits, like uuid4().hex: unique per process by the counter, across processes by the
    # random prefix; no system call per request (ids are correlation keys, not secrets). The counter
    # starts below 2**32 and would need 2**64 requests to outgrow its 8 bytes; bytes.hex() is about
    # half the work of a "016x" format spec.
    return _prefix + next(_counter).to_bytes(8, "big").hex()


def current_request_id() -> str | None:
    return request_id_var.get()
