"""Pin the image's dependencies, with hashes, from pyproject.toml (`make lock`).

The Dockerfile installs only what these files list, with `pip install --require-hashes`:
`requirements.lock` holds the runtime dependencies (`[project] dependencies` and what they need),
`requirements-build.lock` the build backend (`[build-system] requires`) that turns src/ into
gnomon's wheel. Both are universal: resolved by `uv pip compile --universal` for the image's
Python (the Dockerfile's `ARG PYTHON_VERSION`) and newer on every platform, with the hashes of
every file of each pinned release, so one lock serves linux/amd64 and linux/arm64 alike.

Each file starts with the sha256 of the inputs it was made from. The image tests recompute it, so
CI fails, with no network, when pyproject.toml's dependencies or the image's Python changed and the
lock was not made again. Re-running keeps every pin that still fits (uv reads the existing file);
`make lock UPGRADE=1` (`--upgrade`) moves every pin to the newest release instead.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any, Final

from packaging.requirements import Requirement

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
PYPROJECT: Final = REPO_ROOT / "pyproject.toml"
DOCKERFILE: Final = REPO_ROOT / "Dockerfile"
RUNTIME_LOCK: Final = REPO_ROOT / "requirements.lock"
BUILD_LOCK: Final = REPO_ROOT / "requirements-build.lock"
INPUTS_PREFIX: Final = "# inputs sha256: "
PYTHON_ARG: Final = re.compile(r"^ARG PYTHON_VERSION=(\S+)$", re.MULTILINE)


def image_python_version(dockerfile: str) -> str:
    """The Python version the image is built on: the default of the Dockerfile's ARG."""
    found = PYTHON_ARG.search(dockerfile)
    if found is None:
        raise ValueError("the Dockerfile has no `ARG PYTHON_VERSION=...` line")
    return found.group(1)


def _normalized(requirements: list[str]) -> list[str]:
    """Requirements in one spelling and order, so reformatting pyproject changes nothing."""
    return sorted(str(Requirement(text)) for text in requirements)


def lock_inputs(pyproject: dict[str, Any], python_version: str) -> dict[str, Any]:
    """Everything a lock depends on; a change to any of it calls for `make lock`."""
    project = pyproject["project"]
    return {
        "python": python_version,
        "requires-python": project.get("requires-python", ""),
        "dependencies": _normalized(project.get("dependencies", [])),
        "build-system": _normalized(pyproject["build-system"]["requires"]),
    }


def inputs_digest(inputs: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def current_digest() -> str:
    """The digest of the repository's pyproject.toml and Dockerfile as they are now."""
    pyproject = tomllib.loads(PYPROJECT.read_text())
    return inputs_digest(lock_inputs(pyproject, image_python_version(DOCKERFILE.read_text())))


def recorded_digest(lock_text: str) -> str | None:
    """The digest a lock file was made from, from its first lines."""
    for line in lock_text.splitlines()[:5]:
        if line.startswith(INPUTS_PREFIX):
            return line.removeprefix(INPUTS_PREFIX).strip()
    return None


def _header(digest: str, what: str) -> str:
    return (
        f"# {what}, pinned with hashes by `make lock` from pyproject.toml; do not edit.\n"
        f"{INPUTS_PREFIX}{digest}\n"
    )


def _compile(
    source: str, output: Path, python_version: str, *, stdin: str | None, upgrade: bool
) -> None:
    """`uv pip compile` into `output`, which it also reads to keep the pins that still fit."""
    command = [
        *(sys.executable, "-m", "uv", "pip", "compile", source, "--output-file", str(output)),
        *("--universal", "--python-version", python_version, "--generate-hashes"),
        *("--no-header", "--quiet"),
    ]
    if stdin is not None:
        command.append("--no-annotate")  # would name stdin as the source of every pin
    if upgrade:
        command.append("--upgrade")
    subprocess.run(command, input=stdin, text=True, check=True, cwd=REPO_ROOT)


def _prepend(path: Path, header: str) -> None:
    path.write_text(header + path.read_text())


def main(arguments: list[str]) -> int:
    upgrade = arguments == ["--upgrade"]
    if arguments and not upgrade:
        sys.stderr.write("usage: requirements_lock.py [--upgrade]\n")
        return 2
    pyproject = tomllib.loads(PYPROJECT.read_text())
    python_version = image_python_version(DOCKERFILE.read_text())
    digest = inputs_digest(lock_inputs(pyproject, python_version))
    _compile("pyproject.toml", RUNTIME_LOCK, python_version, stdin=None, upgrade=upgrade)
    _prepend(RUNTIME_LOCK, _header(digest, "The image's runtime dependencies"))
    build_requires = "\n".join(pyproject["build-system"]["requires"]) + "\n"
    _compile("-", BUILD_LOCK, python_version, stdin=build_requires, upgrade=upgrade)
    _prepend(BUILD_LOCK, _header(digest, "The build backend that makes gnomon's wheel"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
