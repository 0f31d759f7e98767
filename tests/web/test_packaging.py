"""The UI's templates and stylesheet ship in the wheel: every file of theirs is package data."""

from __future__ import annotations

import tomllib
from pathlib import Path

import gnomon.web

PACKAGE = Path(gnomon.web.__file__).parents[1]
PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"


def test_every_template_and_static_file_is_package_data() -> None:
    patterns = tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]["package-data"]["gnomon"]
    shipped = {path for pattern in patterns for path in PACKAGE.glob(pattern)}
    web = PACKAGE / "web"
    files = [p for d in ("templates", "static") for p in (web / d).rglob("*") if p.is_file()]
    assert files
    assert [str(p.relative_to(PACKAGE)) for p in files if p not in shipped] == []
