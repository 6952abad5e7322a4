"""What the command groups share: the type of the subcommand table they add themselves to."""

from __future__ import annotations

import argparse
from typing import TypeAlias

# A string: argparse's class is generic only to type checkers.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def names_argument(parser: argparse.ArgumentParser, what: str) -> None:
    """The optional projection names a command works on (default: all)."""
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"projections to {what} (default: all)")
