"""A task graph drawn on the server as inline SVG: a box per task definition, an arrow per
dependency, laid out in columns left to right (`graph_layout`).

Each box shows the task's status as a colour (a `status-*` class of the stylesheet) and as an
icon of its own shape, its name and a few short lines (times, failures), truncated to fit, with
the full text as the box's tooltip (`<title>`). Required dependencies are solid arrows, optional
ones dashed. Wide graphs scroll sideways in their frame rather than shrink past reading.

The SVG is a picture for the eye (`role="img"` with a label); a list of the tasks with their
status and dependencies follows it for screen readers. It is written by a Jinja template, so
every name and line is escaped, and it carries no `style` attribute (the CSP forbids them).
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from markupsafe import Markup

from gnomon.web.graph_layout import NODE_WIDTH, Layout, Route, layout
from gnomon.web.rendering import ENVIRONMENT

log = logging.getLogger(__name__)

MAX_LINES: Final = 3
"""Extra lines a box shows; the tooltip has them all."""
_PAD: Final = 10.0
_TEXT_X: Final = 32.0
_NAME_SIZE: Final = 13.0
_LINE_SIZE: Final = 11.5
_LINE_HEIGHT: Final = 15.0
_ARROW: Final = 7.0


@dataclass(frozen=True)
class GraphNode:
    """A task definition as the graph shows it."""

    name: str
    """The task definition's name."""
    status: str | None
    """running, succeeded, failed or waiting; None when it has not run (or for a definition's
    own graph, which has no runs)."""
    lines: tuple[str, ...] = ()
    """Short extra lines: a time range, a duration, `2 failures`."""
    href: str | None = None
    """Where the box links to, if anywhere."""


@dataclass(frozen=True)
class GraphEdge:
    """A dependency: `target` runs after `source`."""

    source: str
    """The dependency."""
    target: str
    """The task that depends on it."""
    required: bool
    """The dependency must succeed (`success_required`): a solid arrow; else a dashed one."""


@dataclass(frozen=True)
class _DrawnNode:
    node: GraphNode
    status: str
    x: float
    y: float
    name: str
    lines: tuple[tuple[float, str], ...]
    tooltip: str
    described: str


@dataclass(frozen=True)
class _DrawnEdge:
    edge: GraphEdge
    kind: str
    path: str
    arrow: str


def graph_svg(nodes: Sequence[GraphNode], edges: Sequence[GraphEdge], *, label: str) -> Markup:
    """`nodes` and `edges` as an SVG figure in a scrolling frame, with a text alternative.

    A node named twice is drawn once (the first); edges naming an unknown node are left out.
    """
    unique = list({node.name: node for node in reversed(nodes)}.values())[::-1]
    known = {node.name for node in unique}
    kept = list(
        {(e.source, e.target): e for e in reversed(edges) if {e.source, e.target} <= known}.values()
    )[::-1]
    shown_lines = min(max((len(node.lines) for node in unique), default=0), MAX_LINES)
    height = 2 * _PAD + 16 + _LINE_HEIGHT * shown_lines
    placed = layout(
        [node.name for node in unique], [(e.source, e.target) for e in kept], node_height=height
    )
    return _draw(unique, kept, placed, label)


def _draw(nodes: list[GraphNode], edges: list[GraphEdge], placed: Layout, label: str) -> Markup:
    by_pair = {(edge.source, edge.target): edge for edge in edges}
    after: dict[str, list[GraphEdge]] = {}
    for edge in edges:
        after.setdefault(edge.target, []).append(edge)
    drawn_nodes = [_drawn_node(node, placed, after.get(node.name, [])) for node in nodes]
    drawn_edges = [_drawn_edge(by_pair[(r.source, r.target)], r) for r in placed.routes]
    html = ENVIRONMENT.get_template("_graph.html").render(
        label=label,
        width=round(placed.width),
        height=round(placed.height),
        nodes=drawn_nodes,
        edges=drawn_edges,
        node_width=NODE_WIDTH,
        node_height=next(iter(placed.boxes.values())).height if placed.boxes else 0,
    )
    return Markup(html)  # noqa: S704 - the template escaped every value in it


