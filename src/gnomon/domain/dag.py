"""The task graph of a process definition: names, dependencies, cycles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def find_cycle(dependencies: Mapping[str, Sequence[str]]) -> list[str] | None:
    """Return one dependency cycle as a path (first name repeated at the end), or None.

    A task that depends on itself is a cycle of length one. Names not in the mapping are ignored
    here; unknown names are reported separately.
    """
    state: dict[str, int] = {}  # 1 = on the current path, 2 = fully explored
    for start in dependencies:
        if state.get(start):
            continue
        cycle = _walk(start, dependencies, state, [])
        if cycle:
            return cycle
    return None


def _walk(
    name: str, graph: Mapping[str, Sequence[str]], state: dict[str, int], path: list[str]
) -> list[str] | None:
    # Iterative depth-first search, so a long chain cannot hit the recursion limit. Each frame
    # keeps its node's children, listed once: relisting them at every return to the node made
    # long dependency lists quadratic.
    stack: list[tuple[str, list[str], int]] = [(name, _children(name, graph), 0)]
    state[name] = 1
    path.append(name)
    while stack:
        node, children, index = stack[-1]
        if index == len(children):
            stack.pop()
            path.pop()
            state[node] = 2
            continue
        stack[-1] = (node, children, index + 1)
        child = children[index]
        if state.get(child) == 1:
            return path[path.index(child) :] + [child]
        if not state.get(child):
            state[child] = 1
            path.append(child)
            stack.append((child, _children(child, graph), 0))
    return None


def _children(name: str, graph: Mapping[str, Sequence[str]]) -> list[str]:
    return [c for c in graph.get(name, ()) if c in graph]
