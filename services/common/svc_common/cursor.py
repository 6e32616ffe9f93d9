"""Opaque pagination cursors: base64url of a small JSON object, strictly checked on the way in."""

from __future__ import annotations

import base64
import binascii
import json
import re

from svc_common.errors import BadRequestError

MAX_CURSOR_LENGTH = 512


def encode(fields: dict[str, str]) -> str:
    raw = json.dumps(fields, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, schema: dict[str, re.Pattern[str]]) -> dict[str, str]:
    """The cursor's fields, or BadRequestError (400) when it was not made by ``encode`` with ``schema``."""
    invalid = BadRequestError(
        "invalid cursor: pass back the next_cursor value of the previous page unchanged"
    )
    if len(cursor) > MAX_CURSOR_LENGTH or not re.fullmatch(r"[A-Za-z0-9_-]+", cursor):
        raise invalid
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise invalid from None
    if not isinstance(data, dict) or set(data) != set(schema):
        raise invalid
    for key, pattern in schema.items():
        value = data[key]
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise invalid
    return data
