"""The `abparts` command line, one module per command group."""

from api.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
