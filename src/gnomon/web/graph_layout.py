"""Where each box of a task graph goes: a layered layout, left to right, of our own.

Three classic steps (Sugiyama's), small enough to run on every page load:

1. *Layers*: a task sits one column right of its latest dependency (longest path), so every
   edge points right. An edge that would close a cycle (definitions are validated as DAGs, but
   the drawing must not fail on a bad one) is left out of the layering.
2. *Order*: edges spanning several columns get a waypoint in each column between; then sweeps
   right and left sort each column by the barycentre of its neighbours in the column before
   (after), keeping the order with the fewest crossings.
3. *Positions*: each column is pulled towards its neighbours' heights (isotonic regression keeps
   the order and the gaps), so chains come out straight.

Everything is in pixels of the drawing; `graph.py` turns the result into SVG.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

log = logging.getLogger(__name__)

NODE_WIDTH: Final = 196.0
COLUMN_GAP: Final = 64.0
NODE_GAP: Final = 18.0
WAYPOINT_GAP: Final = 10.0
"""Room kept around a waypoint of a long edge in a column."""
MARGIN: Final = 12.0
SWEEPS: Final = 8
SETTLING_ROUNDS: Final = 6


@dataclass(frozen=True)
class Box:
    """A task's place: its column (layer) and the top-left corner of its box."""

    layer: int
    x: float
    y: float
    width: float
    height: float

    @property
    def centre_y(self) -> float:
        return self.y + self.height / 2


@dataclass(frozen=True)
class Route:
    """An edge's path: from the source's right side, through waypoints, to the target's left."""

    source: str
    target: str
    points: tuple[tuple[float, float], ...]
    """Where the edge leaves the source, each waypoint as (left x, y) and (right x, y) in its
    column, and where it reaches the target."""
    forward: bool
    """False for an edge that closes a cycle, drawn against the flow."""


@dataclass(frozen=True)
class Layout:
    boxes: dict[str, Box]
    routes: tuple[Route, ...]
    width: float
    height: float


# An item of a column: a task's name, or a waypoint of a long edge as (source, target, layer).
_Item = str | tuple[str, str, int]


def layout(names: Sequence[str], edges: Sequence[tuple[str, str]], *, node_height: float) -> Layout:
    """Boxes for `names` (distinct) and routes for `edges` (source, target) between them."""
    known = set(names)
    pairs = list(dict.fromkeys((s, t) for s, t in edges if s in known and t in known and s != t))
    forward, backward = _acyclic(names, pairs)
    layer = _layers(names, forward)
    columns, links = _columns(names, forward, layer)
    _order(columns, links)
    heights = dict.fromkeys(names, node_height)
    ys = _positions(columns, links, heights)
    boxes = {
        name: Box(
            layer[name], _column_x(layer[name]), ys[name] - node_height / 2, NODE_WIDTH, node_height
        )
        for name in names
    }
    routes = [_route(s, t, boxes, ys, True) for s, t in forward]
    routes += [_route(s, t, boxes, ys, False) for s, t in backward]
    width = _column_x(len(columns)) - COLUMN_GAP + MARGIN if columns else 2 * MARGIN
    bottom = max((box.y + box.height for box in boxes.values()), default=0.0)
    lowest_waypoint = max((y for item, y in ys.items() if not isinstance(item, str)), default=0.0)
    height = max(bottom, lowest_waypoint) + MARGIN
    return Layout(boxes, tuple(_spread_ports(routes)), width, max(height, 2 * MARGIN))


def _column_x(layer: int) -> float:
    return MARGIN + layer * (NODE_WIDTH + COLUMN_GAP)


def _acyclic(
    names: Sequence[str], pairs: list[tuple[str, str]]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """`pairs` split into a DAG and the edges that close a cycle (found by depth-first search)."""
    successors: dict[str, list[str]] = defaultdict(list)
    for source, target in pairs:
        successors[source].append(target)
    state: dict[str, int] = {}  # 1 while on the search path, 2 when done
    back: set[tuple[str, str]] = set()
    for root in names:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(successors[root]))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                back.add((node, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(successors[child])))
    return [p for p in pairs if p not in back], [p for p in pairs if p in back]


