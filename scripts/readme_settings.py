"""Rewrite the README's settings table from the docstrings in `gnomon.settings` (`make readme`)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from gnomon.settings import settings_table

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = re.compile(r"(<!-- settings:begin[^\n]*-->\n).*?(<!-- settings:end -->)", re.DOTALL)


def render(text: str) -> str:
    return SECTION.sub(lambda m: m.group(1) + settings_table() + "\n" + m.group(2), text)


if __name__ == "__main__":
    README.write_text(render(README.read_text()))
    sys.exit(0)
