"""The `gnomon` command: servers (`serve`, `api`, `scheduler`, `operator`), `migrate`, and client
verbs that talk to a running Gnomon over its REST API."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from gnomon.logs import configure_logging
from gnomon.settings import Settings

Command = Callable[[argparse.Namespace, Settings], int]


def _serve(_: argparse.Namespace, settings: Settings) -> int:
    from gnomon.server import serve

    return serve(settings)


def _api(_: argparse.Namespace, settings: Settings) -> int:
    from gnomon.server import serve_api

    return serve_api(settings)


def _migrate(_: argparse.Namespace, settings: Settings) -> int:
    from gnomon.server import migrate

    return migrate(settings)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gnomon",
        description="Schedules and runs Docker-based batch jobs (Sundial-compatible REST API).",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="COMMAND")
    servers: list[tuple[str, str, Command]] = [
        ("serve", "API, scheduler and executor in one process (SQLite by default)", _serve),
        ("api", "only the REST API", _api),
        ("migrate", "bring the store's schema up to date", _migrate),
    ]
    for name, text, handler in servers:
        verbs.add_parser(name, help=text, description=text).set_defaults(handler=handler)
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


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    handler: Command = args.handler
    try:
        return handler(args, settings)
    except OperationalError as exc:
        url = make_url(settings.database_url).render_as_string(hide_password=True)
        detail = str(exc.orig or exc).strip().splitlines()[0]
        print(f"gnomon: cannot reach the store at {url}: {detail}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
