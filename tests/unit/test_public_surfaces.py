"""Every package states its public surface in `__all__`, and other packages use only that.

A name another package imports is part of the importing package's contract with the imported one;
`__all__` is where that contract is written down. This test keeps the two in step: a new import
across packages needs the name in `__all__` (a decision, seen in review), and `__all__` names
nothing that does not exist.
"""

from __future__ import annotations
import __future__

import ast
import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import gnomon

SOURCE = Path(gnomon.__file__).parent


def _packages() -> list[str]:
    found = ["gnomon"]
    for info in pkgutil.walk_packages(gnomon.__path__, "gnomon."):
        if info.ispkg and ".migrations" not in info.name:
            found.append(info.name)
    return sorted(found)


PACKAGES = _packages()


def _owner(module: str) -> str:
    """The innermost package of `PACKAGES` that holds `module`."""
    return max((p for p in PACKAGES if module == p or module.startswith(p + ".")), key=len)


def _exported(package: str) -> list[str]:
    module: ModuleType = importlib.import_module(package)
    names = getattr(module, "__all__", None)
    assert names is not None, f"{package} states no __all__"
    return list(names)


@pytest.mark.parametrize("package", PACKAGES)
def test_every_package_exports_existing_public_names(package: str) -> None:
    """(ruff's RUF022 keeps each `__all__` sorted.)"""
    module = importlib.import_module(package)
    for name in _exported(package):
        private = name.startswith("_") and not name.startswith("__")
        assert not private, f"{package}.__all__ names the private {name}"
        assert hasattr(module, name), f"{package}.__all__ names {name}, which it lacks"


@pytest.mark.parametrize("package", PACKAGES)
def test_nothing_public_is_left_out_of_all(package: str) -> None:
    module = importlib.import_module(package)
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not inspect.ismodule(value)
        and not isinstance(value, __future__._Feature)
    }
    assert public <= set(_exported(package)), f"{package} leaves public names out of __all__"


def _cross_package_imports() -> Iterator[tuple[str, str, str]]:
    """(importing module, imported package, name) for every `from gnomon.x import name` of a
    name that is not a module, whose source and target are different packages.

    A package may export a whole module (`gnomon.storage.definitions`, its queries): then the
    name is that module's, and what the module defines is public with it."""
    for path in SOURCE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        relative = path.relative_to(SOURCE.parent).with_suffix("")
        module = ".".join(relative.parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            if not node.module.startswith("gnomon"):
                continue
            target = _owner(node.module)
            if target == _owner(module) or _owner(module).startswith(target + "."):
                continue
            exported_module = node.module.removeprefix(target + ".").split(".")[0]
            for alias in node.names:
                if _is_module(f"{node.module}.{alias.name}"):
                    continue
                if node.module != target and exported_module in _exported(target):
                    continue
                yield module, target, alias.name


def _is_module(dotted: str) -> bool:
    path = SOURCE.parent.joinpath(*dotted.split("."))
    return path.is_dir() or path.with_suffix(".py").is_file()


def test_packages_import_from_each_other_only_what_is_exported() -> None:
    stray = sorted(
        f"{module} imports {name} from {package}"
        for module, package, name in _cross_package_imports()
        if package != "gnomon" and name not in _exported(package)
    )
    assert not stray, "names used across packages but missing from __all__:\n" + "\n".join(stray)
