"""The container image: built from pinned, hash-checked dependencies that match pyproject.toml,
labelled with gnomon's version, run as an unprivileged user, from a build context that
.dockerignore keeps to what the Dockerfile copies.

No base image can be pulled here, so the Dockerfile is checked as text; the build context is
checked by the Docker engine itself, with a Dockerfile that needs no base image.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import tarfile
import tomllib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from scripts.requirements_lock import (
    BUILD_LOCK,
    DOCKERFILE,
    PYPROJECT,
    RUNTIME_LOCK,
    current_digest,
    image_python_version,
    inputs_digest,
    lock_inputs,
    recorded_digest,
)

from tests.kubernetes.conftest import CHART, REPO_ROOT, load_yaml, skip_or_fail
from tests.kubernetes.dockerfile import arg_defaults, instructions, pip_commands

LOCKS = [RUNTIME_LOCK, BUILD_LOCK]
PIN = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>[^\s;\\]+)")
VIA_PYPROJECT = "gnomon (pyproject.toml)"
# What the Dockerfile needs from the build context, and all that .dockerignore lets in.
CONTEXT = {"pyproject.toml", "README.md", "requirements.lock", "requirements-build.lock", "src"}


@dataclass
class Pin:
    name: str
    version: str
    hashes: list[str] = field(default_factory=list)
    via: list[str] = field(default_factory=list)


def read_lock(path: Path) -> list[Pin]:
    """The pins of a lock file written by `uv pip compile --generate-hashes`, with their hashes
    and `# via` annotations."""
    pins: list[Pin] = []
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if match := PIN.match(line):
            pins.append(Pin(str(canonicalize_name(match["name"])), match["version"]))
        elif stripped.startswith("--hash=sha256:"):
            pins[-1].hashes.append(stripped.removeprefix("--hash=sha256:").rstrip(" \\"))
        elif pins and stripped.startswith("#"):
            # `# via a` on one line, or `# via` followed by `#   a`, `#   b`.
            via = re.sub(r"^via\b", "", stripped.lstrip("# ")).strip()
            if via:
                pins[-1].via.append(via)
    return pins


def pyproject() -> dict[str, Any]:
    return tomllib.loads(PYPROJECT.read_text())


# ---- the lock files --------------------------------------------------------------------------


@pytest.mark.parametrize("lock", LOCKS, ids=lambda path: path.name)
def test_lock_was_made_from_the_current_pyproject(lock: Path) -> None:
    assert lock.is_file(), f"{lock.name} is missing: run `make lock`"
    assert recorded_digest(lock.read_text()) == current_digest(), (
        f"{lock.name} was made from other dependencies or another Python than pyproject.toml "
        "and the Dockerfile now have: run `make lock` and commit the result"
    )


def test_any_change_to_the_inputs_calls_for_a_new_lock() -> None:
    project = pyproject()
    python = image_python_version(DOCKERFILE.read_text())
    digest = inputs_digest(lock_inputs(project, python))
    assert digest == current_digest()
    # Spelling and order do not matter; a release, a package or the image's Python do.
    reordered = {**project["project"], "dependencies": project["project"]["dependencies"][::-1]}
    assert inputs_digest(lock_inputs({**project, "project": reordered}, python)) == digest
    added = {**project["project"], "dependencies": [*reordered["dependencies"], "rich>=13"]}
    assert inputs_digest(lock_inputs({**project, "project": added}, python)) != digest
    built = {**project["build-system"], "requires": ["setuptools>=80"]}
    assert inputs_digest(lock_inputs({**project, "build-system": built}, python)) != digest
    assert inputs_digest(lock_inputs(project, "3.12")) != digest


@pytest.mark.parametrize(
    ("lock", "requirements"),
    [
        (RUNTIME_LOCK, pyproject()["project"]["dependencies"]),
        (BUILD_LOCK, pyproject()["build-system"]["requires"]),
    ],
    ids=["runtime", "build"],
)
def test_lock_pins_each_requirement_to_a_release_it_accepts(
    lock: Path, requirements: list[str]
) -> None:
    pins = {pin.name: pin for pin in read_lock(lock)}
    for text in requirements:
        requirement = Requirement(text)
        pin = pins.get(str(canonicalize_name(requirement.name)))
        assert pin is not None, f"{lock.name} does not pin {requirement.name}: run `make lock`"
        assert requirement.specifier.contains(pin.version, prereleases=True), (
            f"{lock.name} pins {pin.name}=={pin.version}, outside {text}: run `make lock`"
        )


def test_runtime_lock_has_no_direct_dependency_that_pyproject_dropped() -> None:
    direct = {pin.name for pin in read_lock(RUNTIME_LOCK) if VIA_PYPROJECT in pin.via}
    wanted = {
        str(canonicalize_name(Requirement(text).name))
        for text in pyproject()["project"]["dependencies"]
    }
    assert direct == wanted
    assert "psycopg-binary" in {pin.name for pin in read_lock(RUNTIME_LOCK)}, "psycopg[binary]"


@pytest.mark.parametrize("lock", LOCKS, ids=lambda path: path.name)
def test_every_pin_is_exact_and_has_hashes(lock: Path) -> None:
    pins = read_lock(lock)
    assert pins
    for pin in pins:
        assert pin.hashes, f"{pin.name} has no --hash in {lock.name}"
        assert all(re.fullmatch(r"[0-9a-f]{64}", digest) for digest in pin.hashes), pin
    assert len({pin.name for pin in pins}) == len(pins), "one release per package"


# ---- the Dockerfile --------------------------------------------------------------------------


def test_dockerfile_runs_gnomon_as_an_unprivileged_user() -> None:
    steps = instructions(DOCKERFILE)
    bases = [step.arguments.split()[0] for step in steps if step.keyword == "FROM"]
    assert bases == ["python:${PYTHON_VERSION}-slim"] * 2
    assert arg_defaults(DOCKERFILE)["PYTHON_VERSION"] == "3.11"
    assert ("USER", "10001:10001") in steps
    assert ("EXPOSE", "8080") in steps
    assert steps[-2:] == [("ENTRYPOINT", '["gnomon"]'), ("CMD", '["serve"]')]


def test_dockerfile_installs_only_what_the_locks_pin() -> None:
    steps = instructions(DOCKERFILE)
    copied = [step.arguments.split()[:-1] for step in steps if step.keyword == "COPY"]
    assert ["requirements-build.lock", "requirements.lock"] in copied
    commands = pip_commands(DOCKERFILE)
    assert commands, "the image installs with pip"
    from_locks = [words for words in commands if "-r" in words]
    assert sorted(words[words.index("-r") + 1] for words in from_locks) == sorted(
        path.name for path in LOCKS
    )
    for words in from_locks:
        assert words[:2] == ["pip", "install"], words
        assert "--require-hashes" in words, words
        assert " ".join(words).count("--only-binary :all:") == 1, words
    # gnomon itself: nothing fetched, no dependency added, built with the locked backend.
    (own,) = [words for words in commands if "-r" not in words]
    assert own[:2] == ["pip", "install"] and own[-1] == "."
    assert {"--no-deps", "--no-index", "--no-build-isolation"} <= set(own)


def test_image_is_labelled_with_gnomons_version() -> None:
    project = pyproject()["project"]
    version = arg_defaults(DOCKERFILE)["VERSION"]
    assert version == project["version"]
    assert version == str(load_yaml(CHART / "Chart.yaml")["appVersion"])
    steps = instructions(DOCKERFILE)
    final_stage = steps[max(i for i, step in enumerate(steps) if step.keyword == "FROM") :]
    assert ("ARG", "VERSION") in final_stage, "the label stage reads the global VERSION"
    labels = {
        key: value.strip('"')
        for step in final_stage
        if step.keyword == "LABEL"
        for key, value in re.findall(r'(\S+)=("[^"]*"|\S+)', step.arguments)
    }
    assert labels == {
        "org.opencontainers.image.title": project["name"],
        "org.opencontainers.image.description": project["description"],
        "org.opencontainers.image.version": "${VERSION}",
        "org.opencontainers.image.licenses": project["license"]["text"],
    }


# ---- the build context -----------------------------------------------------------------------


def test_dockerignore_lets_in_exactly_what_the_dockerfile_copies() -> None:
    ignore = [
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert ignore[0] == "*", "everything is left out unless named"
    let_in = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copied = {
        source.rstrip("/")
        for step in instructions(DOCKERFILE)
        if step.keyword == "COPY" and not step.arguments.startswith("--from")
        for source in step.arguments.split()[:-1]
    }
    assert let_in == copied == CONTEXT


def _docker(*args: str, stdin: bytes | None = None) -> bytes:
    result = subprocess.run(
        ["docker", *args],
        input=stdin,
        capture_output=True,
        timeout=300,
        check=False,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, f"docker {args[0]} failed: {result.stderr.decode()}"
    return result.stdout


def context_files() -> list[str]:
    """Every path `docker build .` sends from the repository: the whole context is copied into an
    image that needs no base image, and the image's files are listed."""
    tag = f"gnomon-test/context:{uuid.uuid4().hex[:12]}"
    probe = b"FROM scratch\nCOPY . /context/\n"
    container = ""
    try:
        _docker("build", "--quiet", "--tag", tag, "--file", "-", ".", stdin=probe)
        container = _docker("create", tag, "none").decode().strip()
        exported = _docker("export", container)
    finally:
        if container:
            _docker("rm", container)
        subprocess.run(["docker", "rmi", "--force", tag], capture_output=True, check=False)
    with tarfile.open(fileobj=io.BytesIO(exported)) as archive:
        return [
            name.removeprefix("context/")
            for name in archive.getnames()
            if name.startswith("context/")
        ]


