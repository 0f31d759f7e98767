"""The flags and handlers of the verbs that read and follow runs (`get`, `describe`, `logs`,
`trigger --wait`); `gnomon.cli` adds them to its parser. Each handler takes the API client and
the parsed arguments and returns the exit code (see `gnomon.client.exits`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import quote
from uuid import UUID

from gnomon.client import describe, exits, follow, runs
from gnomon.client.http import ApiClient
from gnomon.client.output import OUTPUTS
from gnomon.client.polling import DEFAULT_INTERVAL, Poller
from gnomon.client.times import since

VerbMaker = Callable[[str, str, Callable[[ApiClient, argparse.Namespace], int]], Any]
STATUSES = ("running", "succeeded", "failed")
MIN_INTERVAL = 0.1
NEEDS_NAME = {"run": "RUN_ID", "definition": "NAME"}


def add_output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o",
        "--output",
        choices=OUTPUTS,
        default="table",
        help="table (relative times), wide (more columns, absolute times), json or yaml",
    )


def add_get_options(get: argparse.ArgumentParser) -> None:
    """`get run RUN_ID`, and the filters and watch of `get runs`."""
    get.add_argument("name", nargs="?", metavar="RUN_ID", help="the run, with `get run`")
    get.add_argument(
        "--status", action="append", choices=STATUSES, help="only runs in this status; repeatable"
    )
    get.add_argument(
        "--since", type=since, help="only runs started since: an age (10m, 2h, 7d) or ISO time"
    )
    get.add_argument("-w", "--watch", action="store_true", help="then print each run that changes")
    _add_interval(get)


def add_trigger_options(trigger: argparse.ArgumentParser) -> None:
    trigger.add_argument(
        "--wait",
        action="store_true",
        help="print the run's id, wait for it to end and exit with its status",
    )
    _add_timeout(trigger)
    _add_interval(trigger)


def add_reading_verbs(verb: VerbMaker) -> None:
    """`describe` and `logs`."""
    describe_verb = verb("describe", "show a run or a definition in detail", describe_one)
    describe_verb.add_argument("what", choices=["run", "definition"])
    describe_verb.add_argument("name", metavar="RUN_ID|NAME")
    add_output(describe_verb)
    logs_verb = verb("logs", "print a run's log entries in time order", logs)
    logs_verb.add_argument("run_id", metavar="RUN_ID")
    logs_verb.add_argument("--task", help="only this task's entries")
    logs_verb.add_argument(
        "-o",
        "--output",
        choices=OUTPUTS,
        default="table",
        help="lines (table), lines naming each attempt (wide), or one JSON object or YAML "
        "document per entry",
    )
    logs_verb.add_argument(
        "-f",
        "--follow",
        action="store_true",
        help="keep printing while the run is active; exit with its status",
    )
    _add_timeout(logs_verb)
    _add_interval(logs_verb)


def _add_interval(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--interval",
        type=_interval,
        default=DEFAULT_INTERVAL,
        help="seconds between two looks at the server (default %(default)s)",
    )


def _add_timeout(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=positive_seconds,
        help=f"give up waiting after this many seconds (exit {exits.TIMED_OUT})",
    )


def positive_seconds(text: str) -> float:
    """An argparse type: a number of seconds above 0 and below 10^7 (not NaN, not infinite)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 10**7:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


def _interval(text: str) -> float:
    value = positive_seconds(text)
    if value < MIN_INTERVAL:  # a smaller one would be a busy loop against the server
        raise argparse.ArgumentTypeError(f"{text!r} is below {MIN_INTERVAL} seconds")
    return value


def get(client: ApiClient, args: argparse.Namespace) -> int:
    from gnomon.client import commands

    if (args.what in NEEDS_NAME) != (args.name is not None):
        return _usage(
            f"get {args.what}: "
            + (f"give a {NEEDS_NAME[args.what]}" if args.what in NEEDS_NAME else "takes no name")
        )
    if args.what == "run" and not _is_run_id(args.name):
        return _usage(_not_a_run_id(args.name))
    if args.what == "run":
        return runs.show_run(client, args.name, args.output)
    if args.what == "definition":
        return describe.show_definition(client, args.name, args.output)
    if args.what == "definitions":
        return commands.get_definitions(client, args.output)
    query = runs.RunFilter(args.definition, args.status or [], args.since, args.limit)
    if args.watch:
        return runs.watch_runs(client, query, args.output, Poller(args.interval))
    return runs.get_runs(client, query, args.output)


def trigger(client: ApiClient, args: argparse.Namespace) -> int:
    if args.wait:
        poller = Poller(args.interval, args.timeout)
        return follow.trigger_and_wait(client, args.name, args.task, poller)
    from gnomon.client import commands

    path = f"/api/process_definitions/{quote(args.name, safe='')}/trigger"
    return commands.action(client, "POST", path, "triggered", task_definition_name=args.task)


def logs(client: ApiClient, args: argparse.Namespace) -> int:
    if not _is_run_id(args.run_id):
        return _usage(_not_a_run_id(args.run_id))
    poller = Poller(args.interval, args.timeout) if args.follow else None
    return follow.logs(client, args.run_id, args.task, args.output, poller)


def describe_one(client: ApiClient, args: argparse.Namespace) -> int:
    if args.what == "run" and not _is_run_id(args.name):
        return _usage(_not_a_run_id(args.name))
    if args.output in ("json", "yaml"):  # the data `describe` reads, as `get` prints it
        if args.what == "run":
            return runs.show_run(client, args.name, args.output)
        return describe.show_definition(client, args.name, args.output)
    if args.what == "run":
        return describe.describe_run(client, args.name)
    return describe.describe_definition(client, args.name)


def _usage(message: str) -> int:
    print(f"gnomon: {message}", file=sys.stderr)
    return exits.USAGE


def _is_run_id(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True


def _not_a_run_id(text: str) -> str:
    return f"{text!r} is not a run id: run ids are UUIDs, as `gnomon get runs` prints them"
