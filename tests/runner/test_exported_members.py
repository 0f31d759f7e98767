"""Each runner package exports exactly its public names: everything in `__all__` exists, and
nothing public is there that `__all__` leaves out (submodules aside)."""

from __future__ import annotations
import __future__

import importlib
import inspect

import pytest

PACKAGES = ["gnomon.runner", "gnomon.runner.docker", "gnomon.runner.kubernetes"]


def public_members(package: object) -> set[str]:
    """The package's public names other than its submodules and `__future__` features."""
    return {
        name
        for name, value in vars(package).items()
        if not name.startswith("_")
        and not inspect.ismodule(value)
        and not isinstance(value, __future__._Feature)
    }


@pytest.mark.parametrize("name", PACKAGES)
def test_every_exported_name_exists_and_is_public(name: str) -> None:
    package = importlib.import_module(name)
    for exported in package.__all__:
        assert hasattr(package, exported), exported
        assert not exported.startswith("_")
    assert sorted(package.__all__) == package.__all__


@pytest.mark.parametrize("name", PACKAGES)
def test_nothing_public_is_left_out_of_all(name: str) -> None:
    package = importlib.import_module(name)
    assert public_members(package) == set(package.__all__)
