"""Text that cannot be stored: a NUL byte (PostgreSQL refuses it in text and JSON) or a lone
surrogate (no encoding can write it; JSON's `"\\ud800"` decodes to one). Checked once, for every
string of every wire model, so no field can let one through to the store."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored, or None when it can."""
    if "\x00" in text:
        return "contains a NUL byte (\\u0000), which cannot be stored"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            bad = ord(text[exc.start])
            return f"contains a lone surrogate (\\u{bad:04x}), which is not valid Unicode"
    return None


def unstorable_text(value: Any) -> str | None:
    """Why a string inside `value` (a string, or lists and mappings of them, keys included)
    cannot be stored, naming the item; None when all can be. Nested models are not entered:
    they check their own fields."""
    # Exact type checks, not isinstance against ABCs: this runs for every field of every model,
    # some 90,000 times for the largest definition (issue 9, defect 8).
    kind = type(value)
    if kind is str:
        return text_problem(value)
    if kind is list or kind is tuple:
        pairs: Any = enumerate(value)
    elif isinstance(value, Mapping):
        pairs = value.items()
    else:
        return None
    for key, item in pairs:
        if type(key) is str and (problem := text_problem(key)):
            return f"key {key[:50]!r} {problem}"
        if type(item) in _INERT:
            continue
        if problem := unstorable_text(item):
            return f"item {key!r}: {problem}" if isinstance(key, str) else f"item {key} {problem}"
    return None


_INERT: Final = frozenset({int, float, bool, type(None)})
"""Types that hold no text, skipped without a call."""
