"""A definition's task graph as a text tree (`gnomon describe`): each task under the tasks it
depends on, drawn by rich. A task with several dependencies appears under each; its own
dependants are drawn the first time only, and later mentions say so."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from rich.tree import Tree


def dependants(tasks: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Each task's dependants, in definition order; the roots under the key ''."""
    names = [task["task_definition_name"] for task in tasks]
    below: dict[str, list[str]] = {"": [], **{name: [] for name in names}}
    for task in tasks:
        needs = [d["task_definition_name"] for d in task.get("dependencies") or []]
        known = [need for need in needs if need in below and need]
        for need in known or [""]:
            below[need].append(task["task_definition_name"])
    return below


def task_tree(
    title: str, tasks: list[dict[str, Any]], label: Callable[[str], Text] | None = None
) -> Tree:
    """The tree under `title`; `label` gives each task's line (default: its name)."""
    below = dependants(tasks)
    tree = Tree(Text(title), guide_style="dim")
    drawn: set[str] = set()
    stack = [(tree, name) for name in reversed(below[""])]
    while stack:  # iterative: a chain of thousands of tasks must not hit the recursion limit
        parent, name = stack.pop()
        text = label(name) if label else Text(name)
        if name in drawn:
            parent.add(text + Text(" (see above)", style="dim"))
            continue
        drawn.add(name)
        node = parent.add(text)
        stack.extend((node, child) for child in reversed(below[name]))
    return tree
