"""Test images for the Docker tests, built on the spot from the host's static busybox.

No registry is reachable from CI, so nothing is pulled: `docker import` turns a tar holding
`/bin/busybox` and one symlink per applet (`sh`, `sleep`, `head`, ...) into a tiny image. The
busybox must be statically linked (Debian's `busybox-static`), since the image has no libc.
Without an engine or that binary the tests skip, or fail under GNOMON_REQUIRE_ALL=1.

To use the fixtures, bind them in a conftest: `docker_client = images.docker_client`.
"""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from docker.errors import DockerException, ImageNotFound

from tests.conftest import skip_or_fail

BUSYBOX_REPOSITORY = "gnomon-test/busybox"
BUSYBOX_TAG = "1"
BUSYBOX_IMAGE = f"{BUSYBOX_REPOSITORY}:{BUSYBOX_TAG}"
PT_INTERP = 3


def find_static_busybox() -> Path | None:
    """The host's busybox if it is a statically linked ELF (no interpreter), else None."""
    found = shutil.which("busybox") or "/bin/busybox"
    path = Path(found)
    if not path.is_file():
        return None
    return path if _is_static_elf(path.read_bytes()) else None


def _is_static_elf(data: bytes) -> bool:
    """True for a 64-bit little-endian ELF without a PT_INTERP program header."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return False
    (phoff,) = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    types = (struct.unpack_from("<I", data, phoff + i * phentsize)[0] for i in range(phnum))
    return PT_INTERP not in types


def busybox_tar(busybox: Path) -> bytes:
    """A root filesystem: /bin/busybox, a symlink per applet, and a world-writable /tmp."""
    applets = subprocess.run(
        [str(busybox), "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, mode in (("bin", 0o755), ("tmp", 0o1777)):
            directory = tarfile.TarInfo(name)
            directory.type, directory.mode = tarfile.DIRTYPE, mode
            archive.addfile(directory)
        archive.add(str(busybox), arcname="bin/busybox")
        for applet in applets:
            if applet != "busybox":
                link = tarfile.TarInfo(f"bin/{applet}")
                link.type, link.linkname = tarfile.SYMTYPE, "busybox"
                archive.addfile(link)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    """A client of the local Docker engine (skips when none answers)."""
    try:
        client = docker.from_env()
        client.ping()
    except DockerException as exc:
        skip_or_fail(f"no Docker engine answers: {exc}")
    yield client
    client.close()


@pytest.fixture(scope="session")
def busybox_image(docker_client: Any) -> str:
    """`gnomon-test/busybox:1`, imported once (and reused across sessions)."""
    try:
        docker_client.images.get(BUSYBOX_IMAGE)
        return BUSYBOX_IMAGE
    except ImageNotFound:
        pass
    busybox = find_static_busybox()
    if busybox is None:
        skip_or_fail("a statically linked busybox is needed (Debian package busybox-static)")
        raise AssertionError("unreachable")
    docker_client.api.import_image_from_data(
        busybox_tar(busybox), repository=BUSYBOX_REPOSITORY, tag=BUSYBOX_TAG
    )
    return BUSYBOX_IMAGE
