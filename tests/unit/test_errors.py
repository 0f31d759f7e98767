"""Every exception Gnomon defines derives from one root, `GnomonError` (house style)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import gnomon
from gnomon.errors import GnomonError

# Alembic's env.py runs a migration when imported.
SKIPPED_PREFIXES = ("gnomon.storage.migrations",)


def defined_exceptions() -> list[type[BaseException]]:
    found = []
    for module_info in pkgutil.walk_packages(gnomon.__path__, "gnomon."):
        if module_info.name.startswith(SKIPPED_PREFIXES) or module_info.name == "gnomon.__main__":
            continue
        module = importlib.import_module(module_info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == module.__name__:
                found.append(value)
    return found


def test_every_exception_gnomon_defines_is_a_gnomon_error() -> None:
    exceptions = defined_exceptions()
    assert GnomonError in exceptions
    strays = [
        f"{e.__module__}.{e.__qualname__}" for e in exceptions if not issubclass(e, GnomonError)
    ]
    assert strays == []
