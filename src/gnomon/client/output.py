"""How the client verbs print: aligned tables for people (colour only on a terminal, and never
with NO_COLOR, as rich decides), or the API's own data as JSON or YAML for scripts.

`-o table` (the default) shows relative times ("3m ago"); `-o wide` adds columns and shows
absolute times; `-o json` and `-o yaml` print exactly what the API answered.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, Final

import yaml
from rich.console import Console
from rich.table import Table
from rich.text import Text

OUTPUTS: Final = ("table", "wide", "json", "yaml")
"""The `-o` choices of every verb that prints data."""

STATUS_STYLES: Final = {"succeeded": "green", "failed": "red", "running": "yellow"}

Cell = str | Text


def console() -> Console:
    """A console on stdout, coloured only if it is a terminal (and NO_COLOR is unset). It is
    never narrower than a table: rich would cut cells to fit the window ("…"), and a run id cut
    short is useless; like kubectl's, a long line wraps in the terminal instead."""
    return Console(highlight=False, width=UNLIMITED_WIDTH)


UNLIMITED_WIDTH: Final = 100_000


def status(value: str) -> Text:
    """A run or task status, coloured by how it went (on a terminal)."""
    return Text(value, style=STATUS_STYLES.get(value, ""))


def print_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    *,
    min_widths: Sequence[int] = (),
    header: bool = True,
) -> None:
    """Aligned columns under upper-case headers, kubectl style: no borders, two spaces apart.

    Args:
        headers: The column names.
        rows: The cells; `Text` keeps its style, `str` is shown as it is (never as markup).
        min_widths: Column widths to keep to at least (a watch's later lines).
        header: Whether to print the header line.
    """
    table = Table(
        box=None, pad_edge=False, show_edge=False, header_style="bold", show_header=header
    )
    for index, name in enumerate(headers):
        width = min_widths[index] if index < len(min_widths) else None
        table.add_column(name, no_wrap=True, min_width=width)
    for row in rows:
        table.add_row(*(cell if isinstance(cell, Text) else Text(cell) for cell in row))
    print_renderable(table)


def print_renderable(renderable: Any) -> None:
    """Print what rich draws, without the trailing blanks of its padded cells."""
    out = console()
    with out.capture() as captured:
        out.print(renderable)
    for line in captured.get().splitlines():
        sys.stdout.write(line.rstrip() + "\n")


def print_data(data: Any, output: str) -> None:
    """The API's data as JSON (indented) or YAML (block style, keys in the API's order)."""
    if output == "json":
        print(json.dumps(data, indent=2))
    else:
        print(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), end="")


def print_document(data: Any, output: str) -> None:
    """One item of a stream (`-w -o json`): a compact JSON line, or a `---` YAML document."""
    if output == "json":
        print(json.dumps(data), flush=True)
    else:
        print("---\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), end="")
        sys.stdout.flush()
