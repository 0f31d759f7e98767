"""The shell backend: Sundial's `shell_script_command`, a bash script run on the Gnomon host.

Off unless `allow_shell` is set, because a script runs as Gnomon's own user. It keeps Sundial's
in-band stdout protocol (`**status=success|failure`, `**metadata:KEY=VALUE`), and, unlike
Sundial, also keeps stderr.

The script runs with `bash <file>` in a fresh temporary directory (its cwd, deleted afterwards)
and in its own process group, so a kill (SIGTERM, then SIGKILL after the grace period) reaches
everything it started, and whatever it left in the background is killed when it exits: a job
never outlives its attempt. Its environment is Gnomon's minus Gnomon's own settings (`GNOMON_*`,
which may hold secrets such as the API token), then the script's variables, then the job's.

Each attempt has one thread waiting for the process and two reading its pipes, in bounded chunks
(a line longer than the log bound is cut as it streams). Processes do not survive a restart of
Gnomon, so `adopt` reports every attempt `lost`. Whatever goes wrong on the way (an environment
the OS refuses, a missing secret, a bug here) ends the attempt FAILED with a reason: a task never
stays `running` because a thread of this runner died. Whichever thread ends an attempt reports
it, once (see `AttemptBook`).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Final

from gnomon.domain.definitions import ShellScriptCommand
from gnomon.domain.enums import TaskStatus
from gnomon.domain.logtext import decode_output
from gnomon.errors import GnomonError
from gnomon.runner.base import (
    EXECUTOR_ERROR,
    LOST,
    STDERR,
    STDOUT,
    Attempt,
    AttemptBook,
    AttemptSink,
    AttemptState,
    ExecutorStatus,
    TrackedAttempt,
    attempt_environment,
)
from gnomon.runner.environment import resolve_on_host
from gnomon.runner.output import READ_CHUNK_BYTES, LineSplitter, OutputPump, TaskOutput, now_utc
from gnomon.settings import Settings

STATUS_PREFIX: Final = "**status="
METADATA_PREFIX: Final = "**metadata:"
REPORTED_FAILURE: Final = "shell command reported failure"
SHUTDOWN: Final = "Gnomon shut down while the script ran"
READER_JOIN_SECONDS: Final = 5.0

log = logging.getLogger(__name__)


@dataclass(eq=False)
class _ScriptAttempt(TrackedAttempt):
    """An attempt and its bash process; fields change under the book's lock."""

    process: subprocess.Popen[bytes] | None = None
    timer: threading.Timer | None = None


