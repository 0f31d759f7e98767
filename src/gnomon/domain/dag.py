"""The task graph of a process definition: names, dependencies, cycles, an order to walk it.

Every walk here is iterative, so a definition of any size (a chain of thousands of tasks) cannot
hit Python's recursion limit.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence

from gnomon.errors import GnomonError


class CycleError(GnomonError, ValueError):
    """The graph has a dependency cycle, so it has no order; `cycle` is one of them."""

    def __init__(self, cycle: list[str]) -> None:
        super().__init__("dependency cycle: " + " -> ".join(cycle))
        self.cycle = cycle


def topological_order(dependencies: Mapping[str, Sequence[str]]) -> list[str]:
    """Every name of `dependencies` after all of its dependencies (Kahn's algorithm).

    Names in the mapping's order where the graph allows it; dependencies on names not in the
    mapping are ignored (a run's task filter leaves some out).

    Raises:
        CycleError: the graph has a cycle (stored definitions are checked on the way in, but the
            scheduler must not trust that).
    """
    if not any(dependencies.values()):
        return list(dependencies)  # the common case, and the scheduler asks on every step
    waiting = dict.fromkeys(dependencies, 0)
    dependants: dict[str, list[str]] = {name: [] for name in dependencies}
    for name, needs in dependencies.items():
        for need in set(needs):
            if need in waiting:
                waiting[name] += 1
                dependants[need].append(name)
    ready = deque(name for name, count in waiting.items() if count == 0)
    order: list[str] = []
    while ready:
        name = ready.popleft()
        order.append(name)
        for dependant in dependants[name]:
            waiting[dependant] -= 1
            if waiting[dependant] == 0:
                ready.append(dependant)
    if len(order) < len(waiting):
        raise CycleError(find_cycle(dependencies) or sorted(set(waiting) - set(order)))
    return order


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
