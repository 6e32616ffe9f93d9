"""Reusable bounded field types for request models.

Patterns are checked with Python ``re.search`` semantics, exactly as JSON Schema (and so
OpenAPI clients and fuzzers) interpret ``pattern``; a single trailing newline that ``$`` admits
is removed after the check. Every text must be encodable as UTF-8 (no lone surrogates).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import core_schema


def _utf8(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogate code points)") from None
    return value


@dataclass(frozen=True)
class SearchPattern:
    """``pattern`` constraint with JSON Schema semantics (documented in the OpenAPI schema)."""

    regex: str
    hint: str

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        compiled = re.compile(self.regex)

        def check(value: str) -> str:
            if not compiled.search(value):
                raise ValueError(f"must match {self.regex} ({self.hint})")
            return value.removesuffix("\n") if self.regex.endswith("$") else value

        return core_schema.no_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        js = handler(schema)
        js["pattern"] = self.regex
        return js


# Control characters (Unicode category Cc): NUL, escape, DEL, C1 codes... Never in a name; in
# multi-line text only tab, line feed and carriage return. The JSON Schema patterns say the same.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROLS_BUT_WHITESPACE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_NO_CONTROLS = r"^[^\u0000-\u001f\u007f-\u009f]*$"
_NO_CONTROLS_BUT_WHITESPACE = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$"


@dataclass(frozen=True)
class NoControlCharacters:
    """Refuses control characters (all, or all but tab/LF/CR); documented as a JSON Schema pattern."""

    multiline: bool

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        forbidden = _CONTROLS_BUT_WHITESPACE if self.multiline else _CONTROLS

        def check(value: str) -> str:
            found = forbidden.search(value)
            if found:
                raise ValueError(f"must not contain control characters (found U+{ord(found.group()):04X})")
            return value

        return core_schema.no_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        js = handler(schema)
        js["pattern"] = _NO_CONTROLS_BUT_WHITESPACE if self.multiline else _NO_CONTROLS
        return js


def text(min_length: int, max_length: int, description: str | None = None, multiline: bool = False) -> Any:
    """A str of bounded length that is valid Unicode, without control characters.

    ``multiline`` admits tab, line feed and carriage return (free text); names admit none.
    """
    return Annotated[
        str,
        Field(min_length=min_length, max_length=max_length, description=description),
        AfterValidator(_utf8),
        NoControlCharacters(multiline),
    ]


def patterned(regex: str, hint: str, max_length: int, description: str | None = None) -> Any:
    return Annotated[
        str,
        Field(min_length=1, max_length=max_length, description=description),
        AfterValidator(_utf8),
        SearchPattern(regex, hint),
    ]


def _json_integer(value: Any) -> Any:
    """JSON Schema counts 3.0 as an integer; "3" and true are not integers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def integer(ge: int, le: int, description: str | None = None) -> Any:
    """A bounded integer with JSON Schema semantics, for strict request models."""
    return Annotated[int, Field(ge=ge, le=le, description=description), BeforeValidator(_json_integer)]
