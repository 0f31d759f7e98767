"""The `gnomon` command: servers (`serve`, `api`, `scheduler`, `operator`), `migrate`, `teardown`,
and client verbs that talk to a running Gnomon over its REST API."""

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

from gnomon.errors import ListenError, SettingsError, StoreUnavailableError
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


def _teardown(args: argparse.Namespace, settings: Settings) -> int:
    """Exits 1 with the API's reason when a step fails, 2 for a malformed `--stop`."""
    from gnomon.runner.kubernetes import KubernetesError
    from gnomon.teardown import parse_deployment, teardown

    try:
        stop = [parse_deployment(value) for value in args.stop]
    except ValueError as exc:
        print(f"gnomon teardown: --stop: {exc}", file=sys.stderr)
        return 2
    # The client's connection pool warns of each retry; the one line below says how it ended.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    try:
        return teardown(settings, stop=stop, timeout=args.timeout)
    except KubernetesError as exc:
        print(f"gnomon teardown: Kubernetes API: {exc}", file=sys.stderr)
        return 1


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
    _add_setting_flags(parser, _STORE_AND_LOGS)
    parser.set_defaults(handler=_prune)


DEFAULT_SERVER = "http://127.0.0.1:8080"
INTERRUPTED = 130
"""What a shell reports for a command ended by Ctrl-C (SIGINT)."""


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
    except KeyboardInterrupt:  # the way to end `-w` and `-f`: no traceback
        print(file=sys.stderr)
        return INTERRUPTED
    except (ManifestError, OSError) as exc:
        print(f"gnomon: {exc}", file=sys.stderr)
        return 2
    finally:
        client.close()


