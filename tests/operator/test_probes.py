"""`gnomon operator` as the kubelet and Prometheus see it: a real process against the test API
server, answering on GNOMON_METRICS_PORT."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from gnomon.storage import make_engine, upgrade
from tests.live import free_port
from tests.waiting import wait_until


@pytest.mark.kubernetes
def test_the_operator_is_live_ready_and_scraped_on_its_metrics_port(
    kubeconfig: str, namespace: str, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'gnomon.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    port = free_port()
    env = {
        **os.environ,
        "KUBECONFIG": kubeconfig,
        "GNOMON_DATABASE_URL": url,
        "GNOMON_HOST": "127.0.0.1",
        "GNOMON_PORT": str(free_port()),
        "GNOMON_METRICS_PORT": str(port),
        "GNOMON_OPERATOR_NAMESPACES": json.dumps([namespace]),
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    log = tmp_path / "operator.log"
    base = f"http://127.0.0.1:{port}/_internal_"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "gnomon", "operator"], env=env, stdout=sink, stderr=sink
        )
    try:
        ready = wait_until(
            lambda: httpx.get(f"{base}/readyz", timeout=5),
            lambda answer: answer.status_code == 200,
            what="the operator's readiness",
            timeout=60,
            interval=0.1,
            ignoring=(httpx.HTTPError,),
            summary=lambda answer: (answer.status_code, answer.text, log.read_text()[-2000:]),
        )
        assert ready.json() == {"status": "ok", "operator": "ok", "store": "ok"}
        live = httpx.get(f"{base}/livez", timeout=5)
        assert (live.status_code, live.json()) == (200, {"status": "ok", "operator": "ok"})
        metrics = httpx.get(f"{base}/metrics", timeout=5)
        assert "process_resident_memory_bytes" in metrics.text
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    assert code == 0, log.read_text()[-3000:]
