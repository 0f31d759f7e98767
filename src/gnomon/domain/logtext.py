"""What a stored log line may hold: text PostgreSQL can store, no longer than the bound, and a
visible mark wherever Gnomon changed it.

A job's output is bytes; PostgreSQL's text refuses NUL and anything that is not UTF-8, and one
such line used to make a whole batch of lines fail. So before a line is stored, NUL characters,
undecodable bytes (decoded as lone surrogates) and lone surrogates are replaced by U+FFFD, and
the line says how many were replaced; a line longer than `MAX_LOG_MESSAGE_CHARS` is cut and says
so. The marks are part of the message, so every reader (API, UI, CLI) sees them.
"""

from __future__ import annotations

import re
from typing import Final

from gnomon.domain.limits import MAX_LOG_MESSAGE_CHARS

REPLACEMENT: Final = "\ufffd"
CUT_MARK: Final = " [gnomon: line cut]"
MARK_ROOM: Final = 100
"""Characters kept free at the end of a cut line for the marks."""
_INVALID: Final = re.compile("[\x00\ud800-\udfff]")


def replaced_mark(count: int) -> str:
    return f" [gnomon: replaced {count} invalid characters]"


def decode_output(data: bytes) -> str:
    """`data` as text; undecodable bytes become lone surrogates, which `clean_message` counts."""
    return data.decode("utf-8", errors="surrogateescape")


def clean_message(text: str, *, cut: bool = False, limit: int = MAX_LOG_MESSAGE_CHARS) -> str:
    """`text` made storable: invalid characters replaced, cut to `limit`, each change marked.

    Args:
        text: one line, possibly holding NUL, lone surrogates or undecodable bytes (as decoded by
            `decode_output`).
        cut: the line was cut already (by a reader that dropped its tail while streaming).
        limit: the most characters of the result, marks included.
    """
    if cut or len(text) > limit:
        text = text[: max(0, limit - MARK_ROOM)]
        cut = True
    text, replaced = _INVALID.subn(REPLACEMENT, text)
    if replaced:
        text += replaced_mark(replaced)
    if cut:
        text += CUT_MARK
    return text


def storable(text: str, limit: int) -> str:
    """`text` (a short field such as a source) without invalid characters, cut to `limit`."""
    return _INVALID.sub(REPLACEMENT, text)[:limit]
