"""`gnomon teardown` where it cannot work: one clear line on stderr and an exit status, no
traceback. Against a real API server it is tested in tests/operator/test_teardown.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2] / "src"

UNREACHABLE_KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""


def run_teardown(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(SOURCE), "GNOMON_INSTANCE": "mine"}
    merged = {name: value for name, value in {**base, **env}.items() if value}
    return subprocess.run(
        [sys.executable, "-m", "gnomon", "teardown", *args],
        capture_output=True,
        text=True,
        env=merged,
        timeout=120,
        check=False,
    )


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_no_kubernetes_configuration(tmp_path: Path) -> None:
    result = run_teardown(KUBECONFIG=str(tmp_path / "missing"), HOME=str(tmp_path))
    assert result.returncode == 1
    line = _one_line(result.stderr)
    assert line.startswith("gnomon teardown: Kubernetes API: no Kubernetes configuration found")


def test_no_cluster_answers(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(UNREACHABLE_KUBECONFIG)
    result = run_teardown(KUBECONFIG=str(kubeconfig), HOME=str(tmp_path))
    assert result.returncode == 1
    assert _one_line(result.stderr).startswith("gnomon teardown: Kubernetes API: ")
    assert result.stdout == ""  # nothing was done


def test_a_malformed_deployment_name(tmp_path: Path) -> None:
    result = run_teardown("--stop", "gnomon-operator", HOME=str(tmp_path))
    assert result.returncode == 2
    assert _one_line(result.stderr) == (
        "gnomon teardown: --stop: expected NAMESPACE/NAME, got 'gnomon-operator'"
    )


def test_an_unreachable_store_changes_nothing(tmp_path: Path) -> None:
    """Without GNOMON_INSTANCE the instance is the store's id: no store, no step at all
    (GNOMON_INSTANCE empty: left out of the environment)."""
    result = run_teardown(
        GNOMON_INSTANCE="",
        GNOMON_DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/x",
        KUBECONFIG=str(tmp_path / "missing"),
        HOME=str(tmp_path),
    )
    assert result.returncode == 1
    assert "cannot reach the store" in _one_line(result.stderr)


def test_a_timeout_that_is_no_number_of_seconds(tmp_path: Path) -> None:
    for value in ("nan", "inf", "-5", "0", "1e300", "soon"):
        result = run_teardown("--timeout", value, KUBECONFIG=str(tmp_path / "none"))
        assert result.returncode == 2, (value, result.stderr)
        assert "is not a number of seconds above 0" in result.stderr
        assert "Traceback" not in result.stderr
