"""What the command groups share: the subcommand table's type, common arguments, JSON output."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TypeAlias

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
