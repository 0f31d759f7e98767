"""`gnomon api` with several worker processes: the metrics count every request once, whichever
worker answered the request and whichever answers the scrape."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.live import free_port
from tests.waiting import wait_for


def scrape_count(client: httpx.Client) -> float:
    text = client.get("/_internal_/metrics").text
    total = 0.0
    for line in text.splitlines():
        if line.startswith("http_request_duration_seconds_count{") and "/healthcheck" in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_two_workers_report_every_request(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "GNOMON_DATABASE_URL": f"sqlite:///{tmp_path / 'g.db'}",
        "GNOMON_PORT": str(port),
        "GNOMON_API_WORKERS": "2",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = (tmp_path / "api.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "gnomon", "api"], env=env, stdout=log, stderr=log
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            wait_for(
                lambda: client.get("/_internal_/healthcheck").status_code,
                what="gnomon api to answer its healthcheck",
                timeout=30,
                interval=0.1,
                ignoring=(httpx.HTTPError,),
            )
            before = scrape_count(client)
            for _ in range(40):  # new connections, so both workers get some
                httpx.get(f"http://127.0.0.1:{port}/_internal_/healthcheck", timeout=10)
            counts = {scrape_count(client) - before for _ in range(6)}
        assert counts == {40.0}, (counts, (tmp_path / "api.log").read_text()[-2000:])
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