def _drawn_node(node: GraphNode, placed: Layout, dependencies: list[GraphEdge]) -> _DrawnNode:
    box = placed.boxes[node.name]
    room = NODE_WIDTH - _TEXT_X - _PAD
    first = _PAD + _NAME_SIZE + 1
    lines = tuple(
        (first + _LINE_HEIGHT * (index + 1), fit(line, room, _LINE_SIZE))
        for index, line in enumerate(node.lines[:MAX_LINES])
    )
    status = node.status or "none"
    word = node.status or "not run"
    tooltip = "\n".join((node.name, word, *node.lines))
    return _DrawnNode(
        node=node,
        status=status,
        x=round(box.x, 1),
        y=round(box.y, 1),
        name=fit(node.name, room, _NAME_SIZE, bold=True),
        lines=lines,
        tooltip=tooltip,
        described=_described(node, word, dependencies),
    )


def _described(node: GraphNode, word: str, dependencies: list[GraphEdge]) -> str:
    """The node in words for the text alternative: `load: failed; 2 failures; after a, b`."""
    parts = [f"{node.name}: {word}", *node.lines]
    required = [edge.source for edge in dependencies if edge.required]
    optional = [edge.source for edge in dependencies if not edge.required]
    if required:
        parts.append("after " + ", ".join(required))
    if optional:
        parts.append("optionally after " + ", ".join(optional))
    return "; ".join(parts)


def _drawn_edge(edge: GraphEdge, route: Route) -> _DrawnEdge:
    points = list(route.points)
    end_x, end_y = points[-1]
    points[-1] = (end_x - _ARROW + 1, end_y)
    kind = "edge-required" if edge.required else "edge-optional"
    if not route.forward:
        kind += " edge-back"
    arrow = (
        f"M{end_x - _ARROW:.1f} {end_y - _ARROW / 2 - 0.5:.1f}L{end_x:.1f} {end_y:.1f}"
        f"L{end_x - _ARROW:.1f} {end_y + _ARROW / 2 + 0.5:.1f}z"
    )
    return _DrawnEdge(edge, kind, _path(points), arrow)


def _path(points: list[tuple[float, float]]) -> str:
    """Curves across the gaps between columns, straight lines through the columns between."""
    (x, y), rest = points[0], points[1:]
    parts = [f"M{x:.1f} {y:.1f}"]
    for index, (next_x, next_y) in enumerate(rest):
        if index % 2 == 0:
            bend = max(abs(next_x - x) / 2, 40.0)
            parts.append(f"C{x + bend:.1f} {y:.1f} {next_x - bend:.1f} {next_y:.1f}")
            parts.append(f" {next_x:.1f} {next_y:.1f}")
        else:
            parts.append(f"L{next_x:.1f} {next_y:.1f}")
        x, y = next_x, next_y
    return "".join(parts)


def fit(text: str, room: float, size: float, *, bold: bool = False) -> str:
    """`text` cut short with `…` so that it fits `room` pixels at font size `size`.

    Glyph widths are estimates (no font is at hand on the server), on the generous side so a
    name rather falls short of the box than spills out of it.
    """
    limit = room / size / (1.06 if bold else 1.0)
    used = 0.0
    for index, char in enumerate(text):
        used += _em(char)
        if used > limit:
            kept = text[:index]
            while kept and sum(map(_em, kept)) + _em("…") > limit:
                kept = kept[:-1]
            return kept.rstrip() + "…"
    return text


def _em(char: str) -> float:
    """A character's rough width in ems."""
    if unicodedata.east_asian_width(char) in "WF":
        return 1.0
    if char in "il.,:;'|!I ":
        return 0.3
    if char in "fjrt()[]-":
        return 0.38
    if char in "mwMW@%":
        return 0.9
    if char.isupper():
        return 0.7
    if char.isdigit():
        return 0.58
    return 0.58