class ShellRunner:
    """Runs `shell_script_command` attempts as local bash processes."""

    name = "shell"

    def __init__(self, settings: Settings, sink: AttemptSink) -> None:
        self._settings = settings
        self._sink = sink
        self._pump = OutputPump(sink, settings.max_log_lines_per_task)
        self._book: AttemptBook[_ScriptAttempt] = AttemptBook(sink)

    def start(self, attempt: Attempt) -> None:
        tracked = _ScriptAttempt(attempt)
        thread = threading.Thread(
            target=self._run,
            args=(tracked,),
            name=f"gnomon-shell-{attempt.task_id[-8:]}",
            daemon=True,
        )
        tracked.threads.append(thread)
        if not self._book.add(tracked):
            return
        try:
            thread.start()
        except Exception as exc:  # e.g. no thread can be started: fail it, never leave it running
            log.exception("cannot start the shell attempt", extra={"task_id": attempt.task_id})
            self._finish(tracked, ExecutorStatus.FAILED, f"{EXECUTOR_ERROR}: {exc}")

    def kill(self, task_id: str, reason: str) -> None:
        with self._book.lock:
            tracked = self._book.live(task_id)
            if tracked is None or not tracked.note_kill(reason):
                return
            process = tracked.process
            if process is None:
                return
            self._signal(process, signal.SIGTERM)
            tracked.timer = threading.Timer(
                self._settings.kill_grace_seconds, self._force_kill, (tracked,)
            )
            tracked.timer.daemon = True
            tracked.timer.start()

    def adopt(self, attempts: Sequence[Attempt]) -> None:
        for attempt in attempts:
            self._book.report(AttemptState(attempt.task_id, ExecutorStatus.FAILED, reason=LOST))

    def healthy(self) -> str | None:
        return None if shutil.which("bash") else "bash is not installed"

    def release(self) -> None:
        """Nothing to let go of: scripts are this process's children, which no other scheduler
        can adopt; their outcomes wait in the queue for this one to hold the lease again."""

    def close(self) -> None:
        """Kill running scripts (they could not be adopted after a restart) and wait for them."""
        attempts = self._book.all()
        for tracked in attempts:
            self.kill(tracked.task_id, SHUTDOWN)
        for tracked in attempts:
            for thread in tracked.threads:
                thread.join(timeout=self._settings.kill_grace_seconds + READER_JOIN_SECONDS)
        self._pump.close()

    def _run(self, tracked: _ScriptAttempt) -> None:
        """The attempt's thread: whatever happens, it ends with exactly one terminal state."""
        executable = tracked.attempt.executable
        command = executable.member
        if not isinstance(command, ShellScriptCommand):
            self._finish(tracked, ExecutorStatus.FAILED, f"{executable.kind} is not a script")
            return
        workdir: str | None = None
        try:
            workdir = tempfile.mkdtemp(prefix="gnomon-shell-")
            status, reason, code = self._run_in(tracked, command, workdir)
        except GnomonError as exc:  # a secret that cannot be had, and the like: said plainly
            status, reason, code = ExecutorStatus.FAILED, str(exc), None
        except Exception as exc:
            log.exception("the shell attempt failed", extra={"task_id": tracked.task_id})
            status, reason, code = ExecutorStatus.FAILED, f"{EXECUTOR_ERROR}: {exc}", None
            if tracked.process is not None:  # started, then something here broke: stop it
                self._signal(tracked.process, signal.SIGKILL)
        finally:
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)
        self._finish(tracked, status, reason, code)

    def _run_in(
        self, tracked: _ScriptAttempt, command: ShellScriptCommand, workdir: str
    ) -> tuple[ExecutorStatus, str | None, int | None]:
        """Run the script to its end; its outcome (status, reason, exit code)."""
        script = os.path.join(workdir, "script.sh")
        with open(script, "w", encoding="utf-8") as file:
            file.write(command.script)
        try:
            process = self._spawn(tracked, command, script, workdir)
        except OSError as exc:
            return ExecutorStatus.FAILED, f"could not run bash: {exc}", None
        if process is None:
            return ExecutorStatus.FAILED, "killed before it started", None
        running = AttemptState(tracked.task_id, ExecutorStatus.RUNNING, handle=str(process.pid))
        self._book.report(running)
        output = self._pump.open(tracked.task_id)
        readers = [
            self._reader(tracked, process.stdout, output, protocol=True),
            self._reader(tracked, process.stderr, output, protocol=False),
        ]
        code = process.wait()
        self._signal(process, signal.SIGKILL)  # whatever the script left behind
        for reader in readers:
            reader.join(timeout=READER_JOIN_SECONDS)
        output.finish()
        if code == 0:
            return ExecutorStatus.SUCCEEDED, None, code
        if code < 0:
            return ExecutorStatus.FAILED, f"killed by signal {signal.Signals(-code).name}", code
        return ExecutorStatus.FAILED, f"exit code {code}", code

    def _spawn(
        self, tracked: _ScriptAttempt, command: ShellScriptCommand, script: str, workdir: str
    ) -> subprocess.Popen[bytes] | None:
        """Start bash unless a kill came first; the process is published under the lock."""
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("GNOMON_")}
        user = resolve_on_host(command.environment_variables or [])
        env = inherited | attempt_environment(
            tracked.attempt, self._settings.callback_url(for_container=False), user
        )
        with self._book.lock:
            if tracked.kill_reason is not None:
                return None
            tracked.process = subprocess.Popen(
                ["bash", script],
                cwd=workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            return tracked.process

    def _reader(
        self, tracked: _ScriptAttempt, pipe: IO[bytes] | None, output: TaskOutput, *, protocol: bool
    ) -> threading.Thread:
        def read() -> None:
            if pipe is None:
                return
            source = STDOUT if protocol else STDERR
            splitter = LineSplitter()
            with pipe:
                try:
                    # os.read: whatever is there, up to a chunk, so lines arrive as written.
                    while chunk := os.read(pipe.fileno(), READ_CHUNK_BYTES):
                        for line, cut in splitter.feed(chunk):
                            self._line(tracked, output, source, line, cut)
                    last = splitter.end()
                    if last is not None:
                        self._line(tracked, output, source, *last)
                except Exception:  # keep draining, or the script blocks on a full pipe
                    log.exception("reading output failed", extra={"task_id": tracked.task_id})
                    while os.read(pipe.fileno(), READ_CHUNK_BYTES):
                        pass

        thread = threading.Thread(target=read, name=f"gnomon-shell-read-{tracked.task_id[-8:]}")
        thread.daemon = True
        thread.start()
        return thread

    def _line(
        self, tracked: _ScriptAttempt, output: TaskOutput, source: str, line: bytes, cut: bool
    ) -> None:
        """One line of output: a protocol line (whole stdout lines only) or a log line."""
        if source == STDOUT and not cut:
            text = decode_output(line).rstrip("\r")
            if self._protocol_line(tracked.task_id, text):
                return
        output.add(source, line, cut=cut)

    def _protocol_line(self, task_id: str, text: str) -> bool:
        """Act on a `**status=` or `**metadata:` line; False for an ordinary line."""
        line = text.strip()
        try:
            if line.startswith(STATUS_PREFIX):
                verdict = line[len(STATUS_PREFIX) :].strip().lower()
                if verdict == "success":
                    self._sink.reported(task_id, TaskStatus.SUCCEEDED, None)
                    return True
                if verdict == "failure":
                    self._sink.reported(task_id, TaskStatus.FAILED, REPORTED_FAILURE)
                    return True
            elif line.startswith(METADATA_PREFIX) and "=" in line:
                key, _, value = line[len(METADATA_PREFIX) :].partition("=")
                if key.strip():
                    self._sink.metadata(task_id, now_utc(), key.strip(), value)
                    return True
        except Exception:  # a broken sink must not stop the pipe being drained
            log.exception("the sink rejected a report", extra={"task_id": task_id})
            return True
        return False

    def _force_kill(self, tracked: _ScriptAttempt) -> None:
        with self._book.lock:
            if not tracked.done and tracked.process is not None:
                self._signal(tracked.process, signal.SIGKILL)

    @staticmethod
    def _signal(process: subprocess.Popen[bytes], signum: signal.Signals) -> None:
        try:
            os.killpg(process.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def _finish(
        self,
        tracked: _ScriptAttempt,
        status: ExecutorStatus,
        reason: str | None,
        code: int | None = None,
    ) -> None:
        """Report the attempt's one terminal state (see `AttemptBook.finish`)."""
        handle = str(tracked.process.pid) if tracked.process is not None else None
        details = {} if code is None else {"exit_code": str(code)}
        self._book.finish(tracked, status, reason, handle=handle, details=details)
        with self._book.lock:
            timer = tracked.timer
        if timer is not None:  # the attempt is done: no forced kill is needed
            timer.cancel()
