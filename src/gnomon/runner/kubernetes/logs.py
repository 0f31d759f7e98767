"""Copy a finished pod's output into log entries before Kubernetes can delete the pod.

Pod logs live on the node and vanish with the pod (kubernetes/kubernetes#27768), so the runner
reads them before it reports the outcome, and only then lets the Job be deleted. The read is
streamed and bounded: a chatty job keeps its newest `max_lines` lines plus a note of how many were
dropped, without holding the whole log in memory, and a line longer than the log bound is cut
(and marked) as it streams, in chunks. A log that cannot be read becomes one `gnomon`
line saying why, never a lost outcome.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

from gnomon.domain.logtext import clean_message, decode_output
from gnomon.runner.base import GNOMON_SOURCE, STDOUT, OutputLine
from gnomon.runner.kubernetes.errors import KubernetesError, map_k8s_errors
from gnomon.runner.kubernetes.manifests import CONTAINER_NAME
from gnomon.runner.output import READ_CHUNK_BYTES, split_lines

log = logging.getLogger(__name__)

READ_TIMEOUT: Final = (10, 120)

_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d) ?(.*)$", re.S)


def parse_line(line: str, default: datetime) -> tuple[datetime, str]:
    """Split a `timestamps=true` log line into its time and message."""
    match = _STAMP.match(line)
    if match is None:
        return default, line
    seconds, fraction, zone, message = match.groups()
    micro = (fraction or ".0")[1:7].ljust(6, "0")
    zone = "+00:00" if zone == "Z" else zone
    try:
        when = datetime.fromisoformat(f"{seconds}.{micro}{zone}").astimezone(UTC)
    except ValueError:
        return default, line
    return when, message


def _read_pod(core: Any, namespace: str, pod: str, kept: deque[OutputLine]) -> int:
    """Stream `pod`'s log into `kept`; returns the number of lines read."""
    response = core.read_namespaced_pod_log(
        pod,
        namespace,
        container=CONTAINER_NAME,
        timestamps=True,
        _preload_content=False,
        _request_timeout=READ_TIMEOUT,
    )
    count = 0
    try:
        for line, cut in split_lines(response.stream(READ_CHUNK_BYTES)):
            when, message = parse_line(decode_output(line).rstrip("\r"), datetime.now(UTC))
            # Kubernetes interleaves stdout and stderr in one stream: all of it reads as stdout.
            kept.append(OutputLine(when, STDOUT, clean_message(message, cut=cut)))
            count += 1
    finally:
        response.close()
        response.release_conn()
    return count


def collect_logs(
    core: Any, namespace: str, pods: Sequence[str], *, max_lines: int
) -> list[OutputLine]:
    """The newest `max_lines` output lines of `pods` (oldest pod first), with notes.

    Args:
        core: a `CoreV1Api`.
        namespace: where the pods are.
        pods: pod names, oldest first.
        max_lines: the most output lines kept (`max_log_lines_per_task`).

    Returns:
        The lines, preceded by a `gnomon` note when some were dropped, and followed by one
        `gnomon` line per pod whose log could not be read.
    """
    kept: deque[OutputLine] = deque(maxlen=max_lines)
    problems: list[OutputLine] = []
    total = 0
    for pod in pods:
        try:
            with map_k8s_errors():
                total += _read_pod(core, namespace, pod, kept)
        except KubernetesError as exc:  # a log is worth a line, never the outcome
            log.warning("cannot read the log of pod %s: %s", pod, exc)
            message = f"logs of pod {pod} are unavailable: {exc}"
            problems.append(OutputLine(datetime.now(UTC), GNOMON_SOURCE, message))
    lines = list(kept)
    dropped = total - len(lines)
    if dropped > 0:
        note = f"{dropped} earlier output lines were dropped (max_log_lines_per_task={max_lines})"
        lines.insert(0, OutputLine(lines[0].when, GNOMON_SOURCE, note))
    return lines + problems
