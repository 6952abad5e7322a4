"""What the command groups share: the subcommand table's type, common arguments and argument types, JSON."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import TypeAlias
from uuid import UUID

# A string: argparse's class is generic only to type checkers.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def names_argument(parser: argparse.ArgumentParser, what: str) -> None:
    """The optional projection names a command works on (default: all)."""
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"projections to {what} (default: all)")


def json_argument(parser: argparse.ArgumentParser) -> None:
    """--json: print one JSON document on stdout instead of lines for a person."""
    parser.add_argument("--json", action="store_true", help="print one JSON document (keys in the README)")


def print_json(document: object) -> None:
    """`document` as indented JSON on stdout, keys in the order given, then a newline."""
    json.dump(document, sys.stdout, indent=2)
    sys.stdout.write("\n")


def non_negative(text: str) -> int:
    """An argument that is a whole number, 0 or more (a log position, a count)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return value


def uuid(text: str) -> UUID:
    """An argument that is a UUID (an organization, warehouse, part or order id)."""
    try:
        return UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a UUID: {text!r}") from None


def moment(text: str) -> datetime:
    """An ISO 8601 timestamp; a naive one means UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 timestamp: {text!r} (e.g. 2026-06-01T12:00:00Z)"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