def _layers(names: Sequence[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Longest path from a source: each task one layer past its deepest dependency."""
    predecessors: dict[str, list[str]] = defaultdict(list)
    indegree = dict.fromkeys(names, 0)
    successors: dict[str, list[str]] = defaultdict(list)
    for source, target in edges:
        predecessors[target].append(source)
        successors[source].append(target)
        indegree[target] += 1
    layer: dict[str, int] = {}
    ready = [name for name in names if indegree[name] == 0]
    while ready:
        node = ready.pop()
        layer[node] = max((layer[p] + 1 for p in predecessors[node]), default=0)
        for child in successors[node]:
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    return layer


def _columns(
    names: Sequence[str], edges: list[tuple[str, str]], layer: dict[str, int]
) -> tuple[list[list[_Item]], list[tuple[_Item, _Item]]]:
    """Each column's items in first-seen order, and the links between adjacent columns."""
    count = max(layer.values(), default=-1) + 1
    columns: list[list[_Item]] = [[] for _ in range(count)]
    for name in names:
        columns[layer[name]].append(name)
    links: list[tuple[_Item, _Item]] = []
    for source, target in edges:
        previous: _Item = source
        for middle in range(layer[source] + 1, layer[target]):
            waypoint = (source, target, middle)
            columns[middle].append(waypoint)
            links.append((previous, waypoint))
            previous = waypoint
        links.append((previous, target))
    return columns, links


def _order(columns: list[list[_Item]], links: list[tuple[_Item, _Item]]) -> None:
    """Sort each column in place to reduce crossings: barycentre sweeps, best order kept."""
    before: dict[_Item, list[_Item]] = defaultdict(list)
    after: dict[_Item, list[_Item]] = defaultdict(list)
    for left, right in links:
        after[left].append(right)
        before[right].append(left)
    best = [list(column) for column in columns]
    fewest = _crossings(columns, after)
    for sweep in range(SWEEPS):
        if fewest == 0:
            break
        rightwards = sweep % 2 == 0
        indices = range(1, len(columns)) if rightwards else range(len(columns) - 2, -1, -1)
        for index in indices:
            fixed = columns[index - 1] if rightwards else columns[index + 1]
            _sort_by_barycentre(columns[index], fixed, before if rightwards else after)
        crossings = _crossings(columns, after)
        if crossings < fewest:
            fewest, best = crossings, [list(column) for column in columns]
    columns[:] = best


def _sort_by_barycentre(
    column: list[_Item], fixed: list[_Item], neighbours: dict[_Item, list[_Item]]
) -> None:
    position = {item: index for index, item in enumerate(fixed)}

    def key(entry: tuple[int, _Item]) -> float:
        index, item = entry
        places = [position[n] for n in neighbours[item] if n in position]
        # An item without neighbours there keeps its place.
        return sum(places) / len(places) if places else float(index)

    column[:] = [item for _, item in sorted(enumerate(column), key=key)]


def _crossings(columns: list[list[_Item]], after: dict[_Item, list[_Item]]) -> int:
    total = 0
    for left, right in zip(columns, columns[1:], strict=False):
        position = {item: index for index, item in enumerate(right)}
        ends = [
            (i, position[n]) for i, item in enumerate(left) for n in after[item] if n in position
        ]
        ends.sort()
        # Two links cross when their left ends are in one order and their right ends the other.
        for a, (left_a, right_a) in enumerate(ends):
            for left_b, right_b in ends[a + 1 :]:
                if left_b > left_a and right_b < right_a:
                    total += 1
    return total


def _positions(
    columns: list[list[_Item]], links: list[tuple[_Item, _Item]], heights: dict[str, float]
) -> dict[_Item, float]:
    """The centre height of every item: packed first, then pulled towards its neighbours."""
    neighbours: dict[_Item, list[_Item]] = defaultdict(list)
    for left, right in links:
        neighbours[left].append(right)
        neighbours[right].append(left)
    gaps = [_gaps(column, heights) for column in columns]
    ys: dict[_Item, float] = {}
    tallest = max((sum(g) for g in gaps), default=0.0)
    for column, column_gaps in zip(columns, gaps, strict=True):
        y = (tallest - sum(column_gaps)) / 2
        for item, gap in zip(column, column_gaps, strict=True):
            y += gap
            ys[item] = y
    for _ in range(SETTLING_ROUNDS):
        for column, column_gaps in zip(columns, gaps, strict=True):
            wanted = [_mean([ys[n] for n in neighbours[item]], ys[item]) for item in column]
            for item, y in zip(column, _keep_apart(wanted, column_gaps[1:]), strict=True):
                ys[item] = y
    top = min((ys[item] - _half(item, heights) for item in ys), default=0.0)
    return {item: y - top + MARGIN for item, y in ys.items()}


def _half(item: _Item, heights: dict[str, float]) -> float:
    return heights[item] / 2 if isinstance(item, str) else WAYPOINT_GAP / 2


def _gaps(column: list[_Item], heights: dict[str, float]) -> list[float]:
    """The distance from each item's centre to the previous one's (the first: its half)."""
    gaps, previous = [], None
    for item in column:
        half = _half(item, heights)
        if previous is None:
            gaps.append(half)
        else:
            both_tasks = isinstance(item, str) and isinstance(previous, str)
            gaps.append(_half(previous, heights) + half + (NODE_GAP if both_tasks else 4.0))
        previous = item
    return gaps


def _mean(values: list[float], default: float) -> float:
    return sum(values) / len(values) if values else default


def _keep_apart(wanted: list[float], gaps: list[float]) -> list[float]:
    """Heights as close to `wanted` as can be (least squares) with each at least its gap below
    the one before: isotonic regression (pool adjacent violators) on the heights less the gaps."""
    offsets = [0.0]
    for gap in gaps:
        offsets.append(offsets[-1] + gap)
    blocks: list[list[float]] = []  # [mean, count]
    for want, offset in zip(wanted, offsets, strict=True):
        blocks.append([want - offset, 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean, count = blocks.pop()
            blocks[-1][0] = (blocks[-1][0] * blocks[-1][1] + mean * count) / (blocks[-1][1] + count)
            blocks[-1][1] += count
    levels = [mean for mean, count in blocks for _ in range(int(count))]
    return [level + offset for level, offset in zip(levels, offsets, strict=True)]


def _route(
    source: str, target: str, boxes: dict[str, Box], ys: dict[_Item, float], forward: bool
) -> Route:
    start, end = boxes[source], boxes[target]
    points = [(start.x + start.width, start.centre_y)]
    if forward:
        for middle in range(start.layer + 1, end.layer):
            y = ys[(source, target, middle)]
            points += [(_column_x(middle), y), (_column_x(middle) + NODE_WIDTH, y)]
    points.append((end.x, end.centre_y))
    return Route(source, target, tuple(points), forward)


def _spread_ports(routes: list[Route]) -> list[Route]:
    """Edges into (out of) one box meet its side at points spread by where they come from (go),
    so they do not all pile onto its middle."""
    outgoing: dict[str, list[int]] = defaultdict(list)
    incoming: dict[str, list[int]] = defaultdict(list)
    for index, route in enumerate(routes):
        if route.forward:
            outgoing[route.source].append(index)
            incoming[route.target].append(index)
    points = [list(route.points) for route in routes]
    for groups, end, neighbour in ((outgoing, 0, 1), (incoming, -1, -2)):
        for indices in groups.values():
            indices.sort(key=lambda i: points[i][neighbour][1])
            for rank, index in enumerate(indices):
                x, y = points[index][end]
                points[index][end] = (x, y + _port_offset(rank, len(indices)))
    return [
        Route(r.source, r.target, tuple(p), r.forward) for r, p in zip(routes, points, strict=True)
    ]


def _port_offset(rank: int, count: int) -> float:
    if count == 1:
        return 0.0
    spread = min(24.0, 6.0 * (count - 1))
    return -spread / 2 + spread * rank / (count - 1)