def _add_client_verbs(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from gnomon.client import commands, exits
    from gnomon.client import verbs as reading

    def verb(name: str, text: str, call: Callable[..., int]) -> argparse.ArgumentParser:
        parser = verbs.add_parser(
            name,
            help=text,
            description=text,
            epilog=exits.epilog(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
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
    get = verb("get", "list definitions or runs, or show one", reading.get)
    get.add_argument("what", choices=["definitions", "runs", "run", "definition"])
    get.add_argument("--definition", help="only runs of this definition")
    get.add_argument("--limit", type=int, default=20, help="runs to show (default %(default)s)")
    reading.add_output(get)
    reading.add_get_options(get)
    base = "/api/process_definitions/{}"
    for name, text, path, done in [
        ("pause", "pause a definition's schedule", base + "/pause", "paused"),
        ("resume", "resume a definition's schedule", base + "/resume", "resumed"),
        ("delete", "delete a definition (its runs stay)", base, "deleted"),
    ]:
        method = "DELETE" if name == "delete" else "POST"
        parser = verb(name, text, _named(method, path, done))
        parser.add_argument("name")
    trigger = verb("trigger", "start a run now", reading.trigger)
    trigger.add_argument("name")
    trigger.add_argument("--task", help="run only this task")
    reading.add_trigger_options(trigger)
    for name, text in [("kill", "stop a run"), ("retry", "retry the failed tasks of a run")]:
        parser = verb(
            name, text, _named("POST", f"/api/processes/{{}}/{name}", f"{name} requested")
        )
        parser.add_argument("name", metavar="process_id")
    reading.add_reading_verbs(verb)


def _named(method: str, template: str, done: str) -> Callable[[Any, argparse.Namespace], int]:
    def call(client: Any, args: argparse.Namespace) -> int:
        from gnomon.client import commands

        return commands.action(client, method, template.format(quote(args.name, safe="")), done)

    return call


def build_parser() -> argparse.ArgumentParser:
    from gnomon.client import exits

    parser = argparse.ArgumentParser(
        prog="gnomon",
        description="Schedules and runs Docker-based batch jobs (Sundial-compatible REST API).",
        epilog=exits.epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
        server = verbs.add_parser(name, help=text, description=text)
        server.set_defaults(handler=handler)
        _add_setting_flags(server, SERVER_FLAGS[name])
    _add_teardown(verbs)
    _add_prune(verbs)
    _add_client_verbs(verbs)
    _add_completion(verbs, parser)
    return parser


def _add_teardown(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from gnomon.client import positive_seconds

    text = (
        "before removing Gnomon from a cluster: stop its operator and scheduler, remove its "
        "finalizer from ProcessDefinitions, delete its task Jobs and Secrets"
    )
    parser = verbs.add_parser("teardown", help=text, description=text)
    parser.add_argument(
        "--stop",
        action="append",
        default=[],
        metavar="NAMESPACE/NAME",
        help="a Deployment to scale to 0 first, waiting until its pods are gone; repeatable",
    )
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        default=300.0,
        help="seconds to wait for each Deployment's pods to go (default %(default)g)",
    )
    parser.set_defaults(handler=_teardown)


def _add_completion(
    verbs: argparse._SubParsersAction[argparse.ArgumentParser], root: argparse.ArgumentParser
) -> None:
    from gnomon.client import completion as scripts

    text = "print a shell completion script (bash or zsh)"
    hints = "\n".join(f"  {scripts.usage(shell)}" for shell in scripts.SHELLS)
    completion = verbs.add_parser(
        "completion",
        help=text,
        description=text,
        epilog=f"install:\n{hints}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    completion.add_argument("shell", choices=scripts.SHELLS)
    completion.set_defaults(handler=_completion, root_parser=root)


def _completion(args: argparse.Namespace, _: Settings) -> int:
    from gnomon.client import completion

    sys.stdout.write(completion.completion_script(args.root_parser, args.shell))
    return 0


SETTING_FLAGS: dict[str, str] = {
    "host": "address to listen on (GNOMON_HOST)",
    "port": "port the API listens on (GNOMON_PORT)",
    "metrics_port": "port of health and metrics (GNOMON_METRICS_PORT)",
    "database_url": "SQLAlchemy URL of the store (GNOMON_DATABASE_URL)",
    "executor": "backend of container tasks: docker, kubernetes or fake (GNOMON_EXECUTOR)",
    "log_format": "text or json (GNOMON_LOG_FORMAT)",
    "log_level": "level of Gnomon's own logs, such as DEBUG or INFO (GNOMON_LOG_LEVEL)",
}
"""Settings a server command takes as flags too; a flag wins over its environment variable."""

_STORE_AND_LOGS = ["database_url", "log_format", "log_level"]
SERVER_FLAGS: dict[str, list[str]] = {
    "serve": ["host", "port", "executor", *_STORE_AND_LOGS],
    "api": ["host", "port", *_STORE_AND_LOGS],
    "scheduler": ["host", "metrics_port", "executor", *_STORE_AND_LOGS],
    "operator": ["host", "metrics_port", *_STORE_AND_LOGS],
    "migrate": _STORE_AND_LOGS,
}


def _add_setting_flags(parser: argparse.ArgumentParser, names: list[str]) -> None:
    """`--port` and the like; values stay text so that Settings checks them as it checks the
    environment, with the same message."""
    group = parser.add_argument_group("settings (each overrides its GNOMON_ variable)")
    for name in names:
        metavar = name.split("_")[-1].upper()
        group.add_argument(
            f"--{name.replace('_', '-')}",
            dest=f"setting_{name}",
            metavar=metavar,
            help=SETTING_FLAGS[name],
        )


def setting_overrides(args: argparse.Namespace) -> dict[str, str]:
    """The settings given as flags, by field name."""
    prefix = "setting_"
    return {
        key[len(prefix) :]: value
        for key, value in vars(args).items()
        if key.startswith(prefix) and value is not None
    }


def load_settings(overrides: dict[str, str] | None = None) -> Settings:
    """Settings from the environment, `overrides` (from flags) first; exits with status 2 naming
    each bad variable (and its flag, when the value came from one)."""
    given = overrides or {}
    try:
        return Settings(**given)  # type: ignore[arg-type]  # pydantic converts and checks text
    except ValidationError as exc:
        for error in exc.errors():
            field = "_".join(str(part) for part in error["loc"])
            name = "GNOMON_" + field.upper()
            if field in given:
                name += f" (--{field.replace('_', '-')})"
            print(f"gnomon: invalid setting {name}: {error['msg']}", file=sys.stderr)
        raise SystemExit(2) from None


LISTEN_EXIT = 3
"""A server could not open its port (GNOMON_PORT or GNOMON_METRICS_PORT)."""
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
    settings = load_settings(setting_overrides(args))
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
    except ListenError as exc:  # a port taken by another process: no traceback, its own code
        print(f"gnomon: {exc}", file=sys.stderr)
        return LISTEN_EXIT
    except StoreUnavailableError as exc:
        from gnomon.storage import display_url

        url = display_url(settings.database_url)
        print(f"gnomon: cannot reach the store at {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
