"""The container image: the Dockerfile builds gnomon to run as an unprivileged user, from a build
context that .dockerignore keeps to the sources."""

from __future__ import annotations

from tests.kubernetes.conftest import REPO_ROOT


def test_dockerfile_runs_gnomon_as_an_unprivileged_user() -> None:
    lines = [
        line.strip()
        for line in (REPO_ROOT / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    bases = [line.split()[1] for line in lines if line.startswith("FROM ")]
    assert bases == ["python:${PYTHON_VERSION}-slim"] * 2
    assert "ARG PYTHON_VERSION=3.11" in lines
    assert "USER 10001:10001" in lines
    assert "EXPOSE 8080" in lines
    assert lines[-2:] == ['ENTRYPOINT ["gnomon"]', 'CMD ["serve"]']
    ignored = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    assert {"*", "!pyproject.toml", "!src/"} <= set(ignored)
