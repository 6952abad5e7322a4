"""The `abparts` command line: one parser made of the command groups, and the one way errors end a run.

The groups: `service` (serve, migrate, bootstrap, prune), `projections` (project, publish,
rebuild, status), `audit` (seal, audit, verify), `export`, `stock`, `repair` (repair-date) and
`reservations`. A command that must not change the schema finds the database with `checked_database`.
What the operator can fix (a bad setting, a database out of reach, an outdated schema) ends the run
with one line on stderr and exit status 2; `-v` adds the traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Sequence
from importlib.metadata import version

import psycopg
from pydantic import ValidationError

from api.cli import audit, export, projections, reorder, repair, reservations, service, stock
from api.runtime.database import DatabaseUnreachable, SchemaNotCurrent, checked_database
from api.runtime.logs import configure as configure_logging
from api.runtime.settings import Settings
from projections.registry import UnknownProjection

# Long-running processes log JSON lines; the other commands print for a person.
SERVICES = (service.serve, projections.project, projections.publish)

EXIT_CODES = """exit status:
  0  done; every check passed
  1  a check failed: verify found a difference, audit a broken chain or seal
  2  usage or environment: bad arguments, a bad ABPARTS_* setting, the database out of reach,
     its schema not at this version's revision (run `abparts migrate`)
"""

# What an operator fixes without reading code: one line each, the traceback only with -v.
OPERATOR_ERRORS = (UnknownProjection, SchemaNotCurrent, DatabaseUnreachable, psycopg.OperationalError)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every `abparts` subcommand."""
    parser = argparse.ArgumentParser(
        prog="abparts",
        description="ABParts Ledger service",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('abparts-ledger')}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log what happens (INFO), and on an error its traceback"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (service, projections, audit):
        group.register(sub)
    export.register(sub, checked_database)
    stock.register(sub, checked_database)
    repair.register(sub, checked_database)
    reorder.register(sub, checked_database)
    reservations.register(sub, checked_database)
    return parser


def setting_errors(error: ValidationError) -> str:
    """The settings' validation errors as one line: each variable and what is wrong with it."""
    parts = []
    for item in error.errors():
        name = str(item["loc"][0]) if item["loc"] else "settings"
        variable = name if name.isupper() else f"ABPARTS_{name.upper()}"
        parts.append(f"{variable}: {item['msg']}")
    return "bad setting " + "; ".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `abparts` subcommand and return its exit status."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as error:
        return _fail(args, setting_errors(error))
    # Quiet by default: a one-off command says only what it did; -v shows the INFO lines too.
    long_running = args.func in SERVICES
    level = logging.getLevelNamesMapping()[settings.log_level] if long_running else logging.INFO
    level = level if long_running or args.verbose else logging.WARNING
    configure_logging(json_lines=settings.log_json and long_running, level=level)
    try:
        status: int = args.func(settings, args)
    except OPERATOR_ERRORS as error:
        return _fail(args, _one_line(error))
    return status


def _one_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return " ".join(lines) or type(error).__name__


def _fail(args: argparse.Namespace, message: str) -> int:
    if args.verbose:
        traceback.print_exc()
    print(f"abparts: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
