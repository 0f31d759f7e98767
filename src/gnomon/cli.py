"""The `gnomon` command: servers (`serve`, `api`, `scheduler`, `operator`), `migrate`, and client
verbs that talk to a running Gnomon over its REST API."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError

from gnomon.errors import SettingsError, StoreUnavailableError
from gnomon.logs import configure_logging
from gnomon.settings import Settings

log = logging.getLogger(__name__)
Command = Callable[[argparse.Namespace, Settings], int]


def _serve(_: argparse.Namespace, settings: Settings) -> int:
    from gnomon.server import serve

    return serve(settings)


def _api(_: argparse.Namespace, settings: Settings) -> int:
    from gnomon.server import serve_api

    return serve_api(settings)


def _scheduler(_: argparse.Namespace, settings: Settings) -> int:
    from gnomon.server import run_scheduler

    return run_scheduler(settings)


def _operator(_: argparse.Namespace, settings: Settings) -> int:
    from gnomon.operator.startup import run_operator

    return run_operator(settings)


def _migrate(_: argparse.Namespace, settings: Settings) -> int:
    from gnomon.server import migrate

    return migrate(settings)


def _prune(args: argparse.Namespace, settings: Settings) -> int:
    from gnomon.domain.clock import SystemClock
    from gnomon.prune import prune

    keep = settings.retention_keep_runs if args.keep_runs is None else args.keep_runs
    return prune(settings, SystemClock(), args.older_than, keep, dry_run=args.dry_run)


def _age(text: str) -> timedelta:
    from gnomon.domain.retention import AgeError, parse_age

    try:
        return parse_age(text)
    except AgeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _runs(text: str) -> int:
    if not text.isdigit() or int(text) > 1_000_000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of runs from 0 to 1000000")
    return int(text)


def _add_prune(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    text = "remove finished runs older than an age, with their tasks, logs and metadata"
    parser = verbs.add_parser(
        "prune",
        help=text,
        description=text + " (straight from the store at GNOMON_DATABASE_URL)",
        epilog="exit status: 0 done (or nothing to remove), 1 the store failed, 2 bad arguments",
    )
    parser.add_argument(
        "--older-than", type=_age, required=True, metavar="AGE", help="such as 30d, 12h or 90m"
    )
    parser.add_argument("--dry-run", action="store_true", help="only count, per definition")
    parser.add_argument(
        "--keep-runs",
        type=_runs,
        metavar="N",
        help="newest runs kept per definition (default: GNOMON_RETENTION_KEEP_RUNS)",
    )
    parser.set_defaults(handler=_prune)


DEFAULT_SERVER = "http://127.0.0.1:8080"


def _client_call(args: argparse.Namespace, settings: Settings) -> int:
    """Run a client verb; server refusals and unreachable servers exit 1 with the reason,
    unreadable or invalid files 2."""
    from gnomon.client import ApiClient, ApiError, ManifestError

    token = settings.api_token.get_secret_value() if settings.api_token else None
    client = ApiClient(args.server, token)
    try:
        result: int = args.client(client, args)
        return result
    except ApiError as exc:
        print(f"gnomon: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        raise  # not an error of the verb's: `main` ends quietly
    except (ManifestError, OSError) as exc:
        print(f"gnomon: {exc}", file=sys.stderr)
        return 2
    finally:
        client.close()


def _add_client_verbs(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from gnomon.client import commands

    def verb(name: str, text: str, call: Callable[..., int]) -> argparse.ArgumentParser:
        parser = verbs.add_parser(name, help=text, description=text)
        parser.add_argument(
            "--server",
            default=os.environ.get("GNOMON_SERVER", DEFAULT_SERVER),
            help="Gnomon's URL (env GNOMON_SERVER; default %(default)s)",
        )
        parser.set_defaults(handler=_client_call, client=call)
        return parser

    apply = verb(
        "apply",
        "create or replace definitions from manifests or Sundial JSON",
        lambda c, a: commands.apply(c, a.filename, recursive=a.recursive),
    )
    apply.add_argument(
        "-f",
        "--filename",
        action="append",
        required=True,
        help="a file, a directory (its *.json, *.yaml and *.yml files), or - for stdin; repeatable",
    )
    apply.add_argument(
        "-R", "--recursive", action="store_true", help="read the subdirectories of -f directories"
    )
    get = verb("get", "list definitions or runs", _get)
    get.add_argument("what", choices=["definitions", "runs"])
    get.add_argument("--definition", help="only runs of this definition")
    get.add_argument("--limit", type=int, default=20, help="runs to show (default %(default)s)")
    get.add_argument("-o", "--output", choices=["table", "json"], default="table")
    base = "/api/process_definitions/{}"
    for name, text, path, done in [
        ("pause", "pause a definition's schedule", base + "/pause", "paused"),
        ("resume", "resume a definition's schedule", base + "/resume", "resumed"),
        ("delete", "delete a definition (its runs stay)", base, "deleted"),
    ]:
        method = "DELETE" if name == "delete" else "POST"
        parser = verb(name, text, _named(method, path, done))
        parser.add_argument("name")
    trigger = verb("trigger", "start a run now", _trigger)
    trigger.add_argument("name")
    trigger.add_argument("--task", help="run only this task")
    for name, text in [("kill", "stop a run"), ("retry", "retry the failed tasks of a run")]:
        parser = verb(
            name, text, _named("POST", f"/api/processes/{{}}/{name}", f"{name} requested")
        )
        parser.add_argument("name", metavar="process_id")


def _get(client: Any, args: argparse.Namespace) -> int:
    from gnomon.client import commands

    if args.what == "definitions":
        return commands.get_definitions(client, args.output)
    return commands.get_runs(client, args.definition, args.limit, args.output)


def _trigger(client: Any, args: argparse.Namespace) -> int:
    from gnomon.client import commands

    path = f"/api/process_definitions/{quote(args.name, safe='')}/trigger"
    return commands.action(client, "POST", path, "triggered", task_definition_name=args.task)


def _named(method: str, template: str, done: str) -> Callable[[Any, argparse.Namespace], int]:
    def call(client: Any, args: argparse.Namespace) -> int:
        from gnomon.client import commands

        return commands.action(client, method, template.format(quote(args.name, safe="")), done)

    return call


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gnomon",
        description="Schedules and runs Docker-based batch jobs (Sundial-compatible REST API).",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="COMMAND")
    servers: list[tuple[str, str, Command]] = [
        ("serve", "API, scheduler and executor in one process (SQLite by default)", _serve),
        ("api", "only the REST API (several replicas may run)", _api),
        ("scheduler", "only the scheduler and its executor (one acts at a time)", _scheduler),
        ("operator", "reconcile ProcessDefinition resources into the store (kopf)", _operator),
        ("migrate", "bring the store's schema up to date", _migrate),
    ]
    for name, text, handler in servers:
        verbs.add_parser(name, help=text, description=text).set_defaults(handler=handler)
    _add_prune(verbs)
    _add_client_verbs(verbs)
    return parser


def load_settings() -> Settings:
    """Settings from the environment; exits with status 2 naming each bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            name = "GNOMON_" + "_".join(str(part) for part in error["loc"]).upper()
            print(f"gnomon: invalid setting {name}: {error['msg']}", file=sys.stderr)
        raise SystemExit(2) from None


SIGPIPE_EXIT = 128 + 13
"""What a shell reports for a command ended by SIGPIPE, as `kubectl get ... | head -1` is."""


def _discard_stdout() -> None:
    """Point stdout at /dev/null: the reader is gone (`gnomon get runs | head -1`), so what is
    left in the buffer goes nowhere instead of into a `Broken pipe` traceback at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # stdout is not a file (e.g. captured); nothing will flush it to the pipe
    finally:
        os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    handler: Command = args.handler
    try:
        code = handler(args, settings)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's last words
        return code
    except BrokenPipeError:
        _discard_stdout()
        return SIGPIPE_EXIT
    except SettingsError as exc:  # settings that are valid alone but cannot run this command
        print(f"gnomon: invalid setting {exc}", file=sys.stderr)
        return 2
    except StoreUnavailableError as exc:
        from gnomon.storage import display_url

        url = display_url(settings.database_url)
        print(f"gnomon: cannot reach the store at {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
