"""What a user sees from the real `abparts`: one line and exit 2 for what they fix; -v adds a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import pytest

ABPARTS = str(Path(sys.executable).with_name("abparts"))
UNREACHABLE = "postgresql://127.0.0.1:1/nowhere"


def abparts(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the installed console script with `env` added to a clean ABPARTS_* environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("ABPARTS_") and k != "DATABASE_URL"}
    return subprocess.run(
        [ABPARTS, *args], env={**base, **env}, capture_output=True, text=True, timeout=60, check=False
    )


def test_version_is_the_package_version() -> None:
    done = abparts("--version")
    assert (done.returncode, done.stdout) == (0, f"abparts {version('abparts-ledger')}\n")


def test_help_lists_the_exit_codes() -> None:
    done = abparts("--help")
    assert done.returncode == 0
    epilog = done.stdout[done.stdout.index("exit status:") :].splitlines()
    assert [
        line.split()[0] for line in epilog[1:] if line.startswith("  ") and line.split()[0].isdigit()
    ] == [
        "0",
        "1",
        "2",
    ]


def test_a_bad_setting_is_one_line_and_exit_2() -> None:
    done = abparts("status", ABPARTS_PORT="abc")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        "abparts: bad setting ABPARTS_PORT: Input should be a valid integer,"
        " unable to parse string as an integer\n"
    )


def test_several_bad_settings_share_the_line() -> None:
    done = abparts("audit", ABPARTS_PORT="abc", ABPARTS_MAX_USERS="-1")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "ABPARTS_PORT: " in done.stderr and "ABPARTS_MAX_USERS: " in done.stderr


@pytest.mark.parametrize(
    "command", [["status"], ["verify"], ["audit"], ["seal"], ["stock", "--position", "1"]]
)
def test_an_unreachable_database_is_one_line_within_seconds(command: list[str]) -> None:
    started = time.monotonic()
    done = abparts(*command, DATABASE_URL=UNREACHABLE)
    took = time.monotonic() - started
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("abparts: cannot reach the database at 127.0.0.1:1/nowhere after 3 s:")
    assert "Connection refused" in lines[0]
    assert took < 20  # not the services' minute; generous for a loaded machine


def test_verbose_adds_the_traceback() -> None:
    done = abparts("-v", "status", ABPARTS_PORT="abc")
    assert done.returncode == 2
    assert done.stderr.startswith("Traceback (most recent call last):")
    assert "pydantic_core._pydantic_core.ValidationError" in done.stderr
    assert done.stderr.endswith(
        "abparts: bad setting ABPARTS_PORT: Input should be a valid integer,"
        " unable to parse string as an integer\n"
    )
    unreachable = abparts("-v", "status", DATABASE_URL=UNREACHABLE)
    assert unreachable.returncode == 2
    assert "DatabaseUnreachable" in unreachable.stderr and "Traceback" in unreachable.stderr
