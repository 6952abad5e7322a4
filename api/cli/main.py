"""The `abparts` command line: one parser made of the command groups, and the one way errors end a run.

The groups: `service` (serve, migrate, bootstrap, prune), `projections` (project, publish,
rebuild, status), `audit` (seal, audit, verify), `export`, `stock` and `repair` (repair-date). A command
that must not change the schema finds the database with `checked_database`; an outdated one ends
the run with exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from api.cli import audit, export, projections, repair, service, stock
from api.runtime.database import SchemaNotCurrent, checked_database
from api.runtime.logs import configure as configure_logging
from api.runtime.settings import Settings
from projections.registry import UnknownProjection

# Long-running processes log JSON lines; the other commands print for a person.
SERVICES = (service.serve, projections.project, projections.publish)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every `abparts` subcommand."""
    parser = argparse.ArgumentParser(prog="abparts", description="ABParts Ledger service")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (service, projections, audit):
        group.register(sub)
    export.register(sub, checked_database)
    stock.register(sub, checked_database)
    repair.register(sub, checked_database)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `abparts` subcommand and return its exit status."""
    args = build_parser().parse_args(argv)
    settings = Settings()
    configure_logging(json_lines=settings.log_json and args.func in SERVICES)
    try:
        status: int = args.func(settings, args)
    except (UnknownProjection, SchemaNotCurrent) as error:
        print(f"abparts: {error}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":
    sys.exit(main())
