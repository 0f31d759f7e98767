"""Properties of the task-graph walks: orders respect dependencies, cycles are found, and no graph
is too long for them (they never recurse)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gnomon.domain.dag import CycleError, find_cycle, topological_order

graphs = st.dictionaries(
    st.sampled_from([f"t{i}" for i in range(12)]),
    st.lists(st.sampled_from([f"t{i}" for i in range(14)]), max_size=4),  # t12, t13: unknown
    max_size=12,
)


def is_cycle(graph: dict[str, list[str]], path: list[str]) -> bool:
    return (
        len(path) >= 2
        and path[0] == path[-1]
        and all(b in graph.get(a, []) for a, b in zip(path, path[1:], strict=False))
    )


@given(graphs)
def test_an_order_exists_exactly_when_there_is_no_cycle(graph: dict[str, list[str]]) -> None:
    cycle = find_cycle(graph)
    if cycle is not None:
        assert is_cycle(graph, cycle)
        with pytest.raises(CycleError) as raised:
            topological_order(graph)
        assert is_cycle(graph, raised.value.cycle)
        return
    order = topological_order(graph)
    assert sorted(order) == sorted(graph)
    position = {name: index for index, name in enumerate(order)}
    for name, needs in graph.items():
        for need in needs:
            if need in graph:
                assert position[need] < position[name]


@pytest.mark.parametrize("length", [1_500, 20_000])
def test_long_chains_and_cycles_need_no_recursion(length: int) -> None:
    chain = {f"t{i}": [f"t{i - 1}"] if i else [] for i in range(length)}
    reversed_chain = dict(reversed(chain.items()))
    assert topological_order(reversed_chain) == list(chain)
    assert find_cycle(reversed_chain) is None
    looped = {**chain, "t0": [f"t{length - 1}"]}
    cycle = find_cycle(looped)
    assert cycle is not None and len(cycle) == length + 1
    with pytest.raises(CycleError):
        topological_order(looped)
