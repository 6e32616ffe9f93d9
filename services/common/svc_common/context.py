"""Per-request context shared by logging and outgoing calls (the request id)."""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from contextvars import ContextVar

REQUEST_ID_HEADER = "X-Request-Id"
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


# Generated ids come in blocks of 256 made at once: per request, taking the next one of the block
# is less work than formatting a counter for each (measured with callgrind; design.md, Observability).
_LOW_DIGITS = tuple(f"{low:02x}" for low in range(256))


def _new_sequence() -> None:
    """A random 64-bit prefix per process (drawn again in a forked child) and a block counter."""
    global _prefix, _blocks, _ids
    _prefix = os.urandom(8).hex()
    _blocks = itertools.count(int.from_bytes(os.urandom(3), "big"))
    _ids = iter(())


_prefix = ""
_blocks = itertools.count()
_ids: Iterator[str] = iter(())
_new_sequence()
os.register_at_fork(after_in_child=_new_sequence)


def new_request_id() -> str:
    """32 hex digits, like uuid4().hex: the random prefix and a 64-bit counter.

    Unique per process by the counter (the next of a block of 256; a new block takes the next
    block number, so two threads refilling at once get different blocks: a few ids may go unused,
    none is given twice), across processes by the random prefix; no system call per request (ids
    are correlation keys, not secrets). The block counter starts below 2**24 and would need 2**56
    blocks to outgrow its 7 bytes.
    """
    request_id = next(_ids, None)
    if request_id is None:
        return _next_block()
    return request_id


def _next_block() -> str:
    global _ids
    head = _prefix + next(_blocks).to_bytes(7, "big").hex()
    ids = iter([head + low for low in _LOW_DIGITS])
    _ids = ids
    return next(ids)


def accept_request_id(value: str | None) -> str:
    """The caller's request id when it is well formed, else a new one."""
    if value and _VALID_ID.match(value):
        return value
    return new_request_id()


def current_request_id() -> str | None:
    return request_id_var.get()