@pytest.mark.docker
def test_build_context_holds_only_what_the_image_needs() -> None:
    if shutil.which("docker") is None:
        skip_or_fail("the docker command is not installed")
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        skip_or_fail("no Docker engine answers `docker info`")
    # Make sure there is something to leave out, even in a fresh clone.
    cache = REPO_ROOT / "src" / "gnomon" / "__pycache__"
    cache.mkdir(exist_ok=True)
    probe = cache / f"context-probe-{uuid.uuid4().hex[:8]}.pyc"
    probe.write_bytes(b"")
    try:
        files = context_files()
    finally:
        probe.unlink()
    top = {name.split("/")[0] for name in files}
    assert top == CONTEXT, f"unexpected in the build context: {sorted(top ^ CONTEXT)}"
    assert "src/gnomon/cli.py" in files
    assert not [name for name in files if "__pycache__" in name or name.endswith(".pyc")]


# ---- the README -------------------------------------------------------------------------------


def test_readme_names_every_image_value_and_the_lock_command() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    values = load_yaml(CHART / "values.yaml")
    keys = [f"image.{key}" for key in values["image"]] + ["imagePullSecrets"]
    guide = readme[readme.index("## Kubernetes") :]
    assert [key for key in keys if f"`{key}`" not in guide] == []
    assert "docker build -t REGISTRY/gnomon:" in readme
    assert "`make lock`" in readme
    assert re.search(r"^lock: ", (REPO_ROOT / "Makefile").read_text(), re.MULTILINE)
