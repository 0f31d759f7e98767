"""The task graph's drawing: every task once, boxes apart, arrows pointing onwards, text escaped,
and readable at fifty tasks."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from gnomon.web.graph import GraphEdge, GraphNode, fit, graph_svg
from gnomon.web.graph_layout import NODE_WIDTH, layout
from tests.web.html import Element, parse

SVG = "{http://www.w3.org/2000/svg}"


@st.composite
def dags(draw: st.DrawFn, max_size: int = 30) -> tuple[list[str], list[tuple[str, str]]]:
    """Distinct names in a random order and random edges from earlier to later in a hidden
    topological order."""
    count = draw(st.integers(min_value=0, max_value=max_size))
    names = [f"t{index}" for index in range(count)]
    pairs = [(a, b) for a in range(count) for b in range(a + 1, count)]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=60)) if pairs else []
    shown = draw(st.permutations(names))
    return list(shown), [(names[a], names[b]) for a, b in chosen]


def drawn(nodes: list[GraphNode], edges: list[GraphEdge]) -> Element:
    return parse(str(graph_svg(nodes, edges, label="Task graph")))


def node_elements(document: Element) -> list[Element]:
    return [e for e in document.find_all("g") if "node" in e.classes]


@settings(max_examples=150, deadline=None)
@given(dags())
def test_every_task_is_drawn_once_and_boxes_do_not_overlap(dag) -> None:
    names, edges = dag
    placed = layout(names, edges, node_height=56)
    assert sorted(placed.boxes) == sorted(names)
    boxes = list(placed.boxes.values())
    for index, a in enumerate(boxes):
        for b in boxes[index + 1 :]:
            apart = (
                a.x + a.width <= b.x
                or b.x + b.width <= a.x
                or a.y + a.height <= b.y
                or b.y + b.height <= a.y
            )
            assert apart, (a, b)
        assert a.x >= 0 and a.y >= 0
        assert a.x + a.width <= placed.width and a.y + a.height <= placed.height
    document = drawn([GraphNode(n, None) for n in names], [GraphEdge(s, t, True) for s, t in edges])
    assert sorted(e.attrs["data-task"] for e in node_elements(document)) == sorted(names)


@settings(max_examples=150, deadline=None)
@given(dags())
def test_every_edge_goes_to_a_later_layer(dag) -> None:
    names, edges = dag
    placed = layout(names, edges, node_height=56)
    for source, target in edges:
        assert placed.boxes[source].layer < placed.boxes[target].layer
    assert len(placed.routes) == len(edges)
    for route in placed.routes:
        xs = [x for x, _ in route.points]
        assert xs == sorted(xs), route


def test_a_task_sits_one_layer_past_its_deepest_dependency() -> None:
    placed = layout(
        ["d", "c", "b", "a"], [("a", "b"), ("b", "c"), ("a", "c"), ("c", "d")], node_height=40
    )
    assert {name: box.layer for name, box in placed.boxes.items()} == {
        "a": 0,
        "b": 1,
        "c": 2,
        "d": 3,
    }


def test_a_cycle_is_drawn_without_failing() -> None:
    placed = layout(["a", "b", "c"], [("a", "b"), ("b", "c"), ("c", "a")], node_height=40)
    assert len(placed.routes) == 3
    assert [route.forward for route in placed.routes].count(False) == 1


def test_barycentre_ordering_uncrosses_a_crossed_pair() -> None:
    placed = layout(["a", "b", "x", "y"], [("a", "y"), ("b", "x")], node_height=40)
    boxes = placed.boxes
    assert (boxes["a"].y < boxes["b"].y) == (boxes["y"].y < boxes["x"].y)


HOSTILE = [
    "<script>alert(1)</script>",
    "a\"b'c",
    "&amp;",
    "]]><x/>",
    "{{ 7*7 }}",
]


def test_hostile_text_is_escaped_everywhere() -> None:
    nodes = [
        GraphNode(name, "failed", lines=(name, "<b>bold</b>"), href="/tasks/1?a=<b>&c")
        for name in HOSTILE
    ]
    edges = [GraphEdge(HOSTILE[0], name, index % 2 == 0) for index, name in enumerate(HOSTILE[1:])]
    html = str(graph_svg(nodes, edges, label="<i>label</i>"))
    assert "<script>" not in html and "<b>" not in html and "<i>" not in html
    document = parse(html)
    assert {e.attrs["data-task"] for e in node_elements(document)} == set(HOSTILE)
    edge_ends = {
        (e.attrs["data-source"], e.attrs["data-target"])
        for e in document.find_all("g")
        if "edge" in e.classes
    }
    assert edge_ends == {(edge.source, edge.target) for edge in edges}
    assert document.find("svg").attrs["aria-label"] == "<i>label</i>"
    # The SVG is well-formed XML too, whatever the names.
    ET.fromstring(html[html.index("<svg") : html.rindex("</svg>") + 6])


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=40),
        min_size=1,
        max_size=6,
        unique=True,
    )
)
def test_any_name_comes_back_as_written(names) -> None:
    nodes = [GraphNode(name, "running", lines=(name,)) for name in names]
    html = str(graph_svg(nodes, [], label=names[0]))
    document = parse(html)
    assert [e.attrs["data-task"] for e in node_elements(document)] == names
    titles = [e.find("title").text() for e in node_elements(document)]
    assert titles == [" ".join(f"{name}\nrunning\n{name}".split()) for name in names]


def test_status_is_a_class_an_attribute_an_icon_and_a_word() -> None:
    statuses = ["running", "succeeded", "failed", "waiting", None]
    document = drawn([GraphNode(f"t{i}", s) for i, s in enumerate(statuses)], [])
    nodes = node_elements(document)
    assert [n.attrs["data-status"] for n in nodes] == [
        "running",
        "succeeded",
        "failed",
        "waiting",
        "none",
    ]
    assert [f"status-{n.attrs['data-status']}" in n.classes for n in nodes] == [True] * 5
    shapes = {str(n.find("svg").children) for n in nodes}
    assert len(shapes) == 5, "each status has an icon of its own shape"
    alternative = document.find("ul", cls="visually-hidden").text()
    for word in ("t0: running", "t3: waiting", "t4: not run"):
        assert word in alternative


def test_no_inline_style_and_required_edges_differ_from_optional() -> None:
    html = str(
        graph_svg(
            [GraphNode("a", None), GraphNode("b", None), GraphNode("c", None)],
            [GraphEdge("a", "b", True), GraphEdge("a", "c", False)],
            label="g",
        )
    )
    assert "style=" not in html
    document = parse(html)
    kinds = {
        e.attrs["data-target"]: e.classes for e in document.find_all("g") if "edge" in e.classes
    }
    assert "edge-required" in kinds["b"] and "edge-optional" in kinds["c"]
    assert "optionally after a" in document.find("ul").text()


def test_long_names_are_cut_with_the_full_name_in_the_tooltip() -> None:
    name = "transform-the-customer-orders-into-the-warehouse-schema"
    document = drawn([GraphNode(name, "succeeded", lines=("x" * 80,))], [])
    node = node_elements(document)[0]
    shown = node.find("text", cls="node-name").text()
    assert shown.endswith("…") and name.startswith(shown[:-1])
    assert name in node.find("title").text()
    assert fit("short", 150, 13) == "short"
    assert fit("漢" * 40, 150, 13).count("漢") <= 12


def test_duplicate_names_and_unknown_edge_ends_are_dropped() -> None:
    document = drawn(
        [GraphNode("a", "failed"), GraphNode("a", "succeeded"), GraphNode("b", None)],
        [GraphEdge("a", "b", True), GraphEdge("a", "b", False), GraphEdge("ghost", "b", True)],
    )
    nodes = node_elements(document)
    assert [(n.attrs["data-task"], n.attrs["data-status"]) for n in nodes] == [
        ("a", "failed"),
        ("b", "none"),
    ]
    assert len([e for e in document.find_all("g") if "edge" in e.classes]) == 1


def test_an_empty_graph_is_an_empty_picture() -> None:
    document = drawn([], [])
    assert node_elements(document) == []


def fifty_tasks() -> tuple[list[GraphNode], list[GraphEdge]]:
    """A realistic wide DAG: an extract fans out to 12 loaders, each with 3 transforms, that
    join into a report."""
    nodes = [GraphNode("extract", "succeeded", ("10:00:00–10:01:00", "1 min"))]
    edges = []
    for table in range(12):
        nodes.append(GraphNode(f"load-{table}", "succeeded", ("1 min",)))
        edges.append(GraphEdge("extract", f"load-{table}", True))
    for index in range(36):
        name = f"transform-{index}"
        nodes.append(GraphNode(name, "failed" if index == 7 else "running", ("2 failures",)))
        edges.append(GraphEdge(f"load-{index % 12}", name, index % 5 != 0))
        edges.append(GraphEdge(name, "report", True))
    nodes.append(GraphNode("report", None))
    return nodes, edges


def test_fifty_tasks_stay_readable() -> None:
    nodes, edges = fifty_tasks()
    assert len(nodes) == 50
    placed = layout([n.name for n in nodes], [(e.source, e.target) for e in edges], node_height=56)
    assert max(box.layer for box in placed.boxes.values()) == 3
    # Boxes keep their size (the frame scrolls instead of shrinking the picture).
    assert all(box.width == NODE_WIDTH for box in placed.boxes.values())
    document = drawn(nodes, edges)
    assert len(node_elements(document)) == 50
    svg = document.find("svg")
    assert float(svg.attrs["width"]) == placed.width
    assert len(document.find("ul").find_all("li")) == 50
